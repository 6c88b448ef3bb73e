"""The demo city's 一数一源 registry and which columns of its datasets carry each element: data only.

The demo loader registers these through ``service.register_element`` and ``service.map_column``.
"""

from __future__ import annotations

from typing import Any

# GB/T 2261.1 sex codes: 0 unknown, 1 male, 2 female, 9 not stated; departments that write 男/女 are folded
SEX_CODES = {"男": "1", "女": "2", "男性": "1", "女性": "2", "未知": "0", "未知的性别": "0", "未说明": "9",
             "未说明的性别": "9"}


def default_elements() -> list[dict[str, Any]]:
    """人口 elements with 公安 (GA) as the authority, 法人 elements with 市场监管 (SJ); each subject's key first."""
    person = [
        ("person.id_number", "身份证号", {}),
        ("person.name", "姓名", {}),
        ("person.gender", "性别", SEX_CODES),
        ("person.birth_date", "出生日期", {}),
        ("person.household_address", "户籍地址", {}),
    ]
    legal_entity = [
        ("legal_entity.uscc", "统一社会信用代码", {}),
        ("legal_entity.name", "企业名称", {}),
        ("legal_entity.legal_representative", "法定代表人", {}),
        ("legal_entity.registered_capital", "注册资本（万元）", {}),
        ("legal_entity.established_on", "成立日期", {}),
        ("legal_entity.registration_status", "登记状态", {}),
        ("legal_entity.address", "住所", {}),
    ]
    return ([{"code": c, "name": n, "subject": "person", "authority_department_code": "GA", "value_codes": v}
             for c, n, v in person]
            + [{"code": c, "name": n, "subject": "legal_entity", "authority_department_code": "SJ", "value_codes": v}
               for c, n, v in legal_entity])


def default_mappings() -> list[dict[str, str]]:
    """(dataset key, column, element code) of the demo datasets that carry registered elements."""
    rows = [
        ("population", "GMSFHM", "person.id_number"),
        ("population", "XM", "person.name"),
        ("population", "XB", "person.gender"),
        ("population", "CSRQ", "person.birth_date"),
        ("population", "HJDZ_DZMC", "person.household_address"),
        ("social_insurance", "社会保障号码", "person.id_number"),
        ("social_insurance", "姓名", "person.name"),
        ("social_insurance", "性别", "person.gender"),
        ("social_insurance", "出生日期", "person.birth_date"),
        ("legal_entities", "统一社会信用代码", "legal_entity.uscc"),
        ("legal_entities", "企业名称", "legal_entity.name"),
        ("legal_entities", "法定代表人", "legal_entity.legal_representative"),
        ("legal_entities", "注册资本（万元）", "legal_entity.registered_capital"),
        ("legal_entities", "成立日期", "legal_entity.established_on"),
        ("legal_entities", "登记状态", "legal_entity.registration_status"),
        ("legal_entities", "住所", "legal_entity.address"),
        ("enterprise_tax", "纳税人识别号", "legal_entity.uscc"),
        ("enterprise_tax", "纳税人名称", "legal_entity.name"),
        ("enterprise_tax", "法定代表人", "legal_entity.legal_representative"),
        ("enterprise_tax", "注册资本（万元）", "legal_entity.registered_capital"),
    ]
    return [{"dataset_key": d, "column": c, "element_code": e} for d, c, e in rows]
