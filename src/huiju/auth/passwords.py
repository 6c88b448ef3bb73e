"""Argon2id password hashing; a dummy verification keeps unknown-user logins as slow as real ones."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from huiju.errors import Invalid

_hasher = PasswordHasher()
MIN_LENGTH = 8


@cache
def _dummy_hash() -> str:
    """Made on first use, not at import, so every CLI start does not pay for one Argon2 hash."""
    return _hasher.hash("huiju-dummy-password")


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid("Password must be at least %(n)s characters", n=MIN_LENGTH)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
