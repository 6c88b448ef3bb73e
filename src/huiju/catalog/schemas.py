"""Pydantic shapes of the catalog API."""

from __future__ import annotations

from datetime import datetime
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
