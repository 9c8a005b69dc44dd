"""Every command is documented in the README, every `status --json` key in docs/status.md,
every column of `export daily` in docs/export.md."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import typer

import minerwatch
from minerwatch.cli import app

REPO = Path(__file__).resolve().parents[1]


def _command_paths(t: typer.Typer, prefix: str = "minerwatch") -> list[str]:
    paths = []
    for info in t.registered_commands:
        name = info.name or info.callback.__name__.replace("_", "-")
        paths.append(f"{prefix} {name}")
    for group in t.registered_groups:
        paths.extend(_command_paths(group.typer_instance, f"{prefix} {group.name}"))
    return paths


def test_every_command_is_in_the_readme():
    readme = (REPO / "README.md").read_text()
    commands = _command_paths(app)
    assert "minerwatch status" in commands and "minerwatch import coinmetrics" in commands
    missing = [c for c in commands if c not in readme]
    assert not missing, f"commands missing from README.md: {missing}"


def test_every_status_key_is_documented_with_a_unit():
    doc = (REPO / "docs" / "status.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", doc, flags=re.M))
    keys = [f.name for f in dataclasses.fields(minerwatch.Status)]
    missing = [k for k in keys if k not in rows]
    assert not missing, f"status keys missing from docs/status.md: {missing}"
    assert all(rows[k].strip() for k in keys)
    stale = [k for k in rows if k not in keys]
    assert not stale, f"docs/status.md documents keys status does not have: {stale}"


def test_readme_test_command_is_what_ci_runs():
    readme = (REPO / "README.md").read_text()
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in readme


def test_every_daily_export_column_is_documented_with_a_unit(loaded_db):
    from minerwatch.analyses.export import export_table

    doc = (REPO / "docs" / "export.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| ([^|]+) \|", doc, flags=re.M))
    columns = list(export_table(loaded_db, "daily", start="2025-10-06").columns)
    missing = [c for c in columns if c not in rows]
    assert not missing, f"daily export columns missing from docs/export.md: {missing}"
    assert all(rows[c].strip() for c in columns)
    stale = [k for k in rows if k not in columns]
    assert not stale, f"docs/export.md documents columns the export does not have: {stale}"
