"""docs/configuration.md follows shardy/config.py: the committed page equals render()."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shardy.config import Settings
from shardy.ops.config_doc import DOC_PATH, main, render, table

ROOT = Path(__file__).resolve().parents[2]


def test_committed_page_matches_settings():
    committed = (ROOT / DOC_PATH).read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/configuration.md is stale: run "
        ".venv/bin/python -m shardy.ops.config_doc --write docs/configuration.md"
    )


def test_every_field_has_one_row_with_its_default():
    rows = table().splitlines()[2:]
    assert len(rows) == len(dataclasses.fields(Settings))
    by_var = {r.split("|")[1].strip(): r for r in rows}
    assert "| `3` |" in by_var["`SHARDY_REDUNDANCY_FACTOR`"]
    assert "| unset |" in by_var["`SHARDY_BROKER_URL`"]
    assert "| `~/.shardy` |" in by_var["`SHARDY_HOME`"]


def test_check_mode_accepts_fresh_and_refuses_stale(tmp_path, capsys):
    page = tmp_path / "configuration.md"
    assert main(["--write", str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    page.write_text(render().replace("Replicas per task", "Copies per task"), encoding="utf-8")
    assert main(["--check", str(page)]) == 1
    assert "out of date" in capsys.readouterr().out
