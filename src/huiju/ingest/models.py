"""Ingest jobs (汇聚任务), their log and quarantined rows (问题数据), and the sources kept on the platform (数据源)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from huiju.i18n import N_, gettext
from huiju.storage.db import Base, UTCDateTime, utcnow

STATUSES = (N_("queued"), N_("running"), N_("succeeded"), N_("failed"), N_("interrupted"))
FINISHED = ("succeeded", "failed", "interrupted")
WRITE_MODE_LABELS = (N_("replace"), N_("append"), N_("merge"))


class Source(Base):
    """A department's source kept on the platform: how to read it, where it goes, when, and where the last run stopped.

    ``options`` holds everything needed to open the connector except secrets; the password of a
    database or HTTP address and every HTTP header value are sealed (SM4-GCM under the data key
    ``ingest:sources``) in ``sealed`` and never stored in clear. ``cursor_value`` is the largest
    cursor seen by the last run whose version was published; it only moves in that transaction.
    """

    __tablename__ = "ingest_sources"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # file | sql | http
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    sealed_key_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    write_mode: Mapped[str] = mapped_column(String(16), default="replace")
    key_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    cursor_column: Mapped[str | None] = mapped_column(String(200), nullable=True)
    cursor_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    schedule: Mapped[str | None] = mapped_column(String(100), nullable=True)  # cron, in HUIJU_TIMEZONE
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class IngestJob(Base):
    """One run of a source into a dataset: status, progress, counts, the input's SM3, the version it made."""

    __tablename__ = "ingest_jobs"
    __authz_department__ = "department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    source_kind: Mapped[str] = mapped_column(String(32))  # upload | resubmit | file | sql | http
    source_id: Mapped[int | None] = mapped_column(ForeignKey("ingest_sources.id"), nullable=True, index=True)
    input_name: Mapped[str] = mapped_column(String(300))
    input_sm3: Mapped[str | None] = mapped_column(String(64), nullable=True)
    input_bytes: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    encoding: Mapped[str | None] = mapped_column(String(32), nullable=True)
    write_mode: Mapped[str] = mapped_column(String(16), default="replace")
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)  # see STATUSES
    trigger: Mapped[str] = mapped_column(String(16), default="manual")  # manual | schedule | rerun
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # runs started (a retry is another attempt)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)  # a queued job waits till then
    claimed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # the worker running it
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rows_done: Mapped[int] = mapped_column(BigInteger, default=0)  # rows read so far, while it runs
    rows_total: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # when the source says
    cursor_from: Mapped[str | None] = mapped_column(Text, nullable=True)
    cursor_to: Mapped[str | None] = mapped_column(Text, nullable=True)
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

    @property
    def progress(self) -> dict[str, Any]:
        """Rows done and, where the source states it, the total and the percentage."""
        done = self.rows_read if self.status in FINISHED and self.rows_read else self.rows_done
        total = self.rows_total
        percent = round(min(100.0, 100.0 * done / total), 1) if total else (100.0 if self.status == "succeeded" else None)
        return {"rows_done": done, "rows_total": total, "percent": percent}


class JobLogLine(Base):
    """One line of a job's log, written as it happens (in its own transaction) so it shows while the job runs."""

    __tablename__ = "ingest_job_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="info")  # info | warning | error
    message: Mapped[str] = mapped_column(Text)  # an English msgid, translated when shown
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def localized(self) -> str:
        text = gettext(self.message)
        return text % self.params if self.params else text


class QuarantineRow(Base):
    """A rejected row kept whole with every reason, so the steward can correct and resubmit it."""

    __tablename__ = "quarantine_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("ingest_jobs.id", ondelete="CASCADE"), index=True)
    row_number: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)  # original values by column (or {"_line": text})
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{field, rule, message}]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | resubmitted | discarded
