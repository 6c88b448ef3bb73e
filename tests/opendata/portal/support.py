"""Helpers of the portal tests: open datasets to act on, fake real-name service, logins over HTTP."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from sqlalchemy import select

from huiju.auth.roles import Actor
from huiju.catalog import service as catalog_service
from huiju.opendata.models import OpenDataset, OpenStatus
from huiju.storage.uow import Storage


@dataclass
class FakeRealName:
    """Stands in for the bureau's verification service (an outside system)."""

    codes: dict[str, str] = field(default_factory=lambda: {"13800138000": "246810"})
    people: dict[str, str] = field(default_factory=lambda: {"11010519491231002X": "张三"})
    asked: list[str] = field(default_factory=list)

    def check_phone(self, phone: str, code: str) -> str | None:
        self.asked.append(phone)
        return f"sms-{phone[-4:]}" if self.codes.get(phone) == code else None

    def check_identity(self, name: str, id_number: str) -> str | None:
        self.asked.append(id_number)
        return f"id-{len(self.asked)}" if self.people.get(id_number) == name else None


_keys = itertools.count(1)

ENTRY = {
    "name": "示例市公共停车场信息",
    "classification": "theme",
    "item": "public_service",
    "abstract": "公共停车场名称、地址、泊位数与经纬度。",
    "format_kind": "spreadsheet",
    "format_type": "csv",
    "share_type": "unconditional",
    "share_mode_type": "file",
    "open_class": "unconditional",
    "update_cycle": "monthly",
    "data_level": "general_1",
    "items": [{"name": "停车场名称", "type_code": "C", "length": 100}, {"name": "泊位数", "type_code": "I"}],
}


def published_entry(storage: Storage, system: Actor, *, name: str, open_class: str, dept: str = "GA") -> int:
    """A published catalog entry with a published open dataset of ``open_class``; returns the entry id.

    The open dataset row is written directly: opening review and derivation are another test's subject.
    """
    with storage.uow() as uow:
        ds = catalog_service.register_dataset(uow, system, key=f"{dept.lower()}_open_{next(_keys)}", name=name,
                                              department_code=dept)
        entry = catalog_service.register_entry(uow, system, department_code=dept,
                                               fields={**ENTRY, "name": name, "open_class": open_class,
                                                       "open_condition": "实名认证并签署数据利用协议" if open_class == "conditional" else None})
        catalog_service.submit_entry(uow, system, entry.id)
        catalog_service.approve_entry(uow, system, entry.id)
        uow.add(OpenDataset(uid=f"00000000-0000-0000-0000-{entry.id:012d}", name=f"{dept.lower()}-{entry.id}",
                            title=name, entry_id=entry.id, dataset_id=ds.id, open_key=f"open_{ds.key}",
                            department_id=ds.department_id, open_class=open_class, status=OpenStatus.PUBLISHED))
        uow.commit()
        assert uow.session.scalar(select(OpenDataset.id).where(OpenDataset.entry_id == entry.id))
        return entry.id
