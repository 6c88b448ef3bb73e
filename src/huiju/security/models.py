"""The append-only audit table, its chain head and signed checkpoints; the wrapped keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiju.storage.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64


class AuditEntry(Base):
    """One event; ``hash`` = SM3(prev_hash | canonical content). Triggers forbid UPDATE and DELETE."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    context: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(80), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, kept byte for byte
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The chain head: appenders lock this row, so concurrent commits chain one after another."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditCheckpoint(Base):
    """An SM2 signature over the chain head at ``seq``; append-only like the entries (triggers).

    The signed bytes are ``huiju-audit-checkpoint|{seq}|{head_hash}|{signed_at ISO}`` (see
    ``huiju.security.audit.checkpoint_message``); ``public_key_hex`` names the key that signed,
    so a verifier needs nothing but the public key.
    """

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    public_key_hex: Mapped[str] = mapped_column(String(130))
    signature: Mapped[str] = mapped_column(String(200))  # hex of the DER SEQUENCE { r, s }


class DataKey(Base):
    """One version of a data key (数据密钥) for a purpose such as ``dataset:population``.

    ``wrapped`` = SM4-GCM under the key-encryption key derived from the master key, with
    ``purpose|version`` as associated data, so a wrapped key cannot be moved to another row.
    Retired versions stay: they still decrypt what was encrypted under them.
    """

    __tablename__ = "data_keys"
    __table_args__ = (UniqueConstraint("purpose", "version", name="uq_data_keys_purpose_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class SigningKey(Base):
    """A platform SM2 key pair (for example ``audit-signing``); the private half wrapped like data keys."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purpose: Mapped[str] = mapped_column(String(100), index=True)
    public_key_hex: Mapped[str] = mapped_column(String(130), unique=True)
    wrapped_private: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
