"""The subset of Solr query syntax CKAN clients send in ``q``/``fq``, evaluated over package documents.

Supported: ``field:value``, ``field:"quoted value"``, ``field:(a OR b)``, ranges ``field:[a TO b]`` and
``{a TO b}`` with ``*`` for an open end, ``-field:x`` / ``NOT``, ``+field:x``, ``AND`` / ``OR`` between
clauses (AND binds tighter, as in Solr), and bare words (matched against the text of the document).
That is what ckanext-harvest's CKAN harvester and the ckanapi CLI send.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<op>AND\b|OR\b|NOT\b|&&|\|\|)
    | (?P<sign>[+-])?(?P<field>[A-Za-z_][\w.]*):(?P<value>\[[^\]]*\]|\{[^}]*\}|"[^"]*"|\([^)]*\)|[^\s()]+)
    | (?P<sign2>[+-])?(?P<word>"[^"]*"|[^\s()]+)
    )""", re.X)
_RANGE = re.compile(r"^([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])$")


class QueryError(ValueError):
    """The query cannot be read (CKAN's "Search Query Error")."""


Doc = Mapping[str, Any]  # field -> str | list[str] | datetime; "text" holds the searchable text
Predicate = Callable[[Doc], bool]


@dataclass(frozen=True)
class Clause:
    pred: Predicate
    negate: bool


def _unquote(v: str) -> str:
    return v[1:-1] if len(v) >= 2 and v[0] == v[-1] == '"' else v


def _as_time(v: str) -> datetime:
    if v.upper().startswith("NOW"):
        now = datetime.now(UTC)
        m = re.fullmatch(r"NOW(?:([+-])(\d+)(DAYS?|HOURS?|MINUTES?))?(?:/DAY)?", v.upper())
        if not m:
            raise QueryError(f"cannot read date {v}")
        if m.group(1):
            unit = {"D": "days", "H": "hours", "M": "minutes"}[m.group(3)[0]]
            delta = timedelta(**{unit: int(m.group(2))})
            now = now + delta if m.group(1) == "+" else now - delta
        return now
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"cannot read date {v}") from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _field_pred(field: str, raw: str, fields: set[str]) -> Predicate:
    if field not in fields:
        raise QueryError(f"undefined field {field}")
    m = _RANGE.match(raw)
    if m:
        lo, hi = m.group(2), m.group(3)
        lo_incl, hi_incl = m.group(1) == "[", m.group(4) == "]"

        def in_range(doc: Doc) -> bool:
            value = doc.get(field)
            if value is None:
                return False
            conv: Callable[[str], Any] = _as_time if isinstance(value, datetime) else str
            if lo != "*" and (value < conv(lo) if lo_incl else value <= conv(lo)):
                return False
            return not (hi != "*" and (value > conv(hi) if hi_incl else value >= conv(hi)))

        return in_range
    if raw.startswith("(") and raw.endswith(")"):
        options = [_unquote(o) for o in re.split(r"\s+(?:OR|\|\|)\s+", raw[1:-1].strip())]
        return lambda doc: any(_matches(doc.get(field), o) for o in options)
    value = _unquote(raw)
    return lambda doc: _matches(doc.get(field), value)


def _matches(have: Any, want: str) -> bool:
    if want == "*":
        return have not in (None, "", [])
    if isinstance(have, list):
        return any(_matches(h, want) for h in have)
    if isinstance(have, datetime):
        return have == _as_time(want)
    if have is None:
        return False
    have = str(have)
    if "*" in want:
        return re.fullmatch(".*".join(re.escape(p) for p in want.split("*")), have, re.I) is not None
    return have == want


def _word_pred(word: str) -> Predicate:
    w = _unquote(word).lower()
    if w in ("*", "*:*"):
        return lambda doc: True
    return lambda doc: w in str(doc.get("text", "")).lower()


def parse(query: str, fields: set[str]) -> Predicate:
    """Compile a Solr-style query into a predicate over documents; raises QueryError."""
    query = (query or "").strip()
    if not query or query == "*:*":
        return lambda doc: True
    groups: list[list[Clause]] = [[]]  # OR of ANDs
    pos, negate_next = 0, False
    while pos < len(query):
        m = _TOKEN.match(query, pos)
        if not m or m.end() == pos:
            if query[pos:].strip():
                raise QueryError(f"cannot read the query at {query[pos:pos + 20]!r}")
            break
        pos = m.end()
        if m.group("op"):
            op = m.group("op")
            if op in ("OR", "||"):
                groups.append([])
            elif op == "NOT":
                negate_next = True
            continue
        if m.group("field"):
            pred = _field_pred(m.group("field"), m.group("value"), fields)
            sign = m.group("sign")
        else:
            word = m.group("word")
            if word in ("(", ")"):
                raise QueryError("nested parentheses are not supported")
            pred = _word_pred(word)
            sign = m.group("sign2")
        groups[-1].append(Clause(pred, negate_next or sign == "-"))
        negate_next = False
    groups = [g for g in groups if g]
    if not groups:
        return lambda doc: True

    def evaluate(doc: Doc) -> bool:
        return any(all(c.pred(doc) != c.negate for c in group) for group in groups)

    return evaluate
