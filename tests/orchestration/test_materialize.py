"""The whole graph, in process, against the simulator at scale tiny, the way `conform run` runs
it (orchestration/run.py): every dlt asset of every system, `dbt build` with its tests as asset
checks, the customer master, the Great Expectations checks, the quality gate, the reverse sync,
the BI copy and the executive report. Then a selected part of the graph only."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion.common import warehouse_path
from orchestration.run import run_graph


@pytest.fixture
def clean_sources_env() -> Iterator[None]:
    """load_connections_file writes os.environ directly: put it back afterwards."""
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_the_whole_graph_runs_in_process(
    defs,
    dbt_manifest,
    simulator_factory,
    isolated_env: Path,
    clean_sources_env,
    monkeypatch,
) -> None:
    sim = simulator_factory(scale="tiny")
    monkeypatch.setenv("CONFORM_CONNECTIONS_FILE", str(sim.connections_file))
    graph = defs.resolve_asset_graph()
    lines: list[str] = []
    summary = run_graph(write=lines.append)
    assert summary.success, summary.failures
    # one progress line per step started and finished
    assert any(line.startswith("  ✓ dlt_psa") for line in lines), lines
    assert any(line.startswith("  ✓ reverse_sync") for line in lines), lines
    assert summary.materialized == len(graph.materializable_asset_keys)
    assert not summary.skipped
    # no check failed at ERROR severity (blocking); warnings are allowed (the read-back of the
    # reverse sync is a warning until the next ingestion reads the pushed values back)
    severe = [name for name in summary.checks_failed if not name.startswith("sync/")]
    assert not severe, severe
    # known gap: a dbt test between two models is not run inside Dagster (dagster-dbt selects
    # such checks out of the subsetted dbt step); every single-model test runs
    manifest = json.loads(dbt_manifest.read_text())
    multi = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and len(n["depends_on"]["nodes"]) > 1
    }
    evaluated = summary.checks_passed + len(summary.checks_failed)
    assert len(graph.asset_check_keys) - evaluated <= len(multi)
    # the rows landed in this test's warehouse, raw and marts alike, and the tail ran
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        raw = con.execute("select count(*) from raw_psa.time_entries").fetchone()[0]
        mart = con.execute("select count(*) from marts.fct_time_entry").fetchone()[0]
        runs = con.execute("select count(*) from raw_stripe._ingestion_runs").fetchone()[0]
        checks = con.execute("select count(*) from data_quality.check_results").fetchone()[0]
        synced = con.execute("select count(*) from reverse_sync.sync_audit_log").fetchone()[0]
    finally:
        con.close()
    assert raw > 0 and mart > 0 and runs >= 1 and checks > 0 and synced > 0
    # every Great Expectations suite ran as a check, and its data docs were built
    suites = {spec.key for check_def in defs.asset_checks for spec in check_def.check_specs}
    assert suites and suites <= summary.evaluated
    assert (Path(os.environ["CONFORM_DATA_DOCS_DIR"]) / "index.html").is_file()
    reports = list(Path(os.environ["CONFORM_REPORTS_DIR"]).glob("executive_report_*.html"))
    assert reports, "no executive report written"


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_selection_runs_only_its_part(
    defs, simulator_factory, isolated_env: Path, clean_sources_env, monkeypatch
) -> None:
    sim = simulator_factory(scale="tiny")
    monkeypatch.setenv("CONFORM_CONNECTIONS_FILE", str(sim.connections_file))
    graph = defs.resolve_asset_graph()
    stripe = {k for k in graph.materializable_asset_keys if k.path[0] == "raw_stripe"}
    summary = run_graph("group:source_stripe", write=lambda _: None)
    assert summary.success, summary.failures
    assert summary.materialized == len(stripe)
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        rows = con.execute("select schema_name from information_schema.schemata").fetchall()
        schemas = {r[0] for r in rows}
    finally:
        con.close()
    assert "raw_stripe" in schemas and "raw_psa" not in schemas and "marts" not in schemas
    with pytest.raises(ValueError, match="matches no asset"):
        run_graph("group:no_such_group", write=lambda _: None)
    assert dg.AssetKey(["raw_stripe", "customers"]) in stripe
