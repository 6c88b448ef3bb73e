"""Word pools built once from Faker's zh_CN provider data plus fixed lists, so rows are drawn fast and reproducibly."""

from __future__ import annotations

import random
from bisect import bisect
from itertools import accumulate

from faker.providers.address.zh_CN import Provider as AddressProvider
from faker.providers.company.zh_CN import Provider as CompanyProvider
from faker.providers.person.zh_CN import Provider as PersonProvider
from faker.providers.phone_number.zh_CN import Provider as PhoneProvider

from huiju.demo.city import CITY_NAME, PROVINCE_NAME, REGIONS, Region, Street


def _gbk(text: str) -> bool:
    """True if GBK can hold the text; 人社 files are GBK, so every pooled name must be."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


SURNAMES: tuple[str, ...] = tuple(s for s in PersonProvider.last_names if _gbk(s))
SURNAME_CUM: tuple[float, ...] = tuple(accumulate(PersonProvider.last_names[s] for s in SURNAMES))
MALE_GIVEN: tuple[str, ...] = tuple(sorted({n for n in PersonProvider.first_names_male if _gbk(n)}))
FEMALE_GIVEN: tuple[str, ...] = tuple(sorted({n for n in PersonProvider.first_names_female if _gbk(n)}))
MALE_CHARS: tuple[str, ...] = tuple(sorted(set("".join(MALE_GIVEN)) | set("国建文志永春德宏俊浩博思睿哲")))
FEMALE_CHARS: tuple[str, ...] = tuple(sorted(set("".join(FEMALE_GIVEN)) | set("雪琳婷雯欣怡佳慧淑晓梦诗悦")))
MOBILE_PREFIXES: tuple[str, ...] = tuple(str(p) for p in PhoneProvider.phonenumber_prefixes)

ROAD_STEMS: tuple[str, ...] = tuple(AddressProvider.cities) + (
    "人民", "解放", "建设", "中山", "和平", "文化", "胜利", "新华", "长江", "黄河",
    "朝阳", "光明", "学府", "工业", "迎宾", "滨河", "青年", "幸福", "振兴", "育才",
)
ROAD_SUFFIXES = ("路", "路", "街", "大道", "东路", "西路", "南路", "北路")
COMPOUND_STEMS = (
    "阳光", "金色", "翠湖", "锦绣", "幸福", "和谐", "碧水", "蓝天", "书香", "紫荆",
    "香樟", "丽景", "万象", "御景", "滨江", "东方", "盛世", "凤凰", "欣悦", "雅居",
)
COMPOUND_SUFFIXES = ("小区", "花园", "家园", "苑", "公寓", "新村")
VILLAGE_STEMS = (
    "王家", "李家", "张庄", "刘营", "陈湾", "杨柳", "石岗", "双桥", "河西", "东岗",
    "前进", "红星", "新民", "三里", "五里", "八里", "龙王", "柏树", "大塘", "高坪",
)
ETHNIC_GROUPS = ("汉族", "回族", "满族", "壮族", "苗族", "土家族", "蒙古族", "彝族", "朝鲜族", "侗族")
ETHNIC_CUM = tuple(accumulate((920, 15, 12, 10, 9, 8, 8, 6, 6, 6)))

TRADE_CHARS = "华鑫泰瑞丰恒达盛源宏兴隆昌博凯信诚安康德嘉锦润通远卓越新天金辉晟宇航海峰川蓝百佳美优星鼎弘裕福顺祥明"
# Faker's 字号 minus those naming a real city, an industry or with Latin letters (a 示例市 firm would not carry them).
TRADE_NAMES: tuple[str, ...] = tuple(
    p
    for p in dict.fromkeys(CompanyProvider.company_prefixes)
    if 2 <= len(p) <= 3
    and not any(c.isascii() or c in "司电科软信脑" for c in p)
    and not any(city[:2] in p for city in AddressProvider.cities)
)
INDUSTRIES = (
    "科技", "贸易", "建筑工程", "餐饮管理", "物流", "医药", "农业发展", "房地产开发", "机械制造", "电子",
    "食品", "文化传媒", "环保科技", "新能源", "纺织", "化工", "汽车销售", "物业管理", "教育咨询", "旅游开发",
    "信息技术", "建材", "家具", "服装", "商贸", "生物科技", "劳务服务", "广告", "装饰工程", "供应链管理",
)
COMPANY_FORMS = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "集团有限公司")
SHOP_KINDS = ("餐饮店", "便利店", "五金店", "理发店", "水果店", "汽车修理部", "服装店", "小吃店", "烟酒店", "药店")


def weighted_index(cum: tuple[float, ...], rng: random.Random) -> int:
    """Pick an index with weights given as a cumulative tuple (bisect is far faster than choices() per call)."""
    return bisect(cum, rng.random() * cum[-1])


def mobile(rng: random.Random) -> str:
    return f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(100_000_000):08d}"


class NamePools:
    """Male and female full names, drawn once; people store an index into these instead of a string."""

    def __init__(self, rng: random.Random, size: int) -> None:
        self.male = [self._name(rng, MALE_GIVEN, MALE_CHARS) for _ in range(size)]
        self.female = [self._name(rng, FEMALE_GIVEN, FEMALE_CHARS) for _ in range(size)]

    @staticmethod
    def _name(rng: random.Random, given: tuple[str, ...], chars: tuple[str, ...]) -> str:
        surname = SURNAMES[weighted_index(SURNAME_CUM, rng)]
        roll = rng.random()
        if roll < 0.35:
            return surname + rng.choice(given)
        if roll < 0.5:
            return surname + rng.choice(chars)
        return surname + rng.choice(chars) + rng.choice(chars)

    def any_name(self, rng: random.Random) -> str:
        return rng.choice(self.male if rng.random() < 0.5 else self.female)

    def variant(self, name: str, rng: random.Random) -> str:
        """The same person's name as another office typed it: one given-name character differs."""
        chars = MALE_CHARS + FEMALE_CHARS
        pos = rng.randrange(1, len(name))
        new = rng.choice([c for c in chars if c != name[pos]])
        return name[:pos] + new + name[pos + 1 :]


class Gazetteer:
    """Roads, compounds and villages per region, drawn once so every dataset shares one street map."""

    ROADS_PER_REGION = 10

    def __init__(self, rng: random.Random) -> None:
        roads = [stem + suffix for stem in ROAD_STEMS for suffix in dict.fromkeys(ROAD_SUFFIXES)]
        rng.shuffle(roads)
        self.roads = {
            r.code: roads[n * self.ROADS_PER_REGION : (n + 1) * self.ROADS_PER_REGION] for n, r in enumerate(REGIONS)
        }
        compounds = [stem + suffix for stem in COMPOUND_STEMS for suffix in COMPOUND_SUFFIXES]
        self.compounds = {r.code: rng.sample(compounds, 8) for r in REGIONS}
        self.villages = {s.code: rng.sample(VILLAGE_STEMS, 6) for r in REGIONS for s in r.streets if s.code[6] in "12"}

    def home(self, region: Region, rng: random.Random) -> tuple[Street, str]:
        """A 户籍 address: a flat in a compound under a 街道, or a house in a village under a 镇/乡."""
        street = rng.choice(region.streets)
        if street.code in self.villages:
            detail = f"{rng.choice(self.villages[street.code])}村{rng.randint(1, 12)}组{rng.randint(1, 120)}号"
        else:
            detail = (
                f"{rng.choice(self.roads[region.code])}{rng.randint(1, 300)}号{rng.choice(self.compounds[region.code])}"
                f"{rng.randint(1, 30)}栋{rng.randint(1, 4)}单元{rng.randint(1, 32)}{rng.randint(1, 6):02d}室"
            )
        return street, f"{PROVINCE_NAME}{CITY_NAME}{region.name}{street.name}{detail}"

    def premises(self, region: Region, rng: random.Random) -> str:
        """A business or institution address on a road."""
        street = rng.choice(region.streets)
        road = rng.choice(self.roads[region.code])
        return f"{PROVINCE_NAME}{CITY_NAME}{region.name}{street.name}{road}{rng.randint(1, 500)}号"

    @staticmethod
    def point(region: Region, rng: random.Random) -> tuple[float, float]:
        """A lon/lat inside the region's outline, kept off its edges."""
        west, south, east, north = region.bbox
        return (
            round(west + (east - west) * (0.1 + 0.8 * rng.random()), 6),
            round(south + (north - south) * (0.1 + 0.8 * rng.random()), 6),
        )
