"""Fixtures of the orchestration tests: a fresh dbt manifest, then the Definitions."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DAGSTER_YAML = ROOT / "orchestration" / "dagster.yaml"


@pytest.fixture(scope="session")
def dbt_manifest() -> Path:
    """`dbt parse` once per session, as CI does before loading the definitions."""
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt if dbt.exists() else "dbt"),
            "parse",
            "--quiet",
            "--project-dir",
            str(ROOT / "dbt_project"),
            "--profiles-dir",
            str(ROOT / "dbt_project"),
        ],
        check=True,
        env={**os.environ, "CONFORM_DBT_TARGET": "duckdb"},
    )
    target = Path(os.environ.get("DBT_TARGET_PATH", ROOT / "dbt_project" / "target"))
    manifest = (ROOT / "dbt_project" / target) / "manifest.json"
    assert manifest.exists()
    return manifest


@pytest.fixture(scope="session")
def definitions_module(dbt_manifest: Path):
    import orchestration.definitions as module

    return module


@pytest.fixture(scope="session")
def defs(definitions_module):
    return definitions_module.defs


@pytest.fixture
def dagster_home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME with the project's dagster.yaml (the run queue and pool limits)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    return home
