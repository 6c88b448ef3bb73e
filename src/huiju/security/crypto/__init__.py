"""National cryptography (国密) behind a provider interface, so a hardware module can replace it."""

from huiju.security.crypto.provider import (
    SM2_DEFAULT_SIGNER_ID,
    CryptoProvider,
    SoftwareProvider,
    get_provider,
    set_provider,
    sm3_hex,
)

__all__ = ["SM2_DEFAULT_SIGNER_ID", "CryptoProvider", "SoftwareProvider", "get_provider", "set_provider", "sm3_hex"]
