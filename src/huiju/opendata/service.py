"""Open-data use cases: propose, review, derive open versions through read_rows, re-derive, withdraw, overdue list.

Reading published open data is public (the portal and the CKAN API serve anonymous visitors), so the
read functions are ``@public``: they only ever return published datasets and their open versions.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from huiju.auth import service as auth_service
from huiju.auth.authz import public, require
from huiju.auth.roles import Actor
from huiju.catalog import service as catalog_service
from huiju.catalog import serving
from huiju.catalog.access import FieldMask, ReadScope, stream_rows
from huiju.catalog.events import VersionPublished
from huiju.errors import Conflict, Forbidden, Invalid, NotFound
from huiju.events import subscribe
from huiju.opendata import dcat as open_dcat
from huiju.opendata import policy as open_policy
from huiju.opendata.events import (
    OpenApproved,
    OpenProposed,
    OpenRejected,
    OpenVersionPublished,
    OpenWithdrawn,
    ServingIndexesRemoved,
)
from huiju.opendata.models import OpenClass, OpenDataset, OpenStatus, OpenVersion
from huiju.opendata.portal import service as portal_service
from huiju.opendata.permissions import OPEN_MANAGE, OPEN_PROPOSE, OPEN_REVIEW
from huiju.storage.lake import LakeVersion
from huiju.storage.uow import UnitOfWork

log = logging.getLogger("huiju.opendata")

OPENER = Actor.system("opendata")  # reads sources through read_rows under the open policy's ReadScope
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,99}$")


def _now() -> datetime:
    return datetime.now(UTC)


# ---- proposing and reviewing -----------------------------------------------------------------

def propose_open(uow: UnitOfWork, actor: Actor, *, entry_id: int, dataset_key: str | None = None,
                 policy: dict[str, Any] | None = None, name: str | None = None,
                 primary_key: str | None = None, index_columns: list[str] | None = None,
                 tags: list[str] | None = None, license_id: str = "cc-by") -> OpenDataset:
    """A steward proposes a published catalog entry whose open class allows it, with the column policy."""
    entry = catalog_service.get_entry(uow, actor, entry_id)
    require(actor, OPEN_PROPOSE, department_id=entry.department_id)
    if entry.state != "published":
        raise Conflict("Only a published catalog entry can be opened")
    if entry.open_class not in (OpenClass.UNCONDITIONAL, OpenClass.CONDITIONAL):
        raise Forbidden("The open class of this catalog entry does not allow opening")
    if uow.session.scalar(select(OpenDataset.id).where(OpenDataset.entry_id == entry.id)) is not None:
        raise Conflict("This catalog entry has already been proposed for opening")
    mounted = [ds for ds, _versions in catalog_service.mounted_datasets(uow, actor, entry.id)]
    if dataset_key is not None:
        mounted = [ds for ds in mounted if ds.key == dataset_key]
    if len(mounted) != 1:
        raise Invalid("Name the mounted dataset to open (the entry has %(n)s that match)", n=len(mounted))
    ds = mounted[0]
    version = catalog_service.current_version(uow, actor, ds.key)
    if version is None:
        raise Conflict("The dataset has no published version yet")
    open_policy.check_openable(entry.data_level, ds.labels or {})
    columns = [f["name"] for f in version.schema if not f["name"].startswith("__")]
    resolved = open_policy.resolve_policy(columns, ds.labels or {}, policy)
    kept = open_policy.kept(resolved)
    for col in [*(index_columns or []), *([primary_key] if primary_key else [])]:
        if col not in kept:
            raise Invalid("Column %(column)s is not in the open version", column=col)
    name = name or ds.key.replace("_", "-")
    if not _NAME.match(name):
        raise Invalid("The open dataset name must be 2-100 lowercase letters, digits, - or _")
    if uow.session.scalar(select(OpenDataset.id).where(OpenDataset.name == name)) is not None:
        raise Conflict("An open dataset named %(name)s already exists", name=name)
    themes = [t for t in (entry.theme, entry.item if entry.classification == "base" else None) if t]
    od = OpenDataset(uid=str(uuid.uuid4()), name=name, title=entry.name, notes=entry.abstract or "",
                     entry_id=entry.id, dataset_id=ds.id, open_key=f"open_{ds.key}"[:64],
                     department_id=entry.department_id, open_class=entry.open_class, status=OpenStatus.PROPOSED,
                     policy=resolved, primary_key=primary_key, index_columns=list(index_columns or []),
                     tags=list(tags or []), themes=themes, license_id=license_id,
                     update_frequency=entry.update_cycle or "", proposed_by=actor.user_id, proposed_at=_now(),
                     metadata_created=_now(), metadata_modified=_now())
    uow.add(od)
    uow.session.flush()
    uow.emit(actor, OpenProposed(open_dataset_id=od.id, entry_id=entry.id, dataset_id=ds.id, policy=resolved))
    uow.commit()
    return od


def get_open_dataset(uow: UnitOfWork, actor: Actor, open_id: int) -> OpenDataset:
    od = uow.get(OpenDataset, open_id)
    require(actor, OPEN_MANAGE, department_id=od.department_id)
    return od


def review_queue(uow: UnitOfWork, actor: Actor) -> list[OpenDataset]:
    require(actor, OPEN_REVIEW)
    return list(uow.session.scalars(select(OpenDataset).where(OpenDataset.status == OpenStatus.PROPOSED)
                                    .order_by(OpenDataset.proposed_at)))


def approve_open(uow: UnitOfWork, actor: Actor, open_id: int, *, comment: str = "") -> OpenDataset:
    """The operator approves: the first open version is derived and the dataset goes public."""
    require(actor, OPEN_REVIEW)
    od = uow.get(OpenDataset, open_id)
    if od.status != OpenStatus.PROPOSED:
        raise Conflict("Only a proposed open dataset can be reviewed")
    od.reviewed_by, od.reviewed_at, od.review_comment = actor.user_id, _now(), comment
    uow.emit(actor, OpenApproved(open_dataset_id=od.id, comment=comment))
    uow.commit()
    derive_open_version(uow, actor, od.id)
    return od


def reject_open(uow: UnitOfWork, actor: Actor, open_id: int, *, reason: str) -> OpenDataset:
    require(actor, OPEN_REVIEW)
    od = uow.get(OpenDataset, open_id)
    if od.status != OpenStatus.PROPOSED:
        raise Conflict("Only a proposed open dataset can be reviewed")
    if not reason.strip():
        raise Invalid("Give the reason for rejecting")
    od.status, od.reviewed_by, od.reviewed_at, od.review_comment = OpenStatus.REJECTED, actor.user_id, _now(), reason
    uow.emit(actor, OpenRejected(open_dataset_id=od.id, reason=reason))
    uow.commit()
    return od


def withdraw_open(uow: UnitOfWork, actor: Actor, open_id: int, *, reason: str) -> OpenDataset:
    od = uow.get(OpenDataset, open_id)
    require(actor, OPEN_MANAGE, department_id=od.department_id)
    if not reason.strip():
        raise Invalid("Give the reason for withdrawing")
    od.status, od.metadata_modified = OpenStatus.WITHDRAWN, _now()
    uow.emit(actor, OpenWithdrawn(open_dataset_id=od.id, reason=reason))
    uow.commit()
    forget_cached_resources()
    return od


# ---- deriving open versions ------------------------------------------------------------------

def _ensure_open_dataset_key(uow: UnitOfWork, od: OpenDataset) -> None:
    """The derived dataset that holds the open versions in the lake (registered once, no labels: rows are open)."""
    try:
        catalog_service.dataset_by_key(uow, OPENER, od.open_key)
    except NotFound:
        dept = next(d for d in auth_service.list_departments(uow, OPENER) if d.id == od.department_id)
        catalog_service.register_dataset(uow, OPENER, key=od.open_key, name=f"{od.title}（开放）",
                                         department_code=dept.code)


def derive_open_version(uow: UnitOfWork, actor: Actor, open_id: int) -> OpenVersion:
    """Derive the open version from the source's current version through read_rows, and its serving index.

    Enforced again here (labels may have changed since the proposal): 核心/重要 data is refused.
    """
    od = uow.get(OpenDataset, open_id)
    require(actor, OPEN_MANAGE, department_id=od.department_id)
    if od.status not in (OpenStatus.PROPOSED, OpenStatus.PUBLISHED) or od.reviewed_at is None:
        raise Conflict("Only an approved open dataset can get an open version")
    source = catalog_service.dataset_by_key(uow, OPENER, _source_key(uow, od))
    entry = catalog_service.get_entry(uow, OPENER, od.entry_id)
    open_policy.check_openable(entry.data_level, source.labels or {})
    source_version = catalog_service.current_version(uow, OPENER, source.key)
    if source_version is None:
        raise Conflict("The dataset has no published version yet")
    columns = [f["name"] for f in source_version.schema if not f["name"].startswith("__")]
    policy = open_policy.resolve_policy(columns, source.labels or {}, od.policy)
    kept, masks = open_policy.kept(policy), open_policy.masks(policy)
    _ensure_open_dataset_key(uow, od)

    uid = str(uuid.uuid4())
    relpath, index_file = serving.index_path(uow.lake, od.open_key, uid)
    scope = ReadScope(fields=frozenset(kept), masks={c: FieldMask(m) for c, m in masks.items()},
                      grant_id=f"open:{od.uid}")
    number = (uow.session.scalar(select(func.max(OpenVersion.number))
                                 .where(OpenVersion.open_dataset_id == od.id)) or 0) + 1
    staged = uow.stage_version(od.open_key)
    catalog_service.mount_on_publish(uow, OPENER, od.open_key, staged, kind="derived", job_id=None,
                                     inputs=[{"dataset": source.key, "version": source_version.number}],
                                     rule_set_sm3=None)
    builder: list[serving.IndexBuilder] = []
    made: list[OpenVersion] = []

    def record(version: LakeVersion) -> None:
        """Inside the commit that publishes the open version: finish its serving index and record both."""
        if not builder:
            raise Conflict("The dataset's current version has no rows to open")
        builder[0].finish()
        ov = OpenVersion(uid=uid, open_dataset_id=od.id, number=number, source_version_id=source_version.id,
                         lake_version_id=version.id, row_count=version.row_count, fields=builder[0].fields,
                         serving_path=relpath, created_at=_now())
        uow.add(ov)
        uow.session.flush()
        made.append(ov)
        uow.emit(actor, OpenVersionPublished(open_dataset_id=od.id, open_version_id=ov.id, number=number,
                                             source_version_id=source_version.id, rows=version.row_count,
                                             dropped=open_policy.dropped(policy), masked=masks))

    staged.on_publish.append(record)
    od.status, od.policy = OpenStatus.PUBLISHED, policy
    od.published_at = od.published_at or _now()
    od.metadata_modified = _now()
    # The stream records its DataRead audit event and commits this unit of work when the last batch is read:
    # the open version, its lineage, its serving index and the read are published together.
    with stream_rows(uow, OPENER, source.key, purpose=f"开放数据 {od.name}", fields=kept, scope=scope,
                     version=source_version.number) as rows:
        try:
            for batch in rows:
                if not builder:
                    builder.append(serving.IndexBuilder(index_file, batch.schema, od.index_columns,
                                                        od.primary_key))
                staged.write(batch)
                builder[0].add(batch)
        except BaseException:
            uow.rollback()  # nothing of the version is published; the partial read is still audited
            if builder:
                builder[0].abort()
            raise
    forget_cached_resources()
    try:
        prune_serving_indexes(uow, OPENER, open_id=od.id)
    except Exception:  # the new version is published either way; the periodic job tries the pruning again
        log.exception("removing old serving indexes of open dataset %s failed", od.id)
    return made[0]


def prune_serving_indexes(uow: UnitOfWork, actor: Actor, now: datetime | None = None, *,
                          open_id: int | None = None) -> list[str]:
    """Remove the serving index files of old open versions: all but the newest ``opendata_serving_keep`` versions
    of each open dataset, each only once a newer version has served for ``opendata_serving_grace_seconds``.

    A removed version stops being a CKAN resource (``Not found``); its rows stay in the lake (downloads,
    lineage). A request that already opened the file keeps reading it (an unlinked file lives on while open).
    Called after each new open version and by the worker's periodic chores; returns the removed paths.
    """
    require(actor, OPEN_REVIEW)
    settings = uow.settings
    cutoff = (now or _now()) - timedelta(seconds=settings.opendata_serving_grace_seconds)
    query = select(OpenVersion).order_by(OpenVersion.open_dataset_id, OpenVersion.number.desc())
    if open_id is not None:
        query = query.where(OpenVersion.open_dataset_id == open_id)
    by_dataset: dict[int, list[OpenVersion]] = {}
    for ov in uow.session.scalars(query):
        by_dataset.setdefault(ov.open_dataset_id, []).append(ov)
    removed: list[str] = []
    for dataset_id, versions in by_dataset.items():  # newest first
        gone: list[OpenVersion] = []
        for i, ov in enumerate(versions):
            replaced_at = versions[i - 1].created_at if i else None
            if i < settings.opendata_serving_keep or ov.serving_path is None or replaced_at is None \
                    or replaced_at > cutoff:
                continue
            serving.remove_index(uow.lake, ov.serving_path)
            gone.append(ov)
        if gone:
            uow.emit(actor, ServingIndexesRemoved(open_dataset_id=dataset_id, open_version_ids=[v.id for v in gone],
                                                  paths=[v.serving_path for v in gone]))
            removed += [v.serving_path for v in gone if v.serving_path]
            for ov in gone:
                ov.serving_path = None
    if removed:
        uow.commit()
        forget_cached_resources()
    return removed


def _source_key(uow: UnitOfWork, od: OpenDataset) -> str:
    for ds, _versions in catalog_service.mounted_datasets(uow, OPENER, od.entry_id):
        if ds.id == od.dataset_id:
            return ds.key
    raise Conflict("The dataset is no longer mounted on the catalog entry")


def stale_open_datasets(uow: UnitOfWork, actor: Actor, *, dataset_id: int | None = None) -> list[OpenDataset]:
    """Published open datasets whose source has a newer current version than their latest open version."""
    require(actor, OPEN_REVIEW)
    query = select(OpenDataset).where(OpenDataset.status == OpenStatus.PUBLISHED)
    if dataset_id is not None:
        query = query.where(OpenDataset.dataset_id == dataset_id)
    out = []
    for od in uow.session.scalars(query):
        latest = uow.session.scalar(select(OpenVersion).where(OpenVersion.open_dataset_id == od.id)
                                    .order_by(OpenVersion.number.desc()).limit(1))
        source = catalog_service.dataset_by_key(uow, OPENER, _source_key(uow, od))
        if latest is None or latest.source_version_id != source.current_version_id:
            out.append(od)
    return out


def refresh_open_versions(uow: UnitOfWork, actor: Actor, *, dataset_id: int | None = None) -> list[OpenVersion]:
    """Re-derive every stale open dataset (called after a source version is published, and by the CLI)."""
    require(actor, OPEN_REVIEW)
    made = []
    for od in stale_open_datasets(uow, actor, dataset_id=dataset_id):
        made.append(derive_open_version(uow, actor, od.id))
    return made


@subscribe
def _rederive_after_commit(uow: Any, events: list[Any]) -> None:
    """A new source version re-derives its open versions once the publishing transaction has committed."""
    sources = {p.event.dataset_id for p in events
               if isinstance(p.event, VersionPublished) and p.event.kind != "derived"}
    if not sources:
        return
    opened = set(uow.session.scalars(select(OpenDataset.dataset_id).where(
        OpenDataset.dataset_id.in_(sources), OpenDataset.status == OpenStatus.PUBLISHED)))
    if not opened:
        return
    storage = uow.storage

    def run(_session: Any) -> None:
        for dataset_id in sorted(opened):
            try:
                with storage.uow() as fresh:
                    refresh_open_versions(fresh, OPENER, dataset_id=dataset_id)
            except Exception:  # the source version stays published; the old open version keeps serving
                log.exception("re-deriving the open version of dataset %s failed", dataset_id)

    sa_event.listen(uow.session, "after_commit", run, once=True)


# ---- openable entries not yet opened -----------------------------------------------------------

@dataclass
class Overdue:
    entry_id: int
    code: str
    name: str
    department_id: int
    open_class: str
    created_at: datetime
    days_waiting: int


def overdue_openable(uow: UnitOfWork, actor: Actor) -> list[Overdue]:
    """Published entries marked openable but not opened within the configured months of their creation."""
    require(actor, OPEN_REVIEW)
    months = uow.settings.opendata_open_within_months
    cutoff = _now() - timedelta(days=round(months * 30.44))
    opened = set(uow.session.scalars(select(OpenDataset.entry_id).where(OpenDataset.status == OpenStatus.PUBLISHED)))
    now = _now()
    out = []
    for entry in _published_entries(uow, actor):
        if entry.open_class in (OpenClass.UNCONDITIONAL, OpenClass.CONDITIONAL) and entry.id not in opened \
                and entry.created_at <= cutoff:
            out.append(Overdue(entry.id, entry.code, entry.name, entry.department_id, entry.open_class,
                               entry.created_at, (now - entry.created_at).days))
    return sorted(out, key=lambda o: o.created_at)


def _published_entries(uow: UnitOfWork, actor: Actor) -> list[Any]:
    entries: list[Any] = []
    while page := catalog_service.list_entries(uow, actor, state="published", limit=1000, offset=len(entries)):
        entries.extend(page)
    return entries


def overdue_openable_csv(uow: UnitOfWork, actor: Actor) -> str:
    """The overdue list as CSV with a UTF-8 BOM (Excel opens the Chinese names correctly)."""
    rows = overdue_openable(uow, actor)
    depts = {d.id: d.name for d in auth_service.list_departments(uow, OPENER)}
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["资源代码", "资源名称", "提供部门", "开放类型", "创建时间", "等待天数"])
    for o in rows:
        writer.writerow([o.code, o.name, depts.get(o.department_id, ""), o.open_class,
                         o.created_at.strftime("%Y-%m-%d"), o.days_waiting])
    return "\ufeff" + buf.getvalue()


# ---- public reading -----------------------------------------------------------------------------

@public
def published_datasets(uow: UnitOfWork) -> list[OpenDataset]:
    """Every published open dataset (the CKAN packages); open data is public by definition."""
    return list(uow.session.scalars(select(OpenDataset).where(OpenDataset.status == OpenStatus.PUBLISHED)
                                    .order_by(OpenDataset.name)))


@public
def published_dataset(uow: UnitOfWork, ident: str) -> OpenDataset:
    """A published open dataset by name or id."""
    od = uow.session.scalar(select(OpenDataset).where(
        OpenDataset.status == OpenStatus.PUBLISHED, (OpenDataset.name == ident) | (OpenDataset.uid == ident)))
    if od is None:
        raise NotFound("Open dataset %(id)s not found", id=ident)
    return od


@public
def current_open_versions(uow: UnitOfWork, open_ids: list[int]) -> dict[int, OpenVersion]:
    """The latest open version of each given open dataset."""
    if not open_ids:
        return {}
    latest = (select(OpenVersion.open_dataset_id, func.max(OpenVersion.number).label("n"))
              .where(OpenVersion.open_dataset_id.in_(open_ids)).group_by(OpenVersion.open_dataset_id).subquery())
    rows = uow.session.scalars(select(OpenVersion).join(
        latest, (OpenVersion.open_dataset_id == latest.c.open_dataset_id) & (OpenVersion.number == latest.c.n)))
    return {v.open_dataset_id: v for v in rows}


@public
def open_catalog_rdf(uow: UnitOfWork, *, base_url: str, fmt: str) -> str:
    """DCAT-AP (Turtle or JSON-LD) of every published open dataset, for harvesters."""
    datasets = published_datasets(uow)
    versions = current_open_versions(uow, [od.id for od in datasets])
    entries = [catalog_service.get_entry(uow, OPENER, od.entry_id) for od in datasets]
    return open_dcat.open_catalog(entries, [(od, versions.get(od.id)) for od in datasets], base_url, fmt)


@public
def published_version(uow: UnitOfWork, resource_id: str) -> tuple[OpenDataset, OpenVersion]:
    """An open version (CKAN resource) of a published open dataset, by its id."""
    row = uow.session.execute(select(OpenDataset, OpenVersion).join(
        OpenVersion, OpenVersion.open_dataset_id == OpenDataset.id).where(
        OpenVersion.uid == resource_id, OpenDataset.status == OpenStatus.PUBLISHED)).first()
    if row is None:
        raise NotFound("Resource %(id)s not found", id=resource_id)
    return row[0], row[1]


@public
def public_departments(uow: UnitOfWork) -> list[Any]:
    """Departments are public information (CKAN organizations)."""
    return auth_service.list_departments(uow, OPENER)


@dataclass(frozen=True)
class ServedResource:
    """What serving an open version needs, cached per process for a few seconds."""

    uid: str
    open_dataset_id: int
    package_uid: str
    path: Path
    fields: list[dict[str, str]]
    row_count: int
    open_key: str
    number: int
    open_class: str
    entry_id: int


_CACHE_SECONDS = 5.0
_cache: dict[str, tuple[float, ServedResource]] = {}
_cache_lock = threading.Lock()


def forget_cached_resources() -> None:
    with _cache_lock:
        _cache.clear()


@public
def served_resource(uow: UnitOfWork, resource_id: str, *, actor: Actor | None = None) -> ServedResource:
    """The open version behind a CKAN resource id, only while its dataset is published.

    有条件开放 rows are not public: their metadata is listed, their rows are served only to an ``actor`` (a
    logged-in user or the holder of one of that user's API keys) whose data use agreement for the dataset is
    active (approved, accepted, not expired, not revoked: ``portal.service.active_grant``).
    """
    now = time.monotonic()
    hit = _cache.get(resource_id)
    if hit is not None and hit[0] > now:
        served = hit[1]
    else:
        row = uow.session.execute(select(OpenVersion, OpenDataset).join(
            OpenDataset, OpenDataset.id == OpenVersion.open_dataset_id).where(
            OpenVersion.uid == resource_id, OpenDataset.status == OpenStatus.PUBLISHED)).first()
        if row is None:
            raise NotFound("Resource %(id)s not found", id=resource_id)
        ov, od = row
        if ov.serving_path is None:
            raise NotFound("Resource %(id)s not found", id=resource_id)
        path = serving.served_file(uow.lake, ov.serving_path)
        served = ServedResource(ov.uid, od.id, od.uid, path, list(ov.fields), ov.row_count, od.open_key, ov.number,
                                od.open_class, od.entry_id)
        with _cache_lock:
            _cache[resource_id] = (now + _CACHE_SECONDS, served)
    if served.open_class != OpenClass.UNCONDITIONAL:
        if actor is None or not actor.is_authenticated:
            raise Forbidden("Conditionally open data is read with the key of an approved application; apply on "
                            "the portal")
        portal_service.active_grant(uow, actor, served.entry_id)
    return served


@public
def open_rows(uow: UnitOfWork, resource: ServedResource, *, purpose: str, batch_size: int = 65536):
    """Stream an open version's rows through the egress (downloads, datastore_search_sql): audited once per read."""
    od = uow.get(OpenDataset, resource.open_dataset_id)
    if od.status != OpenStatus.PUBLISHED:
        raise NotFound("Resource %(id)s not found", id=resource.uid)
    return stream_rows(uow, OPENER, resource.open_key, purpose=purpose, scope=ReadScope(grant_id=f"open:{od.uid}"),
                       version=_lake_number(uow, resource), batch_size=batch_size)


def _lake_number(uow: UnitOfWork, resource: ServedResource) -> int:
    _od, ov = published_version(uow, resource.uid)
    return uow.get(LakeVersion, ov.lake_version_id).number
