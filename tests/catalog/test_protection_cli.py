"""`huiju protection …` as a real process: load, label, exception, levels, re-encrypt with key rotation."""

from __future__ import annotations

from tests.catalog.conftest import HEADER, PEOPLE
from tests.support import run_cli as run


def test_protection_commands(tmp_path):
    home = tmp_path / "home"
    run(home, "init")
    run(home, "dept", "add", "GA", "示例市公安局", "--level", "city", "--region", "990100")
    run(home, "dataset", "add", "population", "人口基础信息", "--dept", "GA")
    src = tmp_path / "people.csv"
    src.write_text(HEADER + "\n".join(",".join(p) for p in PEOPLE) + "\n", encoding="utf-8")
    run(home, "ingest", "file", str(src), "--dataset", "population")
    shown = run(home, "protection", "labels", "population").stdout
    assert "身份证号" in shown and "citizen_id" in shown and "CN_ID" in shown and "general_4" in shown
    refused = run(home, "protection", "exception", "population", "--level", "general_2", "--reason", " ", ok=False)
    assert refused.returncode == 1 and "必须说明理由" in refused.stdout
    run(home, "protection", "exception", "population", "--column", "性别", "--level", "general_2",
        "--reason", "仅为性别代码")
    done = run(home, "protection", "reencrypt", "population", "--rotate").stdout
    assert "已写入版本 2：40 行" in done
    assert "仅为性别代码" in run(home, "protection", "labels", "population").stdout
