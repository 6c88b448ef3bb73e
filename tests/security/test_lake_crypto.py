"""Encrypted lake columns: round trips in and out of written order, tokens, tamper and wrong-key detection."""

from __future__ import annotations

import os

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from huiju.errors import Invalid
from huiju.security import lake_crypto as lc
from huiju.security.crypto import get_provider

KEY = bytes(range(16))
VALUES = ["110101199003077777", "", "中文姓名", None, "a" * 40, "13912345678"] * 3


def test_round_trip_with_nulls_slices_and_reordering():
    ct, nonces, starts = lc.encrypt_array(pa.array(VALUES), KEY)
    assert ct.null_count == nonces.null_count == starts.null_count == VALUES.count(None)
    assert lc.decrypt_array(ct, nonces, starts, KEY).to_pylist() == VALUES
    assert lc.decrypt_array(ct.slice(3, 7), nonces.slice(3, 7), starts.slice(3, 7), KEY).to_pylist() == VALUES[3:10]
    order = pa.array([17, 0, 14, 7, 1, 5])
    picked = lc.decrypt_array(ct.take(order), nonces.take(order), starts.take(order), KEY).to_pylist()
    assert picked == [VALUES[i] for i in order.to_pylist()]
    more = lc.encrypt_array(pa.array(["x1", "y22"]), KEY)  # a second batch: another nonce
    joined = [pa.concat_arrays([a, b]) for a, b in zip((ct, nonces, starts), more, strict=True)]
    assert lc.decrypt_array(*joined, KEY).to_pylist() == VALUES + ["x1", "y22"]


def test_ciphertext_hides_the_text_and_batches_never_share_a_nonce():
    ct, nonces, _ = lc.encrypt_array(pa.array(["110101199003077777"] * 2), KEY)
    assert b"1101011990" not in ct.buffers()[2].to_pybytes()
    assert ct[0].as_py() != ct[1].as_py()  # one stream: equal values differ
    assert lc.encrypt_array(pa.array(["a"]), KEY)[1][0].as_py() != nonces[0].as_py()


def test_the_provider_counter_mode_agrees_with_openssl():
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    block = bytes(range(100, 116))
    data = os.urandom(1000)
    expected = Cipher(algorithms.SM4(KEY), modes.CTR(block)).encryptor().update(data)
    assert get_provider().sm4_ctr(KEY, block, data) == expected
    carry = bytes(12) + b"\xff\xff\xff\xff"  # the counter carries into the nonce bytes like OpenSSL's
    assert get_provider().sm4_ctr(KEY, carry, data) == Cipher(algorithms.SM4(KEY), modes.CTR(carry)).encryptor().update(data)


def test_counter_mode_matches_the_provider_per_value():
    ct, nonces, starts = lc.encrypt_array(pa.array(["ab", "身份证号码"]), KEY)
    second = get_provider().sm4_ctr(KEY, nonces[1].as_py() + bytes(4), bytes(starts[1].as_py()) + ct[1].as_py())
    assert second[starts[1].as_py():].decode() == "身份证号码"


def test_wrong_key_and_tampering_are_detected():
    values = pa.array(["110101199003077777", "13912345678"])
    ct, nonces, starts = lc.encrypt_array(values, KEY)
    with pytest.raises(Invalid):
        lc.decrypt_array(ct, nonces, starts, os.urandom(16))
    tokens = lc.token_array(values, KEY)
    flipped = pa.array([ct[0].as_py()[:-1] + bytes([ct[0].as_py()[-1] ^ 1]), ct[1].as_py()], pa.binary())
    assert lc.verify_tokens(lc.decrypt_array(ct, nonces, starts, KEY), tokens, KEY) == 0
    assert lc.verify_tokens(lc.decrypt_array(flipped, nonces, starts, KEY), tokens, KEY) == 1


def test_tokens_are_keyed_deterministic_and_match_filter_values():
    tokens = lc.token_array(pa.array(["110101199003077777", None, "110101199003077777"]), KEY)
    assert tokens[0].as_py() == tokens[2].as_py() == lc.token_of("110101199003077777", KEY)
    assert tokens[1].as_py() is None and len(tokens[0].as_py()) == lc.TOKEN_BYTES
    assert lc.token_of("110101199003077777", os.urandom(16)) != tokens[0].as_py()
    assert get_provider().hmac_sm3_many(KEY, [b"x"]) == [get_provider().hmac_sm3(KEY, b"x")]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40), st.data())
def test_any_text_round_trips_in_any_order(values, data):
    ct, nonces, starts = lc.encrypt_array(pa.array(values, pa.string()), KEY)
    assert lc.decrypt_array(ct, nonces, starts, KEY).to_pylist() == values
    if values:
        order = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=20))
        idx = pa.array(order, pa.int64())
        got = lc.decrypt_array(ct.take(idx), nonces.take(idx), starts.take(idx), KEY).to_pylist()
        assert got == [values[i] for i in order]
