"""The Table Schemas the demo city's stewards declare for their datasets, derived from the manifest.

A real steward confirms a schema field by field; for the demo the same decisions are written once as
naming conventions of the departments' files (dates end in 日期, amounts carry a unit, codes are named
after the standard they follow), plus the known region-code table of 示例市 so a code that does not
exist is caught, not just a malformed one.
"""

from __future__ import annotations

import re
from typing import Any

from huiju.demo import city
from huiju.demo.manifest import DataFile

DATE = re.compile(r"(日期|有效期自|有效期至|公示截止期|^CSRQ$)")
DATETIME = re.compile(r"(时间$|^time$|^GXSJ$)")
NUMBER = re.compile(r"(（万元）|（元）|（公顷）|（公里）|（μg/m³）|（mg/m³）|（%）|^AQI$|床位数|人员数|经度|纬度|"
                    r"^inParkCount$|^maxCapacity$|^本月值$|^累计值$)")
USCC = re.compile(r"(统一社会信用代码|^纳税人识别号$)")
CITIZEN_ID = re.compile(r"(身份证|^GMSFHM$|^社会保障号码$|身份证件号)")
REGION = re.compile(r"(行政区划代码$|^HJDZ_XZQHDM$|^regionCode$)")


def known_region_codes() -> list[str]:
    """Every code of the demo province: province, city, districts and counties."""
    return sorted({city.PROVINCE_REGION_CODE, city.CITY_REGION_CODE, *city.REGION_BY_CODE})


def field_for(name: str, required: bool, *, spreadsheet: bool = False) -> dict[str, Any]:
    """``name`` is the column's own label (the last part of a merged header) for the conventions."""
    field: dict[str, Any] = {"name": name, "type": "string"}
    if DATETIME.search(name):
        field["type"] = "datetime"
    elif DATE.search(name):
        field["type"] = "date"
        if spreadsheet:
            field["huiju:excelSerial"] = True  # a date typed into a General cell arrives as its serial
    elif NUMBER.search(name):
        field["type"] = "number"
    elif USCC.search(name):
        field["format"] = "gb32100"
    elif CITIZEN_ID.search(name):
        field["format"] = "gb11643"
    if required:
        field["constraints"] = {"required": True}
    return field


def schema_for(spec: DataFile, file_columns: list[str]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(Table Schema descriptor, extra rules) for one demo dataset, named as the file's header reads.

    A merged two-row header arrives as "基本信息/机构名称"; the manifest names the column 机构名称.
    """
    actual = {c: next((f for f in file_columns if f == c or f.endswith("/" + c)), c) for c in spec.columns}
    spreadsheet = spec.format in ("xlsx", "xls")
    fields = []
    for c in spec.columns:
        field = field_for(c, c in spec.required, spreadsheet=spreadsheet)
        field["name"] = actual[c]
        fields.append(field)
    descriptor: dict[str, Any] = {"fields": fields, "primaryKey": [actual[k] for k in spec.primary_key]}
    known = known_region_codes()
    rules = [{"kind": "region_code", "field": actual[c], "known": known} for c in spec.columns if REGION.search(c)]
    return descriptor, rules
