"""The HTTP JSON connector against a real local HTTP server: pages, auth header, retries, errors, cursor."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pyarrow as pa
import pytest

from huiju.errors import Invalid
from huiju.ingest.connectors import CONNECTORS
from huiju.ingest.connectors.http import HttpJsonConnector, open_http

TOKEN = "Bearer s3cret-token"
AUTH = {"Authorization": TOKEN}


def records(n: int = 25) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"示例企业{i}", "updateTime": f"2026-01-{i:02d}T08:00:00"} for i in range(1, n + 1)]


@dataclass
class Source:
    """What the fake department API serves, and a log of every request it received."""

    data: list[Any] = field(default_factory=records)
    shape: str = "wrapped"  # wrapped: {"code":0,"data":{"records":[...],"total":n}}; list: a bare array; data
    fail_once: dict[int, int] = field(default_factory=lambda: {2: 503})  # page -> status of its first request
    always: int | None = None  # answer every request with this status
    slow_once: float = 0.0  # the very first request waits this long
    ignore_page: bool = False
    log: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, params: dict[str, str], auth: str | None) -> tuple[int, Any]:
        page, size = int(params.get("page", "1")), int(params.get("pageSize", "10"))
        self.log.append({**params, "page": page, "size": size, "auth": auth})
        if auth != TOKEN:
            return 401, {"code": 401, "msg": "未授权：缺少令牌"}
        if self.always:
            return self.always, {"msg": "服务暂不可用"}
        if page in self.fail_once:
            return self.fail_once.pop(page), {"msg": "服务暂不可用"}
        rows = [r for r in self.data if "updatedSince" not in params
                or r["updateTime"] > params["updatedSince"]]
        start = 0 if self.ignore_page else (page - 1) * size
        chunk = rows[start:start + size]
        if self.shape == "list":
            return 200, chunk
        if self.shape == "data":
            return 200, {"code": 0, "data": chunk}
        return 200, {"code": 0, "msg": "成功", "data": {"records": chunk, "total": len(rows)}}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        source: Source = self.server.source  # type: ignore[attr-defined]
        params = {k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}
        if params.get("raw") == "html":
            status, body = 200, b"<html>maintenance</html>"
        else:
            status, payload = source.answer(params, self.headers.get("Authorization"))
            body = json.dumps(payload, ensure_ascii=False).encode()
        if source.slow_once:
            delay, source.slow_once = source.slow_once, 0.0
            time.sleep(delay)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (timeout test)
            pass

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def serve() -> Iterator[Any]:
    servers: list[ThreadingHTTPServer] = []

    def start(source: Source) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.source = source  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/api/licences"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def rows_of(connector: HttpJsonConnector) -> list[dict[str, Any]]:
    return pa.Table.from_batches(list(connector.read()), schema=connector.schema).to_pylist()


def test_pages_until_the_stated_total_with_the_auth_header_and_a_retried_503(serve):
    source = Source()
    connector = open_http(serve(source), headers=AUTH, records_path="data.records", page_size=10, backoff=0.01)
    rows = rows_of(connector)
    assert connector.columns == ["id", "name", "updateTime", "_extra"]
    assert [r["_row"] for r in rows] == list(range(1, 26))
    assert rows[0] == {"id": "1", "name": "示例企业1", "updateTime": "2026-01-01T08:00:00", "_extra": None, "_row": 1}
    assert rows[-1]["name"] == "示例企业25"
    # page 2 failed once with 503 and was asked again; page 3 reached the total of 25, so no page 4
    assert [e["page"] for e in source.log] == [1, 2, 2, 3]
    assert all(e["auth"] for e in source.log) and {e["size"] for e in source.log} == {10}
    assert connector.rows_read == 25 and connector.pages_read == 3 and not connector.rejects


def test_records_are_found_without_a_path_and_an_empty_page_ends_the_read(serve):
    source = Source(shape="data", fail_once={})
    client = httpx.Client(timeout=5)
    connector = HttpJsonConnector(serve(source), headers=AUTH, page_size=10, client=client)
    assert len(rows_of(connector)) == 25
    assert [e["page"] for e in source.log] == [1, 2, 3, 4]  # no total stated: page 4 came back empty
    assert any("data" in n.localized() for n in connector.warnings)
    assert not client.is_closed  # a client handed in belongs to the caller
    client.close()
    bare = Source(shape="list", fail_once={}, data=records(3))
    assert [r["id"] for r in rows_of(open_http(serve(bare), headers=AUTH, page_size=2, start_page=1))] == ["1", "2",
                                                                                                         "3"]


def test_a_missing_auth_header_is_a_clear_error_and_not_retried(serve):
    source = Source()
    with pytest.raises(Invalid) as err:
        open_http(serve(source), page_size=10, backoff=0.01)
    assert "401" in str(err.value) and "未授权" in str(err.value)
    assert len(source.log) == 1
    assert "s3cret" not in str(err.value)


def test_server_errors_are_retried_with_backoff_then_fail(serve):
    source = Source(always=500)
    started = time.monotonic()
    with pytest.raises(Invalid) as err:
        open_http(serve(source), headers=AUTH, retries=2, backoff=0.05)
    assert len(source.log) == 3 and "3" in str(err.value) and "500" in str(err.value)
    assert time.monotonic() - started >= 0.05 + 0.1  # waited backoff x 1, then x 2


def test_a_timeout_is_retried(serve):
    source = Source(slow_once=1.5, fail_once={})
    connector = open_http(serve(source), headers=AUTH, page_size=10, timeout=0.3, backoff=0.01)
    assert len(rows_of(connector)) == 25
    assert [e["page"] for e in source.log][:2] == [1, 1]


def test_since_value_is_sent_and_the_largest_cursor_is_kept(serve):
    source = Source(fail_once={})
    connector = open_http(serve(source), headers=AUTH, records_path="data.records", page_size=2,
                          since_param="updatedSince", since_value="2026-01-20T08:00:00", cursor_field="updateTime")
    rows = rows_of(connector)
    assert [r["id"] for r in rows] == ["21", "22", "23", "24", "25"]
    assert all(e["updatedSince"] == "2026-01-20T08:00:00" for e in source.log)
    assert connector.cursor_value == "2026-01-25T08:00:00"
    by_id = open_http(serve(Source(fail_once={})), headers=AUTH, page_size=10, cursor_field="id")
    rows_of(by_id)
    assert by_id.cursor_value == "25"  # numbers compare as numbers, not as text ("9" > "25")


def test_keys_first_seen_on_a_later_page_go_to_extra_with_a_notice(serve):
    data = records(12)
    data[10]["remark"] = "新增字段"
    data[11]["score"] = 12.5
    connector = open_http(serve(Source(data=data, fail_once={})), headers=AUTH, page_size=5)
    rows = rows_of(connector)
    assert json.loads(rows[10]["_extra"]) == {"remark": "新增字段"}
    assert json.loads(rows[11]["_extra"]) == {"score": "12.5"}
    assert rows[0]["_extra"] is None and "remark" not in connector.columns
    notices = [n.localized() for n in connector.warnings]
    assert any("remark" in n and "_extra" in n for n in notices)


def test_records_that_are_not_objects_are_rejected_with_their_number(serve):
    data: list[Any] = records(3)
    data.insert(1, "not a record")
    connector = open_http(serve(Source(data=data, fail_once={})), headers=AUTH, page_size=10)
    rows = rows_of(connector)
    assert [r["_row"] for r in rows] == [1, 3, 4]
    assert [(r.row, r.raw) for r in connector.rejects] == [(2, "not a record")]
    assert connector.rows_read == 4


def test_an_api_that_ignores_the_page_parameter_is_refused(serve):
    source = Source(shape="data", ignore_page=True, fail_once={})
    connector = open_http(serve(source), headers=AUTH, page_size=10)
    with pytest.raises(Invalid) as err:
        rows_of(connector)
    assert "page" in str(err.value)
    assert len(source.log) == 2


def test_the_page_limit_stops_with_a_notice(serve):
    connector = open_http(serve(Source(shape="data", fail_once={})), headers=AUTH, page_size=5, max_pages=2)
    assert len(rows_of(connector)) == 10
    assert any("2" in n.localized() for n in connector.warnings)


def test_a_page_that_is_not_json_is_a_clear_error(serve):
    with pytest.raises(Invalid) as err:
        open_http(serve(Source()), headers=AUTH, params={"raw": "html"})
    assert "maintenance" in str(err.value)


def test_bad_addresses_are_refused_and_the_kind_is_registered():
    with pytest.raises(Invalid):
        open_http("ftp://example.org/x")
    assert CONNECTORS["http"] is HttpJsonConnector
