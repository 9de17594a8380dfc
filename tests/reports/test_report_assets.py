"""The Dagster assets `bi_warehouse` and `executive_report`: downstream of every mart (so of
their blocking checks), materialised in-process against the demo warehouse; and the dbt
exposure `executive_report` names every mart the report reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from orchestration.assets_reports import BI_KEY, REPORT_KEY, build_report_assets
from reports.data import load

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def manifest() -> Path:
    """`dbt parse` (no warehouse connection), as CI does before loading the definitions."""
    dbt = Path(sys.executable).parent / "dbt"
    subprocess.run(
        [
            str(dbt),
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
    target = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    path = ROOT / "dbt_project" / target / "manifest.json"
    assert path.exists()
    return path


@pytest.mark.timeout(600)
def test_report_assets_follow_every_mart_and_materialise(
    manifest: Path, demo_warehouse, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nodes = json.loads(manifest.read_text())["nodes"].values()
    marts = {
        dg.AssetKey(["marts", n["name"]])
        for n in nodes
        if n["resource_type"] == "model" and n["schema"] == "marts"
    }
    assert dg.AssetKey(["marts", "exceptions_summary"]) in marts
    bi, report = build_report_assets(manifest)
    graph = dg.Definitions(assets=[bi, report]).resolve_asset_graph()
    assert set(graph.get(BI_KEY).parent_keys) == marts | {
        dg.AssetKey(["reference", "utilization_targets"])
    }
    assert set(graph.get(REPORT_KEY).parent_keys) == {BI_KEY}
    for key in (BI_KEY, REPORT_KEY):
        node = graph.get(key)
        assert node.group_name == "reports" and node.owners and node.description
    assert bi.op.pool == "warehouse"  # it reads the live warehouse: no writer meanwhile

    bi_path = tmp_path / "bi" / "conform_bi.duckdb"
    monkeypatch.setenv("CONFORM_BI_WAREHOUSE", str(bi_path))
    monkeypatch.setenv("CONFORM_REPORTS_DIR", str(tmp_path / "reports"))
    result = dg.materialize(
        [bi, report],
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"executive_report": {"config": {"formats": []}}}},
    )
    assert result.success
    published = result.asset_materializations_for_node("bi_warehouse")[0].metadata
    assert published["marts"].value == len(marts)
    meta = result.asset_materializations_for_node("executive_report")[0].metadata
    html = Path(meta["path"].value)
    assert html == (tmp_path / "reports" / "executive_report_2026-10.html").resolve()
    assert meta["report"].value == html.as_uri() and html.exists()
    assert meta["period"].value == "2026-10"
    revenue = demo_warehouse.query(
        "select sum(revenue_reporting) from marts.fct_project_margin "
        "where month_start = date '2026-10-01'"
    )[0][0]
    assert meta["billed_revenue"].value == pytest.approx(float(revenue))

    # the exposure names every relation the report reads (keep exposures.yml true)
    exposure = next(
        e
        for e in json.loads(manifest.read_text())["exposures"].values()
        if e["name"] == "executive_report"
    )
    exposed = {d.split(".")[-1] for d in exposure["depends_on"]["nodes"]}
    data = load(bi_path)
    read = {m.split(".")[-1] for s in data.sections.values() for m in s.marts}
    assert read <= exposed, sorted(read - exposed)
    con = duckdb.connect(str(bi_path), read_only=True)
    try:
        assert con.execute("select count(*) from conform.publication").fetchone()[0] == 1
    finally:
        con.close()
