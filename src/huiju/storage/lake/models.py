"""The manifest: a version exists for readers only once its row here is committed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiju.storage.db import Base, UTCDateTime, utcnow


class LakeVersion(Base):
    __tablename__ = "lake_versions"
    __table_args__ = (UniqueConstraint("dataset_key", "number", name="uq_lake_versions_key_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_key: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(500), unique=True)
    files: Mapped[list[str]] = mapped_column(JSON)
    row_count: Mapped[int] = mapped_column(BigInteger)
    byte_count: Mapped[int] = mapped_column(BigInteger)
    schema: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
