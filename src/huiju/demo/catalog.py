"""The demo city's catalog: one entry per loaded dataset, registered by its steward, reviewed and published by
the operator, with the dataset mounted and its columns as data items (so the catalog pages have content)."""

from __future__ import annotations

from typing import Any

from huiju.auth.roles import Actor
from huiju.catalog import service as catalog_service
from huiju.storage.uow import Storage

# dataset key → (classification, item, theme, share type, condition, basis, open class, update cycle, level, abstract)
ENTRIES: dict[str, tuple[str, str, str | None, str, str | None, str | None, str, str, str, str]] = {
    "population": ("base", "population", "public_service", "conditional", "限履行法定职责的政务部门核验身份使用",
                   "《中华人民共和国居民身份证法》", "closed", "daily", "general_4",
                   "示例市户籍人口的身份证号、姓名、性别、出生日期、户籍地址等基础信息，人口基础库的权威来源。"),
    "legal_entities": ("base", "legal_entity", "credit_system", "unconditional", None, None, "conditional", "daily",
                       "general_2", "在示例市登记的企业和个体工商户的统一社会信用代码、名称、住所、法定代表人、注册资本等信息。"),
    "licences": ("base", "credit", "credit_system", "unconditional", None, None, "unconditional", "daily",
                 "general_1", "行政许可“双公示”信息：许可决定书文号、许可内容、相对人、许可机关和有效期。"),
    "penalties": ("base", "credit", "credit_system", "unconditional", None, None, "unconditional", "daily",
                  "general_1", "行政处罚“双公示”信息：处罚决定书文号、违法事实、处罚依据、处罚结果和处罚机关。"),
    "credit_lists": ("base", "credit", "credit_system", "unconditional", None, None, "unconditional", "monthly",
                     "general_1", "守信激励红名单和失信惩戒黑名单，供联合奖惩核查使用。"),
    "enterprise_tax": ("department", "provincial", "credit_system", "conditional", "仅限纳税信用评价和联合奖惩使用",
                       "《中华人民共和国税收征收管理法》第八条", "closed", "monthly", "general_3",
                       "企业按月申报的纳税额、欠税和纳税信用等级。"),
    "social_insurance": ("theme", "social_security", None, "conditional", "限社保经办、医保结算和救助审核使用",
                         "《中华人民共和国社会保险法》", "closed", "monthly", "general_4",
                         "职工和城乡居民养老、医疗（医保）、失业保险的参保、缴费状态。"),
    "medical_institutions": ("theme", "health", None, "unconditional", None, None, "unconditional", "quarterly",
                             "general_1", "全市医疗机构名录：名称、类别、等级、地址、医保定点情况和床位数。"),
    "bus_swipes": ("theme", "public_service", None, "conditional", "按线路、站点汇总使用，不得用于识别个人出行",
                   "《中华人民共和国个人信息保护法》", "conditional", "realtime", "general_3",
                   "公共交通（公交）刷卡记录：线路、站点、刷卡时间和卡类型，用于客流分析。"),
    "taxi_trips": ("theme", "public_service", None, "unconditional", None, None, "conditional", "daily",
                   "general_2", "出租车行程记录：上下车时间、位置、里程和金额，用于城市交通运行监测。"),
    "scenic_flow": ("theme", "emergency", None, "unconditional", None, None, "unconditional", "realtime",
                    "general_1", "重点景区实时客流和最大承载量，用于假日旅游预警。"),
    "air_quality": ("theme", "ecology", None, "unconditional", None, None, "unconditional", "realtime",
                    "general_1", "各监测站点逐小时空气质量：AQI、PM2.5、PM10、臭氧等。"),
    "land_supply": ("base", "geo", "urban_rural", "unconditional", None, None, "unconditional", "monthly",
                    "general_1", "国有建设用地供应信息：宗地位置、面积、用途、供应方式和成交价格。"),
    "region_boundaries": ("base", "geo", "urban_rural", "unconditional", None, None, "unconditional", "yearly",
                          "general_1", "区县、街道乡镇的行政区划边界（GeoJSON）。"),
    "monthly_indicators": ("department", "provincial", "price", "unconditional", None, None, "unconditional",
                           "monthly", "general_1", "国民经济主要指标月度数据：地区生产总值、居民消费价格指数等。"),
    "schools": ("theme", "public_service", None, "unconditional", None, None, "unconditional", "yearly",
                "general_1", "全市中小学和幼儿园名录：学校名称、类别、地址和学位数。"),
    "students": ("department", "provincial", "public_service", "conditional", "限教育管理和入学资格核验使用",
                 "《中华人民共和国教育法》", "closed", "yearly", "general_4",
                 "学生学籍信息：学籍号、姓名、身份证号、就读学校和年级。"),
    "marriages": ("department", "provincial", "community", "conditional", "限婚姻状况核验使用",
                  "《婚姻登记条例》", "closed", "daily", "general_4", "结婚、离婚登记信息。"),
    "social_organisations": ("department", "provincial", "community", "unconditional", None, None, "unconditional",
                             "monthly", "general_1", "社会团体、民办非企业单位和基金会的登记信息。"),
}
TYPE_CODES = {"string": "C", "integer": "I", "number": "N", "date": "D", "datetime": "T", "boolean": "L",
              "year": "N", "geojson": "M", "object": "M"}
FORMATS = {"csv": ("spreadsheet", "csv"), "xlsx": ("spreadsheet", "xlsx"), "json": ("self_describing", "json"),
           "geojson": ("self_describing", "geojson"), "sqlite": ("database", "SQLite")}
LEVEL_RANK = ["general_1", "general_2", "general_3", "general_4", "important", "core"]


def _items(dataset: Any, level: str, share: str) -> list[dict[str, Any]]:
    """The dataset's columns as data items; a sensitive column is shared no more freely than conditionally."""
    fields = (dataset.table_schema or {}).get("fields", [])
    keys = set((dataset.table_schema or {}).get("primaryKey") or [])
    items = []
    for f in fields:
        label = (dataset.labels or {}).get(f["name"]) or {}
        sensitivity = label.get("level") if label.get("level") in LEVEL_RANK else level
        if LEVEL_RANK.index(sensitivity) > LEVEL_RANK.index(level):
            sensitivity = level
        item_share = share
        if share == "unconditional" and sensitivity in ("general_3", "general_4"):
            item_share = "conditional"
        items.append({"name": f["name"], "type_code": TYPE_CODES.get(f.get("type", "string"), "C"),
                      "sensitivity": sensitivity, "share_type": item_share, "is_key": f["name"] in keys,
                      "column": f["name"]})
    return items


def publish_catalog(storage: Storage, actor: Actor, files: list[Any]) -> dict[str, int]:
    """Register, submit, approve and mount one entry per dataset of the manifest; returns key → entry id."""
    published: dict[str, int] = {}
    for spec in files:
        if spec.key not in ENTRIES:
            continue
        cls, item, theme, share, condition, basis, open_class, cycle, level, abstract = ENTRIES[spec.key]
        kind, fmt = FORMATS.get(spec.format, ("other", spec.format))
        with storage.uow() as uow:
            dataset = catalog_service.dataset_by_key(uow, actor, spec.key)
            fields = {"name": spec.dataset, "classification": cls, "item": item, "theme": theme,
                      "abstract": abstract, "format_kind": kind, "format_type": fmt, "share_type": share,
                      "share_condition": condition, "share_basis": basis,
                      "share_mode_type": "api" if kind == "database" else "file",
                      "open_class": open_class, "open_condition": "签订数据利用协议后使用" if open_class == "conditional"
                      else None, "update_cycle": cycle, "data_level": level,
                      "items": _items(dataset, level, share)}
            entry = catalog_service.register_entry(uow, actor, department_code=spec.department_code, fields=fields)
        with storage.uow() as uow:
            catalog_service.mount_dataset(uow, actor, entry.id, dataset.id)
        with storage.uow() as uow:
            catalog_service.submit_entry(uow, actor, entry.id)
        with storage.uow() as uow:
            catalog_service.approve_entry(uow, actor, entry.id, comment="示例数据：审核通过")
        published[spec.key] = entry.id
    return published
