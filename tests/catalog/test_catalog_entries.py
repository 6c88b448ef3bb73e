"""Catalog entries: metadata rules, resource codes, lifecycle, review, history, mounting, visibility."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from huiju.catalog import codes, service
from huiju.catalog.models import CatalogChange
from huiju.errors import Conflict, Forbidden, Invalid, NotFound
from huiju.i18n import set_locale
from huiju.security.audit import verify_chain
from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES, entry


@pytest.fixture(autouse=True)
def chinese():
    set_locale("zh_CN")
    yield
    set_locale("zh_CN")


def register(storage, actor, fields=LEGAL_ENTITIES, dept="GA"):
    with storage.uow() as uow:
        return service.register_entry(uow, actor, department_code=dept, fields=fields)


def test_register_generates_the_national_code_and_keeps_the_metadata(storage, people, backend):
    first = register(storage, people["ga_steward"])
    second = register(storage, people["ga_steward"], entry(LEGAL_ENTITIES, name="法人单位变更信息"))
    bus = register(storage, people["ga_steward"], BUS_LINES)
    # 类 1 (基础) + 项 02 (法人) + 目 001 + 细目 GA / 顺序码
    assert first.code == "102001GA/0001" and second.code == "102001GA/0002"
    assert bus.code == "201001GA/0001"  # 主题 + 公共服务
    with storage.uow() as uow:
        got = service.get_entry(uow, people["ga_user"], first.id)
        assert got.state == "draft"
        assert (got.share_type, got.update_cycle, got.open_class) == ("conditional", "daily", "closed")
        assert got.provider_name == "示例市公安局" and got.provider_code == "GA"
        assert [i.name for i in got.items][:2] == ["统一社会信用代码", "企业名称"]
        assert got.items[2].share_type == "none" and got.items[0].share_type == "conditional"
        assert got.items[0].is_key and got.items[0].length == 18
        assert got.related_codes == ["102001SJ/0002"]
        assert "交通" in service.get_entry(uow, people["ga_user"], bus.id).search_text.split()


@pytest.mark.parametrize("change,message", [
    ({"share_basis": ""}, "必须注明法律、行政法规或国务院政策依据"),
    ({"share_condition": None}, "必须注明共享条件"),
    ({"update_cycle": "每十年"}, "更新周期必须是"),
    ({"items": [{"name": "A", "type_code": "X"}]}, "信息项数据类型必须是"),
    ({"items": []}, "数据库类资源必须列出信息项"),
    ({"open_class": "unconditional"}, "不予共享"),
    ({"name": "！！"}, "资源名称"),
    ({"secret": True}, "涉密"),
])
def test_metadata_rules_give_chinese_errors(storage, people, change, message):
    fields = entry(LEGAL_ENTITIES, **change)
    if change.get("open_class") == "unconditional":
        fields.update(share_type="不予共享")
    with storage.uow() as uow, pytest.raises(Invalid) as err:
        service.register_entry(uow, people["ga_steward"], department_code="GA", fields=fields)
    assert message in err.value.localized()


def test_an_item_cannot_be_shared_more_freely_than_its_entry(storage, people):
    fields = entry(LEGAL_ENTITIES, items=[{"name": "企业名称", "type_code": "C", "share_type": "无条件共享"}])
    with storage.uow() as uow, pytest.raises(Invalid) as err:
        service.register_entry(uow, people["ga_steward"], department_code="GA", fields=fields)
    assert "企业名称" in err.value.localized()


def test_core_data_is_never_opened_and_file_resources_are_shared_as_files(storage, people):
    with storage.uow() as uow, pytest.raises(Invalid) as err:
        service.register_entry(uow, people["ga_steward"], department_code="GA",
                               fields=entry(BUS_LINES, data_level="core"))
    assert "核心数据和重要数据" in err.value.localized()
    with storage.uow() as uow, pytest.raises(Invalid):
        service.register_entry(uow, people["ga_steward"], department_code="GA",
                               fields=entry(BUS_LINES, format_kind="file", share_mode_type="api"))


def test_names_differing_only_by_punctuation_are_duplicates(storage, people):
    register(storage, people["ga_steward"])
    with storage.uow() as uow, pytest.raises(Conflict):
        service.register_entry(uow, people["ga_steward"], department_code="GA",
                               fields=entry(LEGAL_ENTITIES, name="法人单位 基本信息。"))


def test_lifecycle_review_and_history(storage, people, backend):
    e = register(storage, people["ga_steward"])
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.approve_entry(uow, people["ga_steward"], e.id)  # only the operator reviews
    with storage.uow() as uow, pytest.raises(Conflict) as err:
        service.approve_entry(uow, people["op"], e.id)  # not submitted yet
    assert "草稿" in err.value.localized()
    with storage.uow() as uow:
        service.submit_entry(uow, people["ga_steward"], e.id)
    with storage.uow() as uow, pytest.raises(Conflict):
        service.update_entry(uow, people["ga_steward"], e.id, entry(LEGAL_ENTITIES, abstract="改"))
    with storage.uow() as uow, pytest.raises(Invalid):
        service.reject_entry(uow, people["op"], e.id, reason=" ")
    with storage.uow() as uow:
        service.reject_entry(uow, people["op"], e.id, reason="摘要不完整")
    with storage.uow() as uow:
        updated = service.update_entry(uow, people["ga_steward"], e.id,
                                       entry(LEGAL_ENTITIES, abstract="本市法人单位的登记信息（补充完整）。"))
        assert updated.state == "draft" and updated.review_comment == "摘要不完整"
    with storage.uow() as uow:
        service.submit_entry(uow, people["ga_steward"], e.id)
    with storage.uow() as uow:
        assert [x.id for x in service.review_queue(uow, people["op"])] == [e.id]
        published = service.approve_entry(uow, people["op"], e.id, comment="同意")
        assert published.state == "published" and published.publish_date is not None
    with storage.uow() as uow:
        service.withdraw_entry(uow, people["ga_steward"], e.id, reason="系统下线")
    with storage.uow() as uow:
        history = service.entry_history(uow, people["op"], e.id)
        assert [(c.action, c.state) for c in history] == [
            ("registered", "draft"), ("submitted", "under_review"), ("rejected", "draft"), ("updated", "draft"),
            ("submitted", "under_review"), ("published", "published"), ("withdrawn", "withdrawn")]
        assert history[3].changes["abstract"][1] == "本市法人单位的登记信息（补充完整）。"
        assert history[2].comment == "摘要不完整"
        assert verify_chain(uow.session).ok
        from huiju.security.models import AuditEntry

        events = [a.event_type for a in uow.session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
        assert events[-7:] == ["EntryRegistered", "EntrySubmitted", "EntryRejected", "EntryUpdated",
                               "EntrySubmitted", "EntryPublished", "EntryWithdrawn"]


def test_drafts_are_seen_by_their_department_and_operators_only(storage, people, backend):
    draft = register(storage, people["ga_steward"])
    shown = register(storage, people["ga_steward"], BUS_LINES)
    with storage.uow() as uow:
        service.submit_entry(uow, people["ga_steward"], shown.id)
    with storage.uow() as uow:
        service.approve_entry(uow, people["op"], shown.id)
    with storage.uow() as uow:
        assert {e.id for e in service.list_entries(uow, people["rs_user"])} == {shown.id}
        assert {e.id for e in service.list_entries(uow, people["citizen"])} == {shown.id}
        assert {e.id for e in service.list_entries(uow, people["ga_user"])} == {draft.id, shown.id}
        assert {e.id for e in service.list_entries(uow, people["op"])} == {draft.id, shown.id}
        with pytest.raises(NotFound):
            service.get_entry(uow, people["rs_steward"], draft.id)
        with pytest.raises(Forbidden):
            service.submit_entry(uow, people["rs_steward"], shown.id)


def test_mounting_a_dataset_of_the_same_department(storage, people):
    e = register(storage, people["ga_steward"])
    with storage.uow() as uow:
        ga = service.register_dataset(uow, people["op"], key="ga_people", name="人口", department_code="GA")
    with storage.uow() as uow:
        rs = service.register_dataset(uow, people["op"], key="rs_people", name="参保", department_code="RS")
    with storage.uow() as uow:
        service.mount_dataset(uow, people["ga_steward"], e.id, ga.id)
    with storage.uow() as uow, pytest.raises(Conflict):
        service.mount_dataset(uow, people["ga_steward"], e.id, ga.id)
    with storage.uow() as uow, pytest.raises(Forbidden):
        service.mount_dataset(uow, people["ga_steward"], e.id, rs.id)
    with storage.uow() as uow:
        mounted = service.mounted_datasets(uow, people["ga_user"], e.id)
        assert [ds.key for ds, _versions in mounted] == ["ga_people"]
        actions = uow.session.scalars(select(CatalogChange.action).where(CatalogChange.entry_id == e.id)).all()
        assert actions == ["registered", "mounted"]


def test_regional_code_profile(storage, people, settings):
    settings.catalog_code_profile = "regional"
    e = register(storage, people["ga_steward"])
    assert e.code == "102001990100GA-00001"
    assert codes.profile("national").sequence_of("102001GA", "102001GA/0042") == 42
    with pytest.raises(Invalid):
        codes.profile("atlantis")
