"""疑义纠错: a consumer flags a delivered value, the providing department sees a correction task and records the
outcome, the consumer sees it; through the service (both databases), the pages over HTTP and the CLI."""

from __future__ import annotations

import pytest

from huiju.errors import Forbidden, Invalid
from huiju.share import service
from tests.share.test_share_cli_trace import cli
from tests.share.test_share_delivery import granted
from tests.support import csrf_of, login


def test_boxes_split_our_tasks_from_our_reports(storage, people, shared, backend):
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        first = service.report_objection(uow, people["rs_user"], grant.id, record_key="3", field="年龄",
                                         reported_value="20", suggested_value="21", note="与户籍登记不一致")
        second = service.report_objection(uow, people["rs_user"], grant.id, record_key="5", field="姓名",
                                          reported_value=None, suggested_value="王五", note="姓名缺字")
    with storage.uow() as uow:
        inbox = service.list_objections(uow, people["ga_steward"], box="inbox")
        assert [o.id for o in inbox] == [second.id, first.id]
        assert service.list_objections(uow, people["ga_steward"], box="mine") == []
        assert [o.id for o in service.list_objections(uow, people["rs_user"], box="mine")] == [second.id, first.id]
        assert service.list_objections(uow, people["rs_user"], box="inbox") == []
        with pytest.raises(Invalid):
            service.list_objections(uow, people["rs_user"], box="everything")
    with storage.uow() as uow:
        service.resolve_objection(uow, people["ga_steward"], first.id, outcome="rejected", note="户籍登记即为20岁")
    with storage.uow() as uow:
        assert [o.id for o in service.list_objections(uow, people["ga_steward"], box="inbox")] == [second.id]
        closed = service.list_objections(uow, people["rs_user"], status=None, grant_id=grant.id)
        assert {(o.id, o.status) for o in closed} == {(first.id, "rejected"), (second.id, "open")}
        assert service.list_objections(uow, people["rs_user"], status=None, grant_id=grant.id + 1000) == []
        with pytest.raises(Forbidden):  # the provider cannot file reports on its own grant
            service.report_objection(uow, people["ga_steward"], grant.id, record_key="3", field="年龄",
                                     reported_value=None, suggested_value=None, note="x")


def test_flag_on_the_grant_page_resolve_on_the_steward_home(client, storage, people, shared):
    grant = granted(storage, people, shared)
    login(client, "rs_user")
    page = client.get(f"/share/grants/{grant.id}")
    assert 'data-testid="flag-form"' in page.text
    flagged = client.post(f"/share/grants/{grant.id}/objections", data={
        "csrf_token": csrf_of(page.text), "field": "年龄", "record_key": "7", "reported_value": "25",
        "suggested_value": "52", "note": "与社保登记不一致"}, follow_redirects=True)
    assert flagged.status_code == 200 and "与社保登记不一致" in flagged.text and "待处理" in flagged.text
    refused = client.post(f"/share/grants/{grant.id}/objections", data={
        "csrf_token": csrf_of(page.text), "field": "年龄", "record_key": "7", "note": ""})
    assert refused.status_code == 422
    [obj] = [o for o in client.get("/api/v1/share/objections").json()]
    client.cookies.clear()
    login(client, "ga_steward")
    home = client.get("/")
    assert f'data-testid="resolve-{obj["id"]}"' in home.text and "与社保登记不一致" in home.text
    done = client.post(f"/share/objections/{obj['id']}/resolve", data={
        "csrf_token": csrf_of(home.text), "outcome": "corrected", "note": "已更正，下一版本生效", "back": "/"},
        follow_redirects=True)
    assert done.status_code == 200 and f'data-testid="resolve-{obj["id"]}"' not in done.text
    assert "已更正，下一版本生效" in client.get("/share/objections?box=inbox").text
    client.cookies.clear()
    login(client, "rs_user")
    mine = client.get("/share/objections?box=mine").text
    assert "已更正，下一版本生效" in mine and "已更正" in mine and 'data-testid="resolve-' not in mine
    assert "已更正，下一版本生效" in client.get(f"/share/grants/{grant.id}").text


def test_flag_list_and_resolve_by_cli(storage, settings, people, shared):
    grant = granted(storage, people, shared)
    out = cli(settings, "share", "flag", str(grant.id), "--as", "rs_user", "--field", "年龄", "--key", "9",
              "--seen", "26", "--suggested", "62", "--reason", "出生年份录反").stdout
    assert "1" in out
    assert "出生年份录反" in cli(settings, "share", "corrections", "--box", "inbox", "--as", "ga_steward").stdout
    refused = cli(settings, "share", "resolve-correction", "1", "--outcome", "corrected", "--note", "x",
                  "--as", "rs_user", ok=False)
    assert refused.returncode == 1
    cli(settings, "share", "resolve-correction", "1", "--outcome", "confirmed_correct", "--note", "核实无误",
        "--as", "ga_steward")
    assert "出生年份录反" not in cli(settings, "share", "corrections", "--box", "inbox", "--as", "ga_steward").stdout
    mine = cli(settings, "share", "corrections", "--box", "mine", "--status", "any", "--as", "rs_user").stdout
    assert "核实无误" in mine and "经核实无误" in mine
