"""一数一源 use cases: the data-element registry, column mappings, comparison into correction tasks (纠错),
and the base libraries (人口库, 法人库).

Reading the lake here is the platform's own work, not a user's read: the comparison and the merge read the
current versions of several departments' datasets as the platform actor ``PLATFORM`` (after the caller's
own permission was checked), and nothing read leaves the platform except as a correction task routed to the
authoritative department or as the base library, a catalog dataset like any other whose egress goes
through ``read_rows``. Events of these use cases carry the calling actor; the catalog's own events for the
base library's versions carry ``PLATFORM``, which owns and writes them.

Which dataset is the authority's reference for an element: among the datasets of the authoritative
department that carry the element and the subject key and have a current version, the one mapped first.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, func, or_, select

from huiju.auth import service as auth_service
from huiju.auth.authz import require, visible
from huiju.auth.roles import Actor
from huiju.catalog import access
from huiju.catalog import service as catalog_service
from huiju.catalog.protection import service as protection
from huiju.errors import Conflict, Invalid, NotFound
from huiju.i18n import N_, gettext
from huiju.ingest.authority import baselib
from huiju.ingest.authority.compare import (
    Side,
    discrepancy_sql,
    overlap_sql,
)
from huiju.ingest.authority.models import (
    OPEN,
    OUTCOMES,
    SUBJECTS,
    CorrectionTask,
    DataElement,
    ElementMapping,
)
from huiju.ingest.events import (
    BaseLibraryBuilt,
    ColumnMapped,
    ColumnUnmapped,
    CorrectionTaskResolved,
    ElementCompared,
    ElementRegistered,
)
from huiju.ingest.permissions import (
    AUTHORITY_COMPARE,
    BASELIB_BUILD,
    CORRECTION_RESOLVE,
    CORRECTION_VIEW,
    ELEMENT_MANAGE,
    ELEMENT_MAP,
    ELEMENT_VIEW,
    INGEST_RUN,
)
from huiju.security.crypto import sm3_hex
from huiju.storage.db import utcnow
from huiju.storage.lake import LakeVersion
from huiju.storage.uow import UnitOfWork

PLATFORM = Actor.system("platform")  # reads the sources, owns and writes the base libraries
SAMPLE = 5  # discrepancies shown per element in a comparison report
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,30}\.[a-z][a-z0-9_]{0,40}$")
_KEY_MAX = 64  # longest subject key kept on a task (ID numbers and USCCs have 18 characters)
BASE_LIBRARY_NAMES = {"person": N_("Population base library"), "legal_entity": N_("Legal-entity base library")}
SOURCES_DESCRIPTION = N_("Where each value of the row came from: per column, the dataset and version (JSON)")
_TYPES = {"VARCHAR": "string", "DATE": "date", "TIMESTAMP": "datetime", "BIGINT": "integer", "DOUBLE": "number",
          "BOOLEAN": "boolean"}


# ---- the registry --------------------------------------------------------------------------

def register_element(uow: UnitOfWork, actor: Actor, code: str, name: str, subject: str,
                     authority_department_code: str, *, value_codes: dict[str, str] | None = None) -> DataElement:
    """Register a data element (数据元) and the department whose value of it is the reference (一数一源)."""
    require(actor, ELEMENT_MANAGE)
    code, name = code.strip(), name.strip()
    if subject not in SUBJECTS:
        raise Invalid("Subject must be one of %(subjects)s", subjects=", ".join(SUBJECTS))
    if not _CODE.match(code) or not code.startswith(subject + "."):
        raise Invalid("Element code must read %(subject)s.name in lowercase letters, digits and _", subject=subject)
    if not name or name.startswith("_") or len(name) > 100:
        raise Invalid("Element name is required (up to 100 characters, not starting with _)")
    dept = auth_service.department_by_code(uow, authority_department_code)
    if uow.session.scalar(select(DataElement.id).where(DataElement.code == code)) is not None:
        raise Conflict("Data element %(code)s already exists", code=code)
    if uow.session.scalar(select(DataElement.id).where(DataElement.subject == subject,
                                                       DataElement.name == name)) is not None:
        raise Conflict("An element of this subject is already named %(name)s", name=name)
    codes = {str(k).strip(): str(v).strip() for k, v in (value_codes or {}).items()}
    element = DataElement(code=code, name=name, subject=subject, key_code=SUBJECTS[subject][0],
                          authority_department_id=dept.id, value_codes=codes)
    uow.add(element)
    uow.session.flush()
    uow.emit(actor, ElementRegistered(element_id=element.id, code=code, subject=subject,
                                      authority_department_id=dept.id))
    uow.commit()
    return element


def list_elements(uow: UnitOfWork, actor: Actor, *, subject: str | None = None) -> list[DataElement]:
    """The registry, each subject's key element first."""
    require(actor, ELEMENT_VIEW)
    query = select(DataElement)
    if subject is not None:
        query = query.where(DataElement.subject == subject)
    return list(uow.session.scalars(query.order_by(DataElement.subject, DataElement.code != DataElement.key_code,
                                                   DataElement.id)))


def element_by_code(uow: UnitOfWork, actor: Actor, code: str) -> DataElement:
    require(actor, ELEMENT_VIEW)
    return _element(uow, code)


def map_column(uow: UnitOfWork, actor: Actor, dataset_key: str, column: str, element_code: str) -> ElementMapping:
    """Say that ``column`` of the dataset carries the element; map the subject key column as well."""
    ds = catalog_service.dataset_by_key(uow, actor, dataset_key)
    require(actor, ELEMENT_MAP, department_id=ds.department_id)
    element = _element(uow, element_code)
    if ds.key in _base_library_keys():
        raise Invalid("Base libraries are built from mapped datasets and are not mapped themselves")
    columns = _columns_of(uow, ds)
    if not columns:
        raise Invalid("Dataset %(key)s has neither a schema nor data yet", key=ds.key)
    if column not in columns:
        raise Invalid("Dataset %(key)s has no column %(column)s", key=ds.key, column=column)
    taken = uow.session.scalar(select(ElementMapping).where(ElementMapping.dataset_id == ds.id,
                                                            ElementMapping.column == column))
    if taken is not None and taken.element_id != element.id:
        other = uow.get(DataElement, taken.element_id)
        raise Conflict("Column %(column)s of %(key)s already carries %(element)s", column=column, key=ds.key,
                       element=other.code)
    mapping = uow.session.scalar(select(ElementMapping).where(ElementMapping.dataset_id == ds.id,
                                                              ElementMapping.element_id == element.id))
    if mapping is not None and mapping.column == column:
        return mapping
    if mapping is None:
        mapping = ElementMapping(dataset_id=ds.id, dataset_key=ds.key, department_id=ds.department_id,
                                 column=column, element_id=element.id, created_by=actor.user_id)
        uow.add(mapping)
    else:
        mapping.column = column
    uow.session.flush()
    uow.emit(actor, ColumnMapped(dataset_id=ds.id, column=column, element_id=element.id, code=element.code))
    uow.commit()
    return mapping


def unmap_column(uow: UnitOfWork, actor: Actor, dataset_key: str, element_code: str) -> None:
    ds = catalog_service.dataset_by_key(uow, actor, dataset_key)
    require(actor, ELEMENT_MAP, department_id=ds.department_id)
    element = _element(uow, element_code)
    mapping = uow.session.scalar(select(ElementMapping).where(ElementMapping.dataset_id == ds.id,
                                                              ElementMapping.element_id == element.id))
    if mapping is None:
        raise NotFound("Dataset %(key)s does not carry %(element)s", key=ds.key, element=element.code)
    uow.session.delete(mapping)
    uow.emit(actor, ColumnUnmapped(dataset_id=ds.id, column=mapping.column, element_id=element.id,
                                   code=element.code))
    uow.commit()


def list_mappings(uow: UnitOfWork, actor: Actor, *, dataset_key: str | None = None,
                  element_code: str | None = None) -> list[ElementMapping]:
    """Mappings of the datasets of the actor's departments (all for operators)."""
    require(actor, ELEMENT_MAP, department_id=next(iter(actor.departments()), None))
    query = select(ElementMapping).where(visible(actor, ELEMENT_MAP, ElementMapping))
    if dataset_key is not None:
        query = query.where(ElementMapping.dataset_key == dataset_key)
    if element_code is not None:
        query = query.where(ElementMapping.element_id == _element(uow, element_code).id)
    return list(uow.session.scalars(query.order_by(ElementMapping.dataset_key, ElementMapping.id)))


# ---- comparison and correction tasks --------------------------------------------------------

def compare(uow: UnitOfWork, actor: Actor, target: str | None = None) -> dict[str, Any]:
    """Compare other datasets' values of the elements with the authority's; open a task per new discrepancy.

    ``target`` is an element code, a subject (``person``, ``legal_entity``) or None for every element the
    actor may compare (operators: all; a steward: those its department is the authority for). Re-running
    is idempotent: a discrepancy already open, or already answered with the same two values, gets no new
    task; an open task whose discrepancy is no longer found is closed as corrected.
    """
    require(actor, AUTHORITY_COMPARE, department_id=next(iter(actor.departments()), None))
    if target is not None and target not in SUBJECTS:
        element = _element(uow, target)
        require(actor, AUTHORITY_COMPARE, department_id=element.authority_department_id)
        if element.is_key:
            raise Invalid("%(code)s is the key of its subject: records are joined on it, not compared",
                          code=element.code)
        elements = [element]
    else:
        query = select(DataElement).where(visible(actor, AUTHORITY_COMPARE, DataElement),
                                          DataElement.code != DataElement.key_code)
        if target is not None:
            query = query.where(DataElement.subject == target)
        elements = list(uow.session.scalars(query.order_by(DataElement.subject, DataElement.id)))
    report = _compare(uow, actor, elements, trigger=None)
    uow.commit()
    return report


def list_tasks(uow: UnitOfWork, actor: Actor, *, status: str | None = OPEN, element_code: str | None = None,
               after_id: int = 0, limit: int = 100) -> list[CorrectionTask]:
    """Correction tasks assigned to the actor's departments (all for operators), oldest first, by keyset."""
    require(actor, CORRECTION_VIEW, department_id=next(iter(actor.departments()), None))
    query = select(CorrectionTask).where(visible(actor, CORRECTION_VIEW, CorrectionTask),
                                         CorrectionTask.id > after_id)
    if status is not None:
        query = query.where(CorrectionTask.status == status)
    if element_code is not None:
        query = query.where(CorrectionTask.element_id == _element(uow, element_code).id)
    return list(uow.session.scalars(query.order_by(CorrectionTask.id).limit(min(limit, 1000))))


def count_open_tasks(uow: UnitOfWork, actor: Actor) -> int:
    """Open correction tasks of the actor's departments, for the home page."""
    require(actor, CORRECTION_VIEW, department_id=next(iter(actor.departments()), None))
    return uow.session.scalar(select(func.count()).select_from(CorrectionTask).where(
        visible(actor, CORRECTION_VIEW, CorrectionTask), CorrectionTask.status == OPEN)) or 0


def get_task(uow: UnitOfWork, actor: Actor, task_id: int) -> CorrectionTask:
    task = uow.get(CorrectionTask, task_id)
    require(actor, CORRECTION_VIEW, department_id=task.assigned_department_id)
    return task


def resolve_task(uow: UnitOfWork, actor: Actor, task_id: int, outcome: str, note: str = "") -> CorrectionTask:
    """The authority's answer: its value is right (confirmed_correct), it corrected it, or the report is wrong."""
    task = uow.get(CorrectionTask, task_id)
    require(actor, CORRECTION_RESOLVE, department_id=task.assigned_department_id)
    if outcome not in OUTCOMES:
        raise Invalid("Outcome must be one of %(outcomes)s", outcomes=", ".join(OUTCOMES))
    if task.status != OPEN:
        raise Conflict("Correction task %(id)s is already closed", id=task.id)
    note = note.strip()
    if outcome == "rejected" and not note:
        raise Invalid("Say why the report is rejected")
    task.status, task.resolved_at, task.resolved_by, task.resolution_note = outcome, utcnow(), actor.user_id, note
    uow.emit(actor, CorrectionTaskResolved(task_id=task.id, element_id=task.element_id, outcome=outcome,
                                           department_id=task.assigned_department_id))
    uow.commit()
    return task


# ---- base libraries ------------------------------------------------------------------------

@dataclass
class BaseLibraryResult:
    subject: str
    dataset_key: str
    built: bool  # False: the sources had not changed since the current version (nothing written)
    version: LakeVersion | None
    rows: int
    fallback_values: int
    inputs: list[dict[str, Any]] = field(default_factory=list)


def build_base_library(uow: UnitOfWork, actor: Actor, subject: str, *, force: bool = False) -> BaseLibraryResult:
    """Merge the departments' datasets of a subject into its base library, a new version with lineage.

    Unless ``force``, nothing is written when the sources and the registry are what the current version was
    built from.
    """
    require(actor, BASELIB_BUILD)
    if subject not in SUBJECTS:
        raise Invalid("Subject must be one of %(subjects)s", subjects=", ".join(SUBJECTS))
    result = _build(uow, actor, subject, force=force, trigger=None)
    if result is None:
        raise Invalid("No dataset with data carries both the key and another element of %(subject)s yet",
                      subject=subject)
    return result


def on_version_published(uow: UnitOfWork, actor: Actor, dataset_key: str) -> dict[str, Any]:
    """After a new version of a dataset: re-compare the elements it carries, rebuild the base libraries it feeds.

    Called by whoever published the version (ingest); a base library is rebuilt only once it exists (its
    first build is an operator's decision). The work is the platform's, done with ``PLATFORM`` reading.
    """
    ds = catalog_service.dataset_by_key(uow, PLATFORM, dataset_key)
    require(actor, INGEST_RUN, department_id=ds.department_id)
    outcome: dict[str, Any] = {"dataset": ds.key, "compared": None, "rebuilt": []}
    if ds.key in _base_library_keys():
        return outcome
    carried = list(uow.session.scalars(
        select(DataElement).join(ElementMapping, ElementMapping.element_id == DataElement.id)
        .where(ElementMapping.dataset_id == ds.id).order_by(DataElement.id)))
    if not carried:
        return outcome
    outcome["compared"] = _compare(uow, actor, [e for e in carried if not e.is_key], trigger=ds.key)
    uow.commit()
    for subject in sorted({e.subject for e in carried}):
        try:
            catalog_service.dataset_by_key(uow, PLATFORM, SUBJECTS[subject][1])
        except NotFound:
            continue
        result = _build(uow, actor, subject, force=False, trigger=ds.key)
        if result is not None:
            outcome["rebuilt"].append(result)
    return outcome


# ---- the work ------------------------------------------------------------------------------

def _element(uow: UnitOfWork, code: str) -> DataElement:
    element = uow.session.scalar(select(DataElement).where(DataElement.code == code))
    if element is None:
        raise NotFound("Data element %(code)s not found", code=code)
    return element


def _base_library_keys() -> set[str]:
    return {key for _code, key in SUBJECTS.values()}


def _columns_of(uow: UnitOfWork, ds: Any) -> set[str]:
    names = {f["name"] for f in (ds.table_schema or {}).get("fields", [])}
    version = catalog_service.current_version(uow, PLATFORM, ds.key)
    if version is not None:
        names |= {f["name"] for f in version.schema if f["name"] != "_row"}
    return names


@dataclass
class _Carrier:
    """A dataset carrying an element, with its current version and its key column."""

    dataset: Any
    version: LakeVersion | None
    key_column: str | None
    column: str

    def type_of(self, column: str) -> str | None:
        assert self.version is not None
        return next((f["type"] for f in self.version.schema if f["name"] == column), None)

    @property
    def usable(self) -> bool:
        return (self.version is not None and self.key_column is not None
                and self.type_of(self.column) is not None and self.type_of(self.key_column) is not None)


class _Context:
    """Datasets, departments, mappings and current versions, loaded once per comparison or build."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.datasets = {d.id: d for d in catalog_service.list_datasets(uow, PLATFORM)}
        self.departments = {d.id: d.code for d in auth_service.list_departments(uow, PLATFORM)}
        self.elements = {e.code: e for e in uow.session.scalars(select(DataElement))}
        self.mappings = list(uow.session.scalars(select(ElementMapping).order_by(ElementMapping.id)))
        self._versions: dict[str, LakeVersion | None] = {}

    def version(self, key: str) -> LakeVersion | None:
        if key not in self._versions:
            self._versions[key] = catalog_service.current_version(self.uow, PLATFORM, key)
        return self._versions[key]

    def carriers(self, element: DataElement) -> list[_Carrier]:
        """Datasets carrying the element, in mapping order, base libraries excluded."""
        key_element = self.elements.get(element.key_code)
        out = []
        for m in self.mappings:
            if m.element_id != element.id or m.dataset_key in _base_library_keys() or m.dataset_id not in self.datasets:
                continue
            key_column = next((k.column for k in self.mappings if key_element is not None
                               and k.dataset_id == m.dataset_id and k.element_id == key_element.id), None)
            ds = self.datasets[m.dataset_id]
            out.append(_Carrier(ds, self.version(ds.key), key_column, m.column))
        return out

    def reference(self, element: DataElement, carriers: list[_Carrier]) -> _Carrier | None:
        return next((c for c in carriers if c.usable and c.dataset.department_id == element.authority_department_id),
                    None)


def _skip_reason(c: _Carrier) -> str:
    if c.version is None:
        return gettext("no published version yet")
    if c.key_column is None:
        return gettext("the subject key column is not mapped")
    return gettext("a mapped column is missing from the current version")


def _compare(uow: UnitOfWork, actor: Actor, elements: list[DataElement], *, trigger: str | None) -> dict[str, Any]:
    """Compare each element's carriers with its reference; tasks are added to the session, not committed."""
    ctx = _Context(uow)
    report: dict[str, Any] = {"elements": [], "discrepancies": 0, "new_tasks": 0, "closed_tasks": 0}
    for element in elements:
        carriers = ctx.carriers(element)
        ref = ctx.reference(element, carriers)
        entry: dict[str, Any] = {
            "element": element.code, "name": element.name,
            "authority": ctx.departments.get(element.authority_department_id),
            "reference": {"dataset": ref.dataset.key, "version": ref.version.number} if ref and ref.version else None,
            "datasets": [], "discrepancies": 0, "new_tasks": 0, "closed_tasks": 0, "sample": [],
        }
        if ref is None:
            entry["note"] = gettext("The authoritative department has no dataset with data carrying this element")
        for other in carriers:
            if ref is not None and other.dataset.id == ref.dataset.id:
                continue
            row: dict[str, Any] = {"dataset": other.dataset.key,
                                   "department": ctx.departments.get(other.dataset.department_id),
                                   "version": other.version.number if other.version else None}
            entry["datasets"].append(row)
            if ref is None:
                continue
            if not other.usable:
                row["skipped"] = _skip_reason(other)
                continue
            row.update(_compare_pair(uow, element, ref, other, entry["sample"]))
            for k in ("discrepancies", "new_tasks", "closed_tasks"):
                entry[k] += row[k]
        for k in ("discrepancies", "new_tasks", "closed_tasks"):
            report[k] += entry[k]
        report["elements"].append(entry)
        uow.emit(actor, ElementCompared(element_id=element.id, code=element.code,
                                        datasets=[r["dataset"] for r in entry["datasets"] if "subjects" in r],
                                        discrepancies=entry["discrepancies"], tasks_opened=entry["new_tasks"],
                                        tasks_closed=entry["closed_tasks"], trigger=trigger))
    return report


def _compare_pair(uow: UnitOfWork, element: DataElement, ref: _Carrier, other: _Carrier,
                  sample: list[dict[str, Any]]) -> dict[str, Any]:
    assert ref.version is not None and other.version is not None
    assert ref.key_column is not None and other.key_column is not None
    auth = Side(ref.key_column, ref.column, ref.type_of(ref.column) or "string")
    oth = Side(other.key_column, other.column, other.type_of(other.column) or "string")
    tables = {"auth": ref.version, "other": other.version}
    counts = access.query_internal(uow, PLATFORM, overlap_sql(auth, oth), tables).to_pylist()[0]
    found = [(r["subject_key"], r["authority_value"], r["other_value"])
             for r in access.query_internal(uow, PLATFORM, discrepancy_sql(auth, oth, element.value_codes),
                                            tables).to_pylist()
             if len(r["subject_key"]) <= _KEY_MAX]
    # answered already: open, the authority's value confirmed, the report rejected, or corrected by hand since
    # the reference version was published (the correction arrives with a later version)
    known = list(uow.session.scalars(select(CorrectionTask).where(
        CorrectionTask.element_id == element.id, CorrectionTask.other_dataset_id == other.dataset.id,
        or_(CorrectionTask.status.in_((OPEN, "confirmed_correct", "rejected")),
            and_(CorrectionTask.status == "corrected", CorrectionTask.resolved_at >= ref.version.created_at)))))
    answered = {(t.subject_key, t.authority_value, t.other_value) for t in known
                if not (t.resolution_detail or {}).get("automatic")}
    current = set(found)
    new = 0
    for key, authority_value, other_value in found:
        if (key, authority_value, other_value) in answered:
            continue
        answered.add((key, authority_value, other_value))
        uow.add(CorrectionTask(
            element_id=element.id, subject_key=key, authority_dataset_id=ref.dataset.id,
            authority_dataset_key=ref.dataset.key, authority_version_id=ref.version.id,
            authority_version=ref.version.number, authority_value=authority_value,
            other_dataset_id=other.dataset.id, other_dataset_key=other.dataset.key,
            other_department_id=other.dataset.department_id, other_version_id=other.version.id,
            other_version=other.version.number, other_value=other_value, status=OPEN,
            assigned_department_id=element.authority_department_id, resolution_detail={}))
        new += 1
    closed = 0
    now = utcnow()
    for task in known:
        if task.status == OPEN and (task.subject_key, task.authority_value, task.other_value) not in current:
            task.status, task.resolved_at = "corrected", now
            task.resolution_detail = {"automatic": True, "authority_version": ref.version.number,
                                      "other_version": other.version.number}
            closed += 1
    for key, authority_value, other_value in found[:max(0, SAMPLE - len(sample))]:
        sample.append({"subject_key": key, "authority_value": authority_value, "dataset": other.dataset.key,
                       "other_value": other_value})
    return {"subjects": counts["subjects"], "overlap": counts["overlap"], "discrepancies": len(found),
            "new_tasks": new, "closed_tasks": closed}


def _build(uow: UnitOfWork, actor: Actor, subject: str, *, force: bool,
           trigger: str | None) -> BaseLibraryResult | None:
    key_code, library_key = SUBJECTS[subject]
    ctx = _Context(uow)
    key_element = ctx.elements.get(key_code)
    if key_element is None:
        raise Invalid("Register the key element %(code)s first", code=key_code)
    elements = sorted((e for e in ctx.elements.values() if e.subject == subject and not e.is_key),
                      key=lambda e: e.id)
    carriers = {e.code: [c for c in ctx.carriers(e) if c.usable] for e in elements}
    references = {code: ctx.reference(e, carriers[e.code]) for code, e in ((e.code, e) for e in elements)}
    # the datasets taking part: with data, the key mapped and at least one element of the subject
    by_id: dict[int, _Carrier] = {}
    for cs in carriers.values():
        for c in cs:
            by_id.setdefault(c.dataset.id, c)
    if not by_id:
        return None
    ref_ids = {r.dataset.id for r in references.values() if r is not None}
    key_ref = next((c for c in by_id.values() if c.dataset.department_id == key_element.authority_department_id
                    and c.dataset.id in ref_ids), None)
    ordered = sorted(by_id.values(), key=lambda c: (key_ref is None or c.dataset.id != key_ref.dataset.id,
                                                    c.dataset.id not in ref_ids, c.dataset.key))
    index = {c.dataset.id: i for i, c in enumerate(ordered)}
    sources = [baselib.Source(c.dataset.key, c.version.number, c.version.id, c.key_column or "")
               for c in ordered if c.version is not None]
    assert len(sources) == len(ordered)  # only usable carriers, which all have a version
    plans = []
    for e in elements:
        for c in carriers[e.code]:
            sources[index[c.dataset.id]].columns[e.code] = (c.column, c.type_of(c.column) or "string")
        ref = references[e.code]
        order = sorted(index[c.dataset.id] for c in carriers[e.code])
        authority = index[ref.dataset.id] if ref is not None else None
        if authority is not None:
            order = [authority, *(i for i in order if i != authority)]
        types = [sources[i].columns[e.code][1] for i in order]
        plans.append(baselib.ElementPlan(code=e.code, name=e.name, sql_type=baselib.target_type(types), order=order,
                                         authority=authority, value_codes=e.value_codes or {}))
    plan = baselib.MergePlan(key_code=key_code, key_name=key_element.name, key_order=list(range(len(sources))),
                             elements=plans, sources=sources)
    digest = sm3_hex(json.dumps({
        "subject": subject, "key": [key_element.code, key_element.name],
        "elements": [[p.code, p.name, p.sql_type, p.order, p.authority, sorted(p.value_codes.items())] for p in plans],
        "sources": [[s.dataset_key, s.version_id, s.key_column, sorted(s.columns.items())] for s in sources],
    }, ensure_ascii=False, sort_keys=True).encode())

    library = _ensure_library(uow, subject, key_element, ctx)
    if not force and library.current_version_id is not None:
        current = next((lin for lin in catalog_service.lineage_of(uow, PLATFORM, library_key)
                        if lin.version_id == library.current_version_id), None)
        if current is not None and current.rule_set_sm3 == digest:
            version = catalog_service.current_version(uow, PLATFORM, library_key)
            return BaseLibraryResult(subject, library_key, False, version, version.row_count if version else 0, 0,
                                     current.inputs)

    versions = [ordered[i].version for i in range(len(sources))]
    table = access.query_internal(uow, PLATFORM, baselib.merge_sql(plan), plan.tables(versions))
    summary = baselib.summarise(table, plan)
    referenced = {p.authority for p in plans if p.authority is not None}
    inputs = [{"dataset": s.dataset_key, "version": s.version, "version_id": s.version_id,
               "role": "authority" if i in referenced else "fallback",
               "elements": dict(sorted(summary.taken.get(i, {}).items()))}
              for i, s in enumerate(sources)]
    _describe_library(uow, library_key, plan, ordered)
    staged = uow.stage_version(library_key)
    staged.write(baselib.finish(table))
    catalog_service.mount_on_publish(uow, PLATFORM, library_key, staged, kind="derived", job_id=None,
                                     inputs=inputs, rule_set_sm3=digest)
    uow.emit(actor, BaseLibraryBuilt(subject=subject, dataset_id=library.id, rows=summary.rows,
                                     fallback_values=summary.fallback_values,
                                     inputs=[f"{s.dataset_key}@{s.version}" for s in sources], trigger=trigger))
    published = uow.commit()
    return BaseLibraryResult(subject, library_key, True, published[0] if published else None, summary.rows,
                             summary.fallback_values, inputs)


def _ensure_library(uow: UnitOfWork, subject: str, key_element: DataElement, ctx: _Context) -> Any:
    """The base library's catalog dataset, registered for the key element's authority on first build."""
    key = SUBJECTS[subject][1]
    try:
        return catalog_service.dataset_by_key(uow, PLATFORM, key)
    except NotFound:
        code = ctx.departments[key_element.authority_department_id]
        return catalog_service.register_dataset(uow, PLATFORM, key=key, name=gettext(BASE_LIBRARY_NAMES[subject]),
                                                department_code=code)


def _describe_library(uow: UnitOfWork, key: str, plan: baselib.MergePlan, ordered: list[_Carrier]) -> None:
    """Keep the catalog's schema and classification labels of the base library in step with its columns.

    A column inherits the strictest label of the source columns it takes values from (就高从严), unless an
    operator recorded an exception on it, so masking and encryption follow the data.
    """
    fields = [{"name": plan.key_name, "type": "string", "constraints": {"required": True, "unique": True}}]
    fields += [{"name": p.name, "type": _TYPES.get(p.sql_type.split("(")[0], "number"), "huiju:element": p.code}
               for p in plan.elements]
    fields.append({"name": baselib.SOURCES_COLUMN, "type": "string",
                   "description": gettext(SOURCES_DESCRIPTION)})
    schema = {"fields": fields, "primaryKey": [plan.key_name]}
    sources: dict[str, list[tuple[dict[str, Any], str]]] = {plan.key_name: [
        (ordered[i].dataset.labels or {}, plan.sources[i].key_column) for i in plan.key_order]}
    for p in plan.elements:  # every source the column may take a value from, not only the authority
        sources[p.name] = [(ordered[i].dataset.labels or {}, plan.sources[i].columns[p.code][0]) for i in p.order]
    library = catalog_service.dataset_by_key(uow, PLATFORM, key)
    if library.table_schema != schema:
        catalog_service.save_schema(uow, PLATFORM, key, table_schema=schema, rules=[], confirmed=True, commit=False)
    labels = protection.inherited_labels(sources, library.labels)  # 就高从严 over all inputs, exceptions kept
    if labels and any((library.labels or {}).get(c) != v for c, v in labels.items()):
        catalog_service.save_labels(uow, PLATFORM, key, labels)
