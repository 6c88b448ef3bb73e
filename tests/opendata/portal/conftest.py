"""Portal fixtures: the app over the test storage, a fake real-name service, and an identity provider."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from huiju.app import create_app
from huiju.demo.city import REGIONS
from tests.opendata.portal.oidc_provider import FakeIdP
from tests.opendata.portal.support import FakeRealName
from tests.opendata.support import BUS_STOPS_ENTRY, load_file, open_entry


@pytest.fixture
def realname() -> FakeRealName:
    return FakeRealName()


@pytest.fixture
def idp():
    provider = FakeIdP()
    stop = provider.serve()
    yield provider
    stop()


@pytest.fixture
def app(settings, storage, realname):
    application = create_app(settings, storage)
    application.state.realname_provider = realname
    return application


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


CLINICS_ENTRY = {**BUS_STOPS_ENTRY, "name": "基层医疗卫生机构", "abstract": "社区卫生服务中心和卫生院的床位数。",
                 "items": [{"name": "机构代码", "type_code": "C", "length": 10, "column": "机构代码", "is_key": True}]}
REGION_ENTRY = {**BUS_STOPS_ENTRY, "name": "行政区划边界", "abstract": "区县的行政区划边界。", "item": "urban_rural",
                "items": [{"name": "区划代码", "type_code": "C", "length": 6, "column": "code", "is_key": True}]}
CODES = [r.code for r in REGIONS]


@pytest.fixture
def clinics(storage, people, tmp_path):
    lines = ["机构代码,机构名称,行政区划代码,床位数"]
    for i in range(60):
        lines.append(f"C{i:04d},第{i}卫生服务中心,{CODES[i % len(CODES)]},{10 + i}")
    path = tmp_path / "clinics.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    entry_id = load_file(storage, people, path, entry=CLINICS_ENTRY, key="clinics", name="医疗机构")
    return open_entry(storage, people, entry_id, index_columns=[], primary_key="机构代码")


@pytest.fixture
def region_dataset(storage, people, tmp_path, settings):
    features = [{"type": "Feature", "properties": {"code": r.code, "name": r.name, "kind": r.kind},
                 "geometry": {"type": "Polygon", "coordinates": [[[r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[1]],
                                                                  [r.bbox[2], r.bbox[3]], [r.bbox[0], r.bbox[3]],
                                                                  [r.bbox[0], r.bbox[1]]]]}} for r in REGIONS]
    path = tmp_path / "regions.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False),
                    encoding="utf-8")
    entry_id = load_file(storage, people, path, entry=REGION_ENTRY, key="region_boundaries", name="行政区划边界")
    opened = open_entry(storage, people, entry_id, index_columns=[], primary_key="code", name="region-boundaries")
    settings.opendata_region_dataset = opened.name
    return opened
