"""Datasets (数据集), the lineage of each published version, and the catalog (目录) built on them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from huiju.storage.db import UNMODELLED_PREFIXES, Base, UTCDateTime, utcnow

# The full-text index over catalog_entries.search_text (search.py): FTS5 on SQLite, GIN on PostgreSQL.
UNMODELLED_PREFIXES.update({"catalog_fts", "ix_catalog_entries_search"})


class Dataset(Base):
    """A named table in the lake, owned by a department; its versions are rows of ``lake_versions``."""

    __tablename__ = "datasets"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    table_schema: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)  # Frictionless Table Schema
    schema_confirmed: Mapped[bool] = mapped_column(default=False)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # column -> proposed/confirmed label
    # an operator's exception to the level the dataset inherits (就高从严): {"level", "reason", "decided_by", "at"}
    level_exception: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    current_version_id: Mapped[int | None] = mapped_column(ForeignKey("lake_versions.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Lineage(Base):
    """Where a version came from: the job, the SM3 of every input file and of the rule set."""

    __tablename__ = "lineage"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("lake_versions.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # ingest | rollback | derived
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    rule_set_sm3: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogEntry(Base):
    """One information resource (目录项) with the 编制指南's core metadata; its lifecycle is in lifecycle.py."""

    __tablename__ = "catalog_entries"
    __authz_department__ = "department_id"
    __table_args__ = (
        UniqueConstraint("harvest_source_id", "source_identifier", name="uq_catalog_entries_harvest_identifier"),
        # covers the visibility filter and every facet, so facet counts never read the wide rows
        Index("ix_catalog_entries_facets", "state", "department_id", "classification", "share_type", "open_class",
              "format_kind", "update_cycle", "theme", "data_level", "provider_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    classification: Mapped[str] = mapped_column(String(16))  # base | theme | department
    item: Mapped[str] = mapped_column(String(32))  # 项: population, health, provincial, …
    directory: Mapped[str] = mapped_column(String(3))  # 目
    theme: Mapped[str | None] = mapped_column(String(32), nullable=True)  # for theme entries and tags
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # indexed by ix_catalog_entries_facets
    provider_name: Mapped[str] = mapped_column(String(200))
    provider_code: Mapped[str] = mapped_column(String(64))
    abstract: Mapped[str] = mapped_column(Text)
    format_kind: Mapped[str] = mapped_column(String(32))
    format_type: Mapped[str] = mapped_column(String(32))
    share_type: Mapped[str] = mapped_column(String(16))
    share_condition: Mapped[str | None] = mapped_column(Text, nullable=True)
    share_basis: Mapped[str | None] = mapped_column(Text, nullable=True)
    share_mode_kind: Mapped[str] = mapped_column(String(16))
    share_mode_type: Mapped[str] = mapped_column(String(16))
    open_class: Mapped[str] = mapped_column(String(16))
    open_condition: Mapped[str | None] = mapped_column(Text, nullable=True)
    update_cycle: Mapped[str] = mapped_column(String(16))
    publish_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    related_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    data_level: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="draft")
    review_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    usage_count: Mapped[int] = mapped_column(Integer, default=0)
    search_text: Mapped[str] = mapped_column(Text, default="")  # jieba-segmented words for full-text search
    harvest_source_id: Mapped[int | None] = mapped_column(ForeignKey("harvest_sources.id"), nullable=True)
    source_identifier: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    items: Mapped[list[CatalogItem]] = relationship(order_by="CatalogItem.position", cascade="all, delete-orphan",
                                                    lazy="selectin")


class CatalogItem(Base):
    """信息项: one field of an entry, with its 指南 type letter and its own share type."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    type_code: Mapped[str] = mapped_column(String(1))  # C N Y D T L M G B I F
    length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sensitivity: Mapped[str] = mapped_column(String(16))  # a GB/T 43697 level
    share_type: Mapped[str] = mapped_column(String(16))
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    column: Mapped[str | None] = mapped_column(String(200), nullable=True)  # the dataset column it describes


class CatalogChange(Base):
    """The change history of an entry: who did what, when, and which fields changed (old → new)."""

    __tablename__ = "catalog_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))  # the state after the change
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    actor_name: Mapped[str] = mapped_column(String(100))
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CatalogMount(Base):
    """挂接: a dataset whose versions serve an entry."""

    __tablename__ = "catalog_mounts"
    __table_args__ = (UniqueConstraint("entry_id", "dataset_id", name="uq_catalog_mounts_entry_dataset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("catalog_entries.id", ondelete="CASCADE"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    mounted_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HarvestSource(Base):
    """Another catalog huiju harvests from: a huiju node, a CKAN portal or a DCAT RDF document."""

    __tablename__ = "harvest_sources"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # huiju | ckan | dcat
    url: Mapped[str] = mapped_column(String(1000))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))  # entries are filed under it
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class HarvestRecord(Base):
    """One record as fetched from a source: the raw text, the entry made from it, or the error."""

    __tablename__ = "harvest_records"
    __table_args__ = (UniqueConstraint("source_id", "identifier", name="uq_harvest_records_source_identifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("harvest_sources.id", ondelete="CASCADE"), index=True)
    identifier: Mapped[str] = mapped_column(String(500))
    raw: Mapped[str] = mapped_column(Text)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_entries.id", ondelete="SET NULL"),
                                                 nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    harvested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
