"""Region codes on the dataset page: totals per GB/T 2260 region, named and outlined from the open region dataset."""

from __future__ import annotations

import json

from huiju.demo.city import REGIONS
from tests.opendata.portal.conftest import CODES

def expected_rows(code: str) -> int:
    return sum(1 for i in range(60) if CODES[i % len(CODES)] == code)


def region_data(page: str) -> dict:
    return json.loads(page.split('<script type="application/json" id="region-data">')[1].split("</script>")[0])


def test_a_region_code_column_gets_totals_per_region(client, clinics):
    page = client.get(f"/open/datasets/{clinics.name}")
    assert page.status_code == 200 and 'data-testid="region-map"' in page.text
    data = region_data(page.text)
    assert data["geojson"] is None  # no region dataset configured: bars labelled by code
    totals = {r["code"]: r["values"] for r in data["regions"]}
    assert set(totals) == set(CODES) and sum(v[0] for v in totals.values()) == 60
    assert totals["990102"][0] == expected_rows("990102")
    assert totals["990102"][1] == sum(10 + i for i in range(60) if CODES[i % len(CODES)] == "990102")  # 床位数
    assert "床位数" in page.text.split('data-testid="region-measure"')[1].split("</select>")[0]


def test_the_region_dataset_names_and_outlines_the_regions(client, clinics, region_dataset):
    data = region_data(client.get(f"/open/datasets/{clinics.name}").text)
    names = {r["code"]: r["name"] for r in data["regions"]}
    assert names["990102"] == "城关区" and len(names) == len(REGIONS)
    shapes = {f["properties"]["code"]: f for f in data["geojson"]["features"]}
    assert set(shapes) == set(CODES) and shapes["990102"]["geometry"]["type"] == "Polygon"
    assert shapes["990102"]["properties"]["name"] == "城关区"


def test_datasets_without_region_codes_have_no_region_map(client, opened):
    assert 'data-testid="region-map"' not in client.get(f"/open/datasets/{opened.name}").text
