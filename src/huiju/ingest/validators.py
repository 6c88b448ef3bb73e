"""Chinese identifier validators (GB 11643, GB 32100, GB 11714, GB/T 2260, mobile, bank card), written in-house.

python-stdnum rejects valid GB 11643 examples, so these follow the standards directly
(algorithms and test vectors: cn-standards.md §4). Every check returns a `Check`; warnings keep `ok` true.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"
USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Patterns are RE2-compatible and ASCII-only so validators_sql.py reuses them verbatim in DuckDB.
ID18_PATTERN = "[0-9]{17}[0-9X]"
ID15_PATTERN = "[0-9]{15}"
USCC_PATTERN = "[0-9A-HJ-NP-RTUWXY]{18}"
ORG_PATTERN = "[0-9A-Z]{8}-?[0-9X]"
REGION_PATTERN = "[0-9]{6}"
MOBILE_PATTERN = r"(?:\+?86[ -]?)?(1[3-9][0-9]{9})"
BANK_CARD_PATTERN = "[0-9]{16,19}"

DEMO_PROVINCE = "99"  # fictional province of the demo city; never assigned by GB/T 2260
PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
) | {DEMO_PROVINCE}

# GB 32100-2015 表1: registration department code -> institution kind codes.
USCC_KINDS = {
    "1": "1239", "2": "19", "3": "123459", "4": "19", "5": "1239", "6": "129",
    "7": "129", "8": "19", "9": "123", "A": "19", "N": "1239", "Y": "1",
}  # fmt: skip

# Real codes from early pilots whose check character does not follow GB 32100 (bluesky335/IDCheck, cn-standards.md
# §4.2). The subjects still hold them, so rejecting would block real records: accept them with a warning instead.
EARLY_PILOT_USCC = frozenset({"91350100M0001TGQXM", "91350211M0000XUF46", "91350203M0001FUE2P"})

STRIP_CHARS = " \t\r\n\u00a0\u3000"
# Full-width ASCII block (U+FF01-FF5E) and ASCII lowercase fold to ASCII uppercase; other letters are left alone
# so that str.upper() oddities (e.g. "ﬁ" -> "FI") cannot turn garbage into a valid code.
FOLD_FROM = "".join(map(chr, range(0xFF01, 0xFF5F))) + string.ascii_lowercase
FOLD_TO = "".join(chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)).upper() + string.ascii_uppercase
_FOLD = str.maketrans(FOLD_FROM, FOLD_TO)

REASONS_ZH = {
    "invalid format": "格式错误",
    "invalid characters": "含有代码字符集之外的字符（不使用 I、O、Z、S、V）",
    "check digit mismatch": "校验码错误",
    "unknown province code": "省级行政区划代码不存在",
    "invalid birth date": "出生日期不是有效日期",
    "birth date in the future": "出生日期晚于当前日期",
    "legacy 15-digit number": "15 位旧号码，已升级为 18 位",
    "unknown registration department": "登记管理部门代码不存在",
    "unknown institution kind": "机构类别代码不属于该登记管理部门",
    "early-pilot code with non-standard check character": "早期试点赋予的代码，校验码不符合 GB 32100",
    "embedded org code check mismatch": "主体标识码（组织机构代码）校验码不符合 GB 11714",
    "invalid prefecture code": "地市级代码（第 3–4 位）不符合 GB/T 2260 编码规则",
    "invalid county code": "县级代码（第 5–6 位）不符合 GB/T 2260 编码规则",
    "not in region table": "不在行政区划代码表中",
}


@dataclass(frozen=True)
class Check:
    """Outcome of one validation; `normalized` is the canonical value, None when the value is rejected."""

    ok: bool
    level: str  # "ok" | "warning" | "error"
    reasons: tuple[str, ...]
    normalized: str | None

    @property
    def reasons_zh(self) -> tuple[str, ...]:
        return tuple(REASONS_ZH[r] for r in self.reasons)


def _result(errors: list[str], warnings: list[str], normalized: str) -> Check:
    """Errors win over warnings; all reasons are kept so a rejected value still shows every problem."""
    level = "error" if errors else "warning" if warnings else "ok"
    return Check(not errors, level, tuple(errors + warnings), None if errors else normalized)


def _error(reason: str) -> Check:
    return Check(False, "error", (reason,), None)


def normalize_identifier(value: str) -> str:
    """Strip surrounding (incl. full-width) spaces, fold full-width characters to ASCII and uppercase ASCII."""
    return value.strip(STRIP_CHARS).translate(_FOLD)


def gb11643_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a citizen ID's first 17 digits."""
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def gb32100_check_char(first17: str) -> str:
    """The check character of a unified social credit code (note the outer mod 31 when the sum is 0)."""
    total = sum(USCC_CHARS.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_CHARS[(31 - total % 31) % 31]


def gb11714_check_char(first8: str) -> str:
    """The check character of an organisation code body (digits and A-Z)."""
    total = sum(int(c, 36) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    c9 = 11 - total % 11
    return "X" if c9 == 10 else "0" if c9 == 11 else str(c9)


def _parse_yyyymmdd(text: str) -> date | None:
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def upgrade_citizen_id(id15: str) -> str:
    """GB 11643-1989 -> 1999: the 15-digit number omits the century "19" and has no check character."""
    first17 = id15[:6] + "19" + id15[6:]
    return first17 + gb11643_check_char(first17)


def check_citizen_id(value: str, *, today: date | None = None) -> Check:
    """GB 11643 citizen ID: format, known province, real birth date not after `today`, checksum."""
    v = normalize_identifier(value)
    if re.fullmatch(ID18_PATTERN, v):
        full, warnings = v, []
    elif re.fullmatch(ID15_PATTERN, v):
        full, warnings = upgrade_citizen_id(v), ["legacy 15-digit number"]
    else:
        return _error("invalid format")
    errors = []
    if full[:2] not in PROVINCE_PREFIXES:
        errors.append("unknown province code")
    birth = _parse_yyyymmdd(full[6:14])
    if birth is None:
        errors.append("invalid birth date")
    elif birth > (today or date.today()):
        errors.append("birth date in the future")
    if gb11643_check_char(full[:17]) != full[17]:
        errors.append("check digit mismatch")
    return _result(errors, warnings, full)


def check_uscc(value: str) -> Check:
    """GB 32100 unified social credit code; region, kind and embedded org code problems are only warnings."""
    v = normalize_identifier(value)
    if not re.fullmatch(USCC_PATTERN, v):
        return _error("invalid characters" if len(v) == 18 else "invalid format")
    errors, warnings = [], []
    kinds = USCC_KINDS.get(v[0])
    if kinds is None:
        errors.append("unknown registration department")
    elif v[1] not in kinds:
        warnings.append("unknown institution kind")
    if v[2:4] not in PROVINCE_PREFIXES:
        warnings.append("unknown province code")
    if gb32100_check_char(v[:17]) != v[17]:
        if v in EARLY_PILOT_USCC:
            warnings.append("early-pilot code with non-standard check character")
        else:
            errors.append("check digit mismatch")
    if gb11714_check_char(v[8:16]) != v[16]:
        warnings.append("embedded org code check mismatch")
    return _result(errors, warnings, v)


def check_org_code(value: str) -> Check:
    """GB 11714 organisation code, `XXXXXXXX-X` or 9 characters; normalised to the 9-character form."""
    v = normalize_identifier(value)
    if not re.fullmatch(ORG_PATTERN, v):
        return _error("invalid format")
    v = v.replace("-", "")
    return _result(["check digit mismatch"] if gb11714_check_char(v[:8]) != v[8] else [], [], v)


def _prefecture_ok(code: str) -> bool:
    """Positions 3-4: 00 province summary, 01-20/51-70 cities, 21-50 prefectures, 90 province-administered counties."""
    return code == "90" or 0 <= int(code) <= 70


def check_region_code(value: str, known: Collection[str] | None = None) -> Check:
    """GB/T 2260 structure; pass `known` (a versioned code table) to also require the code to exist."""
    v = normalize_identifier(value)
    if not re.fullmatch(REGION_PATTERN, v):
        return _error("invalid format")
    errors = []
    if v[:2] not in PROVINCE_PREFIXES:
        errors.append("unknown province code")
    if not _prefecture_ok(v[2:4]):
        errors.append("invalid prefecture code")
    elif v[2:4] == "00" and v[4:] != "00":
        errors.append("invalid county code")  # a county always sits under a prefecture-level (or 90) code
    if known is not None and v not in known:
        errors.append("not in region table")
    return _result(errors, [], v)


def check_mobile(value: str) -> Check:
    """Mainland mobile number, optionally prefixed +86/86; normalised to the 11 digits."""
    m = re.fullmatch(MOBILE_PATTERN, normalize_identifier(value))
    return _result([], [], m.group(1)) if m else _error("invalid format")


def luhn_ok(digits: str) -> bool:
    """ISO/IEC 7812 Luhn: double every second digit from the right, digit-sum, total divisible by 10."""
    total = sum(d if i % 2 == 0 else 2 * d % 10 + 2 * d // 10 for i, d in enumerate(map(int, reversed(digits))))
    return total % 10 == 0


def check_bank_card(value: str) -> Check:
    """Bank card number: 16-19 digits with a Luhn check; spaces between digit groups are ignored."""
    v = normalize_identifier(value).replace(" ", "")
    if not re.fullmatch(BANK_CARD_PATTERN, v):
        return _error("invalid format")
    return _result([] if luhn_ok(v) else ["check digit mismatch"], [], v)
