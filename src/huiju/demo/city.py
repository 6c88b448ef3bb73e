"""The demo city 示例市 as plain data: regions, streets, departments and demo accounts."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

from huiju.ingest.validators import gb11714_check_char, gb32100_check_char

PROVINCE_CODE = "99"
PROVINCE_REGION_CODE = "990000"
PROVINCE_NAME = "示例省"
CITY_CODE = "9901"
CITY_REGION_CODE = "990100"
CITY_NAME = "示例市"
DEMO_PASSWORD = "huiju-demo-2026"

# Codes shaped like the city's own but never assigned, for the "unknown region" defect.
NONEXISTENT_REGION_CODES = ("990109", "990126", "990182", "990199")


@dataclass(frozen=True)
class Street:
    """A 街道/镇/乡 (GB/T 10114: 001–099 街道, 100–199 镇, 200–399 乡) so addresses and codes nest properly."""

    code: str
    name: str


@dataclass(frozen=True)
class Region:
    """A district or county with a rectangle outline, so maps and point coordinates stay inside it."""

    code: str
    name: str
    kind: str  # district | county | county_city
    bbox: tuple[float, float, float, float]  # west, south, east, north
    streets: tuple[Street, ...]

    @property
    def centroid(self) -> tuple[float, float]:
        west, south, east, north = self.bbox
        return round((west + east) / 2, 6), round((south + north) / 2, 6)

    @property
    def stem(self) -> str:
        """The name without 区/县/市, as used inside institution names."""
        return self.name[:-1]


def _region(code: str, name: str, kind: str, bbox: tuple[float, float, float, float], names: str) -> Region:
    """Number the streets the way GB/T 10114 does: 街道 from 001, 镇 from 101, 乡 from 201."""
    counters = {"街道": 0, "镇": 100, "乡": 200}
    streets = []
    for street in names.split():
        suffix = "街道" if street.endswith("街道") else street[-1]
        counters[suffix] += 1
        streets.append(Street(f"{code}{counters[suffix]:03d}", street))
    return Region(code, name, kind, bbox, tuple(streets))


# A 3×3 grid of cells over the city; the centre cell holds the seven urban districts.
REGIONS: tuple[Region, ...] = (
    _region("990102", "城关区", "district", (113.6, 31.45, 113.7, 31.6), "东关街道 西关街道 南关街道 北关街道 府前街道"),
    _region("990103", "东湖区", "district", (113.7, 31.45, 113.8, 31.6), "湖滨街道 东湖街道 桂园街道 柳岸街道"),
    _region("990104", "西岭区", "district", (113.8, 31.45, 113.9, 31.6), "西岭街道 松林街道 青石街道 枫桥街道"),
    _region("990105", "南屏区", "district", (113.9, 31.45, 114.0, 31.6), "南屏街道 翠屏街道 望江街道 花港街道"),
    _region("990106", "北辰区", "district", (113.6, 31.3, 113.733333, 31.45), "北辰街道 星河街道 长宁街道 和平街道"),
    _region("990107", "新港区", "district", (113.733333, 31.3, 113.866667, 31.45), "新港街道 海门街道 码头街道"),
    _region("990108", "滨江区", "district", (113.866667, 31.3, 114.0, 31.45), "滨江街道 沙洲街道 江岸街道 锦绣街道"),
    _region("990121", "清河县", "county", (113.2, 31.6, 114.0, 31.9), "清河镇 石门镇 白沙镇 杨柳乡"),
    _region("990122", "云山县", "county", (114.0, 31.6, 114.4, 31.9), "云山镇 龙泉镇 青松乡 竹林乡"),
    _region("990123", "石桥县", "county", (114.0, 31.0, 114.4, 31.6), "石桥镇 大营镇 马坊镇 河口乡"),
    _region("990124", "桃源县", "county", (113.6, 31.0, 114.0, 31.3), "桃源镇 李庄镇 梅岭乡"),
    _region("990125", "安平县", "county", (113.2, 31.0, 113.6, 31.3), "安平镇 安乐镇 长丰镇 双河乡"),
    _region("990181", "永宁市", "county_city", (113.2, 31.3, 113.6, 31.6), "永宁街道 城南街道 凤凰镇 金沙镇 黄土乡"),
)
REGION_BY_CODE: dict[str, Region] = {r.code: r for r in REGIONS}
# Cumulative population weights per region: urban districts are the densest.
REGION_CUM: tuple[int, ...] = tuple(
    accumulate(10 if r.kind == "district" else 8 if r.kind == "county_city" else 5 for r in REGIONS)
)
DISTRICTS: tuple[Region, ...] = tuple(r for r in REGIONS if r.kind == "district")
CITY_BBOX = (113.2, 31.0, 114.4, 31.9)


def make_uscc(prefix: str, region_code: str, body: str) -> str:
    """A GB 32100 code: 登记管理部门 + 机构类别, region, 8-char body with its GB 11714 check, then the check char."""
    first17 = f"{prefix}{region_code}{body}{gb11714_check_char(body)}"
    return first17 + gb32100_check_char(first17)


def agency_uscc(serial: int) -> str:
    """A 机关 (登记管理部门 1, 类别 1) credit code registered at city level, unique per serial."""
    return make_uscc("11", CITY_REGION_CODE, f"{12_300 + serial * 7:08d}")  # below the enterprises' 10 000 000


@dataclass(frozen=True)
class DemoDepartment:
    """A city bureau that hands data to the platform; `provides` lists dataset keys used in the manifest."""

    code: str
    name: str
    level: str = "city"
    region_code: str = CITY_REGION_CODE
    provides: tuple[str, ...] = ()
    short_name: str = ""
    uscc: str = ""


def _department(serial: int, code: str, name: str, short_name: str, provides: str) -> DemoDepartment:
    return DemoDepartment(code, name, provides=tuple(provides.split()), short_name=short_name, uscc=agency_uscc(serial))


DEPARTMENTS: tuple[DemoDepartment, ...] = (
    _department(1, "GA", "示例市公安局", "公安局", "population"),
    _department(2, "SJ", "示例市市场监督管理局", "市场监管局", "legal_entities licences penalties"),
    _department(3, "RS", "示例市人力资源和社会保障局", "人社局", "social_insurance"),
    _department(4, "WJ", "示例市卫生健康委员会", "卫健委", "medical_institutions"),
    _department(5, "JT", "示例市交通运输局", "交通局", "bus_swipes taxi_trips"),
    _department(6, "WL", "示例市文化广电旅游局", "文旅局", "scenic_flow"),
    _department(7, "HB", "示例市生态环境局", "生态环境局", "air_quality"),
    _department(8, "ZR", "示例市自然资源局", "自然资源局", "land_supply region_boundaries"),
    _department(9, "TJ", "示例市统计局", "统计局", "monthly_indicators"),
    _department(10, "FG", "示例市发展和改革委员会", "发改委", "credit_lists"),
    _department(11, "SW", "国家税务总局示例市税务局", "税务局", "enterprise_tax"),
    _department(12, "JY", "示例市教育局", "教育局", "schools students"),
    _department(13, "MZ", "示例市民政局", "民政局", "marriages social_organisations"),
)
DEPARTMENT_BY_CODE: dict[str, DemoDepartment] = {d.code: d for d in DEPARTMENTS}


@dataclass(frozen=True)
class DemoAccount:
    """A login the demo loader creates, all sharing DEMO_PASSWORD."""

    username: str
    display_name: str
    role: str  # operator | steward | dept_user | public
    department_code: str | None = None


DEMO_ACCOUNTS: list[DemoAccount] = [
    DemoAccount("operator", "平台运营管理员", "operator"),
    *(
        account
        for d in DEPARTMENTS
        for account in (
            DemoAccount(f"{d.code.lower()}_steward", f"{d.short_name}数据管理员", "steward", d.code),
            DemoAccount(f"{d.code.lower()}_user", f"{d.short_name}业务人员", "dept_user", d.code),
        )
    ),
    DemoAccount("public", "公众用户", "public"),
]
