"""Data elements (数据元), which column of which dataset carries them, and correction tasks (纠错)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from huiju.i18n import N_
from huiju.storage.db import Base, UTCDateTime, utcnow

# subject kind -> (code of its key element, base-library dataset key)
SUBJECTS: dict[str, tuple[str, str]] = {
    "person": ("person.id_number", "base_population"),
    "legal_entity": ("legal_entity.uscc", "base_legal_entity"),
}
SUBJECT_LABELS = {"person": N_("person"), "legal_entity": N_("legal entity")}

OPEN = "open"
OUTCOMES = ("confirmed_correct", "corrected", "rejected")
TASK_STATUSES = (OPEN, *OUTCOMES)
STATUS_LABELS = {
    "open": N_("open"),
    "confirmed_correct": N_("authority value confirmed"),
    "corrected": N_("corrected"),
    "rejected": N_("rejected"),
}


class DataElement(Base):
    """A named kind of value (姓名, 注册资本) of a subject, and the one department whose value is the reference."""

    __tablename__ = "data_elements"
    __authz_department__ = "authority_department_id"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # person.name
    name: Mapped[str] = mapped_column(String(100))  # 姓名: also the column name in the base library
    subject: Mapped[str] = mapped_column(String(32), index=True)  # person | legal_entity
    key_code: Mapped[str] = mapped_column(String(64))  # the subject's key element: person.id_number
    authority_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    # value domain (值域) spellings folded before comparing, e.g. {"男": "1", "女": "2"} (GB/T 2261.1)
    value_codes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_key(self) -> bool:
        return self.code == self.key_code


class ElementMapping(Base):
    """Column ``column`` of dataset ``dataset_id`` carries element ``element_id`` (the key column is mapped too)."""

    __tablename__ = "element_mappings"
    __authz_department__ = "department_id"
    __table_args__ = (
        UniqueConstraint("dataset_id", "element_id", name="uq_element_mappings_dataset_element"),
        UniqueConstraint("dataset_id", "column", name="uq_element_mappings_dataset_column"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    dataset_key: Mapped[str] = mapped_column(String(200))  # dataset keys never change; kept for display
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    column: Mapped[str] = mapped_column(String(200))
    element_id: Mapped[int] = mapped_column(ForeignKey("data_elements.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CorrectionTask(Base):
    """One discrepancy (疑义数据): another dataset's value of an element for a subject differs from the authority's.

    Assigned to the authoritative department, which confirms its value, corrects it, or rejects the report.
    """

    __tablename__ = "correction_tasks"
    __authz_department__ = "assigned_department_id"
    __table_args__ = (
        Index("ix_correction_tasks_assigned_status", "assigned_department_id", "status", "id"),
        Index("ix_correction_tasks_element_other_status", "element_id", "other_dataset_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    element_id: Mapped[int] = mapped_column(ForeignKey("data_elements.id"))
    subject_key: Mapped[str] = mapped_column(String(64), index=True)  # ID number or USCC, normalised
    authority_dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    authority_dataset_key: Mapped[str] = mapped_column(String(200))
    authority_version_id: Mapped[int] = mapped_column(ForeignKey("lake_versions.id"))
    authority_version: Mapped[int] = mapped_column(Integer)
    authority_value: Mapped[str | None] = mapped_column(Text, nullable=True)  # normalised text, NULL = no value
    other_dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    other_dataset_key: Mapped[str] = mapped_column(String(200))
    other_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    other_version_id: Mapped[int] = mapped_column(ForeignKey("lake_versions.id"))
    other_version: Mapped[int] = mapped_column(Integer)
    other_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(24), default=OPEN)  # open | confirmed_correct | corrected | rejected
    assigned_department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_by: Mapped[int | None] = mapped_column(Integer, nullable=True)  # user id; NULL when closed by a re-run
    resolution_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    # how it was closed: {"automatic": true, "authority_version": n, "other_version": m} when a re-run no longer
    # finds the discrepancy
    resolution_detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
