"""Ingest jobs (汇聚任务) and their quarantined rows (问题数据)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from huiju.i18n import N_
from huiju.storage.db import Base, UTCDateTime, utcnow

STATUSES = (N_("running"), N_("succeeded"), N_("failed"))


class IngestJob(Base):
    """One run of a source into a dataset: status, progress, counts, the input's SM3, the version it made."""

    __tablename__ = "ingest_jobs"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(32))  # upload | sql | http
    input_name: Mapped[str] = mapped_column(String(300))
    input_sm3: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    encoding: Mapped[str | None] = mapped_column(String(32), nullable=True)
    write_mode: Mapped[str] = mapped_column(String(16), default="replace")
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | succeeded | failed
    rows_read: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_accepted: Mapped[int] = mapped_column(BigInteger, default=0)
    rows_rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    rule_counts: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    notices: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    kept_file: Mapped[str | None] = mapped_column(String(500), nullable=True)  # a file that could not be read
    version_id: Mapped[int | None] = mapped_column(ForeignKey("lake_versions.id"), nullable=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def quality_score(self) -> float | None:
        """Share of rows accepted, in percent; None before any row was read."""
        return round(100.0 * self.rows_accepted / self.rows_read, 2) if self.rows_read else None


class QuarantineRow(Base):
    """A rejected row kept whole with every reason, so the steward can correct and resubmit it."""

    __tablename__ = "quarantine_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)  # original values by column (or {"_line": text})
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{field, rule, message}]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resubmitted | discarded
