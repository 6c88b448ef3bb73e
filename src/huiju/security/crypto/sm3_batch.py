"""HMAC-SM3 of every value of a packed column in one compiled call that runs without the GIL.

Why: the lake stores a lookup token (HMAC-SM3, truncated) beside every value of an encrypted column, a
million per million rows. One GmSSL call per value from a Python loop cost ~1.25 µs a value (0.94 in the
call, the rest building Python bytes and the result list), all of it holding the GIL, which the ingest's
check thread needs at the same time. Here the values stay in their Arrow buffers (data + offsets) and a
numba-compiled loop (``nogil=True``) hashes them all (times in docs/security.md).

The key is fixed for a column, so the SM3 states after the key's ipad and opad blocks are computed once
(RFC 2104 allows exactly this); each value then costs its own blocks (one for up to 55 bytes) plus one for the
outer hash. The result is byte-identical to ``hmac(key, value, SM3)``: tests/security/test_sm3_batch.py checks
it against GmSSL and OpenSSL on every length from 0 to 200 bytes, multi-byte UTF-8 and long keys included.

SM3 is GB/T 32905-2016; the arithmetic is on 32-bit words with no table lookups, so the time does not depend
on the key or the data. Importing this module imports numba (~0.3 s), so callers import it when they need it;
the compiled code is cached beside this file (``cache=True``, or under NUMBA_CACHE_DIR): a machine compiles it
once (~4 s).
"""

from __future__ import annotations

import numba
import numpy as np
from cryptography.hazmat.primitives import hashes
from numba import uint32 as u32

BLOCK = 64
DIGEST = 32
_IV = np.array([0x7380166F, 0x4914B2B9, 0x172442D7, 0xDA8A0600, 0xA96F30BC, 0x163138AA, 0xE38DEE4D, 0xB0FB0E4E],
               np.uint32)
# T_j rotated left by j mod 32, as the round uses it (GB/T 32905 §5.3.3).
_T = np.array([((t << (j % 32)) | (t >> (32 - j % 32))) & 0xFFFFFFFF
               for j in range(64) for t in [0x79CC4519 if j < 16 else 0x7A879D8A]], np.uint32)


def _jit(fn):  # type: ignore[no-untyped-def]
    """Compiled without the GIL, cached on disk; where numba finds no writable cache folder (a read-only install
    and home, and no NUMBA_CACHE_DIR) it compiles in memory instead, ~4 s once per process."""
    try:
        return numba.njit(nogil=True, cache=True, boundscheck=False)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return numba.njit(nogil=True, boundscheck=False)(fn)


@_jit
def _rotl(x, n):  # type: ignore[no-untyped-def]
    return u32((x << u32(n)) | (x >> u32(32 - n)))


@_jit
def _compress(v, w, t):  # type: ignore[no-untyped-def]
    """One SM3 compression of the block whose 16 big-endian words are w[:16] into the state v (in place)."""
    for j in range(16, 68):
        x = u32(w[j - 16] ^ w[j - 9] ^ _rotl(w[j - 3], 15))
        w[j] = u32(x ^ _rotl(x, 15) ^ _rotl(x, 23) ^ _rotl(w[j - 13], 7) ^ w[j - 6])
    a, b, c, d, e, f, g, h = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]
    for j in range(64):
        a12 = _rotl(a, 12)
        ss1 = _rotl(u32(a12 + e + t[j]), 7)
        ss2 = u32(ss1 ^ a12)
        if j < 16:
            ff = u32(a ^ b ^ c)
            gg = u32(e ^ f ^ g)
        else:
            ff = u32((a & b) | (a & c) | (b & c))
            gg = u32((e & f) | (~e & g))
        tt1 = u32(ff + d + ss2 + (w[j] ^ w[j + 4]))
        tt2 = u32(gg + h + ss1 + w[j])
        d = c
        c = _rotl(b, 9)
        b = a
        a = tt1
        h = g
        g = _rotl(f, 19)
        f = e
        e = u32(tt2 ^ _rotl(tt2, 9) ^ _rotl(tt2, 17))
    v[0] ^= a
    v[1] ^= b
    v[2] ^= c
    v[3] ^= d
    v[4] ^= e
    v[5] ^= f
    v[6] ^= g
    v[7] ^= h


@_jit
def _load(w, data, start, count):  # type: ignore[no-untyped-def]
    """w[:16] = the big-endian words of the ``count`` (<= 64) bytes at data[start:], zero-padded."""
    for j in range(16):
        w[j] = 0
    for k in range(count):
        w[k >> 2] |= u32(data[start + k]) << u32(24 - 8 * (k & 3))


@_jit
def _finish(v, w, t, data, start, rest, total):  # type: ignore[no-untyped-def]
    """Compress the last ``rest`` (< 64) bytes at data[start:] with SM3's padding for a ``total``-byte message."""
    _load(w, data, start, rest)
    w[rest >> 2] |= u32(0x80) << u32(24 - 8 * (rest & 3))
    if rest >= 56:
        _compress(v, w, t)
        for j in range(16):
            w[j] = 0
    bits = np.uint64(total) * np.uint64(8)
    w[14] = u32(bits >> np.uint64(32))
    w[15] = u32(bits & np.uint64(0xFFFFFFFF))
    _compress(v, w, t)


@_jit
def _hmac_many(inner, outer, data, offsets, out, t):  # type: ignore[no-untyped-def]
    """out[i] = the first out.shape[1] bytes of the HMAC of data[offsets[i]:offsets[i + 1]]."""
    size = out.shape[1]
    v = np.empty(8, np.uint32)
    w = np.empty(68, np.uint32)
    digest = np.empty(32, np.uint8)
    for i in range(offsets.shape[0] - 1):
        start = offsets[i]
        length = offsets[i + 1] - start
        v[:] = inner
        done = 0
        while length - done >= 64:
            _load(w, data, start + done, 64)
            _compress(v, w, t)
            done += 64
        _finish(v, w, t, data, start + done, length - done, 64 + length)
        for j in range(8):
            for k in range(4):
                digest[4 * j + k] = (v[j] >> u32(24 - 8 * k)) & u32(0xFF)
        v[:] = outer
        _finish(v, w, t, digest, 0, 32, 64 + 32)
        for k in range(size):
            out[i, k] = (v[k >> 2] >> u32(24 - 8 * (k & 3))) & u32(0xFF)


@_jit
def _key_state(pad, t):  # type: ignore[no-untyped-def]
    """The SM3 state after one block: the key xor ipad (or opad)."""
    v = _IV.copy()
    w = np.empty(68, np.uint32)
    _load(w, pad, 0, 64)
    _compress(v, w, t)
    return v


def hmac_sm3_packed(key: bytes, data: np.ndarray, offsets: np.ndarray, size: int = DIGEST) -> np.ndarray:
    """HMAC-SM3(key, data[offsets[i]:offsets[i+1]]) for every i, truncated to ``size`` bytes: an (n, size) matrix.

    ``data`` is uint8, ``offsets`` n + 1 non-decreasing positions into it (an Arrow binary column's buffers).
    The loop runs compiled and releases the GIL.
    """
    if not 1 <= size <= DIGEST:
        raise ValueError("size must be 1..32")
    if len(key) > BLOCK:  # RFC 2104: a key longer than a block is hashed first
        h = hashes.Hash(hashes.SM3())
        h.update(key)
        key = h.finalize()
    padded = np.zeros(BLOCK, np.uint8)
    padded[:len(key)] = np.frombuffer(key, np.uint8)
    inner, outer = _key_state(padded ^ np.uint8(0x36), _T), _key_state(padded ^ np.uint8(0x5C), _T)
    data = np.ascontiguousarray(data, np.uint8)
    offsets = np.ascontiguousarray(offsets, np.int64)
    if len(offsets) and (offsets[0] < 0 or offsets[-1] > len(data) or (np.diff(offsets) < 0).any()):
        raise ValueError("offsets out of range")
    out = np.empty((max(len(offsets) - 1, 0), size), np.uint8)
    _hmac_many(inner, outer, data, offsets, out, _T)
    return out
