"""The runner over every system: one command loads all five, records what each run did, and
fails with one clear line per unreachable system."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb

from ingestion.common import load_connections_file, warehouse_path
from ingestion.pipeline import ingest

SYSTEMS = ("salesforce", "psa", "netsuite", "dynamics", "stripe")


def test_ingest_loads_every_system_and_records_each_run(simulator_factory, isolated_env) -> None:
    sim = simulator_factory("tiny")
    load_connections_file(sim.connections_file)
    reports = ingest(progress=lambda _: None)
    assert [r.status for r in reports] == ["ok"] * len(reports), [r.error for r in reports]
    assert {(r.system, r.connection) for r in reports} == {
        (s, c) for (s, c) in sim.store.connections
    }
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        for system in SYSTEMS:
            runs = con.execute(
                f"select connection, status, rows_loaded, requests "
                f"from raw_{system}._ingestion_runs"
            ).fetchall()
            conns = {c for (s, c) in sim.store.connections if s == system}
            assert {r[0] for r in runs} == conns
            assert all(r[1] == "ok" and r[2] > 0 and r[3] > 0 for r in runs), runs
    finally:
        con.close()
    for r in reports:
        expected = sum(
            len(t) for t in sim.store.connections[(r.system, r.connection)].tables.values()
        )
        assert r.rows_loaded >= expected * 0.9, (r.system, r.connection, r.rows)


def test_unreachable_system_fails_with_one_clear_line(
    simulator_factory, isolated_env, tmp_path: Path
) -> None:
    sim = simulator_factory("tiny")
    connections = json.loads(sim.connections_file.read_text())
    stripe = connections["systems"]["stripe"]["stripe"]
    stripe["base_url"] = "http://127.0.0.1:9"  # nothing listens there
    connections["systems"] = {"stripe": connections["systems"]["stripe"]}
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(connections))
    env_cmd = [sys.executable, "-m", "orchestration.cli", "ingest", "--connections", str(path)]
    out = subprocess.run(env_cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "stripe/stripe" in errors[0], out.stderr


def test_full_refresh_rereads_every_connection_without_losing_the_others(
    simulator_factory, isolated_env
) -> None:
    sim = simulator_factory("tiny")
    load_connections_file(sim.connections_file)
    ingest(["netsuite"], progress=lambda _: None)
    again = ingest(["netsuite"], progress=lambda _: None)
    assert all(r.rows_loaded == 0 for r in again)  # incremental: nothing changed
    refreshed = ingest(["netsuite"], full_refresh=True, progress=lambda _: None)
    for r in refreshed:  # every record read again, for each connection
        expected = len(sim.store.connections[("netsuite", r.connection)].tables["timebill"])
        assert r.rows.get("timebill") == expected, (r.connection, r.rows)
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        rows = dict(
            con.execute(
                "select _source_connection, count(*) from raw_netsuite.timebill group by 1"
            ).fetchall()
        )
    finally:
        con.close()
    assert rows == {
        c: len(sim.store.connections[("netsuite", c)].tables["timebill"])
        for c in ("apac", "europe")
    }
