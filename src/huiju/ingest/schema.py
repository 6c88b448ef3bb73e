"""A dataset's declared shape: the Frictionless Table Schema subset huiju uses, and its inference.

The descriptor stays valid Frictionless JSON: our identifier checks travel as `format` values of string
fields ("gb11643", "gb32100", "gb11714", "gb2260", "mobile", "bankcard"), our few options under
properties prefixed ``huiju:``, and unknown properties (rdfType, example, ...) are kept for the round trip.

`infer_schema` only *proposes* a schema from a sample: the department data steward reviews and confirms
it, and the pipeline stores the confirmed descriptor with the dataset. Nothing is validated against an
unconfirmed guess.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any, Literal

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic import Field as PydanticField

from huiju.errors import Invalid
from huiju.ingest.standardize import (
    IDENTIFIER_FORMATS,
    sql_cast,
    sql_format_valid,
    sql_standardize,
)
from huiju.ingest.validators_sql import quote_ident

FieldType = Literal["string", "integer", "number", "boolean", "date", "datetime", "year"]
ROW_COLUMN = "_row"
FORMAT_SHARE = 0.9  # share of non-empty sample values that must pass a validator to propose its format
PROBE_TYPES = ("integer", "number", "date", "datetime", "boolean", "year")
_KEY_NAME = re.compile(r"身份证|信用代码|编号|代码|号码|流水号|文号|字号|证号|(^|[^a-z])id$|^id|_id$|code$|_no$", re.IGNORECASE)
_DATE_NAME = re.compile(r"日期|时间|日$|date|time|rq$", re.IGNORECASE)
_YEAR_NAME = re.compile(r"年份|年度|^年$|year|nd$", re.IGNORECASE)


class _Descriptor(BaseModel):
    """Frictionless descriptors use camelCase keys and allow extra properties, which we keep."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


class Constraints(_Descriptor):
    """Frictionless field constraints; quality.rules_from_schema turns each one into a rule."""

    required: bool | None = None
    unique: bool | None = None
    enum: list[str | int | float | bool] | None = None
    minimum: int | float | str | None = None
    maximum: int | float | str | None = None
    min_length: int | None = PydanticField(None, alias="minLength", ge=0)
    max_length: int | None = PydanticField(None, alias="maxLength", ge=0)
    pattern: str | None = None

    @model_validator(mode="after")
    def _pattern_compiles(self) -> Constraints:
        """A pattern that cannot compile would fail every batch later; refuse it when the schema is declared."""
        if self.pattern is not None:
            check_regex(self.pattern)
        return self


class Field(_Descriptor):
    """One column: its Frictionless type decides standardisation and cast, its format the identifier check."""

    name: str = PydanticField(min_length=1)
    title: str | None = None
    description: str | None = None
    type: FieldType = "string"
    format: str | None = None
    constraints: Constraints = Constraints()
    true_values: list[str] | None = PydanticField(None, alias="trueValues")
    false_values: list[str] | None = PydanticField(None, alias="falseValues")
    excel_serial: bool | None = PydanticField(None, alias="huiju:excelSerial")
    halfwidth: bool | None = PydanticField(None, alias="huiju:halfwidth")

    @model_validator(mode="after")
    def _format_fits_type(self) -> Field:
        """Identifier checks read the standardised text, which only string fields keep."""
        if self.format in IDENTIFIER_FORMATS and self.type != "string":
            raise Invalid("Format %(format)s applies to string fields only (field %(name)s)",
                          format=self.format, name=self.name)
        return self

    @property
    def label(self) -> str:
        """What a steward calls the column in messages: its title when it has one."""
        return self.title or self.name


class TableSchema(_Descriptor):
    """A dataset's declared shape; `missingValues` are the raw texts that mean "no value" (NULL)."""

    fields: list[Field] = PydanticField(min_length=1)
    primary_key: list[str] | None = PydanticField(None, alias="primaryKey")
    missing_values: list[str] = PydanticField([""], alias="missingValues")

    @model_validator(mode="before")
    @classmethod
    def _key_as_list(cls, data: Any) -> Any:
        """Frictionless allows a single-field primaryKey as a bare string."""
        if isinstance(data, dict) and isinstance(data.get("primaryKey"), str):
            data = {**data, "primaryKey": [data["primaryKey"]]}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> TableSchema:
        """_row and names starting "__" belong to the pipeline; keys must name declared fields."""
        names = [f.name for f in self.fields]
        for name in names:
            if names.count(name) > 1 or name == ROW_COLUMN or name.startswith("__"):
                raise Invalid("Field name %(name)s is repeated or reserved", name=name)
        for name in self.primary_key or []:
            if name not in names:
                raise Invalid("Primary key field %(name)s is not declared in the schema", name=name)
        return self

    def field(self, name: str) -> Field:
        """The declared field called `name` (StopIteration if none: callers check names first)."""
        return next(f for f in self.fields if f.name == name)

    @classmethod
    def from_json(cls, text: str | bytes) -> TableSchema:
        """Read a Frictionless Table Schema descriptor; a malformed one is the steward's error, not a crash."""
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise Invalid("The table schema is not valid: %(errors)s", errors=errors) from exc

    def to_json(self) -> str:
        """Write the descriptor as Frictionless JSON (camelCase, unset properties and empty constraints left out)."""
        data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        for field in data["fields"]:
            if not field.get("constraints"):
                field.pop("constraints", None)
        return json.dumps(data, ensure_ascii=False, indent=2)


def check_regex(pattern: str) -> None:
    """Refuse a pattern DuckDB (RE2) cannot compile; RE2 runs in linear time, so no pattern is catastrophic."""
    try:
        with duckdb.connect() as conn:
            conn.execute("SELECT regexp_full_match('', $p)", {"p": pattern}).fetchall()
    except duckdb.Error as exc:
        raise Invalid("The pattern %(pattern)s is not a valid regular expression", pattern=pattern) from exc


def _profile_sql(relation: str, columns: list[str], today: date) -> str:
    """One aggregate over the sample: per column, how many values parse as each type and pass each format."""
    texts, probes, items = [], [], ["count(*) AS n"]
    for i, col in enumerate(columns):
        texts.append(f"{sql_standardize(quote_ident(col), Field(name=col))} AS s{i}")
        probes += [f"s{i}"] + [f"{sql_standardize(f's{i}', Field(name=col, type=t))} AS c{i}_{t}" for t in PROBE_TYPES]
        items += [f"count(s{i}) AS c{i}_nonempty", f"count(DISTINCT s{i}) AS c{i}_distinct",
                  f"count_if(regexp_full_match(s{i}, '[+-]?0[0-9]+')) AS c{i}_zeros",
                  f"count_if(regexp_full_match(s{i}, '[0-9]+')) AS c{i}_digits",
                  f"count_if(length(s{i}) > 15) AS c{i}_long", f"count_if(contains(s{i}, '.')) AS c{i}_dots"]
        items += [f"count({sql_cast(f'c{i}_{t}', Field(name=col, type=t))}) AS c{i}_{t}" for t in PROBE_TYPES]
        items += [f"count_if({sql_format_valid(f's{i}', fmt, today=today)}) AS c{i}_{fmt}"
                  for fmt in IDENTIFIER_FORMATS]
    standardised = f"SELECT {', '.join(texts)} FROM {quote_ident(relation)}"
    return f"SELECT {', '.join(items)} FROM (SELECT {', '.join(probes)} FROM ({standardised}))"


def _propose(name: str, p: dict[str, int], n: int) -> Field:
    """Identifier format first, then the narrowest type every non-empty value parses as, else string."""
    ne = p["nonempty"]
    required = Constraints(required=True) if ne == n and n else Constraints()
    if not ne:
        return Field(name=name)
    formats = [(p[f], f) for f in IDENTIFIER_FORMATS if p[f] >= FORMAT_SHARE * ne]
    if formats:
        best = max(formats, key=lambda pair: pair[0])[1]
        return Field(name=name, format=best, constraints=required)
    numeric_ok = p["zeros"] == 0 and p["long"] == 0  # leading zeros or > 15 digits: a code, not a number
    all_digits = p["digits"] == ne
    if p["year"] == ne and _YEAR_NAME.search(name):
        kind = "year"
    elif p["date"] == ne and (not all_digits or _DATE_NAME.search(name)):
        kind = "date"
    elif p["datetime"] == ne and not all_digits:
        kind = "datetime"
    elif p["integer"] == ne and numeric_ok and not p["dots"]:  # "100.00" in a sample: money, not a count
        kind = "integer"
    elif p["number"] == ne and numeric_ok:
        kind = "number"
    elif p["boolean"] == ne and not all_digits:
        kind = "boolean"
    else:
        kind = "string"
    return Field(name=name, type=kind, constraints=required)


def infer_schema(table: pa.Table, sample_rows: int = 1000, *, today: date | None = None) -> TableSchema:
    """Propose a schema from the first `sample_rows` rows of an all-string batch, for the steward to confirm."""
    columns = [c for c in table.column_names if c != ROW_COLUMN]
    sample = table.select(columns).slice(0, sample_rows)
    conn = duckdb.connect()
    try:
        conn.register("sample", sample)
        cur = conn.execute(_profile_sql("sample", columns, today or date.today()))
        row = dict(zip([d[0] for d in cur.description], cur.fetchone() or (), strict=True))
    finally:
        conn.close()
    n = row["n"]
    fields, keys = [], []
    for i, col in enumerate(columns):
        profile = {k.removeprefix(f"c{i}_"): v for k, v in row.items() if k.startswith(f"c{i}_")}
        field = _propose(col, profile, n)
        fields.append(field)
        if n and profile["nonempty"] == profile["distinct"] == n and (field.format or _KEY_NAME.search(col)):
            keys.append(col)
    # The first candidate in column order: files conventionally lead with their key.
    return TableSchema(fields=fields, primaryKey=keys[:1] or None)
