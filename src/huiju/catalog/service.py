"""Catalog use cases: datasets, their schemas, versions and lineage; catalog entries, review, mounting, search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed, require, visible
from huiju.auth.roles import Actor
from huiju.catalog import encryption as _encryption  # noqa: F401  (registers the stage hook)
from huiju.catalog import codes, lifecycle, metadata, search, vocab
from huiju.catalog.events import (
    DatasetMounted,
    DatasetRegistered,
    DatasetUnmounted,
    EntryPublished,
    EntryRegistered,
    EntryRejected,
    EntrySubmitted,
    EntryUpdated,
    EntryWithdrawn,
    SchemaSaved,
    VersionPublished,
    VersionRolledBack,
)
from huiju.catalog.models import CatalogChange, CatalogEntry, CatalogItem, CatalogMount, Dataset, Lineage
from huiju.catalog.permissions import (
    DATASET_MANAGE,
    DATASET_VIEW,
    ENTRY_BROWSE,
    ENTRY_MANAGE,
    ENTRY_REVIEW,
    ENTRY_VIEW,
)
from huiju.errors import Conflict, Invalid, NotFound
from huiju.i18n import N_
from huiju.storage.lake import LakeVersion, StagedVersion
from huiju.storage.uow import UnitOfWork

_KEY = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


def register_dataset(uow: UnitOfWork, actor: Actor, *, key: str, name: str, department_code: str) -> Dataset:
    """Register a dataset for a department; its data arrives later through ingest."""
    dept = auth_service.department_by_code(uow, department_code)
    require(actor, DATASET_MANAGE, department_id=dept.id)
    if not _KEY.match(key):
        raise Invalid("Dataset key must be 2-64 lowercase letters, digits or _, starting with a letter")
    if not name.strip():
        raise Invalid("Dataset name is required")
    if uow.session.scalar(select(Dataset.id).where(Dataset.key == key)) is not None:
        raise Conflict("Dataset %(key)s already exists", key=key)
    ds = Dataset(key=key, name=name.strip(), department_id=dept.id, rules=[], labels={})
    uow.add(ds)
    uow.session.flush()
    uow.emit(actor, DatasetRegistered(dataset_id=ds.id, key=key, department_id=dept.id))
    uow.commit()
    return ds


def dataset_by_key(uow: UnitOfWork, actor: Actor, key: str) -> Dataset:
    ds = uow.session.scalar(select(Dataset).where(Dataset.key == key))
    if ds is None:
        raise NotFound("Dataset %(key)s not found", key=key)
    require(actor, DATASET_VIEW, department_id=ds.department_id)
    return ds


def list_datasets(uow: UnitOfWork, actor: Actor) -> list[Dataset]:
    require(actor, DATASET_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(Dataset).where(visible(actor, DATASET_VIEW, Dataset)).order_by(Dataset.key)
    return list(uow.session.scalars(query))


def save_schema(uow: UnitOfWork, actor: Actor, key: str, *, table_schema: dict[str, Any],
                rules: list[dict[str, Any]], confirmed: bool, commit: bool = True) -> Dataset:
    """Store a Table Schema and rule set; ``confirmed`` is the steward's word that the schema is right."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    ds.table_schema = table_schema
    ds.rules = rules
    ds.schema_confirmed = confirmed
    uow.emit(actor, SchemaSaved(dataset_id=ds.id, confirmed=confirmed, fields=len(table_schema.get("fields", [])),
                                rules=len(rules)))
    if commit:
        uow.commit()
    return ds


def save_labels(uow: UnitOfWork, actor: Actor, key: str, labels: dict[str, Any]) -> Dataset:
    """Proposed or confirmed classification labels per column; committed with the caller's work."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    ds.labels = {**(ds.labels or {}), **labels}
    return ds


def mount_on_publish(uow: UnitOfWork, actor: Actor, key: str, staged: StagedVersion, *, kind: str,
                     job_id: int | None, inputs: list[dict[str, Any]], rule_set_sm3: str | None) -> None:
    """Make a staged version the dataset's current one, with its lineage, in the transaction that publishes it."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)

    def mount(version: LakeVersion) -> None:
        ds.current_version_id = version.id
        uow.add(Lineage(dataset_id=ds.id, version_id=version.id, kind=kind, job_id=job_id, inputs=inputs,
                        rule_set_sm3=rule_set_sm3))
        uow.emit(actor, VersionPublished(dataset_id=ds.id, version_id=version.id, number=version.number,
                                         rows=version.row_count, kind=kind))

    staged.on_publish.append(mount)


def list_versions(uow: UnitOfWork, actor: Actor, key: str) -> list[LakeVersion]:
    ds = dataset_by_key(uow, actor, key)
    return list(uow.session.scalars(select(LakeVersion).where(LakeVersion.dataset_key == ds.key)
                                    .order_by(LakeVersion.number)))


def current_version(uow: UnitOfWork, actor: Actor, key: str) -> LakeVersion | None:
    ds = dataset_by_key(uow, actor, key)
    return uow.session.get(LakeVersion, ds.current_version_id) if ds.current_version_id else None


def rollback_version(uow: UnitOfWork, actor: Actor, key: str, number: int) -> LakeVersion:
    """Serve an earlier version again; versions never change, only which one is current."""
    ds = dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    version = uow.session.scalar(select(LakeVersion).where(LakeVersion.dataset_key == ds.key,
                                                           LakeVersion.number == number))
    if version is None:
        raise NotFound("Version %(n)s of %(key)s not found", n=number, key=key)
    ds.current_version_id = version.id
    uow.emit(actor, VersionRolledBack(dataset_id=ds.id, version_id=version.id, number=number))
    uow.commit()
    return version


def lineage_of(uow: UnitOfWork, actor: Actor, key: str) -> list[Lineage]:
    ds = dataset_by_key(uow, actor, key)
    return list(uow.session.scalars(select(Lineage).where(Lineage.dataset_id == ds.id).order_by(Lineage.id)))


# ---- catalog entries (目录项) ---------------------------------------------------------------

ENTRY_FIELDS = ("name", "classification", "item", "directory", "theme", "abstract", "format_kind", "format_type",
                "share_type", "share_condition", "share_basis", "share_mode_kind", "share_mode_type", "open_class",
                "open_condition", "update_cycle", "related_codes", "data_level", "publish_date")
ITEM_FIELDS = ("name", "type_code", "length", "sensitivity", "share_type", "is_key", "column")


def entry_visibility(actor: Actor) -> ColumnElement[bool]:
    """Published entries for every logged-in user; every state for the entry's department and operators."""
    return or_(and_(CatalogEntry.state == lifecycle.PUBLISHED, visible(actor, ENTRY_BROWSE, CatalogEntry)),
               visible(actor, ENTRY_VIEW, CatalogEntry))


def _snapshot(entry: CatalogEntry) -> dict[str, Any]:
    out = {f: getattr(entry, f) for f in ENTRY_FIELDS}
    out["publish_date"] = entry.publish_date.isoformat() if entry.publish_date else None
    out["items"] = [{f: getattr(i, f) for f in ITEM_FIELDS} for i in entry.items]
    return out


def _diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: [before.get(k), after[k]] for k in after if before.get(k) != after[k]}


def _record(uow: UnitOfWork, actor: Actor, entry: CatalogEntry, action: str, *, changes: dict[str, Any] | None = None,
            comment: str | None = None) -> None:
    uow.add(CatalogChange(entry_id=entry.id, action=action, state=entry.state, actor_id=actor.user_id,
                          actor_name=actor.display_name or actor.username, changes=changes or {}, comment=comment))


def _apply(entry: CatalogEntry, cleaned: dict[str, Any]) -> None:
    for f in ENTRY_FIELDS:
        setattr(entry, f, cleaned[f])
    entry.items = [CatalogItem(**{k: item[k] for k in ("position", *ITEM_FIELDS)}) for item in cleaned["items"]]
    entry.search_text = search.entry_text(entry)
    entry.updated_at = datetime.now(UTC)


def _assign_code(uow: UnitOfWork, entry: CatalogEntry, department_code: str, region_code: str) -> None:
    """Give the entry the next code under its classification prefix, per the configured profile."""
    profile = codes.profile(uow.settings.catalog_code_profile)
    prefix = profile.prefix(codes.CodeParts(classification=entry.classification, item=entry.item,
                                            directory=entry.directory, department_code=department_code,
                                            region_code=region_code))
    if entry.code and profile.sequence_of(prefix, entry.code) is not None:
        return
    existing = uow.session.scalars(select(CatalogEntry.code).where(CatalogEntry.code.startswith(prefix,
                                                                                               autoescape=True)))
    numbers = [n for n in (profile.sequence_of(prefix, c) for c in existing) if n is not None]
    entry.code = profile.code(prefix, max(numbers, default=0) + 1)


def register_entry(uow: UnitOfWork, actor: Actor, *, department_code: str, fields: dict[str, Any],
                   commit: bool = True) -> CatalogEntry:
    """Register a draft entry for a department; the code is generated from its classification."""
    dept = auth_service.department_by_code(uow, department_code)
    require(actor, ENTRY_MANAGE, department_id=dept.id)
    cleaned = metadata.clean_entry(fields)
    _check_name_free(uow, dept.id, cleaned["name"], None)
    entry = CatalogEntry(department_id=dept.id, provider_name=dept.name, provider_code=dept.code,
                         state=lifecycle.DRAFT, created_by=actor.user_id, usage_count=0, code="")
    _apply(entry, cleaned)
    _assign_code(uow, entry, dept.code, dept.region_code)
    uow.add(entry)
    uow.session.flush()
    _record(uow, actor, entry, "registered", changes=_diff({}, _snapshot(entry)))
    uow.emit(actor, EntryRegistered(entry_id=entry.id, code=entry.code, department_id=dept.id))
    if commit:
        uow.commit()
    return entry


def _check_name_free(uow: UnitOfWork, department_id: int, name: str, entry_id: int | None) -> None:
    """One department does not register two entries whose names differ only by punctuation or spaces."""
    def norm(n: str) -> str:
        return re.sub(r"[\W_]+", "", n).lower()

    rows = uow.session.execute(select(CatalogEntry.id, CatalogEntry.name)
                               .where(CatalogEntry.department_id == department_id)).all()
    for other_id, other_name in rows:
        if other_id != entry_id and norm(other_name) == norm(name):
            raise Conflict("The department already has an entry named %(name)s", name=other_name)


def get_entry(uow: UnitOfWork, actor: Actor, entry_id: int) -> CatalogEntry:
    """An entry the actor may see; drafts of other departments are reported as not found."""
    entry = uow.session.get(CatalogEntry, entry_id)
    if entry is None or not _may_see(actor, entry):
        if entry is not None and not actor.is_authenticated:
            require(actor, ENTRY_BROWSE)
        raise NotFound("Catalog entry %(id)s not found", id=entry_id)
    require(actor, ENTRY_BROWSE if entry.state == lifecycle.PUBLISHED else ENTRY_VIEW,
            department_id=entry.department_id)
    return entry


def entry_by_code(uow: UnitOfWork, actor: Actor, code: str) -> CatalogEntry:
    entry_id = uow.session.scalar(select(CatalogEntry.id).where(CatalogEntry.code == code))
    if entry_id is None:
        require(actor, ENTRY_BROWSE)
        raise NotFound("Catalog entry %(id)s not found", id=code)
    return get_entry(uow, actor, entry_id)


def _may_see(actor: Actor, entry: CatalogEntry) -> bool:
    if entry.state == lifecycle.PUBLISHED and allowed(actor, ENTRY_BROWSE):
        return True
    return allowed(actor, ENTRY_VIEW, department_id=entry.department_id)


def update_entry(uow: UnitOfWork, actor: Actor, entry_id: int, fields: dict[str, Any]) -> CatalogEntry:
    """Change a draft or withdrawn entry; the history keeps every field's old and new value."""
    entry = get_entry(uow, actor, entry_id)
    require(actor, ENTRY_MANAGE, department_id=entry.department_id)
    lifecycle.check_editable(entry.state)
    cleaned = metadata.clean_entry(fields)
    _check_name_free(uow, entry.department_id, cleaned["name"], entry.id)
    before = _snapshot(entry)
    _apply(entry, cleaned)
    if entry.published_at is None:  # a code is only stable once published; until then it follows the class
        _assign_code(uow, entry, entry.provider_code, auth_service.department_by_code(uow, entry.provider_code)
                     .region_code)
    changes = _diff(before, _snapshot(entry))
    if not changes:
        return entry
    _record(uow, actor, entry, "updated", changes=changes)
    uow.emit(actor, EntryUpdated(entry_id=entry.id, code=entry.code, fields=sorted(changes)))
    uow.commit()
    return entry


def submit_entry(uow: UnitOfWork, actor: Actor, entry_id: int, *, comment: str = "") -> CatalogEntry:
    """Send a draft (or a withdrawn entry) to the platform operator for review."""
    entry = get_entry(uow, actor, entry_id)
    require(actor, ENTRY_MANAGE, department_id=entry.department_id)
    entry.state = lifecycle.next_state(entry.state, "submit")
    entry.updated_at = datetime.now(UTC)
    _record(uow, actor, entry, "submitted", comment=comment.strip() or None)
    uow.emit(actor, EntrySubmitted(entry_id=entry.id, code=entry.code))
    uow.commit()
    return entry


def approve_entry(uow: UnitOfWork, actor: Actor, entry_id: int, *, comment: str = "") -> CatalogEntry:
    """The operator's approval publishes the entry; the publish date is set if the steward left it empty."""
    require(actor, ENTRY_REVIEW)
    entry = get_entry(uow, actor, entry_id)
    entry.state = lifecycle.next_state(entry.state, "approve")
    now = datetime.now(UTC)
    entry.published_at = now
    entry.publish_date = entry.publish_date or now.date()
    entry.review_comment = comment.strip() or None
    entry.updated_at = now
    _record(uow, actor, entry, "published", comment=entry.review_comment)
    uow.emit(actor, EntryPublished(entry_id=entry.id, code=entry.code))
    uow.commit()
    return entry


def reject_entry(uow: UnitOfWork, actor: Actor, entry_id: int, *, reason: str) -> CatalogEntry:
    """Send the entry back to draft with the reason the steward must address."""
    require(actor, ENTRY_REVIEW)
    entry = get_entry(uow, actor, entry_id)
    if not reason.strip():
        raise Invalid("Give the reason for rejecting the entry")
    entry.state = lifecycle.next_state(entry.state, "reject")
    entry.review_comment = reason.strip()
    entry.updated_at = datetime.now(UTC)
    _record(uow, actor, entry, "rejected", comment=entry.review_comment)
    uow.emit(actor, EntryRejected(entry_id=entry.id, code=entry.code, reason=entry.review_comment))
    uow.commit()
    return entry


def withdraw_entry(uow: UnitOfWork, actor: Actor, entry_id: int, *, reason: str) -> CatalogEntry:
    """Take a published entry out of the catalog (it can be edited and submitted again)."""
    entry = get_entry(uow, actor, entry_id)
    require(actor, ENTRY_MANAGE, department_id=entry.department_id)
    if not reason.strip():
        raise Invalid("Give the reason for withdrawing the entry")
    entry.state = lifecycle.next_state(entry.state, "withdraw")
    entry.updated_at = datetime.now(UTC)
    _record(uow, actor, entry, "withdrawn", comment=reason.strip())
    uow.emit(actor, EntryWithdrawn(entry_id=entry.id, code=entry.code, reason=reason.strip()))
    uow.commit()
    return entry


def mount_dataset(uow: UnitOfWork, actor: Actor, entry_id: int, dataset_id: int, *, commit: bool = True) -> CatalogMount:
    """挂接: attach one of the department's datasets (by id) so its versions serve the entry."""
    entry = get_entry(uow, actor, entry_id)
    require(actor, ENTRY_MANAGE, department_id=entry.department_id)
    ds = uow.session.get(Dataset, dataset_id)
    if ds is None:
        raise NotFound("Dataset %(key)s not found", key=dataset_id)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    if ds.department_id != entry.department_id:
        raise Invalid("Only a dataset of the entry's own department can be mounted on it")
    if uow.session.scalar(select(CatalogMount.id).where(CatalogMount.entry_id == entry.id,
                                                        CatalogMount.dataset_id == ds.id)) is not None:
        raise Conflict("Dataset %(key)s is already mounted on this entry", key=ds.key)
    mount = CatalogMount(entry_id=entry.id, dataset_id=ds.id, mounted_by=actor.user_id)
    uow.add(mount)
    uow.session.flush()
    _record(uow, actor, entry, "mounted", changes={"dataset": [None, ds.key]})
    uow.emit(actor, DatasetMounted(entry_id=entry.id, dataset_id=ds.id))
    if commit:
        uow.commit()
    return mount


def unmount_dataset(uow: UnitOfWork, actor: Actor, entry_id: int, dataset_id: int) -> None:
    entry = get_entry(uow, actor, entry_id)
    require(actor, ENTRY_MANAGE, department_id=entry.department_id)
    mount = uow.session.scalar(select(CatalogMount).where(CatalogMount.entry_id == entry.id,
                                                          CatalogMount.dataset_id == dataset_id))
    if mount is None:
        raise NotFound("Dataset %(key)s is not mounted on this entry", key=dataset_id)
    ds = uow.get(Dataset, dataset_id)
    uow.session.delete(mount)
    _record(uow, actor, entry, "unmounted", changes={"dataset": [ds.key, None]})
    uow.emit(actor, DatasetUnmounted(entry_id=entry.id, dataset_id=dataset_id))
    uow.commit()


def mounted_datasets(uow: UnitOfWork, actor: Actor, entry_id: int) -> list[tuple[Dataset, list[LakeVersion]]]:
    """The datasets mounted on an entry, each with its versions (newest first)."""
    entry = get_entry(uow, actor, entry_id)
    datasets = uow.session.scalars(select(Dataset).join(CatalogMount, CatalogMount.dataset_id == Dataset.id)
                                   .where(CatalogMount.entry_id == entry.id).order_by(Dataset.key)).all()
    out = []
    for ds in datasets:
        versions = uow.session.scalars(select(LakeVersion).where(LakeVersion.dataset_key == ds.key)
                                       .order_by(LakeVersion.number.desc())).all()
        out.append((ds, list(versions)))
    return out


def entry_history(uow: UnitOfWork, actor: Actor, entry_id: int) -> list[CatalogChange]:
    entry = get_entry(uow, actor, entry_id)
    return list(uow.session.scalars(select(CatalogChange).where(CatalogChange.entry_id == entry.id)
                                    .order_by(CatalogChange.id)))


def list_entries(uow: UnitOfWork, actor: Actor, *, department_id: int | None = None, state: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[CatalogEntry]:
    """Entries the actor may see, newest change first."""
    require(actor, ENTRY_BROWSE)
    query = select(CatalogEntry).where(entry_visibility(actor))
    if department_id is not None:
        query = query.where(CatalogEntry.department_id == department_id)
    if state:
        query = query.where(CatalogEntry.state == state)
    query = query.order_by(CatalogEntry.updated_at.desc(), CatalogEntry.id.desc()).limit(min(limit, 1000))
    return list(uow.session.scalars(query.offset(offset)))


def review_queue(uow: UnitOfWork, actor: Actor) -> list[CatalogEntry]:
    """Entries waiting for the operator's review, oldest first."""
    require(actor, ENTRY_REVIEW)
    return list(uow.session.scalars(select(CatalogEntry).where(CatalogEntry.state == lifecycle.UNDER_REVIEW)
                                    .order_by(CatalogEntry.updated_at, CatalogEntry.id)))


def search_entries(uow: UnitOfWork, actor: Actor, *, q: str = "", filters: dict[str, str] | None = None,
                   sort: str = "relevance", page: int = 1, per_page: int = 20,
                   with_facets: bool = True) -> search.SearchPage:
    """Full-text and faceted search over the entries the actor may see (filtered inside the query)."""
    require(actor, ENTRY_BROWSE)
    return search.search(uow.session, entry_visibility(actor), q=q, filters=filters, sort=sort, page=page,
                         per_page=per_page, with_facets=with_facets)


def count_entries(uow: UnitOfWork, actor: Actor, by: str) -> list[tuple[str, str, int]]:
    """Visible entries counted by classification or department: (value, label, count), largest first."""
    require(actor, ENTRY_BROWSE)
    where = entry_visibility(actor)
    if by == "department":
        rows = uow.session.execute(select(CatalogEntry.department_id, func.min(CatalogEntry.provider_name),
                                          func.count()).where(where).group_by(CatalogEntry.department_id)).all()
        out = [(str(d), name, n) for d, name, n in rows]
    elif by in search.FACET_CHOICES:
        column = search.FACETS[by]
        rows = uow.session.execute(select(column, func.count()).where(where, column.is_not(None))
                                   .group_by(column)).all()
        out = [(v, vocab.label(search.FACET_CHOICES[by], v), n) for v, n in rows]
    else:
        raise Invalid("Unknown search filter %(name)s", name=by)
    return sorted(out, key=lambda r: (-r[2], r[1]))


def note_entry_use(uow: UnitOfWork, actor: Actor, entry_id: int) -> None:
    """Count a look at an entry (sorting by usage); not an event, so views do not fill the audit chain."""
    entry = get_entry(uow, actor, entry_id)
    entry.usage_count = (entry.usage_count or 0) + 1
    uow.commit()


# ---- freshness: the declared update cycle against the latest mounted version ---------------

@dataclass(frozen=True)
class Freshness:
    status: str  # fresh | overdue | no_data | unscheduled
    latest: datetime | None
    due: datetime | None
    days_overdue: int = 0

    @property
    def label(self) -> str:
        from huiju.i18n import gettext

        return gettext(FRESHNESS_LABELS[self.status])


FRESHNESS_LABELS = {"fresh": N_("Up to date"), "overdue": N_("Overdue"), "no_data": N_("No data mounted yet"),
                    "unscheduled": N_("No fixed update cycle")}


def _latest_versions(uow: UnitOfWork, entry_ids: list[int]) -> dict[int, datetime]:
    if not entry_ids:
        return {}
    rows = uow.session.execute(
        select(CatalogMount.entry_id, func.max(LakeVersion.created_at))
        .join(Dataset, Dataset.id == CatalogMount.dataset_id)
        .join(LakeVersion, LakeVersion.dataset_key == Dataset.key)
        .where(CatalogMount.entry_id.in_(entry_ids)).group_by(CatalogMount.entry_id)).all()
    return {eid: t for eid, t in rows if t is not None}


def _freshness(entry: CatalogEntry, latest: datetime | None, grace: int, now: datetime) -> Freshness:
    days = vocab.CYCLE_DAYS.get(entry.update_cycle)
    if latest is None:
        return Freshness("no_data", None, None)
    if days is None:
        return Freshness("unscheduled", latest, None)
    due = latest + timedelta(days=days + grace)
    if now > due:
        return Freshness("overdue", latest, due, (now - due).days + 1)
    return Freshness("fresh", latest, due)


def entry_freshness(uow: UnitOfWork, actor: Actor, entry_id: int) -> Freshness:
    entry = get_entry(uow, actor, entry_id)
    latest = _latest_versions(uow, [entry.id]).get(entry.id)
    return _freshness(entry, latest, uow.settings.catalog_overdue_grace_days, datetime.now(UTC))


def overdue_entries(uow: UnitOfWork, actor: Actor, *, limit: int = 50) -> list[tuple[CatalogEntry, Freshness]]:
    """Published entries of the actor's departments (all, for operators) whose data is older than the cycle allows."""
    require(actor, ENTRY_BROWSE)
    entries = uow.session.scalars(select(CatalogEntry).where(visible(actor, ENTRY_VIEW, CatalogEntry),
                                                             CatalogEntry.state == lifecycle.PUBLISHED)).all()
    latest = _latest_versions(uow, [e.id for e in entries])
    now, grace = datetime.now(UTC), uow.settings.catalog_overdue_grace_days
    flagged = [(e, f) for e in entries
               if (f := _freshness(e, latest.get(e.id), grace, now)).status in ("overdue", "no_data")]
    flagged.sort(key=lambda ef: (ef[1].status != "overdue", -ef[1].days_overdue, ef[0].code))
    return flagged[:limit]
