"""Chinese full-text search over catalog entries: jieba segmentation, SQLite FTS5 or PostgreSQL full-text.

Indexing: the entry's text (name twice, abstract, provider, classification labels, items) is segmented
with jieba's search mode (``公共交通`` → 公共 交通 公共交通) plus every two-character window of each
longer Chinese run, so any two-character word (交通, 医保) matches even where jieba would keep it inside
a longer word. The words, separated by spaces, are stored in ``catalog_entries.search_text``; SQLite
keeps an FTS5 index over that column (triggers in migration 0006) and PostgreSQL a GIN index over
``to_tsvector('simple', search_text)``. Both split on the spaces, so both see the same words.

Querying: the query is segmented the same way; every word must match as a prefix (``交通*``), and a
Chinese word of three or more characters also matches when all its two-character windows do. Lists are
filtered by the caller's visibility inside the same SQL statement; facets count over that filter.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from huiju.catalog import vocab
from huiju.catalog.models import CatalogEntry
from huiju.errors import Invalid

_lock = threading.Lock()
_tokenizer: Any = None

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
_WORD = re.compile(r"[0-9A-Za-z\u3400-\u9fff]+")
_CJK = re.compile(r"^[\u3400-\u9fff]+$")

FACETS: dict[str, Any] = {
    "classification": CatalogEntry.classification,
    "department": CatalogEntry.department_id,
    "share_type": CatalogEntry.share_type,
    "open_class": CatalogEntry.open_class,
    "format_kind": CatalogEntry.format_kind,
    "update_cycle": CatalogEntry.update_cycle,
    "theme": CatalogEntry.theme,
    "data_level": CatalogEntry.data_level,
}
FACET_CHOICES: dict[str, dict[str, str]] = {
    "classification": vocab.CLASSIFICATIONS, "share_type": vocab.SHARE_TYPES, "open_class": vocab.OPEN_CLASSES,
    "format_kind": vocab.FORMAT_KINDS, "update_cycle": vocab.UPDATE_CYCLES, "theme": vocab.THEMES,
    "data_level": vocab.DATA_LEVELS,
}
SORTS = ("relevance", "updated", "name", "usage")


def tokenizer() -> Any:
    """jieba's default tokenizer, its dictionary loaded from the package once, on first use, thread-safely."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tok = jieba.Tokenizer()
                tok.initialize()
                _tokenizer = tok
    return _tokenizer


def segment(texts: Iterable[str | None]) -> str:
    """Space-separated search words for the given texts (lower-cased, deduplicated, in order)."""
    tok = tokenizer()
    words: dict[str, None] = {}
    for chunk in texts:
        if not chunk:
            continue
        for word in tok.cut_for_search(chunk):
            for part in _WORD.findall(word):
                words[part.lower()] = None
        for run in _CJK_RUN.findall(chunk):
            for i in range(len(run) - 1):
                words[run[i:i + 2]] = None
    return " ".join(words)


def entry_text(entry: CatalogEntry) -> str:
    """What an entry is found by: its name (twice, for weight), code, abstract, provider, labels and items."""
    from huiju.i18n import translations

    zh = translations("zh_CN")
    labels = [zh.gettext(vocab.CLASSIFICATIONS.get(entry.classification, "")),
              zh.gettext(vocab.item_choices(entry.classification).get(entry.item, "")) if entry.classification
              in vocab.CLASS_DIGIT else "",
              zh.gettext(vocab.THEMES.get(entry.theme or "", "")) if entry.theme else "",
              zh.gettext(vocab.FORMAT_KINDS.get(entry.format_kind, ""))]
    items = [item.name for item in entry.items]
    return segment([entry.name, entry.name, entry.code, entry.abstract, entry.provider_name, entry.format_type,
                    *labels, *items])


def query_words(q: str) -> list[str]:
    """The words of a query, segmented like the index (precise mode, punctuation dropped)."""
    tok = tokenizer()
    words: list[str] = []
    for word in tok.cut(q):
        for part in _WORD.findall(word):
            if part.lower() not in words:
                words.append(part.lower())
    return words[:16]


def _bigrams(word: str) -> list[str]:
    return [word[i:i + 2] for i in range(len(word) - 1)]


def fts5_query(words: list[str]) -> str:
    """An FTS5 MATCH expression: every word as a prefix; long Chinese words also by their two-character windows."""
    parts = []
    for w in words:
        if _CJK.match(w) and len(w) >= 3:
            windows = " AND ".join(f'"{b}"' for b in _bigrams(w))
            parts.append(f'("{w}"* OR ({windows}))')
        else:
            parts.append(f'"{w}"*')
    return " AND ".join(parts)


def tsquery(words: list[str]) -> str:
    """The same expression for PostgreSQL's to_tsquery."""
    parts = []
    for w in words:
        if _CJK.match(w) and len(w) >= 3:
            windows = " & ".join(f"'{b}'" for b in _bigrams(w))
            parts.append(f"('{w}':* | ({windows}))")
        else:
            parts.append(f"'{w}':*")
    return " & ".join(parts)


@dataclass
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool = False


@dataclass
class SearchPage:
    """One page of results with the total, the facet counts and what was asked."""

    entries: list[CatalogEntry]
    total: int
    page: int
    per_page: int
    q: str
    sort: str
    filters: dict[str, str]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _text_match(session: Session, words: list[str]) -> tuple[ColumnElement[bool], Any]:
    """The condition selecting matching entries, and a FROM clause with their rank when sorting by relevance.

    The condition is ``id IN (ids from the full-text index)``, so counts and facets read only the narrow
    covering index ``ix_catalog_entries_facets``, never the wide rows; the rank (smaller is better) is
    joined only for the one page that is sorted by it."""
    if _dialect(session) == "sqlite":
        expression = fts5_query(words)
        ids = select(literal_column("rowid")).select_from(text("catalog_fts")).where(
            text("catalog_fts MATCH :q").bindparams(q=expression))
        ranked = (text("SELECT rowid AS entry_id, bm25(catalog_fts) AS rank FROM catalog_fts "
                       "WHERE catalog_fts MATCH :q").bindparams(q=expression)
                  .columns(entry_id=Integer, rank=Float).subquery("fts"))
        # "+id": keeps SQLite from fetching each matching row by its key (the wide row) instead of
        # checking the ids while it scans the covering index
        return literal_column("+catalog_entries.id").in_(ids), (ranked, ranked.c.rank)
    vector = func.to_tsvector(literal_column("'simple'::regconfig"), CatalogEntry.search_text)
    query = func.to_tsquery(literal_column("'simple'::regconfig"), tsquery(words))
    return vector.op("@@")(query), (None, -func.ts_rank(vector, query))


def _matches(column: Any, name: str, value: Any) -> ColumnElement[bool]:
    """A filter's condition: equal to the value, or one of them when it is a list."""
    def typed(v: Any) -> Any:
        return int(v) if name == "department" and str(v).isdigit() else v

    if isinstance(value, list | tuple):
        return column.in_([typed(v) for v in value])
    return column == typed(value)


def search(session: Session, visibility: ColumnElement[bool], *, q: str = "", filters: dict[str, str] | None = None,
           sort: str = "relevance", page: int = 1, per_page: int = 20, with_facets: bool = True) -> SearchPage:
    """One page of visible entries matching ``q`` and ``filters``, sorted, with facet counts."""
    filters = {k: v for k, v in (filters or {}).items() if v not in (None, "")}
    unknown = set(filters) - set(FACETS) - {"state"}
    if unknown:
        raise Invalid("Unknown search filter %(name)s", name=", ".join(sorted(unknown)))
    if sort not in SORTS:
        raise Invalid("Unknown sort order %(sort)s", sort=sort)
    page, per_page = max(1, page), min(max(1, per_page), 100)
    words = query_words(q) if q.strip() else []
    conditions: list[ColumnElement[bool]] = [visibility]
    ranked: Any = None
    rank: Any = None
    if words:
        text_condition, (ranked, rank) = _text_match(session, words)
        conditions.append(text_condition)
    where = and_(*conditions, *(_matches(CatalogEntry.state if name == "state" else FACETS[name], name, value)
                                for name, value in filters.items()))
    query: Select[Any] = select(CatalogEntry).where(where)
    if sort == "relevance" and rank is not None:
        if ranked is not None:
            query = query.join(ranked, ranked.c.entry_id == CatalogEntry.id)
        order = [rank, CatalogEntry.id.desc()]
    elif sort == "name":
        order = [CatalogEntry.name, CatalogEntry.id]
    elif sort == "usage":
        order = [CatalogEntry.usage_count.desc(), CatalogEntry.id.desc()]
    else:
        order = [CatalogEntry.updated_at.desc(), CatalogEntry.id.desc()]
    entries = list(session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    result = SearchPage(entries=entries, total=0, page=page, per_page=per_page, q=q, sort=sort, filters=filters)
    if not with_facets:
        result.total = session.scalar(select(func.count()).select_from(CatalogEntry).where(where)) or 0
        return result
    # One statement for the total and the eight facets: the visible matching rows' facet columns are read
    # once (from the covering index) into a materialised CTE, and each facet counts them under every
    # filter but its own.
    columns = {**FACETS, "state": CatalogEntry.state}
    matched = (select(*(column.label(name) for name, column in columns.items()),
                      CatalogEntry.provider_name.label("provider_name"))
               .where(and_(*conditions)).cte("matched").prefix_with("MATERIALIZED"))

    def on_matched(skip: str | None = None) -> list[ColumnElement[bool]]:
        out = []
        for name, value in filters.items():
            if name != skip:
                out.append(_matches(matched.c[name], name, value))
        return out

    parts = [select(literal("").label("facet"), literal("").label("value"), literal("").label("label"),
                    func.count().label("n")).select_from(matched).where(*on_matched())]
    for name in FACETS:
        value = cast(matched.c[name], String)
        parts.append(select(literal(name), value, func.min(matched.c.provider_name), func.count())
                     .select_from(matched).where(matched.c[name].is_not(None), *on_matched(skip=name))
                     .group_by(value))
    counts: dict[str, list[FacetValue]] = {name: [] for name in FACETS}
    for facet, value, provider, n in session.execute(union_all(*parts)):
        if not facet:
            result.total = n
            continue
        text_label = provider if facet == "department" else vocab.label(FACET_CHOICES[facet], value)
        counts[facet].append(FacetValue(str(value), text_label, n, str(filters.get(facet)) == str(value)))
    result.facets = {name: sorted(values, key=lambda f: (-f.count, f.label)) for name, values in counts.items()}
    return result
