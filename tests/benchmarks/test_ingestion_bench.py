"""Ingestion benchmark (make bench): rows per second per source at scale large (or
CONFORM_BENCH_SCALE), and the ratio of ingestion time to DuckDB reading the same records
from the export directory's JSON files (the floor: no HTTP, no paging, no typing)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import pytest

from ingestion.common import load_connections_file
from ingestion.pipeline import ingest
from simulator.generator import generate
from tests.conftest import RunningSimulator

pytestmark = pytest.mark.bench


def test_ingestion_throughput_against_the_json_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scale = os.environ.get("CONFORM_BENCH_SCALE", "large")
    monkeypatch.setenv("CONFORM_WAREHOUSE", str(tmp_path / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(tmp_path / "pipelines"))
    (tmp_path / "sim").mkdir()
    sim = RunningSimulator(generate(42, scale), "", tmp_path / "sim")
    try:
        load_connections_file(sim.connections_file)
        started = time.monotonic()
        reports = ingest(progress=print)
        ingest_s = time.monotonic() - started
    finally:
        sim.stop()
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    export = tmp_path / "export"
    sim.store.save(export)
    started = time.monotonic()
    con = duckdb.connect(str(tmp_path / "floor.duckdb"))
    floor_rows = 0
    for i, path in enumerate(sorted(export.glob("*/*/*.jsonl"))):
        if path.stat().st_size == 0:
            continue
        con.execute(
            f"create table t{i} as select * from read_json_auto('{path}', "
            "format='newline_delimited', sample_size=-1)"
        )
        floor_rows += con.execute(f"select count(*) from t{i}").fetchone()[0]
    con.close()
    floor_s = time.monotonic() - started
    print(f"\ningestion at scale {scale}:")
    by_system: dict[str, list] = {}
    for r in reports:
        by_system.setdefault(r.system, []).append(r)
    for system, rs in by_system.items():
        rows = sum(r.rows_loaded for r in rs)
        seconds = sum(r.duration_s for r in rs)
        print(
            f"  {system:<11} {rows:>10,} rows in {seconds:7.1f}s = {rows / seconds:>9,.0f} rows/s "
            f"({sum(r.requests for r in rs):,} requests)"
        )
    total = sum(r.rows_loaded for r in reports)
    print(f"  all         {total:>10,} rows in {ingest_s:7.1f}s = {total / ingest_s:>9,.0f} rows/s")
    print(
        f"  floor: DuckDB reads the {floor_rows:,} exported records in {floor_s:.1f}s; "
        f"ingestion takes {ingest_s / floor_s:.0f}x the floor"
    )
    assert floor_rows == sum(
        len(t) for c in sim.store.connections.values() for t in c.tables.values()
    )
