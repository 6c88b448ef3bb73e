"""Catalog use cases: datasets, their schemas, versions and lineage; catalog entries, review, mounting, search."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select

from huiju.auth import service as auth_service
from huiju.auth.authz import allowed, require, visible
from huiju.auth.roles import Actor
from huiju.catalog import codes, dcat, excel, harvest, lifecycle, lineage, metadata, search, vocab
from huiju.catalog import encryption as _encryption  # noqa: F401  (registers the stage hook)
from huiju.catalog.events import (
    CatalogHarvested,
    DatasetMounted,
    DatasetRegistered,
    DatasetUnmounted,
    EntriesImported,
    EntryPublished,
    EntryRegistered,
    EntryRejected,
    EntrySubmitted,
    EntryUpdated,
    EntryWithdrawn,
    HarvestSourceAdded,
    SchemaSaved,
    VersionPublished,
    VersionRolledBack,
)
from huiju.catalog.models import (
    CatalogChange,
    CatalogEntry,
    CatalogItem,
    CatalogMount,
    Dataset,
    HarvestRecord,
    HarvestSource,
    Lineage,
)
from huiju.catalog.permissions import (
    DATASET_MANAGE,
    DATASET_VIEW,
    ENTRY_BROWSE,
    ENTRY_MANAGE,
    ENTRY_REVIEW,
    ENTRY_VIEW,
    HARVEST_MANAGE,
)
from huiju.errors import Conflict, HuijuError, Invalid, NotFound
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
    # naming every state lets the database answer both branches from ix_catalog_entries_facets (state first)
    return or_(and_(CatalogEntry.state == lifecycle.PUBLISHED, visible(actor, ENTRY_BROWSE, CatalogEntry)),
               and_(CatalogEntry.state.in_(lifecycle.ALL_STATES), visible(actor, ENTRY_VIEW, CatalogEntry)))


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


def search_entries(uow: UnitOfWork, actor: Actor, *, q: str = "", filters: dict[str, Any] | None = None,
                   sort: str = "relevance", page: int = 1, per_page: int = 20, with_facets: bool = True,
                   within: Select[Any] | None = None, excluding: Select[Any] | None = None) -> search.SearchPage:
    """Full-text and faceted search over the entries the actor may see (filtered inside the query).

    ``within`` / ``excluding`` narrow it to (or away from) the entries whose ids another context selects, such
    as the open portal's published open datasets, so that context never touches the catalog's tables. A
    filter value may be a list (any of them).
    """
    require(actor, ENTRY_BROWSE)
    where = entry_visibility(actor)
    if within is not None:
        where = and_(where, CatalogEntry.id.in_(within))
    if excluding is not None:
        where = and_(where, CatalogEntry.id.not_in(excluding))
    return search.search(uow.session, where, q=q, filters=filters, sort=sort, page=page, per_page=per_page,
                         with_facets=with_facets)


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
        return Freshness("overdue", latest, due, max(1, (now - due).days))
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


# ---- DCAT-AP RDF and harvesting --------------------------------------------------------------

def catalog_rdf(uow: UnitOfWork, actor: Actor, *, base_url: str, fmt: str, entry_id: int | None = None) -> str:
    """The published entries the actor may see (or one entry) as DCAT-AP 3 Turtle or JSON-LD."""
    require(actor, ENTRY_BROWSE)
    if entry_id is not None:
        entries = [get_entry(uow, actor, entry_id)]
    else:
        entries = list(uow.session.scalars(select(CatalogEntry).where(entry_visibility(actor),
                                                                      CatalogEntry.state == lifecycle.PUBLISHED)
                                           .order_by(CatalogEntry.code)))
    graph = dcat.graph_for(entries, base_url, title=N_("Government information-resource catalog"),
                           whole_catalog=entry_id is None)
    return dcat.serialize(graph, fmt)


def add_harvest_source(uow: UnitOfWork, actor: Actor, *, name: str, kind: str, url: str,
                       department_code: str) -> HarvestSource:
    """Register a catalog to harvest; its entries are filed under ``department_code`` here."""
    require(actor, HARVEST_MANAGE)
    dept = auth_service.department_by_code(uow, department_code)
    if kind not in harvest.KINDS:
        raise Invalid("Harvest source kind must be one of: %(allowed)s", allowed=", ".join(harvest.KINDS))
    if not re.match(r"^https?://", url.strip()):
        raise Invalid("The harvest URL must start with http:// or https://")
    if not name.strip():
        raise Invalid("Give the harvest source a name")
    if uow.session.scalar(select(HarvestSource.id).where(HarvestSource.name == name.strip())) is not None:
        raise Conflict("Harvest source %(name)s already exists", name=name)
    source = HarvestSource(name=name.strip(), kind=kind, url=url.strip(), department_id=dept.id)
    uow.add(source)
    uow.session.flush()
    uow.emit(actor, HarvestSourceAdded(source_id=source.id, kind=kind, url=source.url))
    uow.commit()
    return source


def list_harvest_sources(uow: UnitOfWork, actor: Actor) -> list[HarvestSource]:
    require(actor, HARVEST_MANAGE)
    return list(uow.session.scalars(select(HarvestSource).order_by(HarvestSource.name)))


def harvest_records(uow: UnitOfWork, actor: Actor, source_id: int) -> list[HarvestRecord]:
    """What the last runs fetched from a source: the raw record, the entry made from it or the error."""
    require(actor, HARVEST_MANAGE)
    return list(uow.session.scalars(select(HarvestRecord).where(HarvestRecord.source_id == source_id)
                                    .order_by(HarvestRecord.identifier)))


@dataclass(frozen=True)
class HarvestReport:
    created: int
    updated: int
    unchanged: int
    failed: int


def harvest_source(uow: UnitOfWork, actor: Actor, source_id: int, *, client: Any = None,
                   token: str | None = None) -> HarvestReport:
    """Fetch every record of a source and create or update its entries, idempotently by the source's identifier.

    Harvested entries are published at once (the source published them); a record that cannot be mapped
    keeps its raw text and the error, and the others go on.
    """
    require(actor, HARVEST_MANAGE)
    import httpx

    source = uow.get(HarvestSource, source_id)
    dept = next(d for d in auth_service.list_departments(uow, actor) if d.id == source.department_id)
    counts = {"created": 0, "updated": 0, "unchanged": 0, "failed": 0}
    own = client is None
    client = client or httpx.Client(follow_redirects=True)
    now = datetime.now(UTC)
    try:
        for record in harvest.fetch(source.kind, source.url, client=client, token=token):
            row = uow.session.scalar(select(HarvestRecord).where(HarvestRecord.source_id == source.id,
                                                                 HarvestRecord.identifier == record.identifier))
            if row is None:
                row = HarvestRecord(source_id=source.id, identifier=record.identifier, raw=record.raw)
                uow.add(row)
            row.raw, row.harvested_at = record.raw, now
            try:
                if record.error:
                    raise Invalid("The record could not be read: %(error)s", error=record.error)
                with uow.session.begin_nested():
                    entry, outcome = _upsert_harvested(uow, actor, source, dept, record)
                row.entry_id, row.error = entry.id, None
                counts[outcome] += 1
            except HuijuError as exc:
                row.error = exc.localized()
                counts["failed"] += 1
    finally:
        if own:
            client.close()
    source.last_run_at = now
    uow.emit(actor, CatalogHarvested(source_id=source.id, created=counts["created"], updated=counts["updated"],
                                     failed=counts["failed"]))
    uow.commit()
    return HarvestReport(**counts)


def _upsert_harvested(uow: UnitOfWork, actor: Actor, source: HarvestSource, dept: Any,
                      record: harvest.Record) -> tuple[CatalogEntry, str]:
    cleaned = metadata.clean_entry(record.fields)
    entry = uow.session.scalar(select(CatalogEntry).where(CatalogEntry.harvest_source_id == source.id,
                                                          CatalogEntry.source_identifier == record.identifier))
    provider_name = (record.fields.get("provider_name") or dept.name)[:200]
    provider_code = (record.fields.get("provider_code") or dept.code)[:64]
    if entry is None:
        now = datetime.now(UTC)
        entry = CatalogEntry(department_id=dept.id, state=lifecycle.PUBLISHED, published_at=now, code="",
                             harvest_source_id=source.id, source_identifier=record.identifier, usage_count=0,
                             created_by=actor.user_id, provider_name=provider_name, provider_code=provider_code)
        _apply(entry, cleaned)
        entry.publish_date = entry.publish_date or now.date()
        _assign_code(uow, entry, dept.code, dept.region_code)
        uow.add(entry)
        uow.session.flush()
        _record(uow, actor, entry, "harvested", changes=_diff({}, _snapshot(entry)), comment=source.name)
        return entry, "created"
    before, updated_at = _snapshot(entry), entry.updated_at
    _apply(entry, cleaned)
    entry.provider_name, entry.provider_code = provider_name, provider_code
    changes = _diff(before, _snapshot(entry))
    if not changes:
        entry.updated_at = updated_at
        return entry, "unchanged"
    _record(uow, actor, entry, "harvested", changes=changes, comment=source.name)
    return entry, "updated"


# ---- the Excel template (填报模板) ---------------------------------------------------------------

@dataclass(frozen=True)
class ImportRow:
    sheet: str  # entries | items
    row: int
    name: str
    code: str | None = None
    action: str | None = None  # created | updated
    error: str | None = None


def import_entries(uow: UnitOfWork, actor: Actor, *, department_code: str, source: Any) -> list[ImportRow]:
    """Register (or, by code, update) one entry per template row; a row that fails is reported, the rest go in."""
    dept = auth_service.department_by_code(uow, department_code)
    require(actor, ENTRY_MANAGE, department_id=dept.id)
    rows, orphans = excel.read_workbook(source)
    report: list[ImportRow] = []
    for row in rows:
        name = str(row.fields.get("name") or "")
        try:
            existing = None
            if row.code:
                existing = uow.session.scalar(select(CatalogEntry).where(CatalogEntry.code == row.code,
                                                                         CatalogEntry.department_id == dept.id))
                if existing is None:
                    raise NotFound("Catalog entry %(id)s not found", id=row.code)
            if existing is not None:
                entry = update_entry(uow, actor, existing.id, row.fields)
                report.append(ImportRow("entries", row.number, name, entry.code, "updated"))
            else:
                entry = register_entry(uow, actor, department_code=dept.code, fields=row.fields)
                report.append(ImportRow("entries", row.number, name, entry.code, "created"))
        except HuijuError as exc:
            uow.rollback()
            report.append(ImportRow("entries", row.number, name, row.code, error=exc.localized()))
    for number, entry_name in orphans:
        error = Invalid("No entry named %(name)s in this file", name=entry_name).localized()
        report.append(ImportRow("items", number, entry_name, error=error))
    failed = sum(1 for r in report if r.error)
    uow.emit(actor, EntriesImported(department_id=dept.id, rows=len(rows), created=len(report) - failed,
                                    failed=failed))
    uow.commit()
    return report


def export_entries(uow: UnitOfWork, actor: Actor, *, department_code: str | None = None) -> bytes:
    """The template filled with the entries the actor may see (of one department if given)."""
    require(actor, ENTRY_BROWSE)
    query = select(CatalogEntry).where(entry_visibility(actor)).order_by(CatalogEntry.code)
    if department_code:
        dept = auth_service.department_by_code(uow, department_code)
        query = query.where(CatalogEntry.department_id == dept.id)
    return excel.write_workbook(uow.session.scalars(query))


def entry_lineage(uow: UnitOfWork, actor: Actor, entry_id: int) -> lineage.LineageGraph:
    """Sources → mounted versions → base libraries and derived versions → share/open, for the entry page."""
    entry = get_entry(uow, actor, entry_id)
    mounted = mounted_datasets(uow, actor, entry.id)
    version_ids = [v.id for _ds, versions in mounted for v in versions]
    rows = uow.session.scalars(select(Lineage).where(Lineage.version_id.in_(version_ids))) if version_ids else []
    derived = uow.session.execute(
        select(Lineage, Dataset, LakeVersion).join(Dataset, Dataset.id == Lineage.dataset_id)
        .join(LakeVersion, LakeVersion.id == Lineage.version_id)
        .where(Lineage.kind == "derived").order_by(Lineage.id.desc()).limit(500)).all()
    egress = [(vocab.label(vocab.SHARE_TYPES, entry.share_type), entry.share_condition or ""),
              (vocab.open_label(uow.settings.catalog_open_labels, entry.open_class), entry.open_condition or "")]
    for contributor in lineage.EGRESS_CONTRIBUTORS:  # grants and other deliveries, from the contexts above
        egress += contributor(uow, actor, entry.id)
    return lineage.build(mounted, {row.version_id: row for row in rows}, [tuple(r) for r in derived], egress)
