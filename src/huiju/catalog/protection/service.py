"""Use cases of data protection on datasets: label columns, record exceptions, inherit labels, open-data
policy, masking policies per column, and re-encryption (with key rotation) of a dataset's current version.

A column's label lives in ``Dataset.labels[column]`` as JSON: ``kind``, ``level``, ``sensitive_pi``,
``categories``, ``mask`` (its masking policy when it leaves its department), ``confirmed``, and where
they apply ``exception`` (an operator's recorded exception: level, reason, by, at) and ``inherited_from``.
A dataset's level is the strictest of its columns (就高从严) unless ``Dataset.level_exception`` says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from huiju.auth.authz import require, visible
from huiju.auth.roles import Actor
from huiju.catalog import access
from huiju.catalog import service as catalog_service
from huiju.catalog.encryption import sensitive_columns
from huiju.catalog.models import Dataset
from huiju.catalog.permissions import DATASET_MANAGE, DATASET_VIEW, LABEL_MANAGE, LABEL_VIEW, LEVEL_EXCEPTION
from huiju.catalog.protection.events import (
    ColumnLabelled,
    DatasetReencrypted,
    LabelsConfirmed,
    LabelsInherited,
    LevelExceptionRecorded,
)
from huiju.errors import Forbidden, Invalid, NotFound
from huiju.security import keys, lake_crypto
from huiju.security.classification import (
    CATEGORIES,
    LEVEL_ORDER,
    OPEN_RULES,
    DataLevel,
    Label,
    LabelOverride,
    OpenRule,
    combine,
    default_mask_for,
)
from huiju.security.masking import MASKS
from huiju.security.permissions import KEYS_ROTATE
from huiju.storage.db import utcnow
from huiju.storage.uow import UnitOfWork


def _level(value: str) -> DataLevel:
    try:
        return DataLevel(value)
    except ValueError:
        raise Invalid("Unknown data level %(level)s; use one of %(levels)s", level=value,
                      levels=", ".join(lv.value for lv in LEVEL_ORDER)) from None


def label_of(entry: Mapping[str, Any]) -> Label:
    """The Label a stored column label describes (its exception, if any, sets the level)."""
    exception = entry.get("exception")
    override = (LabelOverride(_level(exception["level"]), exception["reason"], exception["by"])
                if exception else None)
    return Label(override.level if override else _level(entry.get("level", DataLevel.GENERAL_2.value)),
                 bool(entry.get("sensitive_pi")), frozenset(entry.get("categories") or ()), override)


def dataset_label(ds: Dataset) -> Label | None:
    """The dataset's label: its columns combined (就高从严), or its recorded exception; None without labels."""
    labels = [label_of(v) for v in (ds.labels or {}).values() if isinstance(v, dict)]
    exception = ds.level_exception
    override = (LabelOverride(_level(exception["level"]), exception["reason"], exception["by"])
                if exception else None)
    if not labels:
        return Label(override.level, override=override) if override else None
    return combine(labels, override)


def _check_mask(mask: str | None) -> str | None:
    if mask is not None and mask not in MASKS:
        raise Invalid("Unknown mask %(name)s", name=mask)
    return mask


def label_column(uow: UnitOfWork, actor: Actor, key: str, column: str, *, level: str, sensitive_pi: bool,
                 categories: Sequence[str] = (), mask: str | None = None, kind: str | None = None) -> Dataset:
    """Confirm or change a column's label (level, sensitive PI flag, categories, masking policy)."""
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, LABEL_MANAGE, department_id=ds.department_id)
    _known_column(ds, column)
    for name in categories:
        if name not in CATEGORIES:
            raise Invalid("Unknown personal information category %(category)s", category=name)
    label = Label(_level(level), sensitive_pi, frozenset(categories))  # validates sensitive categories
    old = dict((ds.labels or {}).get(column) or {})
    kind = kind or old.get("kind") or "none"
    entry = {**old, "kind": kind, "level": label.level.value, "sensitive_pi": label.sensitive_pi,
             "categories": sorted(label.categories), "mask": _check_mask(mask) or default_mask_for(kind),
             "confirmed": True}
    if "exception" in old and old["exception"]["level"] != entry["level"]:
        entry["level"] = old["exception"]["level"]  # an exception stays until withdrawn
    ds.labels = {**(ds.labels or {}), column: entry}
    uow.emit(actor, ColumnLabelled(dataset_id=ds.id, column=column, level=entry["level"],
                                   sensitive_pi=label.sensitive_pi, categories=entry["categories"], mask=entry["mask"]))
    uow.commit()
    return ds


def set_mask_policy(uow: UnitOfWork, actor: Actor, key: str, column: str, mask: str | None) -> Dataset:
    """The mask a column gets when it leaves its department (None: back to its kind's default)."""
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, LABEL_MANAGE, department_id=ds.department_id)
    entry = dict((ds.labels or {}).get(column) or {})
    if not entry:
        raise NotFound("Column %(column)s of %(key)s has no label yet", column=column, key=key)
    entry["mask"] = _check_mask(mask) or default_mask_for(entry.get("kind", ""))
    ds.labels = {**(ds.labels or {}), column: entry}
    uow.emit(actor, ColumnLabelled(dataset_id=ds.id, column=column, level=entry["level"],
                                   sensitive_pi=bool(entry.get("sensitive_pi")),
                                   categories=list(entry.get("categories") or []), mask=entry["mask"]))
    uow.commit()
    return ds


def confirm_labels(uow: UnitOfWork, actor: Actor, key: str) -> list[str]:
    """Confirm every proposed label of a dataset as it stands; returns the columns confirmed."""
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, LABEL_MANAGE, department_id=ds.department_id)
    labels = {c: dict(v) for c, v in (ds.labels or {}).items()}
    confirmed = sorted(c for c, v in labels.items() if not v.get("confirmed"))
    for c in confirmed:
        labels[c]["confirmed"] = True
    ds.labels = labels
    uow.emit(actor, LabelsConfirmed(dataset_id=ds.id, columns=confirmed))
    uow.commit()
    return confirmed


def record_exception(uow: UnitOfWork, actor: Actor, key: str, *, level: str | None, reason: str,
                     column: str | None = None) -> Dataset:
    """Record (or, with ``level=None``, withdraw) an exception to the inherited level, with its reason.

    就高从严 is the rule; an exception (for example aggregated or de-identified data, GB/T 43697 附录I) is
    an operator's decision, kept with who made it, when and why, shown wherever the label is shown.
    """
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, LEVEL_EXCEPTION)
    if not reason.strip():
        raise Invalid("An exception to the data level needs a reason")
    record = None
    if level is not None:
        record = {"level": _level(level).value, "reason": reason.strip(), "by": actor.username,
                  "at": utcnow().isoformat(timespec="seconds")}
    if column is None:
        current = dataset_label(ds)
        inherited = (combine([label_of(v) for v in (ds.labels or {}).values()]).level.value
                     if ds.labels else (current.level.value if current else DataLevel.GENERAL_2.value))
        ds.level_exception = record
    else:
        _known_column(ds, column)
        entry = dict((ds.labels or {}).get(column) or {"kind": "none", "level": DataLevel.GENERAL_2.value,
                                                        "sensitive_pi": False, "categories": [], "mask": None,
                                                        "confirmed": True})
        inherited = entry.get("inherited_level") or entry["level"]
        if record is None:
            entry.pop("exception", None)
            entry["level"] = inherited
            entry.pop("inherited_level", None)
        else:
            entry["inherited_level"] = inherited
            entry["exception"] = record
            entry["level"] = record["level"]
        ds.labels = {**(ds.labels or {}), column: entry}
    uow.emit(actor, LevelExceptionRecorded(dataset_id=ds.id, column=column, level=record["level"] if record else None,
                                           inherited_level=inherited, reason=reason.strip()))
    uow.commit()
    return ds


def _known_column(ds: Dataset, column: str) -> None:
    names = {f["name"] for f in (ds.table_schema or {}).get("fields", [])} | set(ds.labels or {})
    if column not in names:
        raise NotFound("Dataset %(key)s has no column %(column)s", key=ds.key, column=column)


# ---- inheritance through lineage ---------------------------------------------------------------

def inherited_labels(sources: Mapping[str, Sequence[tuple[Mapping[str, Any], str]]],
                     existing: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Labels of derived columns from their inputs: per column the strictest (就高从严).

    ``sources`` maps a derived column to ``(input labels, input column)`` pairs. A column keeps a recorded
    exception (its level stays, the inherited level is updated beside it). Mechanism only: callers are
    use cases that already checked permissions (``inherit_labels``, base-library builds).
    """
    out: dict[str, dict[str, Any]] = {}
    for column, inputs in sources.items():
        found = [(dict(labels[c]), c) for labels, c in inputs if isinstance(labels.get(c), dict)]
        if not found:
            continue
        strictest = max(found, key=lambda e: (label_of(e[0]).level, bool(e[0].get("sensitive_pi"))))[0]
        entry = {k: v for k, v in strictest.items() if k not in ("exception", "inherited_level")}
        entry["level"] = max(_level(e.get("inherited_level") or e["level"]) for e, _c in found).value
        entry["sensitive_pi"] = any(e.get("sensitive_pi") for e, _c in found)
        entry["categories"] = sorted(set().union(*(e.get("categories") or () for e, _c in found)))
        if entry["sensitive_pi"] and not entry.get("mask"):
            entry["mask"] = next((e["mask"] for e, _c in found if e.get("sensitive_pi") and e.get("mask")), "MASK_NULL")
        entry["confirmed"] = all(e.get("confirmed") for e, _c in found)
        entry["inherited"] = True
        previous = (existing or {}).get(column) or {}
        if previous.get("exception"):
            entry["inherited_level"] = entry["level"]
            entry["exception"] = previous["exception"]
            entry["level"] = previous["exception"]["level"]
        out[column] = entry
    return out


def inherit_labels(uow: UnitOfWork, actor: Actor, key: str,
                   sources: Mapping[str, Sequence[tuple[str, str]]], *, commit: bool = True) -> Dataset:
    """Label a derived dataset's columns from its inputs (``column -> [(input dataset, input column)]``)."""
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    cache: dict[str, Mapping[str, Any]] = {}

    def labels(input_key: str) -> Mapping[str, Any]:
        if input_key not in cache:
            row = uow.session.scalar(select(Dataset).where(Dataset.key == input_key))
            if row is None:
                raise NotFound("Dataset %(key)s not found", key=input_key)
            cache[input_key] = row.labels or {}
        return cache[input_key]

    resolved = {c: [(labels(k), col) for k, col in inputs] for c, inputs in sources.items()}
    new = inherited_labels(resolved, ds.labels)
    if any((ds.labels or {}).get(c) != v for c, v in new.items()):
        ds.labels = {**(ds.labels or {}), **new}
        uow.emit(actor, LabelsInherited(dataset_id=ds.id, columns={c: v["level"] for c, v in new.items()},
                                        inputs=sorted({k for inputs in sources.values() for k, _c in inputs})))
    if commit:
        uow.commit()
    return ds


# ---- what each level holds; the open-data rule -------------------------------------------------

@dataclass
class LevelContents:
    level: DataLevel
    datasets: list[tuple[Dataset, Label]]
    columns: list[tuple[Dataset, str, dict[str, Any]]]


def levels_overview(uow: UnitOfWork, actor: Actor) -> list[LevelContents]:
    """Per level, strictest first: the datasets whose effective level it is, and the columns labelled with it."""
    require(actor, LABEL_VIEW)
    by_level = {lv: LevelContents(lv, [], []) for lv in LEVEL_ORDER}
    query = select(Dataset).where(visible(actor, DATASET_VIEW, Dataset)).order_by(Dataset.key)
    for ds in uow.session.scalars(query):
        label = dataset_label(ds)
        if label is not None:
            by_level[label.level].datasets.append((ds, label))
        for column, entry in sorted((ds.labels or {}).items()):
            if isinstance(entry, dict):
                by_level[label_of(entry).level].columns.append((ds, column, entry))
    return [by_level[lv] for lv in reversed(LEVEL_ORDER)]


def dataset_labels(uow: UnitOfWork, actor: Actor, key: str) -> tuple[Dataset, Label | None]:
    """A dataset with its effective label, for the label page."""
    ds = catalog_service.dataset_by_key(uow, actor, key)
    return ds, dataset_label(ds)


def may_open_dataset(uow: UnitOfWork, actor: Actor, key: str, *, masks: Mapping[str, str] | None = None,
                     fields: Sequence[str] | None = None) -> Label | None:
    """Raise ``Forbidden`` unless the dataset (these fields, with these masks) may go to the open portal.

    核心 and 重要 data are never opened, whatever the masks; personal and level 2-4 columns only masked
    (``masks``: field -> mask name, anything but MASK_NONE counts). The open-data context calls this before
    a dataset or an open version is published.
    """
    ds = catalog_service.dataset_by_key(uow, actor, key)
    label = dataset_label(ds)
    if label is not None and OPEN_RULES[label.level] is OpenRule.NEVER:
        raise Forbidden("%(key)s is %(level)s: core and important data can never be opened", key=key,
                        level=label.level.value)
    masks = dict(masks or {})
    for column, entry in sorted((ds.labels or {}).items()):
        if fields is not None and column not in fields or not isinstance(entry, dict):
            continue
        column_label = label_of(entry)
        masked = masks.get(column) not in (None, "MASK_NONE")
        if OPEN_RULES[column_label.level] is OpenRule.NEVER:
            raise Forbidden("Column %(column)s is %(level)s: core and important data can never be opened",
                            column=column, level=column_label.level.value)
        if (OPEN_RULES[column_label.level] is OpenRule.MASKED or column_label.personal) and not masked:
            raise Forbidden("Column %(column)s must be masked before it is opened", column=column)
    return label


# ---- re-encryption and dataset key rotation ----------------------------------------------------

def reencrypt_dataset(uow: UnitOfWork, actor: Actor, key: str, *, rotate: bool = False) -> Any:
    """Write the current version again as a new version, encrypted under the dataset's current data key.

    With ``rotate`` the dataset's data key first gets a new version (the old ones are retired but stay
    readable, so earlier versions still decrypt). Also applies label changes made since the last version.
    Every decrypted value is checked against its stored lookup token first, so tampering stops the job.
    """
    ds = catalog_service.dataset_by_key(uow, actor, key)
    require(actor, DATASET_MANAGE, department_id=ds.department_id)
    require(actor, KEYS_ROTATE)
    current = catalog_service.current_version(uow, actor, key)
    if current is None:
        raise NotFound("Dataset %(key)s has no published version to read", key=key)
    columns = sensitive_columns(ds.labels)
    purpose = lake_crypto.dataset_key_purpose(ds.key)
    if rotate:
        try:
            row, retired = keys.rotate_data_key_rows(uow, purpose)
        except NotFound:
            raise Invalid("Dataset %(key)s has no encrypted columns, so it has no key to rotate", key=key) from None
        uow.emit(actor, keys.DataKeyRotated(purpose=row.purpose, version=row.version, retired_versions=retired))
    bad = access.verify_internal(uow, actor, current)
    if bad:
        raise Invalid("%(n)s encrypted values of %(key)s do not match their lookup tokens: the files were altered",
                      n=bad, key=key)
    staged = uow.stage_version(ds.key)
    wrote = False
    for batch in access.read_internal(uow, actor, current):
        staged.write(batch)
        wrote = True
    if not wrote:
        staged.write(access.internal_schema(uow, actor, current).empty_table())
    catalog_service.mount_on_publish(uow, actor, ds.key, staged, kind="reencrypt", job_id=None,
                                     inputs=[{"dataset": ds.key, "version": current.number,
                                              "version_id": current.id}], rule_set_sm3=None)
    key_version = keys.data_key(uow, purpose)[0] if columns else 0
    uow.emit(actor, DatasetReencrypted(dataset_id=ds.id, key_version=key_version, rotated=rotate, columns=columns))
    published = uow.commit()
    return published[0]
