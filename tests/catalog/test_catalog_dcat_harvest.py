"""DCAT-AP output loads in rdflib and round-trips through harvest into a second node over real HTTP;
CKAN harvesting pages package_search on a fake portal; harvesting is idempotent and keeps bad records."""

from __future__ import annotations

import json
import shutil
import threading

import pytest
import uvicorn
from fastapi.testclient import TestClient
from rdflib import Graph
from rdflib.namespace import DCAT, DCTERMS, RDF
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from huiju.app import create_app
from huiju.auth import service as auth_service
from huiju.auth.roles import Actor
from huiju.catalog import service
from huiju.catalog.dcat import FREQ
from huiju.catalog.models import CatalogEntry
from huiju.config import Settings
from huiju.storage.uow import Storage
from tests.catalog.support import BUS_LINES, LEGAL_ENTITIES
from tests.conftest import _free_port, wait_for

SYSTEM = Actor.system("test")


def publish(storage, people, dept, fields):
    steward = people["ga_steward" if dept == "GA" else "rs_steward"]
    with storage.uow() as uow:
        e = service.register_entry(uow, steward, department_code=dept, fields=fields)
    with storage.uow() as uow:
        service.submit_entry(uow, steward, e.id)
    with storage.uow() as uow:
        service.approve_entry(uow, people["op"], e.id)
    return e


@pytest.fixture
def node1(settings, storage, people):
    """The first node, served by uvicorn on a free port, with two published entries and one draft."""
    publish(storage, people, "GA", LEGAL_ENTITIES)
    publish(storage, people, "RS", BUS_LINES)
    with storage.uow() as uow:
        service.register_entry(uow, people["ga_steward"], department_code="GA",
                               fields={**BUS_LINES, "name": "未发布的草稿"})
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, storage), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started)
    with storage.uow() as uow:
        issued = auth_service.create_token(uow, people["rs_user"], name="harvest", scopes=["catalog.*"], days=1)
    yield f"http://127.0.0.1:{port}", issued.plaintext
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def node2(tmp_path, sqlite_template):
    """A second platform: its own SQLite database and home."""
    path = tmp_path / "node2.db"
    shutil.copyfile(sqlite_template, path)
    st = Storage.open(Settings(home=tmp_path / "node2", database_url=f"sqlite:///{path}", secret_key="n2"))
    st.lake.ensure()
    with st.uow() as uow:
        auth_service.create_department(uow, SYSTEM, code="DSJ", name="示例省大数据局", level="province",
                                       region_code="990000")
    yield st
    st.close()


def test_dcat_turtle_and_jsonld_load_in_rdflib(node1):
    import httpx

    url, token = node1
    auth = {"Authorization": f"Bearer {token}"}
    ttl = httpx.get(f"{url}/catalog.ttl", headers=auth)
    assert ttl.status_code == 200 and ttl.headers["content-type"].startswith("text/turtle")
    g = Graph().parse(data=ttl.text, format="turtle")
    datasets = set(g.subjects(RDF.type, DCAT.Dataset))
    assert len(datasets) == 2  # the draft is not in the catalog
    titles = {str(t) for d in datasets for t in g.objects(d, DCTERMS.title)}
    assert titles == {"法人单位基本信息", "城市公共交通线路信息"}
    assert (None, DCTERMS.accrualPeriodicity, FREQ.DAILY) in g
    assert len(set(g.subjects(RDF.type, DCAT.Catalog))) == 1
    jsonld = httpx.get(f"{url}/catalog.jsonld", headers=auth)
    assert jsonld.headers["content-type"].startswith("application/ld+json")
    g2 = Graph().parse(data=jsonld.text, format="json-ld")
    assert len(g2) == len(g)
    one = httpx.get(f"{url}/catalog/entries/1.ttl", headers=auth)
    g3 = Graph().parse(data=one.text, format="turtle")
    assert {str(t) for t in g3.objects(None, DCTERMS.identifier)} >= {"102001GA/0001"}
    assert httpx.get(f"{url}/catalog.ttl", headers={"Accept": "application/json"}).status_code == 401


@pytest.mark.parametrize("kind", ["dcat", "huiju"])
def test_round_trip_into_a_second_node(node1, node2, kind):
    url, token = node1
    source_url = f"{url}/catalog.ttl" if kind == "dcat" else url
    with node2.uow() as uow:
        source = service.add_harvest_source(uow, SYSTEM, name="市平台", kind=kind, url=source_url,
                                            department_code="DSJ")
    with node2.uow() as uow:
        report = service.harvest_source(uow, SYSTEM, source.id, token=token)
    assert (report.created, report.failed) == (2, 0)
    with node2.uow() as uow:
        entries = {e.name: e for e in uow.session.scalars(select(CatalogEntry))}
        legal = entries["法人单位基本信息"]
        assert legal.state == "published" and legal.source_identifier == "102001GA/0001"
        assert legal.code == "102001DSJ/0001"  # a local code; the source's code is the identifier
        assert (legal.share_type, legal.share_basis) == ("conditional", LEGAL_ENTITIES["share_basis"])
        assert legal.provider_name == "示例市公安局" and legal.update_cycle == "daily"
        assert [i.name for i in legal.items] == [i["name"] for i in LEGAL_ENTITIES["items"]]
        assert legal.items[2].share_type == "none" and legal.items[0].length == 18
        found = service.search_entries(uow, SYSTEM, q="交通")
        assert [e.name for e in found.entries] == ["城市公共交通线路信息"]
    with node2.uow() as uow:
        again = service.harvest_source(uow, SYSTEM, source.id, token=token)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)  # idempotent
    with node2.uow() as uow:
        records = service.harvest_records(uow, SYSTEM, source.id)
        assert len(records) == 2 and all(r.error is None and r.entry_id for r in records)


def ckan_portal(packages):
    """A fake CKAN portal: package_search with rows/start, and the calls it saw."""
    calls = []

    async def package_search(request):
        rows, start = int(request.query_params["rows"]), int(request.query_params["start"])
        calls.append((rows, start))
        page = packages[start:start + rows]
        return JSONResponse({"help": "http://portal/api/3/action/help_show?name=package_search", "success": True,
                             "result": {"count": len(packages), "results": page, "sort": "id asc",
                                        "facets": {}, "search_facets": {}}})

    return Starlette(routes=[Route("/api/3/action/package_search", package_search)]), calls


def ckan_package(i, **extra):
    return {"id": f"pkg-{i:04d}", "name": f"dataset-{i}", "title": f"公共交通客流统计{i}",
            "notes": "按月统计的地铁和公交客流。", "isopen": True, "metadata_created": "2026-01-02T03:04:05",
            "organization": {"name": "jtj", "title": "示例市交通运输局"},
            "resources": [{"format": "CSV"}], "extras": [{"key": "frequency", "value": "monthly"}], **extra}


def test_ckan_harvest_pages_and_keeps_bad_records(node2):
    packages = [ckan_package(i) for i in range(230)]
    packages[7] = {"id": "pkg-broken", "name": "broken", "title": "！！！", "notes": "", "resources": []}
    app, calls = ckan_portal(packages)
    with node2.uow() as uow:
        source = service.add_harvest_source(uow, SYSTEM, name="门户", kind="ckan", url="http://testserver",
                                            department_code="DSJ")
    with TestClient(app) as client, node2.uow() as uow:
        report = service.harvest_source(uow, SYSTEM, source.id, client=client)
    assert calls == [(100, 0), (100, 100), (100, 200), (100, 300)]
    assert (report.created, report.failed) == (229, 1)
    with node2.uow() as uow:
        records = {r.identifier: r for r in service.harvest_records(uow, SYSTEM, source.id)}
        assert len(records) == 230
        broken = records["pkg-broken"]
        assert broken.entry_id is None and "资源名称" in broken.error and json.loads(broken.raw)["name"] == "broken"
        e = uow.session.scalar(select(CatalogEntry).where(CatalogEntry.source_identifier == "pkg-0001"))
        assert (e.format_kind, e.update_cycle, e.open_class, e.provider_name) == (
            "spreadsheet", "monthly", "unconditional", "示例市交通运输局")
    packages[1] = ckan_package(1, title="公共交通客流统计（修订）")
    with TestClient(app) as client, node2.uow() as uow:
        again = service.harvest_source(uow, SYSTEM, source.id, client=client)
    assert (again.created, again.updated, again.unchanged, again.failed) == (0, 1, 228, 1)
    with node2.uow() as uow:
        assert uow.session.scalar(select(CatalogEntry.name).where(CatalogEntry.source_identifier == "pkg-0001")) \
            == "公共交通客流统计（修订）"
