"""Datasets (数据集) and the lineage of each published version."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from huiju.storage.db import Base, UTCDateTime, utcnow


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
