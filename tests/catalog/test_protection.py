"""Labels, recorded exceptions, 就高从严 inheritance, the open-data rule and dataset key rotation."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from huiju.catalog import access
from huiju.catalog import service as catalog
from huiju.catalog.protection import service as protection
from huiju.errors import Forbidden, Invalid
from huiju.security import lake_crypto
from tests.catalog.conftest import PEOPLE


def test_a_steward_labels_a_column_and_the_dataset_takes_the_strictest_level(storage, people, population):
    with storage.uow() as uow:
        protection.label_column(uow, people["ga_steward"], "population", "性别", level="important",
                                sensitive_pi=False)
    with storage.uow() as uow:
        ds, label = protection.dataset_labels(uow, people["ga_user"], "population")
    assert label.level.value == "important" and label.sensitive_pi
    with storage.uow() as uow, pytest.raises(Forbidden):
        protection.label_column(uow, people["rs_steward"], "population", "性别", level="general_1",
                                sensitive_pi=False)
    with storage.uow() as uow, pytest.raises(Invalid):  # identity documents are sensitive by definition
        protection.label_column(uow, people["ga_steward"], "population", "姓名", level="general_3",
                                sensitive_pi=False, categories=["identity"])


def test_core_and_important_data_can_never_be_opened(storage, people, population):
    masks = {"身份证号": "CN_ID", "手机号码": "CN_MOBILE", "姓名": "CN_NAME", "住址": "CN_ADDRESS", "性别": "MASK"}
    with storage.uow() as uow:
        protection.may_open_dataset(uow, people["op"], "population", masks=masks)
        with pytest.raises(Forbidden):  # the ID number unmasked
            protection.may_open_dataset(uow, people["op"], "population", masks={**masks, "身份证号": "MASK_NONE"})
    with storage.uow() as uow:
        protection.record_exception(uow, people["op"], "population", level="core", reason="全市人口汇总，属核心数据")
    with storage.uow() as uow, pytest.raises(Forbidden) as err:
        protection.may_open_dataset(uow, people["op"], "population", masks=masks)
    assert "never be opened" in str(err.value.args[0])


def test_an_exception_needs_an_operator_and_a_reason_and_is_kept(storage, people, population):
    with storage.uow() as uow, pytest.raises(Forbidden):
        protection.record_exception(uow, people["ga_steward"], "population", column="手机号码", level="general_2",
                                    reason="x")
    with storage.uow() as uow, pytest.raises(Invalid):
        protection.record_exception(uow, people["op"], "population", column="手机号码", level="general_2", reason=" ")
    with storage.uow() as uow:
        ds = protection.record_exception(uow, people["op"], "population", column="手机号码", level="general_2",
                                         reason="仅含单位总机号码")
        entry = ds.labels["手机号码"]
    assert entry["level"] == "general_2" and entry["inherited_level"] == "general_4"
    assert entry["exception"]["reason"] == "仅含单位总机号码" and entry["exception"]["by"] == "op"
    with storage.uow() as uow:
        ds = protection.record_exception(uow, people["op"], "population", column="手机号码", level=None, reason="撤销")
        assert ds.labels["手机号码"]["level"] == "general_4" and "exception" not in ds.labels["手机号码"]


def test_derived_columns_inherit_the_strictest_input_label():
    a = {"id": {"kind": "citizen_id", "level": "general_4", "sensitive_pi": True, "categories": ["identity"],
                "mask": "CN_ID", "confirmed": True}}
    b = {"id": {"kind": "none", "level": "general_2", "sensitive_pi": False, "categories": [], "mask": None,
                "confirmed": True},
         "x": {"kind": "none", "level": "important", "sensitive_pi": False, "categories": [], "mask": None,
               "confirmed": False}}
    got = protection.inherited_labels({"id": [(b, "id"), (a, "id")], "x": [(a, "x"), (b, "x")]})
    assert got["id"]["level"] == "general_4" and got["id"]["sensitive_pi"] and got["id"]["mask"] == "CN_ID"
    assert got["x"]["level"] == "important" and not got["x"]["confirmed"]
    kept = {"x": {**got["x"], "level": "general_2",
                  "exception": {"level": "general_2", "reason": "汇总", "by": "op", "at": "2026-12-05"}}}
    again = protection.inherited_labels({"x": [(a, "x"), (b, "x")]}, kept)
    assert again["x"]["level"] == "general_2" and again["x"]["inherited_level"] == "important"


def test_inherit_labels_through_lineage(storage, people, population):
    with storage.uow() as uow:
        catalog.register_dataset(uow, people["op"], key="derived_people", name="派生", department_code="RS")
    with storage.uow() as uow:
        ds = protection.inherit_labels(uow, people["op"], "derived_people",
                                       {"证件": [("population", "身份证号")], "称呼": [("population", "姓名")]})
        assert ds.labels["证件"]["sensitive_pi"] and ds.labels["证件"]["level"] == "general_4"
        assert ds.labels["称呼"]["level"] == "general_3"


def test_rotating_a_dataset_key_re_encrypts_the_current_version(storage, people, population, backend):
    with storage.uow() as uow:
        before = catalog.current_version(uow, people["op"], "population")
        old_files = [storage.lake.abspath(before.path) / f for f in before.files]
    with storage.uow() as uow, pytest.raises(Forbidden):
        protection.reencrypt_dataset(uow, people["ga_steward"], "population", rotate=True)
    with storage.uow() as uow:
        version = protection.reencrypt_dataset(uow, people["op"], "population", rotate=True)
    assert version.number == before.number + 1 and version.row_count == len(PEOPLE)
    with storage.uow() as uow:
        new = catalog.current_version(uow, people["op"], "population")
        files = [storage.lake.abspath(new.path) / f for f in new.files]
    info = lake_crypto.EncryptionInfo.from_schema(pq.read_schema(files[0]))
    assert info.key_version == 2 and lake_crypto.EncryptionInfo.from_schema(pq.read_schema(old_files[0])).key_version == 1
    with storage.uow() as uow:
        now = access.read_rows(uow, people["ga_user"], "population", purpose="核对")
    with storage.uow() as uow:
        then = access.read_rows(uow, people["ga_user"], "population", purpose="核对", version=before.number)
    assert sorted(now.table.column("身份证号").to_pylist()) == sorted(then.table.column("身份证号").to_pylist()) \
        == sorted(p[0] for p in PEOPLE)


def test_re_encryption_stops_on_altered_ciphertext(storage, people, population, tmp_path):
    import pyarrow as pa

    with storage.uow() as uow:
        version = catalog.current_version(uow, people["op"], "population")
        path = storage.lake.abspath(version.path) / version.files[0]
    table = pq.read_table(path)
    column = table.column("手机号码").combine_chunks()
    values = column.to_pylist()
    values[0] = values[0][:-1] + bytes([values[0][-1] ^ 0x01])  # '0' -> '1': still valid text
    table = table.set_column(table.column_names.index("手机号码"), table.schema.field("手机号码"),
                             pa.array(values, pa.binary()))
    pq.write_table(table, path)
    with storage.uow() as uow, pytest.raises(Invalid) as err:
        protection.reencrypt_dataset(uow, people["op"], "population")
    assert "do not match" in str(err.value.args[0])
