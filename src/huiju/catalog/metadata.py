"""Validation of an entry's core metadata (编制指南 6.2) and its data items, with errors in the user's language.

Rules (cn-standards.md §1.5, 国发〔2016〕51号, GB/T 43697):
* 有条件共享 and 不予共享 need the condition and the legal or policy basis;
* a file resource shared through the platform is shared as a file; a database resource lists its items;
* an item may be shared more strictly than its entry, never more freely;
* 有条件开放 states its condition; a resource that is not shared, or is core or important data, is not opened;
* 涉密 resources never enter this (non-classified) platform.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from huiju.catalog import vocab
from huiju.errors import Invalid
from huiju.i18n import N_

SHARE_STRICTNESS = {"unconditional": 0, "conditional": 1, "none": 2}
_MEANINGFUL = re.compile(r"[0-9A-Za-z\u3400-\u9fff]")
_CODE = re.compile(r"^[0-9A-Za-z/\-.]{1,80}$")

FIELD_LABELS = {
    "name": N_("Resource name"),
    "classification": N_("Classification"),
    "item": N_("Classification item"),
    "theme": N_("Theme"),
    "abstract": N_("Abstract"),
    "format_kind": N_("Format category"),
    "format_type": N_("Format type"),
    "share_type": N_("Share type"),
    "share_mode_kind": N_("Share mode"),
    "share_mode_type": N_("Share mode type"),
    "open_class": N_("Open class"),
    "update_cycle": N_("Update cycle"),
    "data_level": N_("Data level"),
    "type_code": N_("Data item type"),
    "sensitivity": N_("Sensitivity level"),
    "item_share_type": N_("Data item share type"),
}


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value).strip()


def _required(raw: Mapping[str, Any], key: str, limit: int) -> str:
    value = _text(raw, key)
    if not value:
        raise Invalid("%(field)s is required", field=_label(key))
    if len(value) > limit:
        raise Invalid("%(field)s is longer than %(n)s characters", field=_label(key), n=limit)
    return value


def _label(key: str) -> str:
    from huiju.i18n import gettext

    return gettext(FIELD_LABELS[key])


def clean_entry(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's fields as stored, or Invalid naming the first field that breaks a rule."""
    if raw.get("secret") in (True, "true", "是", "涉密", 1, "1"):
        raise Invalid("Classified (涉密) resources must not be registered on this platform")
    name = _required(raw, "name", 200)
    if not _MEANINGFUL.search(name):
        raise Invalid("The resource name must contain letters, digits or Chinese characters")
    classification = vocab.parse(raw.get("classification"), vocab.CLASSIFICATIONS, FIELD_LABELS["classification"])
    assert classification is not None
    item = vocab.parse(raw.get("item"), vocab.item_choices(classification), FIELD_LABELS["item"])
    theme = vocab.parse(raw.get("theme"), vocab.THEMES, FIELD_LABELS["theme"], required=False)
    if classification == "theme":
        theme = item
    directory = _text(raw, "directory") or "001"
    if not re.fullmatch(r"\d{3}", directory):
        raise Invalid("The directory (目) must be three digits, such as 001")
    abstract = _required(raw, "abstract", 4000)
    format_kind = vocab.parse(raw.get("format_kind"), vocab.FORMAT_KINDS, FIELD_LABELS["format_kind"])
    format_type = _required(raw, "format_type", 32)
    share_type = vocab.parse(raw.get("share_type"), vocab.SHARE_TYPES, FIELD_LABELS["share_type"])
    share_condition = _text(raw, "share_condition") or None
    share_basis = _text(raw, "share_basis") or None
    if share_type != "unconditional" and not share_condition:
        raise Invalid("Conditional or withheld sharing must state its share condition")
    if share_type != "unconditional" and not share_basis:
        raise Invalid("Conditional or withheld sharing must cite its basis in law, regulation or State Council policy")
    share_mode_kind = vocab.parse(raw.get("share_mode_kind") or "platform", vocab.SHARE_MODE_KINDS,
                                  FIELD_LABELS["share_mode_kind"])
    share_mode_type = vocab.parse(raw.get("share_mode_type"), vocab.SHARE_MODE_TYPES, FIELD_LABELS["share_mode_type"])
    if format_kind == "file" and share_mode_kind == "platform" and share_mode_type != "file":
        raise Invalid("A file resource shared through the platform must be shared as a file")
    open_class = vocab.parse(raw.get("open_class"), vocab.OPEN_CLASSES, FIELD_LABELS["open_class"])
    open_condition = _text(raw, "open_condition") or None
    if open_class == "conditional" and not open_condition:
        raise Invalid("Conditional opening must state its open condition")
    data_level = vocab.parse(raw.get("data_level"), vocab.DATA_LEVELS, FIELD_LABELS["data_level"])
    if open_class != "closed" and data_level in ("core", "important"):
        raise Invalid("Core and important data are never opened to the public")
    if open_class == "unconditional" and share_type == "none":
        raise Invalid("A resource that is not shared between departments cannot be opened unconditionally")
    update_cycle = vocab.parse(raw.get("update_cycle"), vocab.UPDATE_CYCLES, FIELD_LABELS["update_cycle"])
    items = clean_items(raw.get("items") or [], share_type=share_type or "unconditional",
                        data_level=data_level or "general_2")
    if format_kind == "database" and not items:
        raise Invalid("A database resource must list its data items")
    return {
        "name": name, "classification": classification, "item": item, "directory": directory, "theme": theme,
        "abstract": abstract, "format_kind": format_kind, "format_type": format_type,
        "share_type": share_type, "share_condition": share_condition, "share_basis": share_basis,
        "share_mode_kind": share_mode_kind, "share_mode_type": share_mode_type,
        "open_class": open_class, "open_condition": open_condition, "update_cycle": update_cycle,
        "related_codes": clean_codes(raw.get("related_codes")), "data_level": data_level,
        "publish_date": _date(raw.get("publish_date")), "items": items,
    }


def clean_codes(value: Any) -> list[str]:
    """Related resource codes from a list or a text separated by commas, 、 or whitespace."""
    if value is None or value == "":
        return []
    parts = value if isinstance(value, list | tuple) else re.split(r"[,，、;；\s]+", str(value))
    codes = [str(p).strip() for p in parts if str(p).strip()]
    for code in codes:
        if not _CODE.match(code):
            raise Invalid("%(code)s is not a resource code", code=code)
    return list(dict.fromkeys(codes))


def _date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise Invalid("The publish date must be written as YYYY-MM-DD") from None


def clean_items(raw_items: Sequence[Mapping[str, Any]], *, share_type: str, data_level: str) -> list[dict[str, Any]]:
    """Data items: unique names, a 指南 type letter, a positive length, no share type freer than the entry's."""
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_items, start=1):
        name = _text(raw, "name")
        if not name:
            raise Invalid("Data item %(n)s has no name", n=position)
        if len(name) > 200:
            raise Invalid("%(field)s is longer than %(n)s characters", field=name, n=200)
        if name in seen:
            raise Invalid("Data item %(name)s appears twice", name=name)
        seen.add(name)
        type_code = vocab.parse(_text(raw, "type_code").upper() or None, vocab.ITEM_TYPES, FIELD_LABELS["type_code"])
        length = _length(raw.get("length"), name)
        sensitivity = vocab.parse(raw.get("sensitivity") or data_level, vocab.DATA_LEVELS,
                                  FIELD_LABELS["sensitivity"])
        item_share = vocab.parse(raw.get("share_type") or share_type, vocab.SHARE_TYPES,
                                 FIELD_LABELS["item_share_type"])
        assert item_share is not None
        if SHARE_STRICTNESS[item_share] < SHARE_STRICTNESS[share_type]:
            raise Invalid("Data item %(name)s cannot be shared more freely than its entry", name=name)
        items.append({"position": position, "name": name, "type_code": type_code, "length": length,
                      "sensitivity": sensitivity, "share_type": item_share,
                      "is_key": raw.get("is_key") in (True, "true", "是", "1", 1),
                      "column": _text(raw, "column") or None})
    return items


def _length(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        length = int(str(value).strip())
    except ValueError:
        raise Invalid("The length of data item %(name)s must be a whole number", name=name) from None
    if length <= 0:
        raise Invalid("The length of data item %(name)s must be a whole number", name=name)
    return length


ITEM_TEXT_FIELDS = ("name", "type_code", "length", "sensitivity", "share_type", "column")


def items_from_text(text: str) -> list[dict[str, Any]]:
    """Data items written one per line as ``名称|类型|长度|敏感级别|共享类型|字段`` (the form's structured cell);
    tabs or full-width ｜ also separate, missing trailing parts are left empty, a leading * marks the key."""
    items = []
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in re.split(r"[|\t｜]", line)]
        item: dict[str, Any] = dict(zip(ITEM_TEXT_FIELDS, parts + [""] * (len(ITEM_TEXT_FIELDS) - len(parts))))
        item["is_key"] = item["name"].startswith("*")
        item["name"] = item["name"].lstrip("*").strip()
        items.append({k: (v if v != "" else None) for k, v in item.items()})
    return items


def items_to_text(items: Sequence[Any]) -> str:
    """The inverse of ``items_from_text`` for an entry's stored items."""
    lines = []
    for i in items:
        parts = [("*" if i.is_key else "") + i.name, i.type_code, str(i.length or ""), i.sensitivity, i.share_type,
                 i.column or ""]
        lines.append("|".join(parts).rstrip("|"))
    return "\n".join(lines)
