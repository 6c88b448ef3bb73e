"""Structured row filters of requests and grants: a list of ``{field, op, value}`` conditions, all of which hold.

Never SQL: each condition is checked against the entry's fields and a closed set of operators here, and
compiled with bound parameters by the egress (``read_rows``), so a filter cannot widen what a grant allows.
"""

from __future__ import annotations

from typing import Any

from huiju.errors import Invalid

OPS = ("eq", "ne", "in", "lt", "le", "gt", "ge", "prefix", "is_null", "not_null")
MAX_IN = 1000
_SCALAR = (str, int, float, bool)


def clean(conditions: list[dict[str, Any]] | None, fields: set[str] | list[str]) -> list[dict[str, Any]]:
    """Validate a filter against the fields it may name; returns the normalised list."""
    known = set(fields)
    out: list[dict[str, Any]] = []
    for raw in conditions or []:
        if not isinstance(raw, dict):
            raise Invalid("Each row-filter condition is an object with field, op and value")
        field, op, value = raw.get("field"), raw.get("op", "eq"), raw.get("value")
        if field not in known:
            raise Invalid("Row filter names unknown field %(field)s", field=field)
        if op not in OPS:
            raise Invalid("Unknown row-filter operator %(op)s", op=op)
        if op in ("is_null", "not_null"):
            out.append({"field": field, "op": op})
            continue
        if op == "in":
            if not isinstance(value, list) or not value or len(value) > MAX_IN:
                raise Invalid("Operator in takes a list of 1 to %(n)s values", n=MAX_IN)
            if not all(isinstance(v, _SCALAR) for v in value):
                raise Invalid("Row-filter values must be text or numbers")
        elif not isinstance(value, _SCALAR):
            raise Invalid("Row-filter values must be text or numbers")
        if op == "prefix" and not isinstance(value, str):
            raise Invalid("Operator prefix takes text")
        out.append({"field": field, "op": op, "value": value})
    return out


def narrowed(base: list[dict[str, Any]], extra: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``base`` and ``extra`` together: every added condition can only remove rows."""
    combined = list(base)
    for cond in extra:
        if cond not in combined:
            combined.append(cond)
    return combined


def describe(conditions: list[dict[str, Any]]) -> str:
    """A short human-readable form for pages and the CLI (``区划 = 990100 且 年龄 ≥ 18``)."""
    symbols = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "∈", "prefix": "^"}
    parts = []
    for c in conditions:
        if c["op"] in ("is_null", "not_null"):
            parts.append(f"{c['field']} {'IS NULL' if c['op'] == 'is_null' else 'IS NOT NULL'}")
        else:
            parts.append(f"{c['field']} {symbols[c['op']]} {c['value']}")
    return " ∧ ".join(parts) if parts else "*"
