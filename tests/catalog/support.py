"""Entry metadata used by the catalog tests."""

from __future__ import annotations

import copy
from typing import Any

LEGAL_ENTITIES: dict[str, Any] = {
    "name": "法人单位基本信息",
    "classification": "base",
    "item": "legal_entity",
    "abstract": "本市登记的法人单位名称、统一社会信用代码、住所、法定代表人等基本信息，用于市场监管和医保结算核验。",
    "format_kind": "database",
    "format_type": "PostgreSQL",
    "share_type": "有条件共享",
    "share_condition": "仅限履行市场监管、税收征管职责使用",
    "share_basis": "《政务信息资源共享管理暂行办法》（国发〔2016〕51号）第九条",
    "share_mode_type": "api",
    "open_class": "closed",
    "update_cycle": "每日",
    "data_level": "general_3",
    "related_codes": ["102001SJ/0002"],
    "items": [
        {"name": "统一社会信用代码", "type_code": "C", "length": 18, "is_key": True, "column": "统一社会信用代码"},
        {"name": "企业名称", "type_code": "C", "length": 200, "column": "企业名称"},
        {"name": "法定代表人身份证号", "type_code": "C", "length": 18, "sensitivity": "general_4",
         "share_type": "none"},
        {"name": "成立日期", "type_code": "D"},
    ],
}

BUS_LINES: dict[str, Any] = {
    "name": "城市公共交通线路信息",
    "classification": "theme",
    "item": "public_service",
    "abstract": "公交线路、站点与首末班时间。",
    "format_kind": "spreadsheet",
    "format_type": "xlsx",
    "share_type": "unconditional",
    "share_mode_type": "file",
    "open_class": "unconditional",
    "update_cycle": "monthly",
    "data_level": "general_1",
    "items": [{"name": "线路名称", "type_code": "C", "length": 50}, {"name": "站点数", "type_code": "I"}],
}


def entry(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(base)
    out.update(changes)
    return out
