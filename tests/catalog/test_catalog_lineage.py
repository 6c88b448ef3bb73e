"""Lineage on the entry page: a real ingest (source file → version) and a derived version built on it."""

from __future__ import annotations

import pyarrow as pa
from fastapi.testclient import TestClient

from huiju.catalog import service
from huiju.ingest import service as ingest
from tests.catalog.support import LEGAL_ENTITIES
from tests.support import login

SCHEMA = {"fields": [{"name": "统一社会信用代码", "type": "string"}, {"name": "企业名称", "type": "string"}]}


def test_sources_versions_derived_and_egress(app, storage, people, tmp_path):
    with storage.uow() as uow:
        ds = service.register_dataset(uow, people["op"], key="ga_firms", name="企业登记", department_code="GA")
    with storage.uow() as uow:
        service.save_schema(uow, people["op"], "ga_firms", table_schema=SCHEMA, rules=[], confirmed=True)
    source = tmp_path / "企业登记202612.csv"
    source.write_text("统一社会信用代码,企业名称\n91340600MA2PBP2120,甲公司\n", encoding="utf-8")
    with storage.uow() as uow:
        job = ingest.ingest_file(uow, people["ga_steward"], dataset_key="ga_firms", path=source)
        assert job.rows_accepted == 1
    with storage.uow() as uow:
        service.register_dataset(uow, people["op"], key="legal_base", name="法人库", department_code="GA")
    with storage.uow() as uow:
        staged = uow.stage_version("legal_base")
        staged.write(pa.table({"统一社会信用代码": ["91340600MA2PBP2120"], "企业名称": ["甲公司"]}))
        service.mount_on_publish(uow, people["op"], "legal_base", staged, kind="derived", job_id=None,
                                 inputs=[{"dataset": "ga_firms", "version": 1, "role": "authority",
                                          "elements": {"企业名称": 1, "统一社会信用代码": 1}}], rule_set_sm3=None)
        uow.commit()
    with storage.uow() as uow:
        entry = service.register_entry(uow, people["ga_steward"], department_code="GA", fields=LEGAL_ENTITIES)
    with storage.uow() as uow:
        service.mount_dataset(uow, people["ga_steward"], entry.id, ds.id)
    with storage.uow() as uow:
        graph = service.entry_lineage(uow, people["ga_user"], entry.id)
    columns = {n.column: [] for n in graph.nodes.values()}
    for n in graph.nodes.values():
        columns[n.column].append(n.label)
    assert columns["source"] == ["企业登记202612.csv"]
    assert columns["version"] == ["企业登记 v1"] and columns["derived"] == ["法人库 v1"]
    assert columns["egress"] == ["有条件共享", "不予开放"]
    labels = {(graph.nodes[e.source].column, graph.nodes[e.target].column): e.label for e in graph.edges}
    assert labels[("source", "version")] == "ingest"
    assert labels[("version", "derived")] == "企业名称、统一社会信用代码"  # column level
    assert graph.width > 0 and all(n.x >= 0 and n.y >= 0 for n in graph.nodes.values())
    with TestClient(app) as c:
        login(c, "ga_user")
        page = c.get(f"/catalog/entries/{entry.id}").text
        assert "企业登记202612.csv" in page and "法人库 v1" in page and "按时更新" in page
