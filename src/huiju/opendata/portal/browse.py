"""Public reading for the portal: search over published open datasets, a dataset's page, preview rows.

Everything shown comes from published catalog entries and open versions; rows come through
``catalog/access.py:read_rows`` (audited, under the open version's read scope), never from files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select

from huiju.auth.roles import Actor
from huiju.catalog import search, serving
from huiju.catalog import service as catalog_service
from huiju.catalog.access import Condition, ReadScope, read_rows
from huiju.errors import Forbidden, Invalid, NotFound
from huiju.ingest.validators import check_region_code
from huiju.opendata import service as open_service
from huiju.opendata.models import OpenDataset, OpenStatus, OpenVersion
from huiju.storage.lake import LakeVersion
from huiju.storage.uow import UnitOfWork

PORTAL = Actor.system("portal")  # reads published entries and open versions on the public's behalf
PORTAL_FACETS = ("theme", "department", "open_class", "format_kind", "update_cycle")
PREVIEW_ROWS = 50
COORDINATES = (("经度", "纬度"), ("lon", "lat"), ("lng", "lat"), ("longitude", "latitude"))
# Columns holding GB/T 2260 region codes, by name (as the ingest rules name them); their values are checked too.
REGION_COLUMN = re.compile(r"(行政区划代码|区划代码|区县代码|地区代码|^xzqhdm$|^region_?code$|^adcode$)", re.I)
REGION_SHARE = 0.8  # a column is drawn by region when this share of its rows hold valid region codes
REGIONS_MAX = 500


def published_entry_ids() -> Select[Any]:
    """The catalog entries whose open dataset is published: the portal's whole world."""
    return select(OpenDataset.entry_id).where(OpenDataset.status == OpenStatus.PUBLISHED)


@dataclass
class OpenSearch:
    page: search.SearchPage
    datasets: dict[int, OpenDataset]  # by entry id
    versions: dict[int, OpenVersion]  # by open dataset id


def search_open(uow: UnitOfWork, *, q: str = "", filters: dict[str, str] | None = None, sort: str = "relevance",
                page: int = 1, per_page: int = 20) -> OpenSearch:
    """Chinese full-text search with the portal's facets (领域/主题, 部门, 开放类型, 格式, 更新频率)."""
    filters = {k: v for k, v in (filters or {}).items() if k in PORTAL_FACETS and v}
    result = catalog_service.search_entries(uow, PORTAL, q=q, filters=filters, sort=sort, page=page,
                                            per_page=per_page, within=published_entry_ids())
    result.facets = {k: v for k, v in result.facets.items() if k in PORTAL_FACETS}
    ids = [e.id for e in result.entries]
    datasets = {d.entry_id: d for d in uow.session.scalars(
        select(OpenDataset).where(OpenDataset.entry_id.in_(ids), OpenDataset.status == OpenStatus.PUBLISHED))}
    versions = open_service.current_open_versions(uow, [d.id for d in datasets.values()])
    return OpenSearch(result, datasets, versions)


@dataclass
class DatasetView:
    dataset: OpenDataset
    entry: Any  # the catalog entry, as catalog_service.get_entry gives it
    version: OpenVersion | None
    department_name: str
    coordinates: tuple[str, str] | None
    numeric: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    region_columns: list[str] = field(default_factory=list)


def dataset_view(uow: UnitOfWork, name: str) -> DatasetView:
    od = open_service.published_dataset(uow, name)
    entry = catalog_service.get_entry(uow, PORTAL, od.entry_id)
    version = open_service.current_open_versions(uow, [od.id]).get(od.id)
    fields = [f["id"] for f in version.fields if not f["id"].startswith("_")] if version else []
    types = {f["id"]: f.get("type", "text") for f in version.fields} if version else {}
    numeric = [f for f in fields if types[f] in ("int", "int4", "int8", "numeric", "float8", "float", "integer")]
    text = [f for f in fields if f not in numeric]
    lowered = {f.lower(): f for f in fields}
    coords = next(((lowered[x], lowered[y]) for x, y in COORDINATES if x in lowered and y in lowered), None)
    regions = [f for f in fields if REGION_COLUMN.search(f)]
    return DatasetView(od, entry, version, entry.provider_name, coords, numeric, text, regions)


@dataclass
class RegionChart:
    """Rows (and sums of the numeric columns) per region of a region-code column, for the map or its bars."""

    column: str
    measures: list[str]  # "" = number of rows, then the numeric columns summed
    regions: list[dict[str, Any]]  # {code, name, values: [rows, sum, ...]}
    geojson: dict[str, Any] | None  # the regions' polygons when the region dataset has them


def region_chart(uow: UnitOfWork, actor: Actor, view: DatasetView) -> RegionChart | None:
    """Totals per GB/T 2260 region of the first region-code column, named (and outlined) from the region
    dataset named by ``opendata_region_dataset``; None when no column holds region codes."""
    if view.version is None or not view.region_columns:
        return None
    served = open_service.served_resource(uow, view.version.uid, actor=actor)
    sums = view.numeric[:5]
    for column in view.region_columns:
        totals = serving.group_totals(served.path, served.fields, column, sums, limit=REGIONS_MAX)
        valid = [t for t in totals if check_region_code(str(t[0])).ok]
        if totals and sum(t[1] for t in valid) >= REGION_SHARE * sum(t[1] for t in totals):
            break
    else:
        return None
    table = region_table(uow)
    regions = [{"code": str(t[0]), "name": table.get(str(t[0]), (str(t[0]), None))[0],
                "values": [t[1], *(round(v, 6) if isinstance(v, float) else v for v in t[2:])]} for t in valid]
    shapes = [{"type": "Feature", "properties": {"name": r["name"], "code": r["code"]}, "geometry": geometry}
              for r in regions if (geometry := table.get(r["code"], ("", None))[1]) is not None]
    geojson = {"type": "FeatureCollection", "features": shapes} if shapes else None
    return RegionChart(column, ["", *sums], regions, geojson)


def region_table(uow: UnitOfWork) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """Region code → (name, GeoJSON geometry or None) from the open region dataset, if one is configured."""
    name = uow.settings.opendata_region_dataset
    if not name:
        return {}
    try:
        od = open_service.published_dataset(uow, name)
        version = open_service.current_open_versions(uow, [od.id]).get(od.id)
        if version is None:
            return {}
        served = open_service.served_resource(uow, version.uid)
    except (NotFound, Forbidden):
        return {}
    names = {f["id"] for f in served.fields}
    if not {"code", "name"} <= names:
        return {}
    query = serving.Query(served.fields)
    query.set_fields(["code", "name", *(["geometry"] if "geometry" in names else [])])
    query.set_sort(None)
    page = serving.search(served.path, query, limit=REGIONS_MAX * 20, offset=0, total=served.row_count,
                          count=False, count_cap=1)
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for row in page.records:
        geometry = None
        if len(row) > 2 and row[2]:
            try:
                geometry = json.loads(row[2])
            except (TypeError, ValueError):
                geometry = None
        out[str(row[0])] = (str(row[1]), geometry if isinstance(geometry, dict) else None)
    return out


@dataclass
class Preview:
    fields: list[str]
    rows: list[dict[str, Any]]
    sort: str | None
    filters: dict[str, str]
    limit: int
    descending: bool = False


def _lake_number(uow: UnitOfWork, version: OpenVersion) -> int:
    return uow.get(LakeVersion, version.lake_version_id).number


def preview_rows(uow: UnitOfWork, view: DatasetView, *, filters: dict[str, str], sort: str | None,
                 descending: bool = False, limit: int = PREVIEW_ROWS, purpose: str = "开放数据预览") -> Preview:
    """The first rows matching equality filters, in ascending (or ``descending``) order of ``sort``; read
    through read_rows."""
    if view.version is None:
        return Preview([], [], None, {}, limit)
    known = [f["id"] for f in view.version.fields if not f["id"].startswith("_")]
    filters = {k: v for k, v in filters.items() if v != ""}
    for name in [*filters, *([sort] if sort else [])]:
        if name not in known:
            raise Invalid("Column %(column)s is not in the open version", column=name)
    conditions = [Condition(k, "=", _typed(view, k, v)) for k, v in filters.items()]
    result = read_rows(uow, PORTAL, view.dataset.open_key, purpose=purpose, fields=known, filters=conditions,
                       scope=ReadScope(grant_id=f"open:{view.dataset.uid}"), order_by=[sort] if sort else None,
                       descending=bool(sort) and descending, limit=max(1, min(limit, 1000)),
                       version=_lake_number(uow, view.version))
    return Preview(known, result.table.to_pylist(), sort, filters, limit, bool(sort) and descending)


def _typed(view: DatasetView, name: str, value: str) -> Any:
    """Filter values arrive as text; numeric columns compare as numbers."""
    if name in view.numeric:
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            raise Invalid("%(value)s is not a number (column %(column)s)", value=value, column=name) from None
    return value


@dataclass
class HomeCounts:
    datasets: int
    departments: int
    rows: int


def home_counts(uow: UnitOfWork) -> HomeCounts:
    published = select(OpenDataset.id).where(OpenDataset.status == OpenStatus.PUBLISHED)
    datasets = uow.session.scalar(select(func.count()).select_from(published.subquery())) or 0
    departments = uow.session.scalar(select(func.count(func.distinct(OpenDataset.department_id))).where(
        OpenDataset.status == OpenStatus.PUBLISHED)) or 0
    versions = open_service.current_open_versions(uow, list(uow.session.scalars(published)))
    return HomeCounts(datasets, departments, sum(v.row_count for v in versions.values()))


def recent_datasets(uow: UnitOfWork, limit: int = 6) -> list[OpenDataset]:
    return list(uow.session.scalars(select(OpenDataset).where(OpenDataset.status == OpenStatus.PUBLISHED)
                                    .order_by(OpenDataset.published_at.desc(), OpenDataset.id.desc()).limit(limit)))


def open_plan(uow: UnitOfWork) -> list[Any]:
    """Published catalog entries whose open class allows opening but that are not open yet (年度开放计划)."""
    return catalog_service.search_entries(
        uow, PORTAL, filters={"state": "published", "open_class": ["unconditional", "conditional"]}, sort="name",
        per_page=100, with_facets=False, excluding=published_entry_ids()).entries
