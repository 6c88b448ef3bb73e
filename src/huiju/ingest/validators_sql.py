"""DuckDB SQL twins of the identifier validators, for checking a whole column in one vectorised query.

Each builder returns a boolean expression over one column that is true exactly when the Python check in
validators.py returns ok (warnings count as ok) and NULL for a NULL value. Pure SQL, no Python UDFs, and no
sub-expression can raise on garbage input (strpos/try_strptime instead of casts), since DuckDB does not
promise to short-circuit AND.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from datetime import date

from huiju.ingest.validators import (
    BANK_CARD_PATTERN,
    EARLY_PILOT_USCC,
    FOLD_FROM,
    FOLD_TO,
    ID15_PATTERN,
    ID18_PATTERN,
    ID_CHECK,
    ID_WEIGHTS,
    MOBILE_PATTERN,
    ORG_PATTERN,
    ORG_WEIGHTS,
    PROVINCE_PREFIXES,
    STRIP_CHARS,
    USCC_CHARS,
    USCC_KINDS,
    USCC_PATTERN,
    USCC_WEIGHTS,
)

_DIGITS = string.digits
_ALNUM = string.digits + string.ascii_uppercase


def quote_ident(name: str) -> str:
    """Double-quote a column name, doubling embedded quotes; empty names and NUL cannot be identifiers."""
    if not name or "\x00" in name:
        raise ValueError(f"invalid column name: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _in(expr: str, values: Iterable[str]) -> str:
    return f"{expr} IN ({', '.join(map(_lit, sorted(values)))})"


def _predicate(value_sql: str, body: str) -> str:
    """Bind `v` to value_sql once; a NULL value gives NULL, any NULL inside body (e.g. a bad date) gives false."""
    return f"list_transform([{value_sql}], lambda v: CASE WHEN v IS NOT NULL THEN coalesce({body}, false) END)[1]"


def _normalized(col: str) -> str:
    """SQL form of normalize_identifier; the slow translate() only runs on the rare non-ASCII values."""
    trimmed = f"trim(CAST({quote_ident(col)} AS VARCHAR), {_lit(STRIP_CHARS)})"
    fold = f"CASE WHEN strlen(s) = length(s) THEN upper(s) ELSE translate(s, {_lit(FOLD_FROM)}, {_lit(FOLD_TO)}) END"
    return f"list_transform([{trimmed}], lambda s: {fold})[1]"


def _match(pattern: str) -> str:
    return f"regexp_full_match(v, {_lit(pattern)})"


def _weighted_sum(alphabet: str, weights: Sequence[int]) -> str:
    """Σ value(v[i]) * w[i], a character's value being its 0-based position in alphabet (-1 if absent)."""
    term = f"(strpos({_lit(alphabet)}, substr(v, i, 1)) - 1) * {list(weights)}[i]"
    return f"CAST(list_sum(list_transform(range(1, {len(weights) + 1}), lambda i: {term})) AS BIGINT)"


def _real_date(yyyymmdd_sql: str, today_sql: str) -> str:
    """DuckDB parses year 0000 as 1 BC where Python's date rejects it, hence the lower bound."""
    return f"try_strptime({yyyymmdd_sql}, '%Y%m%d')::DATE BETWEEN DATE '0001-01-01' AND {today_sql}"


def sql_citizen_id_valid(col: str, *, today: date | None = None) -> str:
    """True where check_citizen_id(value, today=today).ok; `today` defaults to DuckDB's current_date."""
    today_sql = f"DATE '{today.isoformat()}'" if today else "current_date"
    province = _in("substr(v, 1, 2)", PROVINCE_PREFIXES)
    checksum = f"substr({_lit(ID_CHECK)}, {_weighted_sum(_DIGITS, ID_WEIGHTS)} % 11 + 1, 1) = substr(v, 18, 1)"
    id18 = f"{_match(ID18_PATTERN)} AND {province} AND {_real_date('substr(v, 7, 8)', today_sql)} AND {checksum}"
    birth15 = _real_date("'19' || substr(v, 7, 6)", today_sql)
    id15 = f"{_match(ID15_PATTERN)} AND {province} AND {birth15}"
    return _predicate(_normalized(col), f"({id18}) OR ({id15})")


def sql_uscc_valid(col: str) -> str:
    """True where check_uscc(value).ok: charset, registration department and checksum (or early-pilot list)."""
    expected = f"substr({_lit(USCC_CHARS)}, (31 - {_weighted_sum(USCC_CHARS, USCC_WEIGHTS)} % 31) % 31 + 1, 1)"
    department = _in("substr(v, 1, 1)", USCC_KINDS)
    checksum = f"({expected} = substr(v, 18, 1) OR {_in('v', EARLY_PILOT_USCC)})"
    return _predicate(_normalized(col), f"{_match(USCC_PATTERN)} AND {department} AND {checksum}")


def sql_org_code_valid(col: str) -> str:
    """True where check_org_code(value).ok; the check character is always the last one, hyphen or not."""
    c9 = f"11 - {_weighted_sum(_ALNUM, ORG_WEIGHTS)} % 11"
    return _predicate(_normalized(col), f"{_match(ORG_PATTERN)} AND substr('0123456789X0', {c9} + 1, 1) = right(v, 1)")


def sql_mobile_valid(col: str) -> str:
    """True where check_mobile(value).ok."""
    return _predicate(_normalized(col), _match(MOBILE_PATTERN))


def sql_bank_card_valid(col: str) -> str:
    """True where check_bank_card(value).ok; Luhn over the reversed digits, doubling every second one."""
    digit = f"(strpos('{_DIGITS}', substr(reverse(v), i, 1)) - 1)"
    term = f"CASE WHEN i % 2 = 0 THEN [0, 2, 4, 6, 8, 1, 3, 5, 7, 9][{digit} + 1] ELSE {digit} END"
    luhn = f"CAST(list_sum(list_transform(range(1, length(v) + 1), lambda i: {term})) AS BIGINT) % 10 = 0"
    return _predicate(f"replace({_normalized(col)}, ' ', '')", f"{_match(BANK_CARD_PATTERN)} AND {luhn}")
