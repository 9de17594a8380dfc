"""The same pipeline into PostgreSQL: ingestion with dlt's postgres destination, then
`dbt build` on the postgres target, and the marts still equal the generator's truth."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlparse

import psycopg2
import pytest

from ingestion.common import load_connections_file
from ingestion.pipeline import ingest
from orchestration.transform import run_dbt
from tests.reports.postgres_bi_reader import assert_bi_reader_reads_marts_only


def test_pipeline_and_dbt_build_on_postgres(
    simulator_factory, isolated_env, postgres_uri, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    database = f"conform_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres_uri)
    admin.autocommit = True
    admin.cursor().execute(f"create database {database}")
    admin.close()
    # dlt wants a host and a password in the URI; the socket's trust auth ignores the password
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv(
        "DESTINATION__POSTGRES__CREDENTIALS",
        f"postgresql://postgres:unused@localhost/{database}?host={socket_dir}",
    )
    sim = simulator_factory("tiny")
    load_connections_file(sim.connections_file)
    reports = ingest(progress=lambda _: None)
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    result = run_dbt("build")
    assert result.ok, result.failures
    con = psycopg2.connect(dbname=database, host=socket_dir, user="postgres")
    try:
        cur = con.cursor()
        cur.execute(
            "select employee_id, to_char(period_start, 'YYYY-MM'), total_hours "
            "from marts.rpt_utilization where period_grain = 'month' and total_hours > 0"
        )
        hours = {(e, m): h for e, m, h in cur.fetchall()}
        cur.execute("select invoice_number, open_amount from marts.fct_invoice")
        open_amounts = {n: float(a) for n, a in cur.fetchall()}
    finally:
        con.close()
    truth = {
        (r["psa_user_id"], r["month"]): float(r["hours_total"])
        for r in sim.store.truth["hours_by_employee_month"]
    }
    assert hours == pytest.approx(truth, abs=0.01)
    assert open_amounts == pytest.approx(
        {r["invoice_number"]: float(r["open_balance"]) for r in sim.store.truth["invoices"]}
    )
    # the read-only BI role, on this same build (dbt grants + on-run-start hook)
    assert_bi_reader_reads_marts_only(database, socket_dir)
