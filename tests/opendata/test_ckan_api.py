"""The CKAN Action API driven by the real ckanapi client over HTTP, and by CKAN's harvester request pattern."""

from __future__ import annotations

import json

import ckanapi
import httpx
import pytest

from tests.opendata.support import LINES, ROWS


@pytest.fixture
def ck(live, second):
    return ckanapi.RemoteCKAN(live, user_agent="huiju-tests")


def test_ckanapi_reads_packages_organizations_groups_and_tags(ck, opened, second):
    status = ck.action.status_show()
    assert status["ckan_version"] == "2.12.0" and "datastore" in status["extensions"]
    assert sorted(ck.action.package_list()) == sorted([opened.name, second.name])
    pkg = ck.action.package_show(id=opened.name, include_plugin_data=True)  # unknown keys are ignored
    assert pkg["id"] and pkg["title"] == "城市公交站点" and pkg["organization"]["name"] == "ga"
    assert pkg["num_resources"] == 1 and pkg["resources"][0]["id"] == opened.resource_id
    assert {t["name"] for t in pkg["tags"]} == {"交通", "公交"}
    assert ck.action.package_show(id=pkg["id"])["name"] == opened.name
    assert ck.action.organization_list() == ["ga", "rs"]
    orgs = ck.action.organization_list(all_fields=True)
    assert {o["name"]: o["package_count"] for o in orgs} == {"ga": 1, "rs": 1}
    ga = ck.action.organization_show(id="ga", include_datasets=True, include_users=True)
    assert ga["title"] == "示例市公安局" and [p["name"] for p in ga["packages"]] == [opened.name]
    groups = {g["name"]: g["package_count"] for g in ck.action.group_list(all_fields=True, limit=25)}
    assert groups["public_service"] == 1
    group = ck.action.group_show(id="public_service", include_datasets=True)
    assert [p["name"] for p in group["packages"]] == [opened.name]
    assert ck.action.tag_list() == sorted(["交通", "公交", "就业"])
    assert ck.action.tag_list(query="就") == ["就业"]
    res = ck.action.resource_show(id=opened.resource_id)
    assert res["package_id"] == pkg["id"] and res["datastore_active"] is True and res["format"] == "CSV"
    assert ck.action.resource_view_list(id=opened.resource_id, limit=0) == []  # what `ckanapi dump` asks
    assert ck.action.help_show(name="package_search").startswith("Search open datasets")


def test_package_search_q_fq_facets_rows_and_sort(ck, opened, second):
    found = ck.action.package_search(q="就业")
    assert found["count"] == 1 and found["results"][0]["name"] == second.name
    everything = ck.action.package_search(**{"facet.field": ["organization", "tags"], "rows": 1, "sort": "name asc"})
    assert everything["count"] == 2 and len(everything["results"]) == 1
    assert everything["results"][0]["name"] == min(opened.name, second.name)
    assert everything["facets"]["organization"] == {"ga": 1, "rs": 1}
    items = {i["name"]: i for i in everything["search_facets"]["organization"]["items"]}
    assert items["ga"]["display_name"] == "示例市公安局" and items["ga"]["count"] == 1
    assert ck.action.package_search(fq="organization:rs")["results"][0]["name"] == second.name
    assert ck.action.package_search(fq="-organization:rs")["results"][0]["name"] == opened.name
    assert ck.action.package_search(fq="tags:公交 OR tags:就业")["count"] == 2
    assert ck.action.package_search(fq="metadata_modified:[2000-01-01T00:00:00Z TO *]")["count"] == 2
    assert ck.action.package_search(fq="metadata_modified:[2999-01-01T00:00:00Z TO *]")["count"] == 0


def test_ckan_errors_map_to_ckanapi_exceptions(ck, opened):
    with pytest.raises(ckanapi.NotFound):
        ck.action.package_show(id="no-such-dataset")
    with pytest.raises(ckanapi.NotFound):
        ck.action.datastore_search(resource_id="00000000-0000-0000-0000-000000000000")
    with pytest.raises(ckanapi.ValidationError) as err:
        ck.action.datastore_search(resource_id=opened.resource_id, filters={"keeper_mobile": "13800000000"})
    assert err.value.error_dict["__type"] == "Validation Error"
    with pytest.raises(ckanapi.SearchQueryError):
        ck.action.package_search(nonsense="1")
    with pytest.raises(ckanapi.NotAuthorized):
        ck.action.package_create(name="x", owner_org="ga")


def test_datastore_search_filters_fields_sort_and_keyset_pages(ck, opened):
    rid = opened.resource_id
    empty = ck.action.datastore_search(resource_id=rid, limit=0)  # what `ckanapi dump` does to read fields
    assert [f["id"] for f in empty["fields"]] == ["_id", "stop_id", "line", "name", "district", "lat", "lon"]
    assert empty["total"] == ROWS and empty["records"] == []
    one = ck.action.datastore_search(resource_id=rid, filters={"stop_id": "S00007"})
    assert one["total"] == 1 and one["records"][0]["name"] == "第7站" and "keeper_mobile" not in one["records"][0]
    line = ck.action.datastore_search(resource_id=rid, filters={"line": LINES[0]}, limit=10)
    assert line["total"] == ROWS // len(LINES) and all(r["line"] == LINES[0] for r in line["records"])
    both = ck.action.datastore_search(resource_id=rid, filters={"line": LINES[:2], "district": "东城区"})
    assert {r["line"] for r in both["records"]} <= set(LINES[:2]) and all(r["district"] == "东城区"
                                                                          for r in both["records"])
    ranged = ck.action.datastore_search(resource_id=rid, filters={"stop_id": {"gte": "S00010", "lt": "S00015"}},
                                        fields=["stop_id"], sort="stop_id desc")
    assert [r["stop_id"] for r in ranged["records"]] == [f"S{i:05d}" for i in range(14, 9, -1)]
    either = ck.action.datastore_search(resource_id=rid, filters={"$or": [{"stop_id": "S00001"},
                                                                          {"stop_id": "S00002"}]})
    assert either["total"] == 2
    text = ck.action.datastore_search(resource_id=rid, q="第12站")
    assert {r["stop_id"] for r in text["records"]} >= {"S00012"}
    seen, filters = [], {"line": LINES[1]}
    for _ in range(10):
        page = ck.action.datastore_search(resource_id=rid, filters=filters, limit=7)
        seen += [r["_id"] for r in page["records"]]
        if "next_page" not in page:
            break
        filters = {"line": LINES[1], **page["next_page"]}
    assert len(seen) == ROWS // len(LINES) == len(set(seen)) and seen == sorted(seen)
    lists = ck.action.datastore_search(resource_id=rid, limit=2, records_format="lists", fields="_id,stop_id")
    assert lists["records"] == [[1, "S00000"], [2, "S00001"]]
    as_csv = ck.action.datastore_search(resource_id=rid, limit=2, records_format="csv", fields=["stop_id"])
    assert as_csv["records"] == "S00000\nS00001\n"


def test_links_next_follows_the_keyset(live, opened):
    """≤2.11 clients follow _links.next; it carries the keyset filter, not a deep offset."""
    with httpx.Client(base_url=live) as http:
        url = f"/api/3/action/datastore_search?resource_id={opened.resource_id}&limit=100"
        ids = []
        while url:
            body = http.get(url).json()
            assert body["success"] is True
            ids += [r["_id"] for r in body["result"]["records"]]
            url = body["result"]["_links"].get("next") if body["result"]["records"] else None
            assert url is None or "offset" not in url
    assert ids == list(range(1, ROWS + 1))


def test_datastore_search_sql_runs_one_select_over_open_tables(ck, opened, second):
    rid = opened.resource_id
    out = ck.action.datastore_search_sql(
        sql=f'SELECT line, count(*) AS n FROM "{rid}" GROUP BY line ORDER BY line')
    assert {r["line"]: r["n"] for r in out["records"]} == {line: ROWS // len(LINES) for line in LINES}
    assert [f["id"] for f in out["fields"]] == ["line", "n"]
    joined = ck.action.datastore_search_sql(
        sql=f'SELECT count(*) AS n FROM "{rid}" a JOIN "{second.resource_id}" b ON a.stop_id = b.stop_id')
    assert joined["records"] == [{"n": ROWS}]
    for bad in (f'DROP TABLE "{rid}"', f'SELECT 1 FROM "{rid}"; SELECT 2', "SELECT * FROM read_csv('/etc/passwd')",
                "COPY (SELECT 1) TO '/tmp/x.csv'", f'INSERT INTO "{rid}" VALUES (1)', "SELECT 1",
                "SELECT * FROM read_parquet('/tmp/*.parquet')"):
        with pytest.raises((ckanapi.ValidationError, ckanapi.NotAuthorized)):
            ck.action.datastore_search_sql(sql=bad)
    with pytest.raises(ckanapi.NotAuthorized):
        ck.action.datastore_search_sql(sql='SELECT * FROM "datasets"')


def test_sql_row_limit_truncates(settings, live, opened):
    settings.opendata_rows_max = 5
    out = ckanapi.RemoteCKAN(live).action.datastore_search_sql(sql=f'SELECT stop_id FROM "{opened.resource_id}"')
    assert len(out["records"]) == 5 and out["records_truncated"] is True


def test_harvester_request_pattern(live, opened, second):
    """ckanext-harvest's ckan_harvester: GET package_search pages (rows/start, sort=id asc, fq), then *_show."""
    with httpx.Client(base_url=live) as http:
        for fq, expected in [("", {opened.name, second.name}),
                             ("organization:ga OR organization:rs", {opened.name, second.name}),
                             ("-organization:rs", {opened.name}), ("groups:public_service", {opened.name}),
                             ("metadata_modified:[2026-01-01T10:00:00Z TO *]", {opened.name, second.name})]:
            ids, start, previous = [], 0, None
            while True:
                params = {"rows": 1, "start": start, "sort": "id asc"}
                if fq:
                    params["fq"] = fq
                body = http.get("/api/3/action/package_search", params=params).json()
                results = body["result"]["results"]
                if not results:
                    break
                assert results != previous  # the harvester aborts on two identical pages
                previous = results
                ids += [r["id"] for r in results]
                start += 1
            assert ids == sorted(ids)
            names = set()
            for ident in ids:
                pkg = http.get("/api/3/action/package_show", params={"id": ident}).json()["result"]
                names.add(pkg["name"])
                org = http.get("/api/3/action/organization_show", params={"id": pkg["organization"]["name"]})
                assert org.json()["success"] is True
                for group in pkg["groups"]:
                    assert http.get("/api/3/action/group_show", params={"id": group["name"]}).json()["success"]
            assert names == expected, fq


def test_request_rules_and_envelope(client, opened):
    assert client.get("/api/3").json() == {"version": 3}
    unknown = client.get("/api/3/action/no_such_action")
    assert unknown.status_code == 400 and unknown.json() == "Bad request: Action name not known: no_such_action"
    get_write = client.get("/api/action/package_create")
    assert get_write.status_code == 400 and "Please use POST method" in get_write.json()
    not_dict = client.post("/api/action/package_show", content="[1]", headers={"content-type": "application/json"})
    assert not_dict.status_code == 400 and "needs to be a dictionary" in not_dict.json()
    missing = client.get("/api/3/action/package_show", params={"id": "nope"})
    assert missing.status_code == 404
    assert missing.json() == {"help": "http://testserver/api/3/action/help_show?name=package_show",
                              "success": False, "error": {"__type": "Not Found Error", "message": "Not found"}}
    form = client.post("/api/action/package_show", data={"id": opened.name})
    assert form.json()["result"]["name"] == opened.name and form.headers["Cache-Control"] == "private, no-store"
    assert client.get("/api/3/action/package_list").headers["Cache-Control"] == "public, max-age=60"
    jsonp = client.get("/api/3/action/package_show", params={"id": opened.name, "callback": "cb"})
    assert jsonp.text.startswith("cb({") and jsonp.text.endswith("});")
    listed = client.get("/api/3/action/package_search?facet.field=%5B%22organization%22%5D")
    assert listed.json()["result"]["search_facets"]["organization"]["items"][0]["name"] == "ga"
    bad_int = client.get("/api/3/action/package_search", params={"rows": "many"})
    assert bad_int.status_code == 409 and bad_int.json()["error"]["rows"] == ["Invalid integer"]


def test_per_ip_and_per_key_rate_limits(settings, storage, people, opened, app):
    from fastapi.testclient import TestClient

    from huiju.auth import service as auth
    from huiju.opendata.portal import service as portal_service

    settings.opendata_rate_per_ip, settings.opendata_rate_per_key = 3, 5
    with storage.uow() as uow:
        key = auth.create_token(uow, people["citizen"], name="ckan", scopes=["*"]).plaintext
    with storage.uow() as uow:
        partner_key = portal_service.create_key(uow, people["op"], name="partner", rate_per_minute=8).plaintext
    with TestClient(app) as client:
        codes = [client.get("/api/3/action/status_show").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        refused = client.get("/api/3/action/status_show")
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        error = refused.json()["error"]
        assert error["__type"] == "Rate Limit Error" and "每分钟" in error["message"]
        keyed = [client.get("/api/3/action/status_show", headers={"Authorization": key}).status_code
                 for _ in range(6)]
        assert keyed == [200] * 5 + [429]
        assert "API 密钥" in client.get("/api/3/action/status_show", headers={"Authorization": key}).json()[
            "error"]["message"]
        # a key the operator gave its own allowance gets that one, on the CKAN API too
        partner = [client.get("/api/3/action/status_show", headers={"Authorization": partner_key}).status_code
                   for _ in range(9)]
        assert partner == [200] * 8 + [429]


def test_dump_streams_csv_with_bom_through_the_egress(client, opened):
    response = client.get(f"/datastore/dump/{opened.resource_id}")
    assert response.status_code == 200 and response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "stop_id,line,name,district,lat,lon" and len(lines) == ROWS + 1
    assert "第0站" in lines[1]
    jsonl = client.get(f"/datastore/dump/{opened.resource_id}", params={"format": "jsonl"})
    assert json.loads(jsonl.text.splitlines()[0])["stop_id"] == "S00000"


def test_sitemap_lists_open_datasets(client, opened):
    body = client.get("/sitemap.xml").text
    assert f"/opendata/datasets/{opened.name}</loc>" in body and body.startswith("<?xml")


def test_dcat_ap_of_the_open_catalog_loads_in_rdflib(client, opened):
    from rdflib import Graph, URIRef
    from rdflib.namespace import DCAT

    g = Graph().parse(data=client.get("/opendata/catalog.ttl").text, format="turtle")
    downloads = {str(o) for o in g.objects(None, DCAT.downloadURL)}
    assert downloads == {f"http://testserver/datastore/dump/{opened.resource_id}"}
    assert len(set(g.subjects(None, DCAT.Dataset))) == 1
    landing = set(g.objects(None, DCAT.landingPage))
    assert URIRef(f"http://testserver/opendata/datasets/{opened.name}") in landing
    jsonld = Graph().parse(data=client.get("/opendata/catalog.jsonld").text, format="json-ld")
    assert len(jsonld) == len(g)


def test_conditionally_open_rows_are_not_public(storage, people, tmp_path, client):
    from tests.opendata.support import BUS_STOPS_ENTRY, load_bus_stops, open_entry

    entry = {**BUS_STOPS_ENTRY, "open_class": "conditional", "open_condition": "仅限交通研究使用"}
    conditional = open_entry(storage, people, load_bus_stops(storage, people, tmp_path, entry=entry))
    shown = client.get("/api/3/action/package_show", params={"id": conditional.name}).json()["result"]
    assert {"key": "open_class", "value": "conditional"} in shown["extras"]
    refused = client.get("/api/3/action/datastore_search", params={"resource_id": conditional.resource_id})
    assert refused.status_code == 403 and refused.json()["error"]["__type"] == "Authorization Error"
    assert "有条件开放" in refused.json()["error"]["message"]
    assert client.get(f"/datastore/dump/{conditional.resource_id}").status_code == 403
