"""Documentation stays true: every setting documented, README opens with the two commands CI runs."""

from __future__ import annotations

from pathlib import Path

from huiju.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented():
    doc = (ROOT / "docs/settings.md").read_text()
    missing = [name for name in Settings.model_fields if f"HUIJU_{name.upper()}" not in doc]
    assert missing == []


def test_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = (ROOT / "README.md").read_text().split("```")[1]
    assert "make demo" in first_block and "make test" in first_block
    assert "make test" in (ROOT / ".ci/run").read_text()
