"""The BI copy: a BI tool (another process) holding the published file open during a pipeline run
(ingest, dbt, publish) does not break the run; the open connection keeps its consistent old
version, and a new connection sees the new data. Column descriptions travel with the copy."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import duckdb
import pytest
import requests

from ingestion.common import load_connections_file, warehouse_path
from ingestion.pipeline import ingest
from orchestration.transform import run_dbt
from reports.publish import PublishError, bi_warehouse_path, publish

# a BI tool: opens the published file read-only, answers "count" until told to stop
BI_TOOL = textwrap.dedent(
    """
    import sys, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    def answer():
        n = con.execute("select count(*) from marts.fct_time_entry").fetchone()[0]
        at = con.execute("select published_at from conform.publication").fetchone()[0]
        print(n, at.isoformat(), flush=True)
    answer()
    for line in sys.stdin:
        if line.strip() == "stop":
            break
        answer()
    """
)


def _pipeline(command: str = "build"):
    reports = ingest(progress=lambda _: None)
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    result = run_dbt(command)
    assert result.ok, result.failures
    return publish()


@pytest.mark.timeout(900)
def test_a_bi_connection_held_open_does_not_block_the_pipeline(
    simulator_factory, isolated_env
) -> None:
    sim = simulator_factory("tiny")
    load_connections_file(sim.connections_file)
    first = _pipeline()
    assert (
        first.path
        == bi_warehouse_path()
        == warehouse_path().resolve().parent / ("conform_bi.duckdb")
    )
    tool = subprocess.Popen(
        [sys.executable, "-c", BI_TOOL, str(first.path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        before = tool.stdout.readline().split()
        assert len(before) == 2, tool.stderr.read()
        # new business in the source systems, then the whole pipeline again, the BI tool still
        # connected (dbt `run` the second time: the models rewrite every table; tests ran above)
        response = requests.post(f"{sim.control_url}/advance", json={"days": 14}, timeout=120)
        assert response.status_code == 200, response.text
        second = _pipeline("run")
        assert second.published_at > first.published_at
        # the open connection still answers, from the version it opened
        tool.stdin.write("count\n")
        tool.stdin.flush()
        assert tool.stdout.readline().split() == before
    finally:
        if tool.poll() is None:
            tool.stdin.write("stop\n")
            tool.stdin.flush()
        tool.wait(timeout=30)
    assert tool.returncode == 0, tool.stderr.read()

    # a new connection sees the new data, equal to the live warehouse's
    live = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        live_count = live.execute("select count(*) from marts.fct_time_entry").fetchone()[0]
        live_marts = {
            r[0]
            for r in live.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
    finally:
        live.close()
    con = duckdb.connect(str(second.path), read_only=True)
    try:
        count = con.execute("select count(*) from marts.fct_time_entry").fetchone()[0]
        published_at = con.execute("select published_at from conform.publication").fetchone()[0]
        marts = {
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts'"
            ).fetchall()
        }
        # the column descriptions (dbt persist_docs) travel with the copy, for the BI tool
        comment = con.execute(
            "select comment from duckdb_columns() where schema_name = 'marts' "
            "and table_name = 'rpt_dso' and column_name = 'dso_days'"
        ).fetchone()[0]
        schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    finally:
        con.close()
    assert count == live_count > int(before[0])
    assert published_at == second.published_at
    assert marts == live_marts and len(marts) == second.mart_count
    assert comment == "Days sales outstanding."
    # only the marts and what the report needs: no raw, staging or intermediate data
    assert schemas >= {"marts", "reference", "conform"}
    assert not [s for s in schemas if s.startswith("raw_") or s in ("staging", "intermediate")]
    assert not list(first.path.parent.glob(".conform_bi.duckdb.*"))  # no temp file left


def test_publishing_without_a_warehouse_is_a_clear_error(isolated_env) -> None:
    with pytest.raises(PublishError, match="no warehouse"):
        publish()
    assert not bi_warehouse_path().exists()
