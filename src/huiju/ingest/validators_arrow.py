"""Vectorised twins of the check-digit validators, over an Arrow string column with numpy, for the batch check.

Each function returns, for every value of the column, whether the Python check in validators.py returns ok
(warnings count as ok), and NULL for a NULL value, exactly like its SQL twin in validators_sql.py (which stays
the reference for the other formats and for values that are not plain strings). Why not SQL: the identifier
values have a fixed width, so their bytes can be viewed as an (n, width) matrix and a check digit becomes one
table lookup and one matrix product. Measured on a 528,449-row chunk of the legal-entity table (2 shared CPUs):
the SQL twins of GB 32100, GB 11643 and GB/T 2260 added 0.18 s, 0.17 s and 0.08 s to the statement; here they
take about 0.02 s each.

Values that are not ASCII (full-width digits and letters) are first folded by validators.normalize_identifier,
one by one: they are rare in real files, and folding them in Python keeps one definition of the fold.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from huiju.ingest.validators import (
    BANK_CARD_PATTERN,
    EARLY_PILOT_USCC,
    ID_CHECK,
    ID_WEIGHTS,
    MOBILE_PATTERN,
    PROVINCE_PREFIXES,
    STRIP_CHARS,
    USCC_CHARS,
    USCC_KINDS,
    USCC_WEIGHTS,
    normalize_identifier,
)

FORMATS = ("gb32100", "gb11643", "gb2260")  # the formats with a vectorised twin in the batch check


def _table(chars: str) -> np.ndarray:
    """Byte -> position of the character in ``chars``, -1 for any other byte."""
    out = np.full(256, -1, np.int8)
    for i, c in enumerate(chars):
        out[ord(c)] = i
    return out


_DIGIT = _table("0123456789")
_USCC_VALUE = _table(USCC_CHARS)
_ID_CHECK_VALUE = _table(ID_CHECK)
_DEPARTMENT = np.zeros(256, bool)
_DEPARTMENT[[ord(c) for c in USCC_KINDS]] = True
_PROVINCE = np.zeros(100, bool)
_PROVINCE[[int(p) for p in PROVINCE_PREFIXES]] = True
_PILOTS = [np.frombuffer(code.encode(), np.uint8) for code in sorted(EARLY_PILOT_USCC)]  # not empty
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)


def normalized(column: pa.Array | pa.ChunkedArray, *, trimmed: bool = False) -> pa.Array:
    """normalize_identifier over a column: Arrow's ASCII upper for ASCII values, the Python fold for the rest."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    arr = arr.cast(pa.string()) if arr.type != pa.string() else arr
    if not trimmed:
        arr = pc.utf8_trim(arr, STRIP_CHARS)
    ascii_ = pc.fill_null(pc.string_is_ascii(arr), True)
    upper = pc.ascii_upper(arr)
    if pc.all(ascii_).as_py():
        return upper
    other = pc.invert(ascii_)
    folded = [normalize_identifier(v) for v in arr.filter(other).to_pylist()]
    return pc.replace_with_mask(upper, other, pa.array(folded, pa.string()))


def _fixed(arr: pa.Array, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the non-NULL values exactly ``width`` bytes long, their bytes as a (width, n) uint8 matrix).

    Character i of every value is row i, contiguous, so each step below is one vector operation over the chunk.
    """
    lengths = pc.binary_length(arr)
    rows = np.flatnonzero(pc.fill_null(pc.equal(lengths, width), False).to_numpy(zero_copy_only=False))
    if not len(rows):
        return rows, np.zeros((width, 0), np.uint8)
    fixed = (arr if len(rows) == len(arr) else arr.take(pa.array(rows))).cast(pa.binary(width))
    data = np.frombuffer(fixed.buffers()[1], np.uint8)[fixed.offset * width:(fixed.offset + len(rows)) * width]
    return rows, np.ascontiguousarray(data.reshape(len(rows), width).T)


def _number(digits: np.ndarray) -> np.ndarray:
    """Digit values, one row per position (most significant first) -> the numbers they spell."""
    out = np.zeros(digits.shape[1], np.int32)
    for row in digits:
        out = out * 10 + row
    return out


def _weighted(values: np.ndarray, weights: tuple[int, ...], modulus: int) -> np.ndarray:
    """Σ values[i] * weights[i] mod modulus, over the first len(weights) rows (int32: no overflow for 17 terms)."""
    total = np.zeros(values.shape[1], np.int32)
    for row, w in zip(values, weights, strict=False):
        total += row.astype(np.int32) * w
    return total % modulus


def _all_found(values: np.ndarray) -> np.ndarray:
    """True where every character was in its alphabet (no -1 from the lookup table)."""
    return values.min(axis=0, initial=0) >= 0 if values.shape[1] else np.zeros(0, bool)


def _real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray, today: date) -> np.ndarray:
    """A real Gregorian date from 0001-01-01 up to today (Python's date and DuckDB's try_strptime agree on it)."""
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    ok_month = (month >= 1) & (month <= 12)
    days = _DAYS[np.where(ok_month, month, 0)] + ((month == 2) & leap)
    real = (year >= 1) & ok_month & (day >= 1) & (day <= days)
    return real & (year * 10000 + month * 100 + day <= today.year * 10000 + today.month * 100 + today.day)


def _answer(arr: pa.Array, rows: np.ndarray, ok: np.ndarray) -> pa.Array:
    """Booleans for the whole column: ``ok`` at ``rows``, false at the other values, NULL at NULL values."""
    out = np.zeros(len(arr), bool)
    out[rows[ok]] = True
    return pa.array(out, mask=np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), bool))


def _prepared(column: pa.Array | pa.ChunkedArray, standardized: bool, trimmed: bool) -> pa.Array:
    if standardized:
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        return arr.cast(pa.string()) if arr.type != pa.string() else arr
    return normalized(column, trimmed=trimmed)


def uscc_valid(column: pa.Array | pa.ChunkedArray, *, standardized: bool = False, trimmed: bool = False) -> pa.Array:
    """check_uscc(v).ok per value: charset, registration department, and the check character or an early-pilot code.

    ``standardized``: the values are normalize_identifier's output already; ``trimmed``: only stripped.
    """
    arr = _prepared(column, standardized, trimmed)
    rows, m = _fixed(arr, 18)
    values = _USCC_VALUE[m]
    ok = _all_found(values) & _DEPARTMENT[m[0]]
    mismatch = np.flatnonzero(ok & (values[17] != (31 - _weighted(values, USCC_WEIGHTS, 31)) % 31))
    wrong = m[:, mismatch]  # few: early-pilot codes and wrong check characters
    ok[mismatch] = np.logical_or.reduce([(wrong == code[:, None]).all(axis=0) for code in _PILOTS])
    return _answer(arr, rows, ok)


def citizen_id_valid(column: pa.Array | pa.ChunkedArray, *, today: date, standardized: bool = False,
                     trimmed: bool = False) -> pa.Array:
    """check_citizen_id(v, today=today).ok per value: 18 digits (or 15, the 1989 form) with a known province,
    a real birth date not after today and, for 18, the MOD 11-2 check character."""
    arr = _prepared(column, standardized, trimmed)
    rows18, m18 = _fixed(arr, 18)
    d18 = _DIGIT[m18[:17]]
    check = _ID_CHECK_VALUE[m18[17]]
    shape18 = _all_found(d18) & (check >= 0)  # [0-9]{17}[0-9X]
    d18 = np.maximum(d18, 0)
    birth18 = _real_date(_number(d18[6:10]), _number(d18[10:12]), _number(d18[12:14]), today)
    ok18 = shape18 & _PROVINCE[_number(d18[:2])] & birth18 & (_weighted(d18, ID_WEIGHTS, 11) == check)
    rows15, m15 = _fixed(arr, 15)
    d15 = _DIGIT[m15]
    shape15 = _all_found(d15)
    d15 = np.maximum(d15, 0)
    birth15 = _real_date(1900 + _number(d15[6:8]), _number(d15[8:10]), _number(d15[10:12]), today)
    ok15 = shape15 & _PROVINCE[_number(d15[:2])] & birth15
    return _answer(arr, np.concatenate([rows18, rows15]), np.concatenate([ok18, ok15]))


def region_code_valid(column: pa.Array | pa.ChunkedArray, known: Collection[str] | None = None, *,
                      standardized: bool = False, trimmed: bool = False) -> pa.Array:
    """check_region_code(v, known).ok per value: six digits, GB/T 2260 structure, and membership when ``known``."""
    arr = _prepared(column, standardized, trimmed)
    rows, m = _fixed(arr, 6)
    d = _DIGIT[m]
    found = _all_found(d)
    n = _number(np.maximum(d, 0))
    prefecture, county = n // 100 % 100, n % 100
    ok = (found & _PROVINCE[n // 10000] & ((prefecture == 90) | (prefecture <= 70))
          & ~((prefecture == 0) & (county != 0)))
    if known is not None:
        table = np.array(sorted({int(k) for k in known if re.fullmatch("[0-9]{6}", k)}), np.int32)
        ok &= np.isin(n, table)
    return _answer(arr, rows, ok)


def mobile_valid(column: pa.Array | pa.ChunkedArray, *, standardized: bool = False, trimmed: bool = False) -> pa.Array:
    """check_mobile(v).ok per value: the normalised text is a mainland mobile number, with or without +86/86."""
    arr = _prepared(column, standardized, trimmed)
    return pc.match_substring_regex(arr, f"^(?:{MOBILE_PATTERN})$")


def bank_card_valid(column: pa.Array | pa.ChunkedArray, *, standardized: bool = False,
                    trimmed: bool = False) -> pa.Array:
    """check_bank_card(v).ok per value: 16-19 digits once spaces are dropped, with a valid Luhn check digit."""
    arr = pc.replace_substring(_prepared(column, standardized, trimmed), " ", "")
    rows_all, ok_all = [], []
    for width in range(16, 20):
        rows, m = _fixed(arr, width)
        d = _DIGIT[m]
        found = _all_found(d)
        d = np.maximum(d, 0).astype(np.int32)
        doubled = d[width - 2::-2] * 2  # every second digit from the right, the check digit not included
        total = d[width - 1::-2].sum(axis=0) + (doubled % 10 + doubled // 10).sum(axis=0)
        rows_all.append(rows)
        ok_all.append(found & (total % 10 == 0))
    return _answer(arr, np.concatenate(rows_all), np.concatenate(ok_all))


def format_valid(column: pa.Array | pa.ChunkedArray, fmt: str, *, today: date, known: Collection[str] | None = None,
                 standardized: bool = False, trimmed: bool = False) -> pa.Array:
    """The vectorised twin of standardize.sql_format_valid for the formats in FORMATS."""
    if fmt == "gb32100":
        return uscc_valid(column, standardized=standardized, trimmed=trimmed)
    if fmt == "gb11643":
        return citizen_id_valid(column, today=today, standardized=standardized, trimmed=trimmed)
    if fmt == "gb2260":
        return region_code_valid(column, known, standardized=standardized, trimmed=trimmed)
    raise ValueError(f"no vectorised validator for {fmt}")
