"""The open policy of a dataset: what each column becomes on the portal, checked against its labels.

Enforced, not advisory: 核心/重要 data (the entry's level or any column's) is never opened; a column
labelled as sensitive personal information is dropped or masked; a personal or graded column with a
mask is masked unless the steward drops it. Columns without a label are kept as they are: the
operator's review is the check on them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from huiju.errors import Forbidden, Invalid
from huiju.security.classification import DataLevel, OpenRule, OPEN_RULES, default_mask_for
from huiju.security.masking import MASKS

ACTIONS = ("keep", "drop", "mask")
NEVER = {DataLevel.CORE.value, DataLevel.IMPORTANT.value}


def _level(label: Mapping[str, Any]) -> str | None:
    return label.get("level") if label else None


def check_openable(entry_level: str | None, labels: Mapping[str, Any]) -> None:
    """Refuse 核心/重要 data outright: the entry's level or any column's."""
    if entry_level in NEVER:
        raise Forbidden("Core and important data can never be opened (level of the entry: %(level)s)",
                        level=entry_level)
    for column, label in sorted(labels.items()):
        if _level(label) in NEVER:
            raise Forbidden("Core and important data can never be opened (column %(column)s)", column=column)


def _default_mask(label: Mapping[str, Any]) -> str | None:
    return label.get("mask") or default_mask_for(label.get("kind", "")) or None


def default_policy(columns: Sequence[str], labels: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What the steward starts from: sensitive columns dropped, other personal or graded ones masked."""
    policy: dict[str, dict[str, Any]] = {}
    for col in columns:
        label = labels.get(col) or {}
        if label.get("sensitive_pi"):
            policy[col] = {"action": "drop"}
        elif label and _needs_mask(label):
            mask = _default_mask(label)
            policy[col] = {"action": "mask", "mask": mask} if mask else {"action": "drop"}
        else:
            policy[col] = {"action": "keep"}
    return policy


def _needs_mask(label: Mapping[str, Any]) -> bool:
    level = _level(label)
    rule = OPEN_RULES.get(DataLevel(level)) if level in {lv.value for lv in DataLevel} else OpenRule.MASKED
    return bool(label.get("sensitive_pi") or label.get("categories")) or rule is not OpenRule.FREE


def resolve_policy(columns: Sequence[str], labels: Mapping[str, Any],
                   requested: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The full policy (every column) from the steward's request over the default; refuses what labels forbid."""
    policy = default_policy(columns, labels)
    for col, rule in (requested or {}).items():
        if col not in columns:
            raise Invalid("The open policy names column %(column)s, which the dataset does not have", column=col)
        if isinstance(rule, str):
            rule = {"action": "mask", "mask": rule.split(":", 1)[1]} if rule.startswith("mask:") else {"action": rule}
        if not isinstance(rule, Mapping) or rule.get("action") not in ACTIONS:
            raise Invalid("Open policy for %(column)s must be keep, drop or mask", column=col)
        if rule["action"] == "mask":
            mask = rule.get("mask") or _default_mask(labels.get(col) or {})
            if mask not in MASKS:
                raise Invalid("Unknown mask %(name)s", name=str(mask))
            policy[col] = {"action": "mask", "mask": mask}
        else:
            policy[col] = {"action": rule["action"]}
    for col, rule in policy.items():
        label = labels.get(col) or {}
        if rule["action"] == "keep" and label and _needs_mask(label):
            raise Forbidden("Column %(column)s is labelled sensitive or personal: mask or drop it before opening",
                            column=col)
    if not any(rule["action"] != "drop" for rule in policy.values()):
        raise Invalid("The open policy drops every column; nothing would be opened")
    return policy


def kept(policy: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [c for c, r in policy.items() if r["action"] != "drop"]


def masks(policy: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    return {c: r["mask"] for c, r in policy.items() if r["action"] == "mask"}


def dropped(policy: Mapping[str, Mapping[str, Any]]) -> list[str]:
    return [c for c, r in policy.items() if r["action"] == "drop"]
