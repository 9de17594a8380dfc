"""The conformed model against the generator's ground truth (computed in Python by the
simulator, never by the SQL under test): dbt build green, then marts equal the truth."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import duckdb
import pytest

from ingestion.common import load_connections_file, warehouse_path
from ingestion.pipeline import ingest
from orchestration.transform import DBT_DIR, run_dbt
from simulator.generator import generate
from tests.conftest import RunningSimulator


@pytest.fixture(scope="module", params=["tiny", "demo"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningSimulator]:
    """The whole pipeline at scales tiny (seed 7) and demo (seed 42)."""
    scale = request.param
    if scale == "demo":  # the session's shared `conform run` at demo scale
        demo = request.getfixturevalue("demo_built")
        with pytest.MonkeyPatch.context() as mp:
            for key, value in demo.env.items():
                mp.setenv(key, value)
            yield demo.sim
        return
    folder = tmp_path_factory.mktemp(f"dbt-known-answers-{scale}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONFORM_WAREHOUSE", str(folder / "conform.duckdb"))
        mp.setenv("CONFORM_PIPELINES_DIR", str(folder / "pipelines"))
        for key in list(os.environ):
            if key.startswith("SOURCES__"):
                mp.delenv(key)
        (folder / "sim").mkdir()
        sim = RunningSimulator(generate(7 if scale == "tiny" else 42, scale), "", folder / "sim")
        try:
            load_connections_file(sim.connections_file)
            reports = ingest(progress=lambda _: None)
            assert all(r.status == "ok" for r in reports), [r.error for r in reports]
            result = run_dbt("build")
            assert result.ok, result.failures
            yield sim
        finally:
            sim.stop()


def query(sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_hours_per_employee_month_equal_the_truth(built: RunningSimulator) -> None:
    truth = {
        (r["psa_user_id"], r["month"]): r for r in built.store.truth["hours_by_employee_month"]
    }
    rows = query("""
        select employee_id, strftime(period_start, '%Y-%m'), total_hours, billable_hours,
               approved_billable_hours
        from marts.rpt_utilization where period_grain = 'month' and total_hours > 0""")
    assert {(r[0], r[1]) for r in rows} == set(truth)
    for employee, month, total, billable, approved in rows:
        t = truth[(employee, month)]
        assert total == pytest.approx(float(t["hours_total"]), abs=0.01)
        assert billable == pytest.approx(float(t["billable_hours"]), abs=0.01)
        assert approved == pytest.approx(float(t["approved_billable_hours"]), abs=0.01)


def test_invoice_open_balances_equal_the_truth(built: RunningSimulator) -> None:
    truth = {r["invoice_number"]: r for r in built.store.truth["invoices"]}
    rows = query(
        "select invoice_number, total_amount, credited_amount, paid_amount, open_amount "
        "from marts.fct_invoice"
    )
    assert {r[0] for r in rows} == set(truth)
    for number, total, credited, paid, open_amount in rows:
        t = truth[number]
        assert float(total) == pytest.approx(float(t["total"]))
        assert float(credited) == pytest.approx(float(t["credited"]))
        assert float(paid) == pytest.approx(float(t["paid_erp"]))
        assert float(open_amount) == pytest.approx(float(t["open_balance"]))


def test_payments_equal_the_truth(built: RunningSimulator) -> None:
    truth = built.store.truth["payments"]
    erp = Counter(
        (r["system"], r["connection"], r["invoice_number"], round(float(r["amount"]), 2))
        for r in truth
        if r["erp_payment_id"]
    )
    card = {r["stripe_charge_id"]: float(r["amount"]) for r in truth if r["stripe_charge_id"]}
    rows = query(
        "select source_system, source_relation, invoice_number, stripe_charge_id, amount "
        "from marts.fct_payment"
    )
    erp_rows = Counter((s, c, n, round(float(a), 2)) for s, c, n, _, a in rows if s != "stripe")
    card_rows = {charge: float(a) for s, _, _, charge, a in rows if s == "stripe"}
    assert erp_rows == erp
    assert card_rows == pytest.approx(card)


def test_invoice_lines_sum_to_headers(built: RunningSimulator) -> None:
    rows = query("""
        select i.invoice_number, i.total_amount, sum(l.line_amount + l.tax_amount)
        from marts.fct_invoice i join marts.fct_invoice_line l using (invoice_key)
        group by 1, 2""")
    assert len(rows) == len(built.store.truth["invoices"])
    for number, total, lines in rows:
        assert float(lines) == pytest.approx(float(total)), number


def test_aging_buckets_and_reporting_amounts_equal_the_truth(built: RunningSimulator) -> None:
    """Each invoice's bucket and open amount in USD, recomputed from the truth files."""
    fx = {
        (r["currency"], r["date"]): float(r["units_per_usd"]) for r in built.store.truth["fx_rates"]
    }
    truth = {r["invoice_number"]: r for r in built.store.truth["invoices"]}
    rows = query(
        "select invoice_number, as_of_date, aging_bucket, open_amount_reporting "
        "from marts.rpt_collections"
    )
    as_of = rows[0][1]
    buckets = set()
    for number, _, bucket, open_usd in rows:
        t = truth[number]
        open_balance = float(t["open_balance"])
        days = (as_of - date.fromisoformat(t["due"])).days
        expected = (
            "settled"
            if open_balance <= 0
            else "current"
            if days <= 0
            else "1-30"
            if days <= 30
            else "31-60"
            if days <= 60
            else "61-90"
            if days <= 90
            else "90+"
        )
        assert bucket == expected, number
        buckets.add(bucket)
        # the ERPs quote business days; a weekend invoice uses the Friday rate
        day = date.fromisoformat(t["issued"])
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        rate = fx.get((t["currency"], day.isoformat()))
        if rate is None:  # an invoice in a currency no system quotes: no reporting value
            assert open_usd is None, number
        else:
            assert float(open_usd) == pytest.approx(open_balance / rate, rel=1e-4, abs=0.02)
    assert {"settled", "current"} <= buckets


def test_readme_questions_answer_with_one_query_each(built: RunningSimulator) -> None:
    readme = (DBT_DIR / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in readme.split("```sql")[1:]]
    assert len(blocks) == 3
    utilization, overdue, margin = (query(sql) for sql in blocks)
    assert utilization and all(0 < row[1] < 2 for row in utilization)
    assert margin
    assert all(row[1] > 0 for row in overdue)


MARTS = (
    "dim_date",
    "dim_legal_entity",
    "dim_employee",
    "dim_project",
    "fct_time_entry",
    "fct_expense",
    "fct_invoice",
    "fct_invoice_line",
    "fct_payment",
    "fct_project_margin",
    "fct_billing",
    "rpt_collections",
    "rpt_utilization",
)


def test_docs_generate_catalogs_the_marts(built: RunningSimulator) -> None:
    """`dbt docs generate` works on the built warehouse: the catalog lists every mart with
    the columns its contract declares, and the manifest the exposures and snapshots."""
    result = run_dbt("docs generate")
    assert result.ok, result.failures
    catalog = json.loads((DBT_DIR / "target" / "catalog.json").read_text())
    manifest = json.loads((DBT_DIR / "target" / "manifest.json").read_text())
    for mart in MARTS:
        node = catalog["nodes"].get(f"model.conform.{mart}")
        assert node is not None, mart
        assert node["metadata"]["schema"] == "marts"
        declared = manifest["nodes"][f"model.conform.{mart}"]
        assert declared["config"]["contract"]["enforced"], mart
        assert set(node["columns"]) == {c.lower() for c in declared["columns"]}, mart
    assert {"exposure.conform.executive_report", "exposure.conform.bi_marts"} <= set(
        manifest["exposures"]
    )
    snapshots = {"snapshot.conform.snap_project_status", "snapshot.conform.snap_customer_records"}
    assert snapshots <= set(catalog["nodes"])
