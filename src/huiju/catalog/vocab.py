"""The 编制指南's value lists (classification, formats, share/open attributes, item types, update cycles).

Each list maps a stable code (stored in the database, used in the API) to an English msgid whose
zh_CN translation is the 指南's wording. ``parse`` accepts the code, the English label or the Chinese
label, so a department's Excel template filled in Chinese reads the same as the JSON API.
"""

from __future__ import annotations

from collections.abc import Mapping

from huiju.errors import Invalid
from huiju.i18n import N_, gettext, translations

# 资源属性分类 (6.1.1): class digit of the resource code → code
CLASSIFICATIONS: dict[str, str] = {
    "base": N_("Base information resource"),
    "theme": N_("Theme information resource"),
    "department": N_("Department information resource"),
}
CLASS_DIGIT = {"base": "1", "theme": "2", "department": "3"}

# 项 of the base class: the five national base resources
BASE_RESOURCES: dict[str, str] = {
    "population": N_("Population"),
    "legal_entity": N_("Legal entities"),
    "geo": N_("Natural resources and spatial geography"),
    "credit": N_("Social credit"),
    "license": N_("Electronic licences"),
}

# 项 of the theme class: the twelve themes of the 指南
THEMES: dict[str, str] = {
    "public_service": N_("Public services"),
    "health": N_("Health security"),
    "social_security": N_("Social security"),
    "food_drug": N_("Food and drug safety"),
    "work_safety": N_("Work safety"),
    "price": N_("Price supervision"),
    "energy": N_("Energy security"),
    "credit_system": N_("Credit system"),
    "urban_rural": N_("Urban and rural construction"),
    "community": N_("Community governance"),
    "ecology": N_("Ecology and environmental protection"),
    "emergency": N_("Emergency and stability"),
}

# 项 of the department class: the level the providing department belongs to
DEPARTMENT_ITEMS: dict[str, str] = {
    "party_central": N_("Party Central Committee"),
    "npc": N_("NPC Standing Committee"),
    "state_council": N_("State Council"),
    "cppcc": N_("CPPCC National Committee"),
    "supreme_court": N_("Supreme People's Court"),
    "supreme_procuratorate": N_("Supreme People's Procuratorate"),
    "provincial": N_("Provinces and their government departments at every level"),
    "separately_planned": N_("Separately planned cities and their departments"),
}

# 信息资源格式: 格式分类
FORMAT_KINDS: dict[str, str] = {
    "file": N_("Electronic file"),
    "spreadsheet": N_("Spreadsheet"),
    "database": N_("Database"),
    "image": N_("Graphics and images"),
    "media": N_("Streaming media"),
    "self_describing": N_("Self-describing format"),
    "other": N_("Other format"),
}

# 信息项 data types (dBASE/FoxPro letters, cn-standards.md §1.4)
ITEM_TYPES: dict[str, str] = {
    "C": N_("Character"),
    "N": N_("Numeric"),
    "Y": N_("Currency"),
    "D": N_("Date"),
    "T": N_("Date and time"),
    "L": N_("Logical"),
    "M": N_("Memo"),
    "G": N_("General"),
    "B": N_("Double"),
    "I": N_("Integer"),
    "F": N_("Float"),
}

# 共享类型 (国发〔2016〕51号)
SHARE_TYPES: dict[str, str] = {
    "unconditional": N_("Unconditional sharing"),
    "conditional": N_("Conditional sharing"),
    "none": N_("Not shared"),
}

# 共享方式: 分类 and 类型
SHARE_MODE_KINDS: dict[str, str] = {
    "platform": N_("Through the sharing platform"),
    "mail": N_("By mail"),
    "media": N_("On physical media"),
}
SHARE_MODE_TYPES: dict[str, str] = {
    "database": N_("Database"),
    "file": N_("File"),
    "api": N_("Interface (API)"),
}

# 开放类型: one canonical enum; jurisdictions show their own labels (see OPEN_LABEL_PROFILES)
OPEN_CLASSES: dict[str, str] = {
    "unconditional": N_("Unconditionally open"),
    "conditional": N_("Conditionally open"),
    "closed": N_("Not open"),
}

# Local labels of the open classes (cn-standards.md §2.2); the profile is the setting catalog_open_labels.
OPEN_LABEL_PROFILES: dict[str, dict[str, str]] = {
    "national": OPEN_CLASSES,
    "shanghai": {"unconditional": N_("Unconditional open class"), "conditional": N_("Conditional open class"),
                 "closed": N_("Non-open class")},
    "zhejiang": {"unconditional": N_("Unconditional open class"), "conditional": N_("Restricted open class"),
                 "closed": N_("Prohibited open class")},
    "guangzhou": {"unconditional": N_("Unconditional open class"), "conditional": N_("Conditional open class"),
                  "closed": N_("Withheld open class")},
}

# 更新周期 with the days each allows before an entry is overdue (None: no schedule to check)
UPDATE_CYCLES: dict[str, str] = {
    "realtime": N_("Real time"),
    "daily": N_("Daily"),
    "weekly": N_("Weekly"),
    "monthly": N_("Monthly"),
    "quarterly": N_("Quarterly"),
    "half_yearly": N_("Half-yearly"),
    "yearly": N_("Yearly"),
    "irregular": N_("Irregular"),
}
CYCLE_DAYS: dict[str, int | None] = {
    "realtime": 1, "daily": 1, "weekly": 7, "monthly": 31, "quarterly": 92, "half_yearly": 183, "yearly": 366,
    "irregular": None,
}

# GB/T 43697 levels, stored with security.classification.DataLevel's values
DATA_LEVELS: dict[str, str] = {
    "core": N_("Core data"),
    "important": N_("Important data"),
    "general_4": N_("General data, level 4 (serious harm)"),
    "general_3": N_("General data, level 3 (harm)"),
    "general_2": N_("General data, level 2 (minor harm)"),
    "general_1": N_("General data, level 1 (no harm, may be public)"),
}

# 生命周期
STATES: dict[str, str] = {
    "draft": N_("Draft"),
    "under_review": N_("Under review"),
    "published": N_("Published"),
    "withdrawn": N_("Withdrawn"),
}


def parse(value: str | None, choices: Mapping[str, str], field: str, *, required: bool = True) -> str | None:
    """The code for ``value`` given as a code, an English label or a Chinese label; Invalid otherwise."""
    text = (value or "").strip()
    if not text:
        if required:
            raise Invalid("%(field)s is required", field=gettext(field))
        return None
    if text in choices:
        return text
    zh = translations("zh_CN")
    for code, label in choices.items():
        if text in (label, zh.gettext(label)) or text.lower() == code.lower():
            return code
    allowed = "、".join(gettext(label) for label in choices.values())
    raise Invalid("%(field)s must be one of: %(allowed)s (got %(value)s)", field=gettext(field), allowed=allowed,
                  value=text)


def label(choices: Mapping[str, str], code: str | None) -> str:
    """The translated label of a code, or the code itself if unknown (old data), or — for none."""
    if not code:
        return "—"
    return gettext(choices[code]) if code in choices else code


def open_label(profile: str, code: str | None) -> str:
    """The open class in the jurisdiction's own words (setting catalog_open_labels)."""
    return label(OPEN_LABEL_PROFILES.get(profile, OPEN_CLASSES), code)


def item_choices(classification: str) -> dict[str, str]:
    """The 项 list that goes with a classification."""
    return {"base": BASE_RESOURCES, "theme": THEMES, "department": DEPARTMENT_ITEMS}[classification]

# What the change history records
CHANGE_ACTIONS: dict[str, str] = {
    "registered": N_("Registered"),
    "updated": N_("Edited"),
    "submitted": N_("Submitted for review"),
    "published": N_("Approved and published"),
    "rejected": N_("Rejected"),
    "withdrawn": N_("Withdrawn"),
    "mounted": N_("Dataset mounted"),
    "unmounted": N_("Dataset unmounted"),
    "harvested": N_("Harvested"),
}
