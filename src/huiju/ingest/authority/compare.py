"""The 一数一源 comparison as SQL: normalise both sides the same way, join on the subject key, keep what differs.

Written once as plain SQL over two named tables (``auth`` and ``other``, each the Parquet files of one
version) so any lake engine runs it. Normalisation, per value:

- text: ``TRIM``, and an empty string is no value (NULL);
- a date (either side typed as a date): the ISO text ``YYYY-MM-DD``; a text side that does not parse as a
  date is compared as the trimmed text;
- a number (either side numeric): the decimal value without trailing zeros (``100.50`` → ``100.5``);
- then the element's value codes fold spellings of one value (``男`` → ``1``, GB/T 2261.1).

The comparison is NULL-safe (``IS DISTINCT FROM``): the authority having no value where another department
has one is a discrepancy (the authority has a gap to fill). Another department having no value says
nothing about the authority's value and is not reported. Subject keys are trimmed and upper-cased (the
lowercase ``x`` check character of an ID number).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

TEXT, NUMBER, DATE, DATETIME = "text", "number", "date", "datetime"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def value_kind(arrow_type: str | None) -> str:
    """The kind of a column from its Arrow type as the lake manifest records it (``date32[day]``, ``double``)."""
    t = (arrow_type or "string").lower()
    if t.startswith(("int", "uint", "double", "float", "halffloat", "decimal")):
        return NUMBER
    if t.startswith("date"):
        return DATE
    if t.startswith("timestamp"):
        return DATETIME
    return TEXT


def sql_type(arrow_type: str | None) -> str:
    """The SQL type a value of this Arrow type keeps in a derived table."""
    t = (arrow_type or "string").lower()
    if t.startswith(("int", "uint")):
        return "BIGINT"
    if t.startswith(("double", "float", "halffloat")):
        return "DOUBLE"
    if t.startswith("decimal"):
        inside = t[t.find("(") + 1:t.find(")")] if "(" in t else "38, 6"
        precision, scale = (int(p) for p in inside.split(","))
        return f"DECIMAL({precision}, {scale})"
    if t.startswith("date"):
        return "DATE"
    if t.startswith("timestamp"):
        return "TIMESTAMP"
    if t == "bool":
        return "BOOLEAN"
    return "VARCHAR"


def comparison_kind(a: str, b: str) -> str:
    """How two columns of one element are compared: as numbers or dates if either side is typed so."""
    kinds = {a, b}
    if NUMBER in kinds:
        return NUMBER
    if DATE in kinds:
        return DATE
    if DATETIME in kinds:
        return DATETIME
    return TEXT


def key_expr(column: str) -> str:
    """A subject key (ID number, USCC) as compared and stored: trimmed, upper-case, empty = none."""
    return f"NULLIF(UPPER(TRIM(CAST({quote_ident(column)} AS VARCHAR))), '')"


def normalised(column: str, kind: str, how: str, value_codes: Mapping[str, str] | None = None) -> str:
    """SQL for one side's value as comparison text. ``kind`` is the column's own kind, ``how`` the pair's."""
    col = quote_ident(column)
    text = f"NULLIF(TRIM(CAST({col} AS VARCHAR)), '')"
    if how == NUMBER:
        number = f"TRY_CAST({col} AS DECIMAL(38, 6))" if kind == NUMBER else f"TRY_CAST({text} AS DECIMAL(38, 6))"
        # the decimal text without trailing zeros (zero itself would lose every digit); else the text as written
        digits = f"CASE WHEN {number} = 0 THEN '0' ELSE regexp_replace(CAST({number} AS VARCHAR), '\\.?0+$', '') END"
        expr = f"COALESCE({digits}, {text})"
    elif how == DATE:
        if kind == DATE:
            expr = f"CAST({col} AS VARCHAR)"
        elif kind == DATETIME:
            expr = f"CAST(CAST({col} AS DATE) AS VARCHAR)"
        else:
            expr = f"COALESCE(CAST(TRY_CAST({text} AS DATE) AS VARCHAR), {text})"
    elif how == DATETIME:
        if kind == DATETIME:
            expr = f"strftime({col}, '%Y-%m-%dT%H:%M:%S')"
        else:
            expr = f"COALESCE(strftime(TRY_CAST({text} AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S'), {text})"
    else:
        expr = text
    if value_codes:
        cases = " ".join(f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in sorted(value_codes.items()))
        expr = f"(CASE {expr} {cases} ELSE {expr} END)"
    return expr


@dataclass(frozen=True)
class Side:
    """One dataset version's columns for the comparison: the subject key and the element."""

    key_column: str
    value_column: str
    value_type: str  # Arrow type of the value column


def _sides(auth: Side, other: Side, value_codes: Mapping[str, str] | None) -> str:
    how = comparison_kind(value_kind(auth.value_type), value_kind(other.value_type))
    a_val = normalised(auth.value_column, value_kind(auth.value_type), how, value_codes)
    o_val = normalised(other.value_column, value_kind(other.value_type), how, value_codes)
    return (f"a AS (SELECT DISTINCT {key_expr(auth.key_column)} AS k, {a_val} AS v FROM auth "
            f"WHERE {key_expr(auth.key_column)} IS NOT NULL), "
            f"o AS (SELECT DISTINCT {key_expr(other.key_column)} AS k, {o_val} AS v FROM other "
            f"WHERE {key_expr(other.key_column)} IS NOT NULL)")


def discrepancy_sql(auth: Side, other: Side, value_codes: Mapping[str, str] | None = None) -> str:
    """Rows (subject_key, authority_value, other_value) where the other dataset disagrees with the authority."""
    return (f"WITH {_sides(auth, other, value_codes)} "
            "SELECT o.k AS subject_key, a.v AS authority_value, o.v AS other_value "
            "FROM o JOIN a ON a.k = o.k WHERE o.v IS NOT NULL AND a.v IS DISTINCT FROM o.v "
            "ORDER BY o.k, o.v, a.v")


def overlap_sql(auth: Side, other: Side) -> str:
    """One row: subjects in the other dataset, and how many of them the authority also has."""
    return (f"WITH ok AS (SELECT DISTINCT {key_expr(other.key_column)} AS k FROM other "
            f"WHERE {key_expr(other.key_column)} IS NOT NULL), "
            f"ak AS (SELECT DISTINCT {key_expr(auth.key_column)} AS k FROM auth) "
            "SELECT (SELECT count(*) FROM ok) AS subjects, "
            "(SELECT count(*) FROM ok JOIN ak ON ak.k = ok.k) AS overlap")
