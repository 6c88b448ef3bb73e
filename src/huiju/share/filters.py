"""Structured row filters of requests and grants: a list of ``{field, op, value}`` conditions, all of which hold.

Never SQL: the operators are the egress's (``catalog.access.OPS``), each condition is checked against the
entry's fields here and becomes an ``access.Condition`` that ``read_rows`` binds as parameters, so a filter
can only remove rows.
"""

from __future__ import annotations

from typing import Any

from huiju.catalog.access import Condition
from huiju.errors import Invalid


def clean(conditions: list[dict[str, Any]] | None, fields: set[str] | list[str]) -> list[dict[str, Any]]:
    """Validate a filter against the fields it may name; returns the normalised JSON-ready list."""
    known = set(fields)
    out: list[dict[str, Any]] = []
    for raw in conditions or []:
        if not isinstance(raw, dict):
            raise Invalid("Each row-filter condition is an object with field, op and value")
        field, op, value = raw.get("field"), str(raw.get("op", "=")).strip().lower(), raw.get("value")
        if field not in known:
            raise Invalid("Row filter names unknown field %(field)s", field=field)
        cond = Condition(field, op, value)  # checks the operator and the values
        out.append({"field": field, "op": op} if op in ("is null", "is not null")
                   else {"field": field, "op": op, "value": list(cond.value) if isinstance(cond.value, tuple)
                         else cond.value})
    return out


def conditions(row_filter: list[dict[str, Any]]) -> tuple[Condition, ...]:
    return tuple(Condition(c["field"], c["op"], c.get("value")) for c in row_filter)


def narrowed(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``base`` and ``extra`` together: every added condition can only remove rows."""
    combined = list(base)
    for cond in extra:
        if cond not in combined:
            combined.append(cond)
    return combined


def describe(row_filter: list[dict[str, Any]]) -> str:
    """A short human-readable form for pages and the CLI (``区划 = 990101 ∧ 年龄 >= 60``)."""
    parts = [f"{c['field']} {c['op']}" + (f" {c['value']}" if "value" in c else "") for c in row_filter]
    return " ∧ ".join(parts) if parts else "*"
