"""Argon2id password hashing; a dummy verification keeps unknown-user logins as slow as real ones."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from huiju.errors import Invalid

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("huiju-dummy-password")
MIN_LENGTH = 8


def hash_password(password: str) -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid("Password must be at least %(n)s characters", n=MIN_LENGTH)
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False
