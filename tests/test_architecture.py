"""The house rules that a test can check: import direction, translations complete."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {k: None for k in ("_", "gettext", "N_", "Invalid", "NotFound", "Conflict", "Forbidden",
                               "Unauthenticated", "HuijuError", "TooLarge")}


def test_import_contracts_hold():
    """import-linter checks the context direction in DESIGN.md (contracts in pyproject.toml)."""
    lint = Path(sys.executable).with_name("lint-imports")
    proc = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 7 kept, 0 broken" in proc.stdout  # the direction, and no context imports another's models


def test_every_user_facing_string_has_a_chinese_translation():
    keywords = {**{k: (1,) for k in KEYWORDS}, "gettext": (1,), "_": (1,)}
    method_map = [("src/huiju/**.py", "python"), ("src/huiju/web/templates/**.html", "jinja2")]
    options = {"src/huiju/web/templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    ids = {msg for _f, _l, msg, _c, _x in extract_from_dir(str(ROOT), method_map, options, keywords)
           if isinstance(msg, str) and msg}
    with open(ROOT / "src/huiju/locale/zh_CN/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(ids - translated)
    assert len(ids) > 50
    assert missing == [], f"strings without a zh_CN translation (see docs/i18n.md): {missing}"
