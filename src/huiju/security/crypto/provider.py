"""The crypto provider interface and its software default.

The software provider uses pyca ``cryptography`` (OpenSSL) for SM3, HMAC-SM3 and SM4-GCM, and
``gmssl_pyx`` (GmSSL 3) for SM2, which ``cryptography`` does not implement; SM2 signing with the default
signer id goes through ``tongsuopy`` (Tongsuo, the OpenSSL fork with optimised SM2), about 5x faster than
GmSSL here and interoperable both ways (tests/security/test_crypto.py), because every exchange receipt is signed. A certified hardware
module (服务器密码机) replaces it through ``set_provider``: a Python library is not a certified
cryptographic module, which a level-3 密评 expects.

SM2 key encoding, stable across providers (all hex strings, case-insensitive on input):

* private key: 64 hex digits, the raw 32-byte big-endian scalar ``d`` (1 <= d <= n-2);
* public key: 130 hex digits, the uncompressed point ``04 || x || y`` (32 bytes each). On input the
  bare 128-digit ``x || y`` and the 66-digit compressed form are accepted too.

SM2 signatures are DER ``SEQUENCE { r, s }``; ciphertexts are DER C1C3C2 (GB/T 32918.4-2016 order).
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Protocol

import gmssl_pyx
import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from tongsuopy.crypto import hashes as tongsuo_hashes
from tongsuopy.crypto.asymciphers import ec as tongsuo_ec

from huiju.errors import Invalid

SM2_DEFAULT_SIGNER_ID = b"1234567812345678"  # GM/T 0009-2012 §10
SM4_GCM_NONCE_SIZE = 12
SM4_GCM_TAG_SIZE = 16
SM2_MAX_PLAINTEXT = 255  # the limit of GmSSL's DER-encoded SM2 ciphertext

_DECRYPTION_FAILED = "Decryption failed: data or key is wrong"

# sm2p256v1 (GB/T 32918.5): only what deriving a public key from a private key needs.
_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
_A = _P - 3
_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_G = (
    0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
    0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0,
)


class CryptoProvider(Protocol):
    name: str

    def sm3(self, data: bytes) -> bytes: ...

    def hmac_sm3(self, key: bytes, data: bytes) -> bytes: ...

    def sm4_gcm_encrypt(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes: ...

    def sm4_gcm_decrypt(self, key: bytes, blob: bytes, aad: bytes = b"") -> bytes: ...

    def sm4_ctr(self, key: bytes, counter_block: bytes, data: bytes) -> bytes: ...

    def hmac_sm3_many(self, key: bytes, items: list[bytes]) -> list[bytes]: ...

    # Optional: ``hmac_sm3_packed(key, data, offsets, size) -> np.ndarray``, the HMACs of a whole packed column
    # at once (SoftwareProvider has it); lake_crypto.token_array uses it when present, else hmac_sm3_many.

    def sm2_generate_keypair(self) -> tuple[str, str]: ...

    def sm2_sign(self, private_key_hex: str, data: bytes, signer_id: bytes = SM2_DEFAULT_SIGNER_ID) -> bytes: ...

    def sm2_verify(
        self, public_key_hex: str, data: bytes, signature: bytes, signer_id: bytes = SM2_DEFAULT_SIGNER_ID
    ) -> bool: ...

    def sm2_encrypt(self, public_key_hex: str, data: bytes) -> bytes: ...

    def sm2_decrypt(self, private_key_hex: str, ciphertext: bytes) -> bytes: ...


class SoftwareProvider:
    """The default provider: ``cryptography`` for SM3/SM4, ``gmssl_pyx`` for SM2."""

    name = "software"

    def sm3(self, data: bytes) -> bytes:
        digest = hashes.Hash(hashes.SM3())
        digest.update(data)
        return digest.finalize()

    def hmac_sm3(self, key: bytes, data: bytes) -> bytes:
        mac = hmac.HMAC(key, hashes.SM3())
        mac.update(data)
        return mac.finalize()

    def sm4_gcm_encrypt(self, key: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Encrypt to ``nonce(12) || ciphertext || tag(16)``; a fresh random nonce per call."""
        nonce = os.urandom(SM4_GCM_NONCE_SIZE)
        encryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(aad)
        ciphertext = encryptor.update(plaintext) + encryptor.finalize()
        return nonce + ciphertext + encryptor.tag

    def sm4_gcm_decrypt(self, key: bytes, blob: bytes, aad: bytes = b"") -> bytes:
        """Reverse ``sm4_gcm_encrypt``; a wrong key, AAD or any changed byte raises ``Invalid``."""
        if len(blob) < SM4_GCM_NONCE_SIZE + SM4_GCM_TAG_SIZE:
            raise Invalid(_DECRYPTION_FAILED)
        nonce, body = blob[:SM4_GCM_NONCE_SIZE], blob[SM4_GCM_NONCE_SIZE:]
        ciphertext, tag = body[:-SM4_GCM_TAG_SIZE], body[-SM4_GCM_TAG_SIZE:]
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(aad)
        try:
            return decryptor.update(ciphertext) + decryptor.finalize()
        except InvalidTag:
            raise Invalid(_DECRYPTION_FAILED) from None

    def sm4_ctr(self, key: bytes, counter_block: bytes, data: bytes) -> bytes:
        """SM4-CTR from the 16-byte initial counter block (the whole block counts, big-endian), in one call.

        GmSSL's SM4 ran about 15 % faster here than OpenSSL's through ``cryptography`` (same output, tested).
        """
        if not data:
            return b""
        return gmssl_pyx.sm4_ctr_encrypt(key, counter_block, data)

    def hmac_sm3_many(self, key: bytes, items: list[bytes]) -> list[bytes]:
        """HMAC-SM3 of many short items (lookup tokens): GmSSL's one-shot call is about 3x faster per item."""
        mac = gmssl_pyx.sm3_hmac
        return [mac(key, item) for item in items]

    def hmac_sm3_packed(self, key: bytes, data: np.ndarray, offsets: np.ndarray, size: int = 32) -> np.ndarray:
        """HMAC-SM3 of data[offsets[i]:offsets[i+1]] for every i, truncated to ``size`` bytes, as an (n, size)
        uint8 matrix: one compiled loop without the GIL (crypto/sm3_batch.py), ~0.5 µs a short value."""
        from huiju.security.crypto.sm3_batch import hmac_sm3_packed  # imports numba: only when needed

        return hmac_sm3_packed(key, data, offsets, size)

    def sm2_generate_keypair(self) -> tuple[str, str]:
        """Return ``(private_key_hex, public_key_hex)`` in the encoding of the module docstring."""
        public, private = gmssl_pyx.sm2_key_generate()  # note gmssl_pyx's (public, private) order
        return private.hex(), "04" + public.hex()

    def sm2_sign(self, private_key_hex: str, data: bytes, signer_id: bytes = SM2_DEFAULT_SIGNER_ID) -> bytes:
        """SM3withSM2 over ``Z_A || data`` with a random k (so two signatures of one message differ)."""
        private = _private_key_bytes(private_key_hex)
        if signer_id == SM2_DEFAULT_SIGNER_ID:  # Tongsuo's SM2 signs with this id (GM/T 0009 §10)
            return _tongsuo_key(private).sign(data, tongsuo_ec.ECDSA(tongsuo_hashes.SM3()))
        return gmssl_pyx.sm2_sign(private, _public_from_private(private), data, signer_id)

    def sm2_verify(
        self, public_key_hex: str, data: bytes, signature: bytes, signer_id: bytes = SM2_DEFAULT_SIGNER_ID
    ) -> bool:
        """True only for a valid signature; a wrong or malformed signature is False, never an exception."""
        public = _public_key_bytes(public_key_hex)
        try:
            return gmssl_pyx.sm2_verify(public, data, signature, signer_id)
        except gmssl_pyx.GmsslInnerError:
            return False

    def sm2_encrypt(self, public_key_hex: str, data: bytes) -> bytes:
        """Encrypt 1-255 bytes (a data key, not bulk data: use SM4-GCM for that)."""
        if not 1 <= len(data) <= SM2_MAX_PLAINTEXT:
            raise Invalid("SM2 can encrypt 1 to %(max)s bytes", max=SM2_MAX_PLAINTEXT)
        return gmssl_pyx.sm2_encrypt(_public_key_bytes(public_key_hex), data)

    def sm2_decrypt(self, private_key_hex: str, ciphertext: bytes) -> bytes:
        try:
            return gmssl_pyx.sm2_decrypt(_private_key_bytes(private_key_hex), ciphertext)
        except gmssl_pyx.GmsslInnerError:
            raise Invalid(_DECRYPTION_FAILED) from None


def _private_key_bytes(private_key_hex: str) -> bytes:
    try:
        private = bytes.fromhex(private_key_hex)
    except ValueError:
        raise Invalid("Invalid SM2 private key") from None
    if len(private) != 32 or not 1 <= int.from_bytes(private, "big") <= _N - 2:
        raise Invalid("Invalid SM2 private key")
    return private


def _public_key_bytes(public_key_hex: str) -> bytes:
    """The 64-byte ``x || y`` that gmssl_pyx takes, after checking the point is on the curve."""
    try:
        return gmssl_pyx.normalize_sm2_public_key(public_key_hex)
    except gmssl_pyx.GmsslInnerError:
        raise Invalid("Invalid SM2 public key") from None


@lru_cache(maxsize=64)
def _tongsuo_key(private: bytes) -> tongsuo_ec.EllipticCurvePrivateKey:
    """The private key loaded into Tongsuo once per key and process."""
    return tongsuo_ec.derive_private_key(int.from_bytes(private, "big"), tongsuo_ec.SM2())


@lru_cache(maxsize=64)
def _public_from_private(private: bytes) -> bytes:
    """``d·G`` as ``x || y``: gmssl_pyx needs the public key to sign (for Z_A) but cannot derive it.

    Plain double-and-add in Python, not constant-time; the cache runs it once per key and process.
    """
    point: tuple[int, int] | None = None
    addend: tuple[int, int] | None = _G
    d = int.from_bytes(private, "big")
    while d:
        if d & 1:
            point = _point_add(point, addend)
        addend = _point_add(addend, addend)
        d >>= 1
    assert point is not None  # d >= 1
    return point[0].to_bytes(32, "big") + point[1].to_bytes(32, "big")


def _point_add(p1: tuple[int, int] | None, p2: tuple[int, int] | None) -> tuple[int, int] | None:
    """Affine addition on sm2p256v1; ``None`` is the point at infinity."""
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % _P == 0:
        return None
    if p1 == p2:
        slope = (3 * x1 * x1 + _A) * pow(2 * y1, -1, _P) % _P
    else:
        slope = (y2 - y1) * pow(x2 - x1, -1, _P) % _P
    x3 = (slope * slope - x1 - x2) % _P
    return x3, (slope * (x1 - x3) - y1) % _P


_provider: CryptoProvider = SoftwareProvider()


def get_provider() -> CryptoProvider:
    return _provider


def set_provider(provider: CryptoProvider) -> None:
    """Install another provider (for example a plugin wrapping a hardware cipher machine)."""
    global _provider
    _provider = provider


def sm3_hex(data: bytes) -> str:
    return _provider.sm3(data).hex()
