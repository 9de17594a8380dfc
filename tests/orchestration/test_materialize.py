"""The whole graph, in process, against the simulator at scale tiny: every dlt asset of every
system, then `dbt build` (models, seeds and their tests as asset checks)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from ingestion.common import warehouse_path


@pytest.fixture
def clean_sources_env() -> Iterator[None]:
    """load_connections_file writes os.environ directly: put it back afterwards."""
    before = dict(os.environ)
    yield
    for key in set(os.environ) - set(before):
        del os.environ[key]
    os.environ.update(before)


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_full_materialize_against_the_simulator(
    defs,
    dbt_manifest,
    definitions_module,
    simulator_factory,
    isolated_env: Path,
    clean_sources_env,
    monkeypatch,
) -> None:
    sim = simulator_factory(scale="tiny")
    monkeypatch.setenv("CONFORM_CONNECTIONS_FILE", str(sim.connections_file))
    graph = defs.resolve_asset_graph()
    assets = [
        *definitions_module.dlt_assets_by_system,
        definitions_module.conformed_model,
        *definitions_module.customer_master_assets,
    ]
    result = dg.materialize(
        assets,
        resources=defs.resources,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )
    failures = [
        f"{e.step_key}: {e.event_specific_data.error.message.splitlines()[0]}"
        for e in result.all_events
        if e.is_step_failure
    ]
    assert result.success, failures
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert materialized == set(graph.materializable_asset_keys)
    # every dbt test ran as an asset check, and none failed at error severity
    checks = [
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    missing = set(graph.asset_check_keys) - {c.asset_check_key for c in checks}
    # known gap: the customer master sits between dbt models, so Dagster runs the dbt project
    # in several steps; a test that reads two models landing in different steps (relationships,
    # reconciliations) is not selected by dbt's `buildable` indirect selection. Every
    # single-model test runs.
    manifest = json.loads(dbt_manifest.read_text())
    multi = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and len(n["depends_on"]["nodes"]) > 1
    }
    assert {k.name for k in missing} <= multi, sorted(
        k.to_user_string() for k in missing if k.name not in multi
    )
    assert len(missing) < len(checks) / 10
    failed = [
        c.asset_check_key.to_user_string()
        for c in checks
        if not c.passed and c.severity == dg.AssetCheckSeverity.ERROR
    ]
    assert not failed, failed
    # the rows landed in this test's warehouse, raw and marts alike
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        raw = con.execute("select count(*) from raw_psa.time_entries").fetchone()[0]
        mart = con.execute("select count(*) from marts.fct_time_entry").fetchone()[0]
        runs = con.execute("select count(*) from raw_stripe._ingestion_runs").fetchone()[0]
    finally:
        con.close()
    assert raw > 0 and mart > 0 and runs >= 1
