"""The CLI cycle as real processes (request → approve → read → verify receipt offline → revoke) and leak tracing."""

from __future__ import annotations

import csv
import io
import json
import random

import pyarrow as pa
import pyarrow.parquet as pq

from huiju.share import service
from tests.share.test_share_delivery import granted
from tests.support import run_cli


def cli(settings, *args, ok=True):
    return run_cli(settings.home, *args, ok=ok, HUIJU_DATABASE_URL=settings.database_url)


def test_request_approve_read_verify_revoke_by_cli(storage, settings, people, shared, tmp_path):
    out = cli(settings, "share", "request", str(shared.conditional), "--as", "rs_user", "--purpose", "社保待遇资格核验",
              "--scenario", "养老金发放前核验", "--fields", "编号,区划,年龄")
    assert "Request 1" in out.stdout or "申请 1" in out.stdout
    inbox = cli(settings, "share", "requests", "--box", "inbox", "--as", "ga_steward").stdout
    assert "常住人口基本信息" in inbox
    cli(settings, "share", "approve", "1", "--as", "ga_steward")
    body, receipt = tmp_path / "page.json", tmp_path / "page.receipt.json"
    cli(settings, "share", "read", "1", "--as", "rs_user", "--limit", "5", "--out", str(body), "--receipt",
        str(receipt))
    assert len(json.loads(body.read_text())["rows"]) == 5
    key = cli(settings, "share", "public-key").stdout.strip().split()[0]
    keyfile = tmp_path / "platform.pub"
    keyfile.write_text(key)
    # offline: no database needed
    ok = run_cli(tmp_path / "elsewhere", "share", "verify-receipt", str(receipt), "--body", str(body),
                 "--public-key", str(keyfile))
    assert "genuine" in ok.stdout or "真实" in ok.stdout
    body.write_text(body.read_text().replace('"990101"', '"990102"', 1))
    tampered = run_cli(tmp_path / "elsewhere", "share", "verify-receipt", str(receipt), "--body", str(body),
                       "--public-key", key, ok=False)
    assert tampered.returncode == 1 and "SM3" in tampered.stdout
    cli(settings, "share", "revoke", "1", "--reason", "停止使用", "--as", "ga_steward")
    refused = cli(settings, "share", "read", "1", "--as", "rs_user", "--out", str(body), ok=False)
    assert refused.returncode == 1


def test_check_deadlines_cli(settings, people, shared):
    cli(settings, "share", "request", str(shared.conditional), "--as", "rs_user", "--purpose", "核验",
        "--scenario", "核验", "--fields", "编号")
    out = cli(settings, "share", "check-deadlines", "--now", "2099-01-01T00:00:00").stdout
    assert "1" in out.split(":")[-1] or "1" in out


def _shuffled_csv(content: bytes, keep: list[str]) -> bytes:
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    random.Random(7).shuffle(rows)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keep, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows[:6])
    return buf.getvalue().encode()


def test_trace_names_the_grant_of_a_watermarked_download(storage, people, shared, system):
    decoy = granted(storage, people, shared)
    grant = granted(storage, people, shared)
    with storage.uow() as uow:
        file = service.download_grant(uow, people["rs_user"], grant.id)
    # the watermark rides on the last text field; the leaker kept it but dropped and reordered the rest
    header = file.body.decode().splitlines()[0].replace('"', "").split(",")
    leaked = _shuffled_csv(file.body, [header[-1], header[0]])
    with storage.uow() as uow:
        hits = service.trace_leak(uow, system, leaked, "leak.csv")
    assert [h["grant"] for h in hits] == [grant.id] and decoy.id != grant.id


def test_trace_by_per_grant_pseudonyms(storage, people, shared, system):
    first = granted(storage, people, shared, fields=["编号", "姓名", "区划"], masks={"姓名": "PSEUDONYM"})
    second = granted(storage, people, shared, fields=["编号", "姓名", "区划"], masks={"姓名": "PSEUDONYM"})
    with storage.uow() as uow:
        page = service.deliver_rows(uow, people["rs_user"], second.id, fmt="parquet")
    table = pq.read_table(io.BytesIO(page.body))
    names = table.column("姓名").to_pylist()
    with storage.uow() as uow:
        first_names = json.loads(service.deliver_rows(uow, people["rs_user"], first.id).body)["rows"]
    assert set(names).isdisjoint({r["姓名"] for r in first_names})  # pseudonyms differ per grant
    leaked = pa.table({"name": list(reversed(names))[:5]})  # renamed column, reordered, other columns dropped
    buf = io.BytesIO()
    pq.write_table(leaked, buf)
    with storage.uow() as uow:
        hits = service.trace_leak(uow, system, buf.getvalue(), "x.parquet")
    assert [h["grant"] for h in hits] == [second.id]
    with storage.uow() as uow:
        assert service.trace_leak(uow, system, b"nothing to see", "clean.csv") == []
