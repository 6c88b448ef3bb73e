"""The key hierarchy: one master key wraps every data key and every platform signing key.

::

    master key (32 bytes: HUIJU_MASTER_KEY, or home/master.key created on first use, mode 0600)
      └─ key-encryption key = HMAC-SM3(master, "huiju-kek|sm4-gcm|v1")[:16]   (SM4 takes 128-bit keys)
           ├─ data_keys:    SM4-GCM(kek, 16-byte data key,  aad = "purpose|version")
           └─ signing_keys: SM4-GCM(kek, SM2 private key,   aad = "signing|purpose|public key hex")

The associated data binds each wrapped key to its row: a wrapped key copied onto another
purpose, version or public key no longer unwraps. Only wrapped keys are ever stored; the
master key never enters the database.

Data keys have versions. ``data_key`` returns the current one (creating version 1 on first
use); rotation adds a version and retires the old ones, which stay readable so that whatever
was encrypted under them still decrypts. Moving to a new master key re-wraps every row and
changes nothing that the data keys encrypted.

This module is the mechanism (no permission checks, no commits); the use cases that change
keys on someone's behalf are in ``huiju.security.service``.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from huiju.config import Settings
from huiju.errors import Invalid, NotFound
from huiju.events import Event
from huiju.security.crypto import get_provider, sm3_hex
from huiju.security.models import DataKey, SigningKey
from huiju.storage.db import utcnow

MASTER_KEY_BYTES = 32
DATA_KEY_BYTES = 16  # an SM4 key
MASTER_KEY_FILE = "master.key"
AUDIT_SIGNING = "audit-signing"
SHARE_RECEIPT = "share-receipt"  # signs the exchange receipts of the share context
SIGNING_PURPOSES = frozenset({AUDIT_SIGNING, SHARE_RECEIPT})

_KEK_LABEL = b"huiju-kek|sm4-gcm|v1"
_PURPOSE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")


# ---- events ------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class KeyEvent(Event):
    context: ClassVar[str] = "security"


@dataclass(frozen=True, kw_only=True)
class DataKeyCreated(KeyEvent):
    purpose: str
    version: int


@dataclass(frozen=True, kw_only=True)
class DataKeyRotated(KeyEvent):
    purpose: str
    version: int
    retired_versions: list[int]


@dataclass(frozen=True, kw_only=True)
class SigningKeyRotated(KeyEvent):
    purpose: str
    fingerprint: str
    retired_fingerprints: list[str]


@dataclass(frozen=True, kw_only=True)
class MasterKeyRewrapped(KeyEvent):
    data_keys: int
    signing_keys: int


# ---- the master key ----------------------------------------------------------------------

def master_key_path(settings: Settings) -> Path:
    return settings.home / MASTER_KEY_FILE


def master_key(settings: Settings) -> bytes:
    """The 32-byte master key: ``HUIJU_MASTER_KEY`` if set, else home/master.key (created on first use)."""
    if settings.master_key:
        return _parse_master(settings.master_key, "HUIJU_MASTER_KEY")
    path = master_key_path(settings)
    if not path.exists():
        _create_key_file(path, secrets.token_bytes(MASTER_KEY_BYTES), exclusive=True)
    return _parse_master(path.read_text(), str(path))


def _parse_master(text: str, source: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        key = b""
    if len(key) != MASTER_KEY_BYTES:
        raise Invalid("The master key in %(source)s must be 64 hex digits (32 bytes)", source=source)
    return key


def _create_key_file(path: Path, key: bytes, *, exclusive: bool) -> None:
    """Write ``key`` as hex, readable by the owner only, and never visible half-written.

    The key goes to a private temporary file first; ``exclusive`` links it into place only if
    no other process got there first (then that process's key wins), else it replaces ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(key.hex() + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if exclusive:
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
        else:
            os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def stage_master_file(settings: Settings, new_master: bytes) -> Path:
    """Write the next master key beside the current one (``master.key.new``), to be installed later."""
    staged = master_key_path(settings).with_name(MASTER_KEY_FILE + ".new")
    _create_key_file(staged, new_master, exclusive=False)
    return staged


def install_master_file(settings: Settings, staged: Path) -> None:
    """Atomically make the staged key the master key file."""
    os.replace(staged, master_key_path(settings))


def _kek(master: bytes) -> bytes:
    """The SM4 key-encryption key: a PRF of the 256-bit master, so SM4's 128-bit key size never limits it."""
    return get_provider().hmac_sm3(master, _KEK_LABEL)[:16]


# ---- wrapping ----------------------------------------------------------------------------

def _data_aad(purpose: str, version: int) -> bytes:
    return f"{purpose}|{version}".encode()


def _signing_aad(purpose: str, public_key_hex: str) -> bytes:
    return f"signing|{purpose}|{public_key_hex.lower()}".encode()


def wrap_data_key(master: bytes, purpose: str, version: int, key: bytes) -> bytes:
    return get_provider().sm4_gcm_encrypt(_kek(master), key, _data_aad(purpose, version))


def unwrap_data_key(master: bytes, purpose: str, version: int, wrapped: bytes) -> bytes:
    try:
        return get_provider().sm4_gcm_decrypt(_kek(master), bytes(wrapped), _data_aad(purpose, version))
    except Invalid:
        raise _wrong_master(purpose, version) from None


def wrap_private_key(master: bytes, purpose: str, public_key_hex: str, private_key_hex: str) -> bytes:
    return get_provider().sm4_gcm_encrypt(_kek(master), bytes.fromhex(private_key_hex),
                                          _signing_aad(purpose, public_key_hex))


def unwrap_private_key(master: bytes, purpose: str, public_key_hex: str, wrapped: bytes) -> str:
    try:
        raw = get_provider().sm4_gcm_decrypt(_kek(master), bytes(wrapped), _signing_aad(purpose, public_key_hex))
    except Invalid:
        raise _wrong_master(purpose, fingerprint(public_key_hex)[:16]) from None
    return raw.hex()


def _wrong_master(purpose: str, version: Any) -> Invalid:
    return Invalid("The master key cannot unwrap key %(purpose)s (version %(version)s): the key was altered "
                   "or HUIJU_MASTER_KEY / home/master.key is not the master key it was wrapped with",
                   purpose=purpose, version=version)


def fingerprint(public_key_hex: str) -> str:
    """SM3 of the public key's bytes, to compare a key out of band (for example with an auditor)."""
    return sm3_hex(bytes.fromhex(public_key_hex))


def check_purpose(purpose: str) -> str:
    purpose = purpose.strip()
    if not _PURPOSE.match(purpose):
        raise Invalid("A key purpose is 1-100 letters, digits or . _ : / - (for example dataset:population)")
    return purpose


def _check_data_purpose(purpose: str) -> str:
    purpose = check_purpose(purpose)
    if purpose in SIGNING_PURPOSES:
        raise Invalid("%(purpose)s names a signing key, not a data key", purpose=purpose)
    return purpose


# ---- data keys ---------------------------------------------------------------------------

def data_key(uow: Any, purpose: str, *, actor: Any = None) -> tuple[int, bytes]:
    """``(version, key)`` of the current data key for ``purpose``, created (version 1) on first use.

    A created key is added to the unit of work, with a ``DataKeyCreated`` event: it is saved by
    the caller's commit, together with whatever the caller encrypted under it.
    """
    purpose = _check_data_purpose(purpose)
    master = master_key(uow.settings)
    row = _current_data_key(uow.session, purpose)
    if row is None:
        row = _create_data_key(uow, master, purpose, actor)
    return row.version, unwrap_data_key(master, row.purpose, row.version, row.wrapped)


def data_key_version(uow: Any, purpose: str, version: int) -> bytes:
    """The key of any version, retired or not: what was encrypted under it must stay readable."""
    purpose = check_purpose(purpose)
    row = uow.session.scalar(select(DataKey).where(DataKey.purpose == purpose, DataKey.version == version))
    if row is None:
        raise NotFound("Data key %(purpose)s version %(version)s not found", purpose=purpose, version=version)
    return unwrap_data_key(master_key(uow.settings), row.purpose, row.version, row.wrapped)


def _current_data_key(session: Any, purpose: str) -> DataKey | None:
    return session.scalar(
        select(DataKey).where(DataKey.purpose == purpose, DataKey.retired_at.is_(None))
        .order_by(DataKey.version.desc()).limit(1)
    )


def _next_version(session: Any, purpose: str) -> int:
    return (session.scalar(select(func.max(DataKey.version)).where(DataKey.purpose == purpose)) or 0) + 1


def _new_data_key_row(master: bytes, purpose: str, version: int) -> DataKey:
    key = secrets.token_bytes(DATA_KEY_BYTES)
    return DataKey(purpose=purpose, version=version, wrapped=wrap_data_key(master, purpose, version, key),
                   created_at=utcnow())


def _create_data_key(uow: Any, master: bytes, purpose: str, actor: Any) -> DataKey:
    session = uow.session
    row = _new_data_key_row(master, purpose, _next_version(session, purpose))
    try:
        with session.begin_nested():  # a concurrent first use of the same purpose loses cleanly
            session.add(row)
    except IntegrityError:
        existing = _current_data_key(session, purpose)
        if existing is None:
            raise
        return existing
    uow.emit(actor, DataKeyCreated(purpose=purpose, version=row.version))
    return row


def rotate_data_key_rows(uow: Any, purpose: str) -> tuple[DataKey, list[int]]:
    """Add the next version of ``purpose`` and retire the others; returns it and the retired versions.

    Re-encryption is the job of whoever holds data under the old versions (the encrypted lake
    columns, when they come): they re-encrypt to the new version at their own pace, reading the
    old data with ``data_key_version``. Nothing else is encrypted under data keys yet, so
    rotation re-wraps nothing; retired versions are kept and stay readable.
    """
    purpose = _check_data_purpose(purpose)
    session = uow.session
    version = _next_version(session, purpose)
    if version == 1:
        raise NotFound("No data key for %(purpose)s yet", purpose=purpose)
    now = utcnow()
    current = list(session.scalars(select(DataKey).where(DataKey.purpose == purpose, DataKey.retired_at.is_(None))))
    for old in current:
        old.retired_at = now
    row = _new_data_key_row(master_key(uow.settings), purpose, version)
    row.created_at = now
    session.add(row)
    session.flush()
    return row, sorted(old.version for old in current)


# ---- signing keys ------------------------------------------------------------------------

def signing_key(uow: Any, purpose: str = AUDIT_SIGNING) -> tuple[SigningKey, str]:
    """The current key pair for ``purpose`` as ``(row, private_key_hex)``, created on first use."""
    master = master_key(uow.settings)
    row = uow.session.scalar(
        select(SigningKey).where(SigningKey.purpose == purpose, SigningKey.retired_at.is_(None))
        .order_by(SigningKey.id.desc()).limit(1)
    )
    if row is None:
        row = _new_signing_key(uow.session, master, purpose)
    return row, unwrap_private_key(master, row.purpose, row.public_key_hex, row.wrapped_private)


def _new_signing_key(session: Any, master: bytes, purpose: str) -> SigningKey:
    private, public = get_provider().sm2_generate_keypair()
    public = public.lower()
    row = SigningKey(purpose=purpose, public_key_hex=public, created_at=utcnow(),
                     wrapped_private=wrap_private_key(master, purpose, public, private))
    session.add(row)
    session.flush()
    return row


def rotate_signing_key_rows(uow: Any, purpose: str) -> tuple[SigningKey, list[SigningKey]]:
    """Retire the current key pair of ``purpose`` and create a new one; old public keys stay for verifying."""
    purpose = check_purpose(purpose)
    if purpose not in SIGNING_PURPOSES:
        raise Invalid("%(purpose)s is not a signing key", purpose=purpose)
    session = uow.session
    current = list(session.scalars(select(SigningKey).where(SigningKey.purpose == purpose,
                                                            SigningKey.retired_at.is_(None))))
    if not current and session.scalar(select(SigningKey.id).where(SigningKey.purpose == purpose).limit(1)) is None:
        raise NotFound("No signing key for %(purpose)s yet", purpose=purpose)
    now = utcnow()
    for row in current:
        row.retired_at = now
    return _new_signing_key(session, master_key(uow.settings), purpose), current


def trusted_public_keys(uow: Any) -> set[str]:
    """Public keys of the signing keys whose wrapped private half unwraps under the master key.

    A row someone slipped into ``signing_keys`` without the master key cannot pass this, so a
    checkpoint signed with such a key is not trusted.
    """
    rows = list(uow.session.scalars(select(SigningKey)))
    if not rows:
        return set()
    master = master_key(uow.settings)
    trusted = set()
    for row in rows:
        try:
            unwrap_private_key(master, row.purpose, row.public_key_hex, row.wrapped_private)
        except Invalid:
            continue
        trusted.add(row.public_key_hex.lower())
    return trusted


def public_key_records(uow: Any) -> list[dict[str, Any]]:
    """The trusted signing keys as plain records (for an audit export)."""
    trusted = trusted_public_keys(uow)
    out = []
    for row in uow.session.scalars(select(SigningKey).order_by(SigningKey.id)):
        if row.public_key_hex.lower() in trusted:
            out.append({"purpose": row.purpose, "public_key_hex": row.public_key_hex.lower(),
                        "fingerprint": fingerprint(row.public_key_hex),
                        "created_at": _iso(row.created_at), "retired_at": _iso(row.retired_at)})
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


# ---- the master key changes --------------------------------------------------------------

def rewrap_rows(uow: Any, new_master: bytes) -> tuple[int, int]:
    """Re-wrap every data and signing key under ``new_master``; returns the two counts.

    Every row is first unwrapped with the current master, so a wrong current master (or an
    altered row) stops the whole change before anything is written.
    """
    if len(new_master) != MASTER_KEY_BYTES:
        raise Invalid("The new master key must be 32 bytes")
    old = master_key(uow.settings)
    if secrets.compare_digest(old, new_master):
        raise Invalid("The new master key is the current one")
    session = uow.session
    data_rows = list(session.scalars(select(DataKey).order_by(DataKey.id)))
    signing_rows = list(session.scalars(select(SigningKey).order_by(SigningKey.id)))
    for row in data_rows:
        key = unwrap_data_key(old, row.purpose, row.version, row.wrapped)
        row.wrapped = wrap_data_key(new_master, row.purpose, row.version, key)
    for srow in signing_rows:
        private = unwrap_private_key(old, srow.purpose, srow.public_key_hex, srow.wrapped_private)
        srow.wrapped_private = wrap_private_key(new_master, srow.purpose, srow.public_key_hex, private)
    session.flush()
    return len(data_rows), len(signing_rows)


# ---- listing -----------------------------------------------------------------------------

@dataclass
class KeyInfo:
    """What may be shown about a key: never key material."""

    kind: str  # data | signing
    purpose: str
    version: int
    created_at: datetime
    retired_at: datetime | None
    fingerprint: str = ""  # signing keys only: SM3 of the public key


def key_infos(uow: Any) -> list[KeyInfo]:
    session = uow.session
    out = [KeyInfo("data", r.purpose, r.version, r.created_at, r.retired_at)
           for r in session.scalars(select(DataKey).order_by(DataKey.purpose, DataKey.version))]
    versions: dict[str, int] = {}
    for s in session.scalars(select(SigningKey).order_by(SigningKey.purpose, SigningKey.id)):
        versions[s.purpose] = versions.get(s.purpose, 0) + 1
        out.append(KeyInfo("signing", s.purpose, versions[s.purpose], s.created_at, s.retired_at,
                           fingerprint(s.public_key_hex)))
    return sorted(out, key=lambda k: (k.kind, k.purpose, k.version))
