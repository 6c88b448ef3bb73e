"""Open datasets (开放数据集, CKAN packages) and their open versions (CKAN resources)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiju.storage.db import Base, UTCDateTime, utcnow


class OpenStatus(StrEnum):
    """Lifecycle of an open dataset: a steward proposes, the operator reviews, the platform publishes."""

    PROPOSED = "proposed"
    REJECTED = "rejected"
    PUBLISHED = "published"  # approved and serving an open version
    WITHDRAWN = "withdrawn"


class OpenClass(StrEnum):
    """开放类型, the canonical values shared with the catalog (cn-standards.md §2.2)."""

    UNCONDITIONAL = "unconditional"
    CONDITIONAL = "conditional"
    CLOSED = "closed"


class OpenDataset(Base):
    """A catalog entry proposed for, or published on, the open portal; `policy` says what each column becomes."""

    __tablename__ = "open_datasets"
    __authz_department__ = "department_id"
    __table_args__ = (Index("ix_open_datasets_status_modified", "status", "metadata_modified"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # CKAN package id (a UUID)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # CKAN package name (lowercase, -_)
    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id"), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)  # the mounted source dataset
    open_key: Mapped[str] = mapped_column(String(200), unique=True)  # the derived dataset holding open versions
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    open_class: Mapped[str] = mapped_column(String(16), index=True)
    status: Mapped[str] = mapped_column(String(16), default=OpenStatus.PROPOSED)
    # column -> {"action": "keep" | "drop" | "mask", "mask": <security.masking name>}
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    primary_key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    index_columns: Mapped[list[str]] = mapped_column(JSON, default=list)  # equality filters served by index
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)  # CKAN groups
    license_id: Mapped[str] = mapped_column(String(64), default="cc-by")
    update_frequency: Mapped[str] = mapped_column(String(32), default="")
    proposed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    metadata_created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    metadata_modified: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OpenVersion(Base):
    """One derived open version (a CKAN resource): masked rows in the lake plus the serving index built from them."""

    __tablename__ = "open_versions"
    __table_args__ = (UniqueConstraint("open_dataset_id", "number", name="uq_open_versions_dataset_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)  # CKAN resource id (a UUID)
    open_dataset_id: Mapped[int] = mapped_column(ForeignKey("open_datasets.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    source_version_id: Mapped[int] = mapped_column(ForeignKey("lake_versions.id"))
    lake_version_id: Mapped[int] = mapped_column(ForeignKey("lake_versions.id"), unique=True)
    row_count: Mapped[int] = mapped_column(BigInteger)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # [{id, type, info?}]
    serving_path: Mapped[str | None] = mapped_column(String(500), nullable=True)  # relative to the lake root
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
