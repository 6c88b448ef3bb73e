"""Base libraries (人口库, 法人库): one row per subject, each element taken from its authoritative source.

The merge is one SQL statement over the current versions of the participating datasets (tables ``t0``,
``t1``, … bound by the lake engine), so any engine runs it:

- the subjects are the union of the keys (ID number / USCC, trimmed and upper-cased) of every source;
- for each element, the value comes from the authority's reference dataset whenever the authority has a
  row for the subject, even if that row leaves the element empty (一数一源: the authority's word stands,
  and the comparison reports its gaps as correction tasks). Only where the authority has no row does
  the value fall back to the other datasets, in a fixed order, taking the first that has a value;
- duplicate rows of one subject in one source are folded with ``min`` (deterministic);
- fallback values are cast to the type of the authority's column (a value that does not cast is not
  taken) and text is trimmed and folded through the element's value codes.

Field-level lineage lives in the data: a ``_sources`` column holds, per row, a JSON object naming for
every column the dataset and version its value came from, e.g.
``{"身份证号": {"dataset": "ga_people", "version": 3}, "姓名": {"dataset": "ga_people", "version": 3},
"户籍地址": null}`` (null: no source had a value). Chosen over a companion table because it travels with
the rows (a download or an open-data copy keeps its provenance) and stays plain Parquet; rows built
from the same sources repeat the same text, which Parquet's dictionary encoding stores once.
"""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Mapping
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from huiju.ingest.authority.compare import (
    key_expr,
    quote_ident,
    quote_literal,
    sql_type,
)

SOURCES_COLUMN = "_sources"
_SRC_KEY = "_src_key"


@dataclass
class Source:
    """One dataset version taking part: its key column and the columns of the elements it carries."""

    dataset_key: str
    version: int
    version_id: int
    key_column: str
    columns: dict[str, tuple[str, str]] = field(default_factory=dict)  # element code -> (column, Arrow type)

    def descriptor(self) -> str:
        return json.dumps({"dataset": self.dataset_key, "version": self.version}, ensure_ascii=False)


@dataclass
class ElementPlan:
    """Where one element's values come from: ``order`` lists source indexes by priority."""

    code: str
    name: str  # the base-library column
    sql_type: str
    order: list[int]
    authority: int | None  # index of the authority's reference source (first in ``order``), if any
    value_codes: Mapping[str, str] = field(default_factory=dict)


@dataclass
class MergePlan:
    key_code: str
    key_name: str
    key_order: list[int]  # sources by priority for the key column's own provenance
    elements: list[ElementPlan]
    sources: list[Source]

    def tables(self, versions: list[Any]) -> dict[str, Any]:
        """The table bindings for catalog.access.query_internal: ``t<i>`` is the version of source ``i``."""
        return {f"t{i}": v for i, v in enumerate(versions)}

    @property
    def columns(self) -> list[str]:
        return [self.key_name, *(e.name for e in self.elements)]


def target_type(arrow_types: list[str]) -> str:
    """The column type of an element in the base library: the authority's, else the first source's."""
    return sql_type(arrow_types[0]) if arrow_types else "VARCHAR"


def _value(column: str, arrow_type: str, target: str, codes: Mapping[str, str]) -> str:
    col = quote_ident(column)
    text = f"NULLIF(TRIM(CAST({col} AS VARCHAR)), '')"
    if target == "VARCHAR":
        expr = text
        if codes:
            cases = " ".join(f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in sorted(codes.items()))
            expr = f"(CASE {text} {cases} ELSE {text} END)"
        return expr
    if sql_type(arrow_type) == target:
        return col
    return f"TRY_CAST({text} AS {target})"


def merge_sql(plan: MergePlan) -> str:
    """The merge as SQL; besides the base-library columns it returns ``_src_*`` source indexes for counting."""
    ctes = []
    for i, s in enumerate(plan.sources):
        picks = [f"min({_value(col, typ, e.sql_type, e.value_codes)}) AS e{j}"
                 for j, e in enumerate(plan.elements) if e.code in s.columns
                 for col, typ in [s.columns[e.code]]]
        ctes.append(f"s{i} AS (SELECT {key_expr(s.key_column)} AS k{''.join(', ' + p for p in picks)} "
                    f"FROM t{i} WHERE {key_expr(s.key_column)} IS NOT NULL GROUP BY 1)")
    ctes.append("keys AS (" + " UNION ".join(f"SELECT k FROM s{i}" for i in range(len(plan.sources))) + ")")

    inner = ["keys.k AS k"]
    key_src = " ".join(f"WHEN s{i}.k IS NOT NULL THEN {i}" for i in plan.key_order)
    inner.append(f"CASE {key_src} END AS {_SRC_KEY}" if key_src else f"CAST(NULL AS INTEGER) AS {_SRC_KEY}")
    for j, e in enumerate(plan.elements):
        whens = [f"WHEN s{i}.k IS NOT NULL THEN {i}" if i == e.authority else f"WHEN s{i}.e{j} IS NOT NULL THEN {i}"
                 for i in e.order]
        inner.append(f"CASE {' '.join(whens)} END AS _src_{j}" if whens else f"CAST(NULL AS INTEGER) AS _src_{j}")
        inner.extend(f"s{i}.e{j} AS v{i}_{j}" for i in e.order)
    joins = " ".join(f"LEFT JOIN s{i} ON s{i}.k = keys.k" for i in range(len(plan.sources)))
    ctes.append(f"picked AS (SELECT {', '.join(inner)} FROM keys {joins})")

    outer = [f"k AS {quote_ident(plan.key_name)}"]
    provenance = [_provenance(plan.key_name, _SRC_KEY, plan.key_order, plan.sources)]
    for j, e in enumerate(plan.elements):
        cases = " ".join(f"WHEN {i} THEN v{i}_{j}" for i in e.order)
        value = f"CASE _src_{j} {cases} END" if cases else "NULL"
        outer.append(f"CAST({value} AS {e.sql_type}) AS {quote_ident(e.name)}")
        provenance.append(_provenance(e.name, f"_src_{j}", e.order, plan.sources))
    members = " || ',' || ".join(provenance)
    outer.append(f"('{{' || {members} || '}}') AS {SOURCES_COLUMN}")
    outer.append(_SRC_KEY)
    outer.extend(f"_src_{j}" for j in range(len(plan.elements)))
    return f"WITH {', '.join(ctes)} SELECT {', '.join(outer)} FROM picked ORDER BY k"


def _provenance(name: str, src: str, order: list[int], sources: list[Source]) -> str:
    """SQL text for one member of the ``_sources`` JSON object."""
    label = quote_literal(json.dumps(name, ensure_ascii=False) + ":")
    cases = " ".join(f"WHEN {i} THEN {quote_literal(sources[i].descriptor())}" for i in order)
    value = f"CASE {src} {cases} ELSE 'null' END" if cases else "'null'"
    return f"{label} || {value}"


@dataclass
class MergeSummary:
    rows: int
    # source index -> element code -> number of values taken from it (the key counted under its code)
    taken: dict[int, dict[str, int]]
    fallback_values: int  # values of elements taken from a source other than the element's authority


def summarise(table: pa.Table, plan: MergePlan) -> MergeSummary:
    taken: dict[int, dict[str, int]] = {}
    fallback = 0
    columns = [(_SRC_KEY, plan.key_code, plan.key_order[0] if plan.key_order else None)]
    columns += [(f"_src_{j}", e.code, e.authority) for j, e in enumerate(plan.elements)]
    for column, code, authority in columns:
        for item in pc.value_counts(table.column(column)).to_pylist():
            index, n = item["values"], item["counts"]
            if index is None:
                continue
            taken.setdefault(index, {})[code] = n
            if column != _SRC_KEY and index != authority:
                fallback += n
    return MergeSummary(rows=table.num_rows, taken=taken, fallback_values=fallback)


def finish(table: pa.Table) -> pa.Table:
    """The base-library table as published: without the helper ``_src_*`` columns."""
    return table.drop_columns([c for c in table.column_names if c.startswith("_src_")])
