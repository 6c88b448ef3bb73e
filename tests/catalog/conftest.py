"""A GA dataset of people with citizen IDs and mobile numbers, loaded through the real ingest path."""

from __future__ import annotations

from datetime import date

import pytest

from huiju.app import create_app
from huiju.catalog import service as catalog
from huiju.ingest import service as ingest

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHECK = "10X98765432"


def citizen_id(body17: str) -> str:
    return body17 + CHECK[sum(int(d) * w for d, w in zip(body17, WEIGHTS, strict=True)) % 11]


PEOPLE = [(citizen_id(f"11010119{80 + i % 20:02d}0{1 + i % 9}1{i % 10}{i:03d}"), f"{'王李张刘陈'[i % 5]}小{'一二三四五六七八九十'[i % 10]}",
           f"139{i:08d}", f"北京市东城区和平里{i}号", "1" if i % 2 else "2") for i in range(40)]
HEADER = "身份证号,姓名,手机号码,住址,性别\n"


@pytest.fixture
def population(storage, people, tmp_path):
    """Dataset ``population`` of GA: 40 people, ID and mobile detected as sensitive and stored encrypted."""
    src = tmp_path / "people.csv"
    src.write_text(HEADER + "\n".join(",".join(p) for p in PEOPLE) + "\n", encoding="utf-8")
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="population", name="人口基础信息", department_code="GA")
    with storage.uow() as uow:
        job = ingest.ingest_file(uow, people["ga_steward"], dataset_key="population", path=src,
                                 today=date(2026, 11, 1))
    assert job.status == "succeeded" and job.rows_accepted == len(PEOPLE)
    return "population"


@pytest.fixture
def app(settings, storage):
    return create_app(settings, storage)
