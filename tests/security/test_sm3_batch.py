"""The whole-column HMAC-SM3 (crypto/sm3_batch.py) against GmSSL and OpenSSL, and the lookup tokens built on it."""

from __future__ import annotations

import hmac
import random
import subprocess
import sys

import gmssl_pyx
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.security import lake_crypto as lc
from huiju.security.crypto import provider as provider_module
from huiju.security.crypto.sm3_batch import hmac_sm3_packed

KEY = bytes(range(32))
_CHARS = "0123456789Xx 中文身份证号码·—é😀\u3000"


def _packed(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(values) + 1, np.int64)
    offsets[1:] = np.cumsum([len(v) for v in values])
    return np.frombuffer(b"".join(values), np.uint8), offsets


def test_every_length_from_0_to_200_bytes_matches_gmssl_and_openssl():
    rng = random.Random(7)
    values = [bytes(rng.randrange(256) for _ in range(n)) for n in range(201) for _ in range(3)]
    macs = hmac_sm3_packed(KEY, *_packed(values))
    assert macs.shape == (len(values), 32)
    assert [m.tobytes() for m in macs] == [gmssl_pyx.sm3_hmac(KEY, v) for v in values]
    assert [m.tobytes() for m in macs[::50]] == [hmac.digest(KEY, v, "sm3") for v in values[::50]]


@pytest.mark.parametrize("key_length", [0, 1, 16, 63, 64, 65, 100])
def test_keys_of_any_length_including_longer_than_a_block(key_length):
    key = bytes((i * 37 + 11) % 256 for i in range(key_length))
    values = [b"", b"a" * 55, b"b" * 56, b"c" * 64, "110101199003077777".encode()]
    macs = hmac_sm3_packed(key, *_packed(values), size=16)
    assert [m.tobytes() for m in macs] == [hmac.digest(key, v, "sm3")[:16] for v in values]


def test_offsets_into_a_larger_buffer_and_bad_offsets():
    data = np.frombuffer(b"xxabcdefyy", np.uint8)
    macs = hmac_sm3_packed(KEY, data, np.array([2, 5, 5, 8]))
    assert [m.tobytes() for m in macs] == [gmssl_pyx.sm3_hmac(KEY, v) for v in (b"abc", b"", b"def")]
    assert hmac_sm3_packed(KEY, data, np.array([0])).shape == (0, 32)
    with pytest.raises(ValueError):
        hmac_sm3_packed(KEY, data, np.array([0, 11]))
    with pytest.raises(ValueError):
        hmac_sm3_packed(KEY, data, np.array([4, 2]))
    with pytest.raises(ValueError):
        hmac_sm3_packed(KEY, data, np.array([0, 1]), size=33)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(alphabet=_CHARS, max_size=60)), max_size=60),
       st.integers(0, 5), st.binary(min_size=1, max_size=80))
def test_tokens_equal_the_per_value_reference_with_nulls_and_slices(values, cut, key):
    array = pa.array(values, pa.string()).slice(min(cut, len(values)))
    expected = [None if v is None else gmssl_pyx.sm3_hmac(key, v.encode())[:lc.TOKEN_BYTES]
                for v in array.to_pylist()]
    tokens = lc.token_array(array, key)
    tokens.validate(full=True)
    assert tokens.type == pa.binary()
    assert tokens.to_pylist() == expected
    assert all(t == lc.token_of(v, key) for t, v in zip(expected, array.to_pylist(), strict=True) if v is not None)


def test_tokens_of_many_citizen_ids_and_other_column_types():
    rng = random.Random(1)
    ids = [f"{rng.randrange(10**16, 10**17)}{rng.choice('0123456789X')}" for _ in range(20_000)]
    tokens = lc.token_array(pa.array(ids), KEY)
    assert tokens.to_pylist() == [gmssl_pyx.sm3_hmac(KEY, i.encode())[:16] for i in ids]
    assert lc.token_array(pa.array(ids, pa.large_string()), KEY).equals(tokens)
    assert lc.token_array(pa.array(ids).dictionary_encode(), KEY).equals(tokens)
    assert lc.token_array(pa.array([12, None]), KEY).to_pylist() == [lc.token_of(12, KEY), None]
    assert lc.token_array(pa.array([], pa.string()), KEY).to_pylist() == []
    assert lc.token_array(pa.nulls(3, pa.string()), KEY).to_pylist() == [None] * 3


def test_a_provider_without_the_whole_column_call_gives_the_same_tokens(monkeypatch):
    values = pa.array(["110101199003077777", None, "中文", ""])
    fast = lc.token_array(values, KEY)

    class PerValue(provider_module.SoftwareProvider):
        hmac_sm3_packed = None  # type: ignore[assignment]

    monkeypatch.setattr(provider_module, "_provider", PerValue())
    assert lc.token_array(values, KEY).equals(fast)


def test_without_a_writable_cache_folder_it_compiles_in_memory():
    """numba refuses cache=True where it finds nowhere to write; the module then compiles without caching."""
    code = """
import gmssl_pyx, numpy as np
import numba.core.caching as caching
caching.CacheImpl._locator_classes = []  # as on a read-only install with no writable home
from huiju.security.crypto.sm3_batch import hmac_sm3_packed
data = np.frombuffer(b"110101199003077777", np.uint8)
assert hmac_sm3_packed(b"k" * 32, data, np.array([0, 18]))[0].tobytes() == gmssl_pyx.sm3_hmac(b"k" * 32, data.tobytes())
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
