"""信息资源代码: 分类码 (类 1 digit + 项 2 + 目 3 + 细目) + 顺序码, national default and provincial profiles.

The 指南 calls the classification part the 前段码 and the sequence the 后段码 and separates them with
"/" (``{类}{项}{目}{细目}/{顺序码}``). Provinces publish their own coding standards, so the generator is
chosen by the setting ``catalog_code_profile``; a plugin adds a profile by exposing a ``CodeProfile``
under the ``huiju.catalog_code_profiles`` entry-point group.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Protocol

from huiju.catalog import vocab
from huiju.errors import Invalid


@dataclass(frozen=True)
class CodeParts:
    """What a code is built from: the classification and the providing department."""

    classification: str  # base | theme | department
    item: str  # the 项 code from vocab (population, health, provincial, …)
    directory: str  # 目: three digits chosen by the steward ("001" when the 指南 gives none)
    department_code: str  # the providing department's code (细目 in 部门目录)
    region_code: str = "000000"  # the department's GB/T 2260 region code


class CodeProfile(Protocol):
    name: str

    def prefix(self, parts: CodeParts) -> str:
        """The classification code (前段码) for these parts."""

    def code(self, prefix: str, sequence: int) -> str:
        """The full code from a prefix and its next sequence number."""

    def sequence_of(self, prefix: str, code: str) -> int | None:
        """The sequence number of an existing code with this prefix, or None if it is not one of ours."""


def item_number(classification: str, item: str) -> str:
    """The two-digit 项 number: the position of the item in the 指南's list for its class."""
    choices = list(vocab.item_choices(classification))
    if item not in choices:
        raise Invalid("Unknown classification item %(item)s", item=item)
    return f"{choices.index(item) + 1:02d}"


_DIRECTORY = re.compile(r"^\d{3}$")


class NationalProfile:
    """The 指南's layout: ``{类}{项:02}{目:03}{细目}/{顺序码:04}``, 细目 = the department's code."""

    name = "national"
    sequence_digits = 4

    def prefix(self, parts: CodeParts) -> str:
        if not _DIRECTORY.match(parts.directory):
            raise Invalid("The directory (目) must be three digits, such as 001")
        detail = re.sub(r"[^0-9A-Za-z]", "", parts.department_code).upper()
        return (f"{vocab.CLASS_DIGIT[parts.classification]}{item_number(parts.classification, parts.item)}"
                f"{parts.directory}{detail}")

    def code(self, prefix: str, sequence: int) -> str:
        return f"{prefix}/{sequence:0{self.sequence_digits}d}"

    def sequence_of(self, prefix: str, code: str) -> int | None:
        head, sep, tail = code.rpartition("/")
        return int(tail) if sep and head == prefix and tail.isdigit() else None


class RegionalProfile(NationalProfile):
    """Provincial practice (e.g. DB36/T 1124, DB23/T 2839): 细目 is the department's six-digit region code plus
    its own code, and the sequence follows with a hyphen and five digits so codes stay unique across a province."""

    name = "regional"
    sequence_digits = 5

    def prefix(self, parts: CodeParts) -> str:
        base = super().prefix(parts)
        return f"{base[:6]}{parts.region_code}{base[6:]}"

    def code(self, prefix: str, sequence: int) -> str:
        return f"{prefix}-{sequence:0{self.sequence_digits}d}"

    def sequence_of(self, prefix: str, code: str) -> int | None:
        head, sep, tail = code.rpartition("-")
        return int(tail) if sep and head == prefix and tail.isdigit() else None


BUILTIN = {"national": NationalProfile, "regional": RegionalProfile}


@lru_cache(maxsize=None)
def _plugins() -> dict[str, type]:
    return {ep.name: ep.load() for ep in entry_points(group="huiju.catalog_code_profiles")}


def profile(name: str) -> CodeProfile:
    """The code profile named by the setting (built in, or from a plugin)."""
    if name in BUILTIN:
        return BUILTIN[name]()
    plugin = _plugins().get(name)
    if plugin is None:
        raise Invalid("Unknown resource-code profile %(name)s", name=name)
    return plugin()
