"""The code location: it loads (without any source credentials), holds every expected asset,
check, job, schedule and sensor, and the lineage is one connected graph from each API resource to
each mart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from ingestion.common import SYSTEMS
from tests.orchestration.conftest import ROOT

LAYERS = {"staging", "intermediate", "core", "finance", "operations"}
MARTS = {
    "dim_date",
    "dim_employee",
    "dim_legal_entity",
    "dim_project",
    "fct_time_entry",
    "fct_invoice",
    "fct_invoice_line",
    "fct_payment",
    "fct_project_margin",
    "fct_billing",
    "rpt_utilization",
    "rpt_collections",
}


@pytest.fixture(scope="module")
def manifest(dbt_manifest: Path) -> dict:
    return json.loads(dbt_manifest.read_text())


@pytest.fixture(scope="module")
def graph(defs):
    return defs.resolve_asset_graph()


def test_the_definitions_load_without_source_credentials(dbt_manifest: Path) -> None:
    """A fresh process with no SOURCES__* variables and no connections file still loads."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SOURCES__") and k != "CONFORM_CONNECTIONS_FILE"
    }
    code = (
        "import orchestration.definitions as d; g = d.defs.resolve_asset_graph(); "
        "print(len(g.get_all_asset_keys()))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip().splitlines()[-1]) > 100


def test_raw_assets_for_every_system_and_every_dbt_source(graph, manifest) -> None:
    keys = graph.get_all_asset_keys()
    for system in SYSTEMS:
        raw = {k for k in keys if k.path[0] == f"raw_{system}"}
        assert raw, system
        for key in raw:
            node = graph.get(key)
            assert node.group_name == f"source_{system}"
            assert node.is_materializable
            assert "dlt" in node.kinds
    for source in manifest["sources"].values():
        key = source["config"]["meta"].get("dagster", {}).get("asset_key") or source.get(
            "meta", {}
        ).get("dagster", {}).get("asset_key")
        if source["source_name"].startswith("raw_") or (key and key[0].startswith("raw_")):
            assert dg.AssetKey(key) in keys, source["unique_id"]
            assert graph.get(dg.AssetKey(key)).is_materializable, source["unique_id"]


def test_every_dbt_model_seed_and_snapshot_is_an_asset(graph, manifest) -> None:
    names = {k.path[-1] for k in graph.get_all_asset_keys()}
    expected = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] in ("model", "seed", "snapshot")
    }
    assert expected <= names, expected - names
    assert names >= MARTS


def test_dbt_tests_are_asset_checks(graph, manifest) -> None:
    check_names = {k.name for k in graph.asset_check_keys}
    tests = {
        n["name"]
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n.get("attached_node")
    }
    assert tests, "the manifest has no tests"
    assert tests <= check_names, sorted(tests - check_names)[:10]
    # source tests attach to the dlt assets
    raw_checks = [k for k in graph.asset_check_keys if k.asset_key.path[0].startswith("raw_")]
    assert raw_checks


def test_groups_descriptions_owners(graph) -> None:
    groups = {graph.get(k).group_name for k in graph.get_all_asset_keys()}
    assert LAYERS | {f"source_{s}" for s in SYSTEMS} <= groups
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if not node.is_materializable:
            continue
        assert node.description, key
        assert node.owners, key


def ancestors(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen: set[dg.AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_the_graph_is_connected_end_to_end(graph) -> None:
    keys = graph.get_all_asset_keys()
    raw = {k for k in keys if k.path[0].startswith("raw_")}
    # every staging model reads raw tables only through dlt assets
    for key in keys:
        node = graph.get(key)
        if node.group_name == "staging":
            assert node.parent_keys, key
            for parent in node.parent_keys:
                assert parent in raw and graph.get(parent).is_materializable, (key, parent)
    # every mart reaches back to what loads it: its roots are dlt assets (or dbt seeds such as
    # the legal-entity reference, or nothing at all for a generated calendar), never a stub
    for key in keys:
        node = graph.get(key)
        if node.group_name in ("core", "finance", "operations", "governance"):
            up = ancestors(graph, key)
            roots = {k for k in up if not graph.get(k).parent_keys}
            for root in roots:  # nothing dangling: every root is computed by this graph
                assert graph.get(root).is_materializable, (key, root)
    for name in MARTS - {"dim_date", "dim_legal_entity"}:
        assert ancestors(graph, dg.AssetKey(["marts", name])) & raw, name
    # nothing unmaterializable stands in for a raw table (no dangling stub sources)
    stubs = {k for k in keys if not graph.get(k).is_materializable}
    assert not {k for k in stubs if k.path[0].startswith("raw_")}, stubs


def test_jobs_schedules_sensor(defs, definitions_module, graph) -> None:
    hourly = defs.resolve_job_def("hourly_incremental")
    nightly = defs.resolve_job_def("nightly_full_reconciliation")
    assert hourly and nightly
    schedules = {s.name: s for s in defs.schedules}
    assert schedules["hourly_incremental_schedule"].cron_schedule == "0 * * * *"
    assert schedules["hourly_incremental_schedule"].job_name == "hourly_incremental"
    assert (
        schedules["nightly_full_reconciliation_schedule"].job_name == "nightly_full_reconciliation"
    )
    sensor = defs.resolve_sensor_def("source_change_sensor")
    assert sensor is not None
    # the nightly job reloads every source from scratch
    config = definitions_module.nightly_full_reconciliation.config
    for system in SYSTEMS:
        assert config["ops"][f"dlt_{system}"]["config"]["full_refresh"] is True
    # dbt assets follow their upstream by declarative automation; dlt assets retry with back-off
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.group_name in LAYERS:
            assert node.automation_condition is not None, key
    for assets_def in graph.assets_defs:
        if assets_def.node_def.name.startswith("dlt_"):
            policy = assets_def.node_def.retry_policy
            assert policy and policy.max_retries >= 1 and policy.backoff == dg.Backoff.EXPONENTIAL


def test_one_lineage_from_every_api_resource_to_the_sync_and_the_report(defs, graph) -> None:
    """Every raw table that feeds a mart also feeds the reverse sync and the executive report,
    through the data-quality gate; the Great Expectations suites are checks on raw and marts."""
    keys = graph.get_all_asset_keys()
    gate = dg.AssetKey(["data_quality", "quality_gate"])
    sync = dg.AssetKey(["reverse_sync", "sync_ledger"])
    report = dg.AssetKey("executive_report")
    bi = dg.AssetKey("bi_warehouse")
    assert {gate, sync, report, bi} <= keys
    assert gate in graph.get(sync).parent_keys and gate in graph.get(bi).parent_keys
    assert bi in graph.get(report).parent_keys
    groups = {graph.get(k).group_name for k in keys}
    assert {"governance", "reverse_sync", "reports", "mastering"} <= groups
    assert {k for k in keys if k.path[0] == "sync"}, "no sync_* models"
    assert {k for k in keys if k.path[-1].startswith("exceptions_")} - {
        dg.AssetKey(["marts", "exceptions_customer_match_review"]),
        dg.AssetKey(["marts", "exceptions_project_match"]),
    }, "no governance exception marts"
    feeding = {k for k in keys if k.path[0].startswith("raw_")} & ancestors(
        graph, dg.AssetKey(["marts", "fct_invoice"])
    )
    assert feeding
    assert feeding <= ancestors(graph, report)
    assert feeding <= ancestors(graph, sync)
    ge = {
        spec.key
        for check_def in defs.asset_checks
        for spec in check_def.check_specs
        if spec.key.name == "great_expectations"
    }
    assert {k.asset_key.path[0] for k in ge} >= {f"raw_{s}" for s in SYSTEMS} | {"marts"}
    blocking = {k.asset_key for k in ge if graph.get_check_spec(k).blocking}
    assert blocking <= graph.get(gate).parent_keys
