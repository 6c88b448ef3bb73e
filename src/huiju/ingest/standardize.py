"""DuckDB SQL that brings a raw string value to its standard form, then to its typed value.

Everything here builds SQL text and nothing runs per row in Python: quality.compile_check embeds these
expressions in one SELECT per batch (DESIGN.md, "Where speed comes from"). Standardisation is automatic
for the common Chinese forms: surrounding (full-width) spaces, full-width digits and letters, thousands
separators, and dates written 2023-01-05, 2023/1/5, 2023.1.5, 20230105 or 2023年1月5日. A value that
cannot be standardised is passed through unchanged, so its cast fails and the type rule quarantines it.

Free text (a string field without an identifier format) is only trimmed: full-width parentheses and
punctuation are correct Chinese typography, not noise; set ``"huiju:halfwidth": true`` on a field to
fold it as well (plate numbers, codes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import date
from typing import TYPE_CHECKING

from huiju.i18n import N_
from huiju.ingest.validators import (
    FOLD_FROM,
    FOLD_TO,
    ID_CHECK,
    ID_WEIGHTS,
    PROVINCE_PREFIXES,
    REGION_PATTERN,
)
from huiju.ingest.validators_sql import (
    quote_ident,
    sql_bank_card_valid,
    sql_citizen_id_valid,
    sql_mobile_valid,
    sql_org_code_valid,
    sql_uscc_valid,
    trim_edges,
)

if TYPE_CHECKING:
    from huiju.ingest.schema import Field

# Full-width ASCII block U+FF01-FF5E -> U+0021-007E (the two 94-character strings for translate()).
HALF_FROM = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
HALF_TO = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F))
TRUE_VALUES = ("是", "true", "t", "yes", "y", "1")
FALSE_VALUES = ("否", "false", "f", "no", "n", "0")
EXCEL_EPOCH = "1899-12-30"  # Excel's 1900 system; right from 1900-03-01 on (it counts a phantom 1900-02-29)

# What a value that does not parse as its field's type, or fails its identifier format, is told (quality.py).
FORMAT_MESSAGES = {
    "gb11643": N_("Value %(value)s is not a valid citizen ID (GB 11643)"),
    "gb32100": N_("Value %(value)s is not a valid unified social credit code (GB 32100)"),
    "gb11714": N_("Value %(value)s is not a valid organisation code (GB 11714)"),
    "gb2260": N_("Value %(value)s is not a valid administrative region code (GB/T 2260)"),
    "mobile": N_("Value %(value)s is not a valid mobile number"),
    "bankcard": N_("Value %(value)s is not a valid bank card number"),
}
TYPE_MESSAGES = {
    "integer": N_("Value %(value)s is not an integer"),
    "number": N_("Value %(value)s is not a number"),
    "date": N_("Value %(value)s is not a valid date"),
    "datetime": N_("Value %(value)s is not a valid date and time"),
    "boolean": N_("Value %(value)s is not a yes/no value"),
    "year": N_("Value %(value)s is not a valid year"),
}
# DuckDB column types; number is DOUBLE (fast, and what Parquet readers expect); exact money belongs in
# integer cents or a string field, not in a float.
DUCKDB_TYPES = {"integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "datetime": "TIMESTAMP",
                "boolean": "BOOLEAN", "year": "INTEGER", "string": "VARCHAR"}

_ISO_DATETIME = "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?"
# y, then either separated month/day (-, /, ., 年月日) or compact MMDD, then an optional time part.
_DATE_RE = ("^([0-9]{4})(?:[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?|([0-9]{2})([0-9]{2}))"
            "(?:[ T]+([0-9]{1,2})[:时]([0-9]{1,2})(?:[:分]([0-9]{1,2})(\\.[0-9]{1,6})?秒?)?分?)?$")
_DATE_GROUPS = "['y', 'm', 'd', 'mc', 'dc', 'h', 'mi', 's', 'f']"
_INTEGER = "[+-]?[0-9]+"
_NUMBER = "[+-]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][+-]?[0-9]+)?"
_GROUPED = "[+-]?[0-9]{1,3}(,[0-9]{3})+(\\.[0-9]*)?"  # thousands separators only where they belong


def sql_literal(text: str) -> str:
    """A single-quoted SQL string literal; the only way user text enters generated SQL."""
    return "'" + text.replace("'", "''") + "'"


def quote_relation(name: str) -> str:
    """A possibly schema-qualified relation name (schema.table), each part quoted."""
    return ".".join(quote_ident(part) for part in name.split("."))


def _bind(value_sql: str, name: str, body: str) -> str:
    """Evaluate value_sql once and use it as `name` in body (DuckDB has no LET)."""
    return f"list_transform([{value_sql}], lambda {name}: {body})[1]"


def _trim(x: str) -> str:
    """Strip STRIP_CHARS; trim() with a character set is slow, so it only runs where an edge character needs it."""
    return trim_edges(x)


def _upgrade_id15(v: str) -> str:
    """GB 11643-1989 15-digit number -> 18 digits: insert "19" and append the MOD 11-2 check character."""
    first17 = f"(substr({v}, 1, 6) || '19' || substr({v}, 7))"
    term = f"TRY_CAST(substr(p, i, 1) AS INTEGER) * {list(ID_WEIGHTS)}[i]"
    total = f"list_sum(list_transform(range(1, 18), lambda i: {term}))"
    check = f"substr({sql_literal(ID_CHECK)}, CAST({total} AS INTEGER) % 11 + 1, 1)"
    # strlen first: DuckDB runs a CASE condition's second conjunct only where the first holds, and the regex on
    # every value of a 262,144-row chunk cost 26 ms against 4 ms this way ([0-9]{15} is always 15 bytes).
    fifteen = f"strlen({v}) = 15 AND regexp_full_match({v}, '[0-9]{{15}}')"
    return f"CASE WHEN {fifteen} THEN {_bind(first17, 'p', f'p || {check}')} ELSE {v} END"


# How each identifier format (the Table Schema `format` value) standardises an uppercased value `u`.
_IDENTIFIER_FORMS: dict[str, Callable[[str], str]] = {
    "gb11643": _upgrade_id15,
    "gb32100": lambda u: u,
    "gb11714": lambda u: f"CASE WHEN regexp_full_match({u}, '[0-9A-Z]{{8}}-[0-9X]') "
                         f"THEN replace({u}, '-', '') ELSE {u} END",
    "gb2260": lambda u: u,
    "mobile": lambda u: f"regexp_replace({u}, '^(?:\\+?86[ -]?)?(1[3-9][0-9]{{9}})$', '\\1')",
    "bankcard": lambda u: f"CASE WHEN regexp_full_match(replace({u}, ' ', ''), '[0-9]{{16,19}}') "
                          f"THEN replace({u}, ' ', '') ELSE {u} END",
}
IDENTIFIER_FORMATS = tuple(_IDENTIFIER_FORMS)


def sql_region_code_valid(col: str, known: Collection[str] | None = None, *, standardized: bool = False,
                          trimmed: bool = False) -> str:
    """True where check_region_code(value, known).ok: GB/T 2260 structure, and membership when `known` is given.

    ``standardized``: the column already holds the normalised identifier (a gb2260 field's standard text);
    ``trimmed``: it is only stripped of STRIP_CHARS (any standardised text). The six digits are read as one
    INTEGER and checked in arithmetic (0.11 µs a value against 0.33 µs with a substr per part, one thread).
    """
    provinces = ", ".join(str(int(p)) for p in sorted(PROVINCE_PREFIXES))

    def body(v: str) -> str:
        structure = (f"n // 10000 IN ({provinces}) AND (n // 100 % 100 = 90 OR n // 100 % 100 <= 70) "
                     "AND NOT (n // 100 % 100 = 0 AND n % 100 <> 0)")
        out = f"list_transform([TRY_CAST({v} AS INTEGER)], lambda n: {structure})[1]"
        if known is not None:
            out += f" AND {v} IN ({', '.join(map(sql_literal, sorted(known))) or 'NULL'})"
        return (f"CASE WHEN {v} IS NOT NULL THEN coalesce(CASE WHEN regexp_full_match({v}, '{REGION_PATTERN}') "
                f"THEN {out} ELSE false END, false) END")

    if standardized:
        return body(quote_ident(col))
    fold = (f"CASE WHEN strlen(t) = length(t) THEN upper(t) "
            f"ELSE translate(t, {sql_literal(FOLD_FROM)}, {sql_literal(FOLD_TO)}) END")
    text = f"CAST({quote_ident(col)} AS VARCHAR)" if trimmed else _trim(quote_ident(col))
    return _bind(_bind(text, "t", fold), "v", body("v"))


def sql_format_valid(col: str, fmt: str, *, today: date, known: Collection[str] | None = None,
                     standardized: bool = False, trimmed: bool = False) -> str:
    """The in-house validator for an identifier format over column `col` (a name); NULL stays NULL.

    ``standardized`` says `col` holds this format's standard text (standardize_steps of a field with this
    format: trimmed, folded, uppercased), so the validator skips normalising it again; ``trimmed`` that it
    holds any standardised text (stripped of STRIP_CHARS), so only folding is left to do.
    """
    if fmt == "gb11643":
        return sql_citizen_id_valid(col, today=today, standardized=standardized, trimmed=trimmed)
    if fmt == "gb2260":
        return sql_region_code_valid(col, known, standardized=standardized, trimmed=trimmed)
    checks = {"gb32100": sql_uscc_valid, "gb11714": sql_org_code_valid,
              "mobile": sql_mobile_valid, "bankcard": sql_bank_card_valid}
    return checks[fmt](col, standardized=standardized, trimmed=trimmed)


def _date_text(d: str, field: Field) -> str:
    """Any accepted date (and time) form -> ISO text; a date field takes a time part only if it is midnight."""
    iso = "r['y'] || '-' || lpad(r['m'] || r['mc'], 2, '0') || '-' || lpad(r['d'] || r['dc'], 2, '0')"
    time = ("lpad(r['h'], 2, '0') || ':' || lpad(r['mi'], 2, '0') || ':' "
            "|| lpad(coalesce(nullif(r['s'], ''), '0'), 2, '0') || r['f']")
    out = "%Y-%m-%d" if field.type == "date" else "%Y-%m-%d %H:%M:%S"
    if field.type == "date":
        midnight = "ltrim(r['h'] || r['mi'] || r['s'] || replace(r['f'], '.', ''), '0') = ''"
        parsed, fast = f"CASE WHEN r['y'] <> '' AND {midnight} THEN {iso} ELSE {d} END", f"{d} LIKE '____-__-__'"
    else:
        parsed = (f"CASE WHEN r['y'] = '' THEN {d} WHEN r['h'] = '' THEN {iso} || ' 00:00:00' "
                  f"ELSE {iso} || ' ' || {time} END")
        fast = f"{d} LIKE '____-__-__ __:__:__'"
    slow = _bind(f"regexp_extract({d}, {sql_literal(_DATE_RE)}, {_DATE_GROUPS})", "r", parsed)
    branches = []
    if field.format and "%" in field.format:  # a Frictionless strptime-style format comes before our forms
        parsed_fmt = f"strftime(try_strptime({d}, {sql_literal(field.format)}), '{out}')"
        branches.append(f"WHEN {parsed_fmt} IS NOT NULL THEN {parsed_fmt}")
    branches.append(f"WHEN {fast} THEN {d}")  # the common ISO form; anything odd of that shape fails the cast
    if field.excel_serial:  # only on request: 20230105 and 45000 are both plausible otherwise
        serial = f"TIMESTAMP '{EXCEL_EPOCH}' + to_microseconds(CAST(round(CAST({d} AS DOUBLE) * 86400e6) AS BIGINT))"
        serial_re = "[0-9]{1,5}" if field.type == "date" else "[0-9]{1,5}(\\.[0-9]+)?"
        branches.append(f"WHEN regexp_full_match({d}, '{serial_re}') THEN strftime({serial}, '{out}')")
    return f"CASE {' '.join(branches)} ELSE {slow} END"


def _number_text(n: str, integer: bool) -> str:
    """Drop thousands separators where they are well placed; an integer may carry a zero fraction (100.00)."""
    grouped = f"contains({n}, ',') AND regexp_full_match({n}, '{_GROUPED}')"
    text = f"CASE WHEN {grouped} THEN replace({n}, ',', '') ELSE {n} END"
    if integer:
        whole = f"regexp_replace({text}, '^([+-]?[0-9]+)\\.0*$', '\\1')"
        text = f"CASE WHEN contains({n}, '.') THEN {whole} ELSE {text} END"
    return text


def _boolean_text(b: str, field: Field) -> str:
    """Frictionless trueValues/falseValues when declared (matched exactly), else ours (case-insensitive)."""
    declared = field.true_values is not None or field.false_values is not None
    trues: Sequence[str] = field.true_values or ([] if declared else TRUE_VALUES)
    falses: Sequence[str] = field.false_values or ([] if declared else FALSE_VALUES)
    key = b if declared else f"lower({b})"
    return (f"CASE WHEN {key} IN ({', '.join(map(sql_literal, trues)) or 'NULL'}) THEN 'true' "
            f"WHEN {key} IN ({', '.join(map(sql_literal, falses)) or 'NULL'}) THEN 'false' ELSE {b} END")


def standardize_steps(field: Field, missing_values: Sequence[str] = ("",), *,
                      trimmed: bool = False) -> list[Callable[[str], str]]:
    """Standardisation as steps over a column reference, each using its input freely; compile_check layers them.

    ``trimmed``: the column is VARCHAR already stripped of STRIP_CHARS (quality.split_batch trims string
    columns with Arrow's utf8_trim first), so the first step passes it through.
    """

    identifier = field.type == "string" and field.format in _IDENTIFIER_FORMS
    folds = field.type != "string" or identifier or bool(field.halfwidth)
    frm, to = (FOLD_FROM, FOLD_TO) if identifier else (HALF_FROM, HALF_TO)
    cased: Callable[[str], str] = (lambda x: f"upper({x})") if identifier else (lambda x: x)
    missing = ", ".join(map(sql_literal, missing_values)) or "NULL"

    def missing_fold(x: str) -> str:
        fold = (f" WHEN strlen({x}) = length({x}) THEN {cased(x)} "
                f"ELSE translate({x}, {sql_literal(frm)}, {sql_literal(to)})") if folds else f" ELSE {x}"
        return f"CASE WHEN {x} IN ({missing}) THEN NULL{fold} END"

    forms: dict[str, Callable[[str], str]] = {
        "integer": lambda x: _number_text(x, True), "number": lambda x: _number_text(x, False),
        "date": lambda x: _date_text(x, field), "datetime": lambda x: _date_text(x, field),
        "year": lambda x: f"rtrim({x}, '年')", "boolean": lambda x: _boolean_text(x, field),
        "string": _IDENTIFIER_FORMS[field.format] if identifier and field.format else lambda x: x,
    }
    return [(lambda x: x) if trimmed else _trim, missing_fold, forms[field.type]]


def sql_standardize(col_expr: str, field: Field, *, missing_values: Sequence[str] = ("",)) -> str:
    """SQL for the standardised VARCHAR of a raw value; NULL for NULL and for the schema's missing values."""
    expr = col_expr
    for n, step in enumerate(standardize_steps(field, missing_values)):
        expr = _bind(expr, f"x{n}", step(f"x{n}"))
    return expr


def sql_cast(col_expr: str, field: Field) -> str:
    """SQL for the typed value of a standardised VARCHAR; NULL where it does not parse (the type rule's cue).

    `col_expr` appears more than once, so pass a column reference. Plain TRY_CAST is too lenient
    ('1.5' becomes BIGINT 2, 'nan' a DOUBLE), hence the shape check before it.
    """
    x = col_expr
    guards = {"integer": f"regexp_full_match({x}, '{_INTEGER}')", "number": f"regexp_full_match({x}, '{_NUMBER}')",
              "date": f"{x} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'",
              "year": f"{x} GLOB '[0-9][0-9][0-9][0-9]'", "datetime": f"regexp_full_match({x}, '{_ISO_DATETIME}')"}
    if field.type == "string":
        return x
    if field.type == "boolean":
        return f"CASE {x} WHEN 'true' THEN true WHEN 'false' THEN false END"
    return f"CASE WHEN {guards[field.type]} THEN TRY_CAST({x} AS {DUCKDB_TYPES[field.type]}) END"


def sql_typed_literal(value: object, field: Field) -> str:
    """A constraint value (enum member, bound) brought to the field's type by the same path as the data."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return sql_cast(f"({sql_standardize(sql_literal(text), field)})", field)
