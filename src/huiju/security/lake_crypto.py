"""Encrypted lake columns: SM4 in counter mode over whole batches, HMAC-SM3 lookup tokens beside them.

Format (``SCHEME``). An encrypted column ``c`` is stored as four columns:

* ``c`` (binary): the ciphertext of each value's UTF-8 text, exactly as long as the text;
* ``__nonce__c`` (binary, 12 bytes): the nonce of the batch the value was written in;
* ``__start__c`` (int64): where the value's bytes begin in that batch's key stream;
* ``__token__c`` (binary, 16 bytes): the lookup token (below).

A written batch's values, laid end to end, are encrypted as one SM4-CTR stream whose initial counter
block is ``nonce || 00000000`` (a fresh random 96-bit nonce per batch), so every keystream byte is used
once, which is what counter mode needs to be confidential. The nonce column holds one distinct value
per batch and costs next to nothing in Parquet.

Why this shape: decrypting values that are still in their written order (a scan, with or without a
filter that keeps neighbours) is one SM4 call over the ciphertext bytes as Arrow already holds them,
with no per-value work in Python; values out of order (a selective filter) cost one call per contiguous
stretch. SM4-GCM per value was rejected: a cipher context and tag per value cost ~5 µs in Python, 5 s
per million values.

Trade-offs, stated plainly:

* No integrity per value: CTR does not detect a changed ciphertext. The lake folder is platform-private
  and versions are immutable; the lookup token (an HMAC of the plaintext) lets a verifier detect tampering
  (``verify_tokens``), which the re-encryption job does for every value before it writes a new version.
* Equality leaks through the token, by design: equal plaintexts have equal tokens, so ``=`` filters and
  joins work without decrypting. Tokens never leave the platform (``read_rows`` drops them); they are
  keyed (HMAC-SM3 with a platform key), so an ID number cannot be confirmed by hashing guesses.
* Lengths leak (counter mode keeps them); for ID and phone numbers the length is public anyway.

The token key is one platform-wide key (``TOKEN_PURPOSE``) so tokens of the same value are equal across
datasets and joins between departments' datasets work; the encryption key is per dataset.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huiju.errors import Invalid
from huiju.security.crypto import get_provider

SCHEME = "sm4-ctr-batch-v1"
NONCE_BYTES = 12
TOKEN_BYTES = 16
TOKEN_PURPOSE = "lake:token"
TOKEN_PREFIX = "__token__"
NONCE_PREFIX = "__nonce__"
START_PREFIX = "__start__"
HIDDEN_PREFIXES = (TOKEN_PREFIX, NONCE_PREFIX, START_PREFIX)
META_KEY = b"huiju.encryption"
_FAILED = "Decryption failed: data or key is wrong"
_NONCE = np.dtype([("hi", "<u8"), ("lo", "<u4")])  # a 12-byte nonce, compared as two integers
log = logging.getLogger(__name__)


def token_column(column: str) -> str:
    """The name of the lookup-token column stored beside an encrypted column."""
    return TOKEN_PREFIX + column


def nonce_column(column: str) -> str:
    return NONCE_PREFIX + column


def start_column(column: str) -> str:
    return START_PREFIX + column


def is_hidden(name: str) -> bool:
    """True for the token, nonce and start columns stored beside encrypted columns."""
    return name.startswith(HIDDEN_PREFIXES)


def dataset_key_purpose(dataset_key: str) -> str:
    """The data-key purpose under which a dataset's columns are encrypted."""
    return f"dataset:{dataset_key}"


@dataclass(frozen=True)
class EncryptionInfo:
    """What a version's Parquet footer says about its encrypted columns (``META_KEY``)."""

    key_purpose: str
    key_version: int
    token_version: int
    columns: dict[str, str]  # encrypted column -> its original Arrow type

    def to_json(self) -> bytes:
        return json.dumps({"scheme": SCHEME, "key": {"purpose": self.key_purpose, "version": self.key_version},
                           "token_key": {"purpose": TOKEN_PURPOSE, "version": self.token_version},
                           "columns": {c: {"token": token_column(c), "nonce": nonce_column(c),
                                           "start": start_column(c), "type": t} for c, t in self.columns.items()}},
                          ensure_ascii=False, sort_keys=True).encode()

    @classmethod
    def from_schema(cls, schema: pa.Schema) -> EncryptionInfo | None:
        raw = (schema.metadata or {}).get(META_KEY)
        if raw is None:
            return None
        data = json.loads(raw)
        if data.get("scheme") != SCHEME:
            raise Invalid("Unknown lake encryption scheme %(scheme)s", scheme=str(data.get("scheme")))
        return cls(data["key"]["purpose"], int(data["key"]["version"]), int(data["token_key"]["version"]),
                   {c: v["type"] for c, v in data["columns"].items()})


def _as_string(array: pa.Array) -> pa.StringArray:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    return array


def _offsets(array: pa.Array) -> np.ndarray:
    return np.frombuffer(array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=array.offset * 4) \
        .astype(np.int64)


def _data(array: pa.Array) -> np.ndarray:
    buf = array.buffers()[2]
    return np.frombuffer(buf, dtype=np.uint8) if buf is not None else np.zeros(0, np.uint8)


def _valid(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.ones(len(array), dtype=bool)
    return pc.is_valid(array).to_numpy(zero_copy_only=False)


def _validity_buffer(valid: np.ndarray) -> pa.Buffer | None:
    if valid.all():
        return None
    return pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())


def encrypt_array(array: pa.Array, key: bytes) -> tuple[pa.BinaryArray, pa.BinaryArray, pa.Int64Array]:
    """Encrypt a column's values (as text): ``(ciphertexts, nonces, starts)``; NULL stays NULL in all three."""
    array = _as_string(array)
    n = len(array)
    offs = _offsets(array)
    valid = _valid(array)
    base, end = int(offs[0]), int(offs[-1])
    nonce = os.urandom(NONCE_BYTES)
    cipher = get_provider().sm4_ctr(key, nonce + bytes(4), _data(array)[base:end].tobytes())
    validity = _validity_buffer(valid)
    ct = pa.BinaryArray.from_buffers(pa.binary(), n, [validity, pa.py_buffer((offs - base).astype(np.int32)),
                                                      pa.py_buffer(cipher)])
    count = int(valid.sum())
    nonce_offsets = np.zeros(n + 1, dtype=np.int32)
    nonce_offsets[1:] = np.cumsum(valid) * NONCE_BYTES
    nonces = pa.BinaryArray.from_buffers(pa.binary(), n, [validity, pa.py_buffer(nonce_offsets),
                                                          pa.py_buffer(nonce * count)])
    starts = pa.Array.from_buffers(pa.int64(), n, [validity, pa.py_buffer(offs[:-1] - base)])
    return ct, nonces, starts


def _segments(nonces: np.ndarray, starts: np.ndarray, at: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Indices (into the valid values) where a stretch begins that is contiguous both in one batch's key
    stream and in the Arrow data buffer."""
    m = len(starts)
    begins = np.ones(m, dtype=bool)
    if m > 1:
        ends = lengths[:-1]
        hi, lo = nonces["hi"], nonces["lo"]
        begins[1:] = ((hi[1:] != hi[:-1]) | (lo[1:] != lo[:-1]) | (starts[1:] != starts[:-1] + ends)
                      | (at[1:] != at[:-1] + ends))
    return np.flatnonzero(begins)


def decrypt_array(ct: pa.Array, nonces: pa.Array, starts: pa.Array, key: bytes) -> pa.StringArray:
    """Decrypt ``SCHEME`` values back to text: one SM4-CTR call per stretch of values still in written order."""
    if isinstance(ct, pa.ChunkedArray):
        ct, nonces, starts = ct.combine_chunks(), nonces.combine_chunks(), starts.combine_chunks()
    if pa.types.is_large_binary(ct.type):
        ct = pc.cast(ct, pa.binary())
    if pa.types.is_large_binary(nonces.type):
        nonces = pc.cast(nonces, pa.binary())
    if not (pa.types.is_binary(ct.type) and pa.types.is_binary(nonces.type)):
        raise Invalid(_FAILED)
    n = len(ct)
    offs = _offsets(ct)
    data = _data(ct)
    valid = _valid(ct)
    rows = np.flatnonzero(valid)
    if len(rows) == 0:
        return pa.nulls(n, pa.string())
    lengths = np.diff(offs)[rows]
    nonce_offs = _offsets(nonces)
    if not (np.diff(nonce_offs) == np.where(valid, NONCE_BYTES, 0)).all():
        raise Invalid(_FAILED)
    nonce_rows = np.frombuffer(_data(nonces)[int(nonce_offs[0]):int(nonce_offs[-1])].tobytes(), dtype=_NONCE)
    start_rows = pc.fill_null(starts, 0).to_numpy(zero_copy_only=False).astype(np.int64)[rows]
    at = offs[:-1][rows]
    provider = get_provider()
    bounds = [*_segments(nonce_rows, start_rows, at, lengths).tolist(), len(rows)]
    pieces: list[bytes] = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        first = int(start_rows[a])
        skip = first % 16
        chunk = data[int(at[a]):int(at[b - 1] + lengths[b - 1])].tobytes()
        block = (first // 16).to_bytes(4, "big")
        pieces.append(provider.sm4_ctr(key, nonce_rows[a:a + 1].tobytes() + block, bytes(skip) + chunk)[skip:])
    out_lengths = np.zeros(n, dtype=np.int64)
    out_lengths[rows] = lengths
    out_offs = np.zeros(n + 1, dtype=np.int32)
    out_offs[1:] = np.cumsum(out_lengths)
    result = pa.StringArray.from_buffers(n, pa.py_buffer(out_offs), pa.py_buffer(b"".join(pieces)),
                                         _validity_buffer(valid))
    try:
        result.validate(full=True)
    except pa.ArrowInvalid:
        raise Invalid(_FAILED) from None
    return result


def token_array(array: pa.Array, key: bytes) -> pa.BinaryArray:
    """The lookup token of each value: HMAC-SM3(token key, UTF-8 text) truncated to TOKEN_BYTES; NULL stays NULL."""
    array = _as_string(array)
    provider = get_provider()
    packed = getattr(provider, "hmac_sm3_packed", None)
    if packed is None:  # a provider without the whole-column call: one HMAC per value
        texts = array.to_pylist()
        macs = iter(provider.hmac_sm3_many(key, [t.encode() for t in texts if t is not None]))
        return pa.array([None if t is None else next(macs)[:TOKEN_BYTES] for t in texts], type=pa.binary())
    valid = _valid(array)
    macs = packed(key, _data(array), _offsets(array), TOKEN_BYTES)
    offsets = np.zeros(len(array) + 1, dtype=np.int32)
    offsets[1:] = np.cumsum(valid) * TOKEN_BYTES
    tokens = macs if valid.all() else macs[valid]
    return pa.BinaryArray.from_buffers(pa.binary(), len(array), [_validity_buffer(valid), pa.py_buffer(offsets),
                                                                 pa.py_buffer(tokens)])


def token_of(value: Any, key: bytes) -> bytes:
    """The token of one filter value, as the column's text would hold it."""
    return get_provider().hmac_sm3(key, str(value).encode())[:TOKEN_BYTES]


def verify_tokens(plaintext: pa.Array, tokens: pa.Array, key: bytes) -> int:
    """How many decrypted values do not match their stored token (tampering or a wrong key)."""
    expected = token_array(plaintext, key)
    return int(pc.sum(pc.invert(pc.fill_null(pc.equal(expected, tokens), True))).as_py() or 0)


def _warm_tokens() -> None:
    """Import the whole-column HMAC (numba) and load its compiled code: ~0.3 s once per process."""
    try:
        token_array(pa.array(["0"]), b"warm-up")
    except Exception:  # the first real batch raises it where it is handled
        log.debug("token warm-up failed", exc_info=True)


class Encryptor:
    """The transform a staged version applies to each batch: encrypt the listed columns, add their tokens."""

    def __init__(self, columns: list[str], key_purpose: str, key_version: int, key: bytes, token_version: int,
                 token_key: bytes) -> None:
        self.columns = columns
        self.key_purpose, self.key_version, self.key = key_purpose, key_version, key
        self.token_version, self.token_key = token_version, token_key
        if columns:  # while the version's first rows are read and checked, not in the writer's first batch
            threading.Thread(target=_warm_tokens, name="huiju-token-warm-up", daemon=True).start()

    def __call__(self, table: pa.Table) -> pa.Table:
        present = {c: str(table.schema.field(c).type) for c in self.columns if c in table.column_names}
        if not present:
            return table
        arrays, fields = [], []
        for f, column in zip(table.schema, table.columns, strict=True):
            if f.name not in present:
                arrays.append(column)
                fields.append(f)
                continue
            chunks = column.chunks or [pa.array([], f.type)]
            parts = [encrypt_array(c, self.key) for c in chunks]
            arrays += [pa.chunked_array([p[0] for p in parts], pa.binary()),
                       pa.chunked_array([p[1] for p in parts], pa.binary()),
                       pa.chunked_array([p[2] for p in parts], pa.int64()),
                       pa.chunked_array([token_array(c, self.token_key) for c in chunks], pa.binary())]
            fields += [pa.field(f.name, pa.binary()), pa.field(nonce_column(f.name), pa.binary()),
                       pa.field(start_column(f.name), pa.int64()), pa.field(token_column(f.name), pa.binary())]
        info = EncryptionInfo(self.key_purpose, self.key_version, self.token_version, present)
        metadata = {**(table.schema.metadata or {}), META_KEY: info.to_json()}
        return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
