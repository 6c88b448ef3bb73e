"""Pydantic shapes of the catalog API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DatasetIn(BaseModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$", examples=["legal_entities"])
    name: str = Field(min_length=1, max_length=200, examples=["法人登记信息"])
    department_code: str = Field(examples=["SJ"])


class SchemaIn(BaseModel):
    table_schema: dict[str, Any] = Field(description="A Frictionless Table Schema descriptor")
    rules: list[dict[str, Any]] = Field(default_factory=list)
    confirmed: bool = True


class DatasetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    name: str
    department_id: int
    table_schema: dict[str, Any] | None
    schema_confirmed: bool
    labels: dict[str, Any]
    current_version_id: int | None


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    number: int
    row_count: int
    byte_count: int
    schema_: list[dict[str, Any]] = Field(alias="schema")
    created_at: datetime


class CatalogItemIn(BaseModel):
    """A data item (信息项); values may be codes or their Chinese labels."""

    name: str = Field(examples=["统一社会信用代码"])
    type_code: str = Field(examples=["C"], description="C N Y D T L M G B I F")
    length: int | None = Field(default=None, examples=[18])
    sensitivity: str | None = Field(default=None, examples=["general_2"])
    share_type: str | None = Field(default=None, examples=["unconditional"])
    is_key: bool = False
    column: str | None = None


class CatalogEntryIn(BaseModel):
    """An entry's core metadata. Enumerated fields take the code or the Chinese label (有条件共享)."""

    name: str = Field(examples=["法人单位基本信息"])
    classification: str = Field(examples=["base"], description="base | theme | department")
    item: str = Field(examples=["legal_entity"])
    directory: str | None = Field(default=None, examples=["001"])
    theme: str | None = None
    abstract: str = Field(examples=["本市登记的法人单位名称、统一社会信用代码、住所等基本信息"])
    format_kind: str = Field(examples=["database"])
    format_type: str = Field(examples=["PostgreSQL"])
    share_type: str = Field(examples=["conditional"])
    share_condition: str | None = None
    share_basis: str | None = None
    share_mode_kind: str | None = Field(default="platform")
    share_mode_type: str = Field(examples=["api"])
    open_class: str = Field(examples=["closed"])
    open_condition: str | None = None
    update_cycle: str = Field(examples=["daily"])
    publish_date: str | None = None
    related_codes: list[str] = Field(default_factory=list)
    data_level: str = Field(examples=["general_3"])
    items: list[CatalogItemIn] = Field(default_factory=list)


class CatalogEntryCreate(CatalogEntryIn):
    department_code: str = Field(examples=["SJ"])


class CommentIn(BaseModel):
    comment: str = ""


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1)


class MountIn(BaseModel):
    dataset_id: int


class CatalogItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    position: int
    name: str
    type_code: str
    length: int | None
    sensitivity: str
    share_type: str
    is_key: bool
    column: str | None


class CatalogEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    name: str
    classification: str
    item: str
    directory: str
    theme: str | None
    department_id: int
    provider_name: str
    provider_code: str
    abstract: str
    format_kind: str
    format_type: str
    share_type: str
    share_condition: str | None
    share_basis: str | None
    share_mode_kind: str
    share_mode_type: str
    open_class: str
    open_condition: str | None
    update_cycle: str
    publish_date: date | None
    related_codes: list[str]
    data_level: str
    state: str
    review_comment: str | None
    usage_count: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    items: list[CatalogItemOut]


class CatalogChangeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    action: str
    state: str
    actor_name: str
    changes: dict[str, Any]
    comment: str | None
    created_at: datetime


class FacetValueOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    value: str
    label: str
    count: int
    selected: bool


class SearchOut(BaseModel):
    total: int
    page: int
    per_page: int
    pages: int
    entries: list[CatalogEntryOut]
    facets: dict[str, list[FacetValueOut]]


class HarvestSourceIn(BaseModel):
    name: str = Field(examples=["省平台目录"])
    kind: str = Field(examples=["huiju"], description="huiju | ckan | dcat")
    url: str = Field(examples=["https://province.example/"])
    department_code: str = Field(examples=["SJ"], description="Local department the harvested entries are filed under")


class HarvestSourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    kind: str
    url: str
    department_id: int
    last_run_at: datetime | None


class HarvestRunIn(BaseModel):
    token: str | None = Field(default=None, description="Credential for the source (a huiju API token, a CKAN key)")


class HarvestReportOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    created: int
    updated: int
    unchanged: int
    failed: int


class HarvestRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    identifier: str
    entry_id: int | None
    error: str | None
    raw: str
    harvested_at: datetime
