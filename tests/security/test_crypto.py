"""The crypto provider against the published SM2/SM3/SM4 vectors (reference/cn-standards.md §5.2)."""

from __future__ import annotations

import gmssl_pyx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from huiju.errors import Invalid
from huiju.security.crypto import SoftwareProvider, get_provider, set_provider, sm3_hex

provider = SoftwareProvider()

SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")

# GM/T 0003.5-2012 A.2 (SM2 signature example on the recommended curve).
SM2_D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
SM2_X = "09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
SM2_Y = "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13"
SM2_PUBLIC = "04" + SM2_X + SM2_Y
SM2_R = int("f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3", 16)
SM2_S = int("b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa", 16)
SM2_A = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
SM2_B = "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
SM2_GX = "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
SM2_GY = "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"


def sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def test_sm3_vectors() -> None:
    assert provider.sm3(b"abc").hex() == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert sm3_hex(b"abcd" * 16) == "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"


@pytest.mark.parametrize("key", [b"k", b"a 32-byte key for HMAC-SM3 test", b"x" * 100])
def test_hmac_sm3_matches_the_rfc2104_construction(key: bytes) -> None:
    """HMAC = H((K ^ opad) || H((K ^ ipad) || m)), 64-byte blocks, keys longer than a block hashed first."""
    message = "段正淳 110101".encode()
    block = (sm3(key) if len(key) > 64 else key).ljust(64, b"\0")
    inner = sm3(bytes(b ^ 0x36 for b in block) + message)
    expected = sm3(bytes(b ^ 0x5C for b in block) + inner)
    assert provider.hmac_sm3(key, message) == expected


def test_sm4_ecb_vector() -> None:
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    assert encryptor.update(SM4_KEY).hex() == "681edf34d206965e86b3e94f536e4246"


def test_sm4_ecb_million_iterations() -> None:
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()
    block = SM4_KEY
    for _ in range(1_000_000):
        block = encryptor.update(block)
    assert block.hex() == "595298c7c6fd271f0402f804c33d3f66"


def test_sm4_gcm_known_answer_rfc8998() -> None:
    """RFC 8998 A.1, fed through the provider's nonce || ciphertext || tag layout."""
    nonce = bytes.fromhex("00001234567800000000ABCD")
    aad = bytes.fromhex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2")
    plaintext = bytes.fromhex("".join(c * 16 for c in "ABCDEFEA"))
    ciphertext = bytes.fromhex(
        "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735"
        "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D"
    )
    tag = bytes.fromhex("83DE3541E4C2B58177E065A9BF7B62EC")
    assert provider.sm4_gcm_decrypt(SM4_KEY, nonce + ciphertext + tag, aad) == plaintext


def test_sm4_gcm_round_trip_and_fresh_nonce() -> None:
    blob = provider.sm4_gcm_encrypt(SM4_KEY, "身份证号".encode(), b"dataset:7")
    assert len(blob) == 12 + len("身份证号".encode()) + 16
    assert provider.sm4_gcm_decrypt(SM4_KEY, blob, b"dataset:7") == "身份证号".encode()
    assert provider.sm4_gcm_encrypt(SM4_KEY, b"same") != provider.sm4_gcm_encrypt(SM4_KEY, b"same")
    assert provider.sm4_gcm_decrypt(SM4_KEY, provider.sm4_gcm_encrypt(SM4_KEY, b"")) == b""


def test_sm4_gcm_detects_tampering() -> None:
    blob = provider.sm4_gcm_encrypt(SM4_KEY, b"secret value", b"aad")
    for i in range(len(blob)):
        tampered = blob[:i] + bytes([blob[i] ^ 0x01]) + blob[i + 1 :]
        with pytest.raises(Invalid, match="Decryption failed"):
            provider.sm4_gcm_decrypt(SM4_KEY, tampered, b"aad")
    with pytest.raises(Invalid, match="Decryption failed"):
        provider.sm4_gcm_decrypt(SM4_KEY, blob, b"other aad")
    with pytest.raises(Invalid, match="Decryption failed"):
        provider.sm4_gcm_decrypt(bytes(16), blob, b"aad")
    with pytest.raises(Invalid, match="Decryption failed"):
        provider.sm4_gcm_decrypt(SM4_KEY, blob[:27])


def test_sm2_standard_signature_verifies() -> None:
    """The published (r, s) of GM/T 0003.5 A.2 verifies, through the provider and through Z_A by hand."""
    signature = encode_dss_signature(SM2_R, SM2_S)
    assert provider.sm2_verify(SM2_PUBLIC, b"message digest", signature)
    assert provider.sm2_verify(SM2_PUBLIC.lower(), b"message digest", signature, b"1234567812345678")
    assert not provider.sm2_verify(SM2_PUBLIC, b"message digesT", signature)
    assert not provider.sm2_verify(SM2_PUBLIC, b"message digest", signature, b"another signer")

    signer_id = b"1234567812345678"
    z_a = sm3(
        (len(signer_id) * 8).to_bytes(2, "big")
        + signer_id
        + bytes.fromhex(SM2_A + SM2_B + SM2_GX + SM2_GY + SM2_X + SM2_Y)
    )
    e = sm3(z_a + b"message digest")
    assert gmssl_pyx.sm2_verify_sm3_digest(bytes.fromhex(SM2_X + SM2_Y), e, signature)


def test_sm2_standard_public_key_is_d_times_g() -> None:
    """Our d·G derivation gives the published P; and a digest signed with d alone verifies under P."""
    signature = provider.sm2_sign(SM2_D, b"message digest")
    assert provider.sm2_verify(SM2_PUBLIC, b"message digest", signature)
    digest = sm3(b"any 32-byte digest")
    by_d_only = gmssl_pyx.sm2_sign_sm3_digest(bytes.fromhex(SM2_D), digest)
    assert gmssl_pyx.sm2_verify_sm3_digest(bytes.fromhex(SM2_X + SM2_Y), digest, by_d_only)


def test_sm2_default_id_signatures_are_standard_sm2() -> None:
    """Signatures with the default id (Tongsuo) verify in GmSSL over e = SM3(Z_A || M) computed by hand; other
    ids (GmSSL) verify only under their own id."""
    signer_id = b"1234567812345678"
    z_a = sm3((len(signer_id) * 8).to_bytes(2, "big") + signer_id
              + bytes.fromhex(SM2_A + SM2_B + SM2_GX + SM2_GY + SM2_X + SM2_Y))
    for i in range(20):
        message = f"回执 {i}".encode()
        signature = provider.sm2_sign(SM2_D, message)
        assert gmssl_pyx.sm2_verify_sm3_digest(bytes.fromhex(SM2_X + SM2_Y), sm3(z_a + message), signature)
        assert gmssl_pyx.sm2_verify(bytes.fromhex(SM2_X + SM2_Y), message, signature, signer_id)
    other = provider.sm2_sign(SM2_D, b"m", signer_id=b"another signer")
    assert provider.sm2_verify(SM2_PUBLIC, b"m", other, b"another signer")
    assert not provider.sm2_verify(SM2_PUBLIC, b"m", other)


def test_sm2_sign_verify_round_trip_and_flipped_bits() -> None:
    private, public = provider.sm2_generate_keypair()
    assert len(private) == 64 and len(public) == 130 and public.startswith("04")
    message = "共享申请 #42 已批准".encode()
    signature = provider.sm2_sign(private, message)
    assert provider.sm2_verify(public, message, signature)
    assert provider.sm2_sign(private, message) != signature  # random k
    flipped_message = bytes([message[0] ^ 0x01]) + message[1:]
    assert not provider.sm2_verify(public, flipped_message, signature)
    for i in range(len(signature)):
        flipped = signature[:i] + bytes([signature[i] ^ 0x01]) + signature[i + 1 :]
        assert not provider.sm2_verify(public, message, flipped)
    assert not provider.sm2_verify(public, message, b"")
    assert not provider.sm2_verify(provider.sm2_generate_keypair()[1], message, signature)
    assert not provider.sm2_verify(public, message, signature, signer_id=b"8765432187654321")


def test_sm2_rejects_malformed_keys() -> None:
    with pytest.raises(Invalid, match="private key"):
        provider.sm2_sign("00" * 32, b"m")
    with pytest.raises(Invalid, match="private key"):
        provider.sm2_sign("not hex", b"m")
    with pytest.raises(Invalid, match="public key"):
        provider.sm2_verify("04" + "00" * 64, b"m", b"sig")


def test_sm2_encrypt_decrypt_round_trip() -> None:
    private, public = provider.sm2_generate_keypair()
    data_key = bytes(range(16))
    ciphertext = provider.sm2_encrypt(public, data_key)
    assert ciphertext[0] == 0x30  # DER SEQUENCE (C1C3C2)
    assert provider.sm2_decrypt(private, ciphertext) == data_key
    assert provider.sm2_decrypt(private, provider.sm2_encrypt(public, b"x" * 255)) == b"x" * 255
    with pytest.raises(Invalid, match="Decryption failed"):
        provider.sm2_decrypt(private, ciphertext[:-1] + bytes([ciphertext[-1] ^ 0x01]))
    with pytest.raises(Invalid, match="Decryption failed"):
        provider.sm2_decrypt(provider.sm2_generate_keypair()[0], ciphertext)
    with pytest.raises(Invalid):
        provider.sm2_encrypt(public, b"x" * 256)


def test_set_provider_swaps_sm3_hex() -> None:
    class Fixed(SoftwareProvider):
        name = "fixed"

        def sm3(self, data: bytes) -> bytes:
            return b"\x01" * 32

    original = get_provider()
    set_provider(Fixed())
    try:
        assert get_provider().name == "fixed"
        assert sm3_hex(b"abc") == "01" * 32
    finally:
        set_provider(original)
    assert sm3_hex(b"abc").startswith("66c7f0f4")
