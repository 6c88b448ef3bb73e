"""Chinese full-text search on SQLite FTS5 and PostgreSQL: words, prefixes, facets, sorting, pages, visibility."""

from __future__ import annotations

import pytest

from huiju.catalog import search, service
from huiju.errors import Invalid
from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES, entry

MORE = [
    entry(BUS_LINES, name="医保定点医疗机构名录", abstract="基本医疗保险定点医院和药店。", item="health",
          update_cycle="quarterly"),
    entry(BUS_LINES, name="道路交通事故统计", abstract="全市交通事故的月度统计。", item="work_safety"),
    entry(BUS_LINES, name="城乡居民医疗保险参保信息", abstract="参保人员与缴费。", item="social_security",
          format_kind="database", share_type="有条件共享", share_condition="限社保经办", share_basis="《社会保险法》",
          share_mode_type="api", open_class="closed", data_level="general_3"),
    entry(BUS_LINES, name="气象预警信息", abstract="暴雨、台风等预警。", item="emergency"),
]


@pytest.fixture
def catalog(storage, people):
    """Six published entries from two departments, one GA draft."""
    ids = {}
    for dept, fields in [("GA", LEGAL_ENTITIES), ("GA", BUS_LINES), ("RS", MORE[0]), ("GA", MORE[1]),
                         ("RS", MORE[2]), ("RS", MORE[3])]:
        steward = people["ga_steward" if dept == "GA" else "rs_steward"]
        with storage.uow() as uow:
            e = service.register_entry(uow, steward, department_code=dept, fields=fields)
        with storage.uow() as uow:
            service.submit_entry(uow, steward, e.id)
        with storage.uow() as uow:
            service.approve_entry(uow, people["op"], e.id)
        ids[fields["name"]] = e.id
    with storage.uow() as uow:
        draft = service.register_entry(uow, people["ga_steward"], department_code="GA",
                                       fields=entry(BUS_LINES, name="公交刷卡交通数据（草稿）"))
    ids["draft"] = draft.id
    return ids


def names(page):
    return [e.name for e in page.entries]


def find(storage, actor, q="", **kw):
    with storage.uow() as uow:
        return service.search_entries(uow, actor, q=q, **kw)


def test_two_character_words_match_on_both_databases(storage, people, catalog, backend):
    user = people["rs_user"]
    assert set(names(find(storage, user, "交通"))) == {"城市公共交通线路信息", "道路交通事故统计"}
    assert set(names(find(storage, user, "医保"))) == {"医保定点医疗机构名录", "法人单位基本信息"}  # name, abstract
    assert set(names(find(storage, user, "参保"))) == {"城乡居民医疗保险参保信息"}
    assert names(find(storage, user, "气象预警")) == ["气象预警信息"]
    assert find(storage, user, "火星基地").total == 0
    # words of three or more characters match even when jieba split the entry differently
    assert "城乡居民医疗保险参保信息" in names(find(storage, user, "医疗保险"))


def test_prefix_search_and_codes(storage, people, catalog, backend):
    user = people["ga_user"]
    assert "道路交通事故统计" in names(find(storage, user, "交"))  # a one-character prefix
    assert names(find(storage, user, "postgre")) == ["法人单位基本信息"]  # format type, by prefix
    assert names(find(storage, user, "统一社会信用代码")) == ["法人单位基本信息"]  # a data item


def test_drafts_only_for_their_department(storage, people, catalog, backend):
    assert "公交刷卡交通数据（草稿）" in names(find(storage, people["ga_user"], "交通"))
    assert "公交刷卡交通数据（草稿）" in names(find(storage, people["op"], "交通"))
    assert "公交刷卡交通数据（草稿）" not in names(find(storage, people["rs_user"], "交通"))
    assert "公交刷卡交通数据（草稿）" not in names(find(storage, people["citizen"], "交通"))


def test_facets_count_under_the_other_filters(storage, people, catalog, backend):
    page = find(storage, people["rs_user"])
    assert page.total == 6
    counts = {f.value: f.count for f in page.facets["classification"]}
    assert counts == {"base": 1, "theme": 5}
    depts = {f.label: f.count for f in page.facets["department"]}
    assert depts == {"示例市公安局": 3, "示例市人力资源和社会保障局": 3}
    assert {f.label for f in page.facets["share_type"]} == {"无条件共享", "有条件共享"}
    assert {f.value for f in page.facets["theme"]} >= {"health", "emergency", "public_service"}
    assert set(page.facets) == set(search.FACETS)
    narrowed = find(storage, people["rs_user"], filters={"share_type": "conditional"})
    assert narrowed.total == 2
    # the share-type facet ignores its own filter, so the other value can still be chosen
    assert {f.value: f.selected for f in narrowed.facets["share_type"]} == {"unconditional": False,
                                                                          "conditional": True}
    assert {f.value for f in narrowed.facets["classification"]} == {"base", "theme"}
    combined = find(storage, people["rs_user"], "保险", filters={"format_kind": "database", "update_cycle": "monthly"})
    assert names(combined) == ["城乡居民医疗保险参保信息"]


def test_sorting_and_pages(storage, people, catalog, backend):
    by_name = find(storage, people["op"], sort="name", per_page=4, filters={"state": "published"})
    assert by_name.total == 6 and by_name.pages == 2 and len(by_name.entries) == 4
    second = find(storage, people["op"], sort="name", per_page=4, page=2, filters={"state": "published"})
    assert len(second.entries) == 2 and not set(names(by_name)) & set(names(second))
    assert names(by_name) + names(second) == sorted(names(by_name) + names(second))
    with storage.uow() as uow:
        for _ in range(3):
            service.note_entry_use(uow, people["rs_user"], catalog["气象预警信息"])
    assert names(find(storage, people["rs_user"], sort="usage"))[0] == "气象预警信息"
    newest = find(storage, people["rs_user"], sort="updated")
    assert names(newest)[0] == "气象预警信息"  # approved last
    relevance = find(storage, people["rs_user"], "交通")
    assert names(relevance)[0] in {"城市公共交通线路信息", "道路交通事故统计"}
    with pytest.raises(Invalid):
        find(storage, people["rs_user"], sort="random")
    with pytest.raises(Invalid):
        find(storage, people["rs_user"], filters={"secret": "x"})


def test_segmentation_is_lazy_and_shared():
    first = search.tokenizer()
    assert search.tokenizer() is first
    words = search.segment(["城市公共交通线路信息"]).split()
    assert {"交通", "公共交通", "城市"} <= set(words)
    assert search.fts5_query(["医疗保险"]) == '("医疗保险"* OR ("医疗" AND "疗保" AND "保险"))'


def test_search_within_and_excluding_entries_another_context_selects(storage, people, catalog, backend):
    """The open portal narrows catalog searches to its own entries by id, without touching catalog tables."""
    from sqlalchemy import literal, select, union_all

    chosen = union_all(select(literal(catalog["道路交通事故统计"])), select(literal(catalog["气象预警信息"])))
    user = people["citizen"]
    inside = find(storage, user, within=select(chosen.subquery().c[0]), sort="name")
    assert set(names(inside)) == {"道路交通事故统计", "气象预警信息"} and inside.total == 2
    assert names(find(storage, user, "交通", within=select(chosen.subquery().c[0]))) == ["道路交通事故统计"]
    outside = find(storage, user, excluding=select(chosen.subquery().c[0]), with_facets=False)
    assert outside.total == 4 and "气象预警信息" not in names(outside)
    either = find(storage, user, filters={"update_cycle": ["quarterly", "never-used"]})  # a list: any of them
    assert names(either) == ["医保定点医疗机构名录"]
