"""A large synthetic 法人 (legal-entity) CSV for the ingest benchmark, written fast and deterministically.

The demo generator writes sj_legal_entities.csv with at most 1,000,000 rows and builds the whole demo city
on the way; this writes any number of rows directly, reusing the demo's pools and code builders
(``huiju.demo.enterprises.org_body`` gives a unique 主体标识码 body per row, ``huiju.demo.city.make_uscc`` the
GB 32100 code with both check characters). Besides the demo's ten columns it carries the legal
representative's citizen ID (法定代表人证件号码, GB 11643), so both check-digit validators run over every row.

Planted defects (fractions of rows, deterministic from the seed): 0.5 % wrong USCC check character, 0.1 %
wrong citizen-ID check character, 0.2 % empty 法定代表人 (required), 0.2 % a region code that does not exist,
0.2 % a repeated USCC (primary key), and 1 % of founding dates in other written forms (2020年1月5日, 2020.1.5,
20200105) that standardisation repairs rather than rejects.
"""

from __future__ import annotations

import codecs
import csv
import random
from datetime import date
from pathlib import Path

from huiju.demo.city import (
    CITY_NAME,
    CITY_REGION_CODE,
    NONEXISTENT_REGION_CODES,
    PROVINCE_NAME,
    REGIONS,
    make_uscc,
)
from huiju.demo.enterprises import (
    COMPANY_TYPES,
    SHARE_COMPANY_TYPE,
    STATUSES,
    org_body,
)
from huiju.demo.pools import (
    COMPANY_FORMS,
    INDUSTRIES,
    MALE_CHARS,
    ROAD_STEMS,
    SHOP_KINDS,
    SURNAMES,
    TRADE_CHARS,
)
from huiju.ingest.validators import ID_CHECK, USCC_CHARS, gb11643_check_char

VERSION = 1  # bump when the generated content changes, so cached files are not reused
COLUMNS = ["统一社会信用代码", "企业名称", "企业类型", "法定代表人", "法定代表人证件号码", "注册资本（万元）",
           "成立日期", "登记状态", "住所", "行政区划代码", "登记机关"]
CAPITALS = ("10.00", "30.00", "50.00", "100.00", "200.00", "300.00", "500.00", "1000.00", "2000.00", "5000.00")
SHOP_CAPITALS = ("1.00", "2.00", "3.00", "5.00", "10.00")
FIRST_DAY, LAST_DAY = date(1995, 1, 1).toordinal(), date(2026, 9, 30).toordinal()
BIRTH_FIRST, BIRTH_LAST = date(1950, 1, 1).toordinal(), date(2000, 12, 31).toordinal()


def schema() -> tuple[dict, list[dict]]:
    """The steward's confirmed Table Schema and extra rules: every validator the table can have is on."""
    known = sorted({"990000", CITY_REGION_CODE, *(r.code for r in REGIONS)})
    fields = [
        {"name": "统一社会信用代码", "type": "string", "format": "gb32100", "constraints": {"required": True}},
        {"name": "企业名称", "type": "string", "constraints": {"required": True, "maxLength": 100}},
        {"name": "企业类型", "type": "string"},
        {"name": "法定代表人", "type": "string", "constraints": {"required": True}},
        {"name": "法定代表人证件号码", "type": "string", "format": "gb11643"},
        {"name": "注册资本（万元）", "type": "number", "constraints": {"minimum": 0}},
        {"name": "成立日期", "type": "date", "constraints": {"required": True}},
        {"name": "登记状态", "type": "string", "constraints": {"required": True, "enum": list(STATUSES)}},
        {"name": "住所", "type": "string"},
        {"name": "行政区划代码", "type": "string"},
        {"name": "登记机关", "type": "string"},
    ]
    rules = [{"kind": "region_code", "field": "行政区划代码", "known": known},
             {"kind": "not_future", "field": "成立日期"}]
    return {"fields": fields, "primaryKey": ["统一社会信用代码"]}, rules


def _other_date_form(d: date, k: int) -> str:
    return (f"{d.year}年{d.month}月{d.day}日", f"{d.year}.{d.month}.{d.day}", d.strftime("%Y%m%d"))[k % 3]


def write_utf8(path: Path, rows: int, seed: int = 2026) -> None:
    """Write ``rows`` data rows (plus the header) to ``path`` as UTF-8."""
    rng = random.Random(seed)
    rand, randint, choice = rng.random, rng.randint, rng.choice
    roads = [stem + suffix for stem in ROAD_STEMS for suffix in ("路", "街", "大道")]
    tmp = path.with_suffix(".tmp")
    recent: list[str] = []
    with open(tmp, "w", encoding="utf-8", newline="", buffering=1 << 20) as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(COLUMNS)
        for i in range(rows):
            region = choice(REGIONS)
            individual = rand() < 0.15
            founded = date.fromordinal(randint(FIRST_DAY, LAST_DAY))
            at_city = not individual and rand() < 0.1
            registrar_region = CITY_REGION_CODE if at_city else region.code
            uscc = make_uscc("92" if individual else "91", registrar_region, org_body(i, founded))
            trade = choice(TRADE_CHARS) + choice(TRADE_CHARS)
            if individual:
                name, kind, capital = f"{region.name}{trade}{choice(SHOP_KINDS)}", "个体工商户", choice(SHOP_CAPITALS)
            else:
                form = choice(COMPANY_FORMS)
                name = f"{choice((CITY_NAME, region.stem, ''))}{trade}{choice(INDUSTRIES)}{form}"
                kind = SHARE_COMPANY_TYPE if form == "股份有限公司" else choice(COMPANY_TYPES)
                capital = choice(CAPITALS)
            rep = choice(SURNAMES) + choice(MALE_CHARS) + (choice(MALE_CHARS) if rand() < 0.7 else "")
            birth = date.fromordinal(randint(BIRTH_FIRST, BIRTH_LAST)).strftime("%Y%m%d")
            id17 = f"{region.code}{birth}{randint(0, 999):03d}"
            citizen_id = id17 + gb11643_check_char(id17)
            founded_text = founded.isoformat()
            region_code = region.code
            # Planted defects, at most one per row.
            r = rand()
            if r < 0.005:
                uscc = uscc[:-1] + choice([c for c in USCC_CHARS if c != uscc[-1]])
            elif r < 0.006:
                citizen_id = id17 + choice([c for c in ID_CHECK if c != citizen_id[-1]])
            elif r < 0.008:
                rep = ""
            elif r < 0.010:
                region_code = choice(NONEXISTENT_REGION_CODES)
            elif r < 0.012 and recent:
                uscc = choice(recent)
            elif r < 0.022:
                founded_text = _other_date_form(founded, i)
            if i % 997 == 0:
                recent = [*recent[-99:], uscc]
            address = f"{PROVINCE_NAME}{CITY_NAME}{region.name}{choice(roads)}{randint(1, 500)}号"
            registrar = f"{CITY_NAME if at_city else region.name}市场监督管理局"
            out.writerow((uscc, name, kind, rep, citizen_id, capital, founded_text, choice(STATUSES), address,
                          region_code, registrar))
    tmp.replace(path)


def reencode(src: Path, dst: Path, encoding: str = "gb18030") -> None:
    """The same text in another encoding, streamed in 4 MiB pieces."""
    tmp = dst.with_suffix(".tmp")
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(src, "rb") as fin, open(tmp, "wb") as fout:
        while chunk := fin.read(4 << 20):
            fout.write(decoder.decode(chunk).encode(encoding))
        fout.write(decoder.decode(b"", final=True).encode(encoding))
    tmp.replace(dst)


def ensure_files(out_dir: Path, rows: int, *, gb18030: bool = True) -> tuple[Path, Path]:
    """(UTF-8 file, GB18030 file) for ``rows`` rows, generated once and reused from ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    utf8 = out_dir / f"legal_entities_v{VERSION}_{rows}.utf8.csv"
    gb = out_dir / f"legal_entities_v{VERSION}_{rows}.gb18030.csv"
    if not utf8.exists():
        write_utf8(utf8, rows)
    if gb18030 and not gb.exists():
        reencode(utf8, gb)
    return utf8, gb
