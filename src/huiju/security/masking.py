"""Named masks compiled to DuckDB SQL, so masked values never reach Python unmasked.

Vocabulary: Apache Ranger's masks (``MASK`` … ``MASK_DATE_SHOW_YEAR``), the Chinese display rules of
Hutool ``DesensitizedUtil`` (``CN_*``, reference/cn-standards.md §3.4) and the GB/T 37964
generalisation and pseudonymisation techniques (§3.3). Every mask keeps NULL as NULL, and a value
too short or malformed for a "keep the ends" rule is starred out entirely rather than leaked.

Deviation from Ranger: its ``mask()`` replaces only upper/lower-case letters and digits and keeps
"other" characters, which would keep every Chinese character; here any Unicode letter becomes
``x``/``X`` and any Unicode number ``n``.

``PSEUDONYM`` (keyed HMAC-SM3) cannot run in DuckDB, which has neither SM3 nor HMAC: the egress
selects the column and applies :func:`pseudonymize_arrow` to the Arrow batch before it leaves.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from huiju.errors import Invalid
from huiju.i18n import N_
from huiju.security.crypto import get_provider

PSEUDONYM_MIN_KEY_BYTES = 16


@dataclass(frozen=True)
class Mask:
    """A named mask; ``label`` is a gettext msgid shown on pages."""

    name: str
    label: str
    build: Callable[..., str] | None  # None: not expressible in SQL (see pseudonymize_arrow)

    @property
    def in_sql(self) -> bool:
        return self.build is not None

    def sql(self, col_expr: str, **params: Any) -> str:
        """A DuckDB expression over ``col_expr`` (already quoted); params come from grants, so check them."""
        if self.build is None:
            raise Invalid("Mask %(name)s runs on Arrow batches, not in SQL", name=self.name)
        try:
            inspect.signature(self.build).bind(col_expr, **params)
        except TypeError:
            raise Invalid("Invalid parameters for mask %(name)s", name=self.name) from None
        return self.build(col_expr, **params)


def _text(col: str) -> str:
    return f"CAST({col} AS VARCHAR)"


def _count(value: Any, param: str) -> int:
    """Integers interpolated into SQL: only genuine positive ints get through."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise Invalid("Mask parameter %(param)s must be a positive integer", param=param)
    return value


def _stars(length_expr: str) -> str:
    return f"repeat('*', {length_expr})"


def _redact_x(expr: str) -> str:
    """Ranger's partial masks: every letter and digit becomes 'x', other characters stay."""
    return rf"regexp_replace({expr}, '[\p{{L}}\p{{N}}]', 'x', 'g')"


def _mask(col: str) -> str:
    v = _text(col)
    upper = rf"regexp_replace({v}, '[\p{{Lu}}\p{{Lt}}]', 'X', 'g')"
    lower = rf"regexp_replace({upper}, '[\p{{Ll}}\p{{Lm}}\p{{Lo}}]', 'x', 'g')"
    return rf"regexp_replace({lower}, '\p{{N}}', 'n', 'g')"


def _mask_show_last_4(col: str) -> str:
    v = _text(col)
    return f"CASE WHEN length({v}) <= 4 THEN {v} ELSE {_redact_x(f'left({v}, length({v}) - 4)')} || right({v}, 4) END"


def _mask_show_first_4(col: str) -> str:
    v = _text(col)
    return f"CASE WHEN length({v}) <= 4 THEN {v} ELSE left({v}, 4) || {_redact_x(f'substr({v}, 5)')} END"


def _mask_hash(col: str) -> str:
    """Ranger's hex SHA-256 (DuckDB has no SM3). Unkeyed, so guessable for IDs and phone numbers."""
    return f"sha256({_text(col)})"


def _mask_null(col: str) -> str:
    """NULL of the column's own type, so the output schema does not change."""
    return f"CASE WHEN FALSE THEN {col} END"


def _mask_none(col: str) -> str:
    return col


def _mask_date_show_year(col: str, text: bool = False) -> str:
    """DATE/TIMESTAMP: 1 January of the same year, same type. ``text=True`` for string columns:
    the leading 4-digit year ('1990-05-12', '19900512', '1990年5月' → '1990'), else NULL."""
    if not isinstance(text, bool):
        raise Invalid("Mask parameter %(param)s must be true or false", param="text")
    if text:
        return f"nullif(regexp_extract({_text(col)}, '^([0-9]{{4}})', 1), '')"
    return f"time_bucket(INTERVAL 1 YEAR, {col})"


def _cn_name(col: str) -> str:
    v = _text(col)
    return f"left({v}, 1) || {_stars(f'length({v}) - 1')}"


def _cn_id(col: str) -> str:
    """18-digit ID: area code (6) + 8 stars + last 4; 15-digit (1st generation): 6 + 6 stars + 3."""
    v = _text(col)
    return (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{17}}[0-9Xx]') THEN left({v}, 6) || '********' || right({v}, 4) "
        f"WHEN regexp_full_match({v}, '[0-9]{{15}}') THEN left({v}, 6) || '******' || right({v}, 3) "
        f"ELSE {_stars(f'length({v})')} END"
    )


def _cn_mobile(col: str) -> str:
    v = _text(col)
    return (
        f"CASE WHEN length({v}) >= 11 THEN left({v}, 3) || {_stars(f'length({v}) - 7')} || right({v}, 4) "
        f"ELSE {_stars(f'length({v})')} END"
    )


def _cn_address(col: str, n: int = 8) -> str:
    v, n = _text(col), _count(n, "n")
    return f"left({v}, greatest(length({v}) - {n}, 0)) || {_stars(f'least(length({v}), {n})')}"


def _cn_bank_card(col: str) -> str:
    """First 4 + last 4 of a 12+ digit number (spaces/hyphens ignored), stars grouped by 4."""
    v = _text(col)
    digits = f"regexp_replace({v}, '[ -]', '', 'g')"
    grouped = rf"rtrim(regexp_replace({_stars(f'length({digits}) - 8')}, '(\*{{4}})', '\1 ', 'g'))"
    return (
        f"CASE WHEN regexp_full_match({digits}, '[0-9]{{12,}}') "
        f"THEN left({digits}, 4) || ' ' || {grouped} || ' ' || right({digits}, 4) "
        f"ELSE {_stars(f'length({v})')} END"
    )


def _cn_email(col: str) -> str:
    v = _text(col)
    domain = f"regexp_extract({v}, '@[^@]*$')"
    local_length = f"(length({v}) - length({domain}))"
    return (
        f"CASE WHEN {domain} = '' THEN {_stars(f'length({v})')} "
        f"WHEN {local_length} <= 1 THEN {v} "
        f"ELSE left({v}, 1) || {_stars(f'{local_length} - 1')} || {domain} END"
    )


def _age_band(col: str, width: int = 10, as_of: date | str | None = None) -> str:
    """Age band ('30-39') from a birth date (DATE, TIMESTAMP, 'YYYY-MM-DD', 'YYYYMMDD') or a citizen
    ID's birth digits; ``as_of`` fixes the reference day (default: today). Unparseable → NULL."""
    width = _count(width, "width")
    try:
        day = "current_date" if as_of is None else f"DATE '{date.fromisoformat(str(as_of)).isoformat()}'"
    except ValueError:
        raise Invalid("Mask parameter %(param)s must be a date", param="as_of") from None
    v = _text(col)

    def yyyymmdd(expr: str) -> str:
        return f"CAST(try_strptime({expr}, '%Y%m%d') AS DATE)"

    id18, id15 = yyyymmdd(f"substr({v}, 7, 8)"), yyyymmdd(f"'19' || substr({v}, 7, 6)")
    birth = (
        f"CASE WHEN regexp_full_match({v}, '[0-9]{{17}}[0-9Xx]') THEN {id18} "
        f"WHEN regexp_full_match({v}, '[0-9]{{15}}') THEN {id15} "
        f"WHEN regexp_full_match({v}, '[0-9]{{8}}') THEN {yyyymmdd(v)} "
        f"ELSE try_cast({v} AS DATE) END"
    )
    age = f"date_sub('year', {birth}, {day})"
    low = f"({age} // {width} * {width})"
    return f"CASE WHEN {age} >= 0 THEN CAST({low} AS VARCHAR) || '-' || CAST({low} + {width - 1} AS VARCHAR) END"


def _region(keep: int) -> Callable[[str], str]:
    def build(col: str) -> str:
        v = _text(col)
        return f"CASE WHEN regexp_full_match({v}, '[0-9]{{6}}') THEN left({v}, {keep}) || '{'0' * (6 - keep)}' END"

    return build


MASKS: dict[str, Mask] = {
    mask.name: mask
    for mask in (
        Mask("MASK", N_("Redact letters and digits"), _mask),
        Mask("MASK_SHOW_LAST_4", N_("Partial mask: show last 4"), _mask_show_last_4),
        Mask("MASK_SHOW_FIRST_4", N_("Partial mask: show first 4"), _mask_show_first_4),
        Mask("MASK_HASH", N_("Hash (SHA-256)"), _mask_hash),
        Mask("MASK_NULL", N_("Nullify"), _mask_null),
        Mask("MASK_NONE", N_("Unmasked (retain original value)"), _mask_none),
        Mask("MASK_DATE_SHOW_YEAR", N_("Date: show only year"), _mask_date_show_year),
        Mask("CN_NAME", N_("Chinese name: keep the first character"), _cn_name),
        Mask("CN_ID", N_("Citizen ID: keep area code and last 4"), _cn_id),
        Mask("CN_MOBILE", N_("Mobile number: keep first 3 and last 4"), _cn_mobile),
        Mask("CN_ADDRESS", N_("Address: hide the last characters"), _cn_address),
        Mask("CN_BANK_CARD", N_("Bank card: keep first 4 and last 4"), _cn_bank_card),
        Mask("CN_EMAIL", N_("Email: keep the first character of the name"), _cn_email),
        Mask("AGE_BAND", N_("Generalise to age band"), _age_band),
        Mask("REGION_CITY", N_("Generalise region code to city"), _region(4)),
        Mask("REGION_PROVINCE", N_("Generalise region code to province"), _region(2)),
        Mask("PSEUDONYM", N_("Keyed pseudonym (HMAC-SM3)"), None),
    )
}


def quote_identifier(column: str) -> str:
    """A DuckDB identifier in double quotes; a name can never break out of it."""
    if not column or "\0" in column:
        raise Invalid("Invalid column name %(column)s", column=column)
    return '"' + column.replace('"', '""') + '"'


def compile_mask(name: str, column: str, **params: Any) -> str:
    """The SQL expression that masks ``column`` with the mask called ``name``."""
    mask = MASKS.get(name)
    if mask is None:
        raise Invalid("Unknown mask %(name)s", name=name)
    return mask.sql(quote_identifier(column), **params)


def pseudonymize_arrow(array: pa.Array, key: bytes) -> pa.Array:
    """Hex HMAC-SM3 of each value's text (as DuckDB would cast it); NULL stays NULL.

    Same key and value give the same pseudonym, so masked tables still join; keep one key per
    dataset or grant in the KMS so pseudonyms cannot be linked across grants.
    """
    if len(key) < PSEUDONYM_MIN_KEY_BYTES:
        raise Invalid("A pseudonym key needs at least %(n)s bytes", n=PSEUDONYM_MIN_KEY_BYTES)
    provider = get_provider()
    texts = pc.cast(array, pa.string()).to_pylist()
    return pa.array(
        [None if text is None else provider.hmac_sm3(key, text.encode()).hex() for text in texts],
        type=pa.string(),
    )
