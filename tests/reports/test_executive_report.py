"""The executive report at scale demo: published from the session's demo warehouse, rendered,
opened in headless Chromium, and every section, chart and headline figure checked — figures
against SQL written here on the marts (not the report's code), and against the generator's
ground truth where it has the figure."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestration.cli import main as conform
from reports.executive import build_report
from reports.publish import publish

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"

SECTIONS = ["summary", "utilization", "billing", "collections", "margin", "health", "footer"]
CHARTS = {
    "utilization-trend": "utilization",
    "utilization-by-entity": "utilization",
    "utilization-by-practice": "utilization",
    "utilization-by-role": "utilization",
    "revenue-trend": "billing",
    "wip-age": "billing",
    "ar-aging": "collections",
    "dso-trend": "collections",
    "cash-cycle-trend": "collections",
    "margin-projects": "margin",
    "exceptions-by-kind": "health",
    "reconciliation": "health",
}
OVERDUE = "('1-30', '31-60', '61-90', '90+')"


class _Elements(HTMLParser):
    """Every element's tag and attributes, in document order, with the section it is in."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[dict[str, str]] = []
        self._sections: list[tuple[str, int]] = []
        self._depth = 0
        self._table = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = {k: v or "" for k, v in attrs}
        element["_tag"] = tag
        if tag in ("section", "footer") and "data-section" in element:
            self._sections.append((element["data-section"], self._depth))
        element["_section"] = self._sections[-1][0] if self._sections else ""
        if tag == "table":
            self._table = element.get("data-table", "")
        element["_table"] = self._table
        self.elements.append(element)
        if tag not in ("meta", "br", "img", "input", "link", "path", "rect", "line"):
            self._depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("meta", "br", "img", "input", "link"):
            return
        self._depth -= 1
        if tag == "table":
            self._table = ""
        if (
            tag in ("section", "footer")
            and self._sections
            and (self._sections[-1][1] == self._depth)
        ):
            self._sections.pop()

    def with_attr(self, name: str, value: str | None = None) -> list[dict[str, str]]:
        return [e for e in self.elements if name in e and (value is None or e[name] == value)]


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("chromium is not installed: run .ci/install-chromium (make test does)")
    return path


def _dump_dom(chromium: str, html: Path, profile: Path) -> str:
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            # offline: every host unresolvable, so the charts must come from the file itself
            "--host-resolver-rules=MAP * ~NOTFOUND",
            f"--user-data-dir={profile}",
            "--window-size=1200,1000",
            "--virtual-time-budget=15000",
            "--dump-dom",
            html.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", header[16:24])


def _one(db, sql: str, params: list | None = None) -> float | None:
    value = db.query(sql, params)[0][0]
    return None if value is None else float(value)


@pytest.fixture(scope="module")
def published_report(demo_built, tmp_path_factory: pytest.TempPathFactory):
    """The BI copy published from the demo warehouse into a private folder, and the report
    (HTML, PNG, PDF) rendered from it."""
    folder = tmp_path_factory.mktemp("report")
    started = time.monotonic()
    publication = publish(demo_built.warehouse, folder / "bi" / "conform_bi.duckdb")
    published_s = time.monotonic() - started
    started = time.monotonic()
    result = build_report(output=folder / "reports", bi_path=publication.path)
    rendered_s = time.monotonic() - started
    print(f"\npublish {published_s:.1f}s, render + PNG + PDF {rendered_s:.1f}s")
    return publication, result, folder


@pytest.mark.timeout(900)
def test_report_in_the_browser_shows_every_section_chart_and_the_marts_figures(
    demo_warehouse, published_report, tmp_path: Path
) -> None:
    publication, result, _ = published_report
    db = demo_warehouse
    # the period: the last complete month of the data (data date: latest invoice or payment)
    as_of = db.query("select max(as_of_date) from marts.rpt_collections")[0][0]
    assert str(as_of) == "2026-10-31"  # the generator's clock: October is complete
    period, previous = "2026-10-01", "2026-09-01"
    assert result.html.name == "executive_report_2026-10.html"

    # one file, plotly.js inlined once, nothing fetched from the network
    text = result.html.read_text(encoding="utf-8")
    assert text.count("<script src=") == 0 and text.count("<link ") == 0
    assert text.count("plotly.js v") >= 1 and len(text) > 3_000_000

    dom = _Elements()
    dom.feed(_dump_dom(_chromium(), result.html, tmp_path / "profile"))
    html_tag = dom.elements[0]
    assert html_tag["data-period"] == "2026-10" and html_tag["data-previous-period"] == "2026-09"
    assert int(html_tag["data-page-height"]) > 3000  # the page loaded and laid out

    sections = {e["data-section"]: e for e in dom.with_attr("data-section")}
    assert sorted(sections) == sorted(SECTIONS)
    for chart_id, section in CHARTS.items():
        figures = dom.with_attr("data-chart", chart_id)
        assert len(figures) == 1 and figures[0]["_section"] == section, chart_id
        for mart in figures[0]["data-mart"].split():
            assert mart in sections[section]["data-marts"].split(), (chart_id, mart)
        # plotly drew it: the div became a plot with its SVG
        div = [e for e in dom.elements if e.get("id") == f"chart-{chart_id}"]
        assert div and "js-plotly-plot" in div[0].get("class", ""), chart_id
    assert len(dom.with_attr("class", "main-svg")) >= 2 * len(CHARTS)

    # headline figures = the marts, computed here
    util = """select sum(u.billable_hours) / sum(u.capacity_hours),
                     sum(u.capacity_hours * t.target_billable_utilization) / sum(u.capacity_hours),
                     sum(u.billable_hours)
              from marts.rpt_utilization u join reference.utilization_targets t using (role)
              where u.period_grain = 'month' and u.period_start = ?"""
    u_now, target, hours_now = db.query(util, [period])[0]
    u_before, _, hours_before = db.query(util, [previous])[0]
    revenue = "select sum(revenue_reporting) from marts.fct_project_margin where month_start = ?"
    dso = """select sum(ar_reporting) / sum(revenue_reporting) * max(days_in_month)
             from marts.rpt_dso where month_start = ?"""
    margin = """select sum(margin_reporting), sum(margin_reporting) / sum(revenue_reporting)
                from marts.fct_project_margin where month_start = ?"""
    ttc = """select quantile_cont(time_to_cash_days, 0.5) from marts.rpt_collections
             where time_to_cash_days is not null
               and invoice_date + time_to_cash_days >= cast(? as date)
               and invoice_date + time_to_cash_days < cast(? as date) + interval 1 month"""
    cycle = """select quantile_cont(billing_cycle_days, 0.5) from marts.rpt_collections
               where date_trunc('month', invoice_date) = cast(? as date)"""
    expected = {
        "billable_utilization": ("marts.rpt_utilization", u_now, u_before),
        "billable_hours": ("marts.rpt_utilization", hours_now, hours_before),
        "billed_revenue": (
            "marts.fct_project_margin",
            _one(db, revenue, [period]),
            _one(db, revenue, [previous]),
        ),
        "unbilled_wip": (
            "marts.fct_billing",
            _one(
                db,
                "select sum(value_reporting) from marts.fct_billing "
                "where billing_status = 'unbilled_wip'",
            ),
            None,
        ),
        "unbilled_wip_over_60_days": (
            "marts.fct_billing",
            _one(
                db,
                "select sum(value_reporting) from marts.fct_billing "
                "where billing_status = 'unbilled_wip' and age_bucket in ('61-90', '90+')",
            ),
            None,
        ),
        "accounts_receivable": (
            "marts.rpt_collections",
            _one(
                db,
                "select sum(open_amount_reporting) from marts.rpt_collections "
                "where aging_bucket <> 'settled'",
            ),
            None,
        ),
        "overdue_receivables": (
            "marts.rpt_collections",
            _one(
                db,
                "select sum(open_amount_reporting) from marts.rpt_collections "
                f"where aging_bucket in {OVERDUE}",
            ),
            None,
        ),
        "dso_days": ("marts.rpt_dso", _one(db, dso, [period]), _one(db, dso, [previous])),
        "time_to_cash_days": (
            "marts.rpt_collections",
            _one(db, ttc, [period, period]),
            _one(db, ttc, [previous, previous]),
        ),
        "billing_cycle_days": (
            "marts.rpt_collections",
            _one(db, cycle, [period]),
            _one(db, cycle, [previous]),
        ),
        "project_margin": (
            "marts.fct_project_margin",
            db.query(margin, [period])[0][0],
            db.query(margin, [previous])[0][0],
        ),
        "project_margin_pct": (
            "marts.fct_project_margin",
            db.query(margin, [period])[0][1],
            db.query(margin, [previous])[0][1],
        ),
        "open_exceptions": (
            "marts.exceptions_summary",
            _one(db, "select sum(open_count) from marts.exceptions_summary"),
            None,
        ),
        "money_at_risk": (
            "marts.exceptions_summary",
            _one(db, "select sum(amount_at_risk) from marts.exceptions_summary"),
            None,
        ),
        "unexplained_differences": (
            "marts.reconciliation_summary",
            _one(db, "select sum(unexplained_differences) from marts.reconciliation_summary"),
            None,
        ),
    }
    shown = {e["data-metric"]: e for e in dom.with_attr("data-metric")}
    assert sorted(shown) == sorted(expected)
    for metric, (mart, value, before) in expected.items():
        element = shown[metric]
        assert element["data-mart"] == mart, metric
        assert mart in sections[element["_section"]]["data-marts"].split(), metric
        assert element["data-period"] == "2026-10"
        assert value is not None, f"{metric}: the mart has no value for the period"
        assert float(element["data-value"]) == pytest.approx(float(value), rel=1e-9, abs=0.01), (
            metric
        )
        if before is not None:
            assert float(element["data-previous"]) == pytest.approx(
                float(before), rel=1e-9, abs=0.01
            ), metric
    assert float(shown["billable_utilization"]["data-target"]) == pytest.approx(target)

    # ... and the generator's truth, where it holds the figure
    truth_hours = sum(
        float(r["billable_hours"])
        for r in db.truth("hours_by_employee_month")
        if r["month"] == "2026-10"
    )
    assert float(shown["billable_hours"]["data-value"]) == pytest.approx(truth_hours, abs=0.05)
    open_invoices = [r for r in db.truth("invoices") if abs(float(r["open_balance"])) > 0.005]
    overdue_invoices = [r for r in open_invoices if r["due"] < "2026-10-31"]
    aging = {e["data-bucket"]: e for e in dom.with_attr("data-invoices") if "data-bucket" in e}
    assert sum(int(e["data-invoices"]) for e in aging.values()) == len(open_invoices)
    assert sum(int(e["data-invoices"]) for b, e in aging.items() if b != "current") == len(
        overdue_invoices
    )

    # the top overdue customers: the conformed customer, summed over every ERP record
    top = db.query(
        f"""select x.canonical_customer_id, sum(c.open_amount_reporting) as amount
            from marts.rpt_collections c
            join marts.fct_invoice i using (invoice_key)
            join marts.customer_xref x on x.source_system = c.source_system
                and x.source_relation = i.source_relation
                and x.source_record_id = c.customer_source_record_id
            where c.aging_bucket in {OVERDUE}
            group by 1 order by amount desc, 1 limit 10"""
    )
    rows = dom.with_attr("data-customer-id")
    assert [(e["data-customer-id"], float(e["data-value"])) for e in rows] == [
        (cid, pytest.approx(float(amount), abs=0.01)) for cid, amount in top
    ]
    # project margin: top and bottom client projects of the month
    for table, order in (("margin-top", "desc"), ("margin-bottom", "asc")):
        want = db.query(
            f"""select m.project_key from marts.fct_project_margin m
                join marts.dim_project p using (project_key)
                where m.month_start = ? and not coalesce(p.is_internal, false)
                order by m.margin_reporting {order}, m.project_key limit 10""",
            [period],
        )
        got = [e["data-project-key"] for e in dom.with_attr("data-project-key")]
        assert [k for (k,) in want] == [
            e["data-project-key"]
            for e in dom.elements
            if e["_table"] == table and "data-project-key" in e
        ], table
        assert got  # both tables rendered rows
    # employees far below target / above capacity, as the README defines them
    below = db.query(
        """select count(*) from marts.rpt_utilization u join reference.utilization_targets t
           using (role) where u.period_grain = 'month' and u.period_start = ?
           and u.capacity_hours > 0
           and u.billable_utilization <= t.target_billable_utilization - 0.20""",
        [period],
    )[0][0]
    above = db.query(
        """select count(*) from marts.rpt_utilization where period_grain = 'month'
           and period_start = ? and capacity_hours > 0 and total_hours >= 1.1 * capacity_hours""",
        [period],
    )[0][0]
    rows_in = lambda name: [  # noqa: E731
        e for e in dom.with_attr("data-employee-id") if e["_table"] == name
    ]
    assert len(rows_in("far-below-target")) == below > 0
    assert len(rows_in("above-capacity")) == above > 0
    # the footer: one freshness row per ingested connection, with a successful load
    connections = db.query(
        "select count(*) from (select distinct system, connection from ("
        + " union all ".join(
            f"select system, connection from raw_{s}._ingestion_runs where status = 'ok'"
            for s in ("salesforce", "psa", "netsuite", "dynamics", "stripe")
        )
        + "))"
    )[0][0]
    freshness = dom.with_attr("data-system")
    assert len(freshness) == connections and all(e["data-value"] for e in freshness)
    checks = dom.with_attr("data-checks-total")[0]
    assert int(checks["data-checks-passed"]) <= int(checks["data-checks-total"])

    # the exports for email, and the screenshot kept as a test artifact
    png, pdf = result.exports["png"], result.exports["pdf"]
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 100_000
    width, height = _png_size(png)
    assert width >= 1000 and height > 3000
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copyfile(png, ARTIFACTS / "executive-report.png")
    shutil.copyfile(pdf, ARTIFACTS / "executive-report.pdf")
    assert (
        publication.tables["marts.rpt_utilization"]
        == db.query("select count(*) from marts.rpt_utilization")[0][0]
    )


def test_conform_report_for_a_chosen_period_and_a_clear_error_outside_the_data(
    demo_warehouse, published_report, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    publication, _, _ = published_report
    monkeypatch.setenv("CONFORM_BI_WAREHOUSE", str(publication.path))
    out = tmp_path / "out"
    assert conform(["report", "--period", "2026-09", "--output", str(out), "--html-only"]) == 0
    html = out / "executive_report_2026-09.html"
    text = html.read_text(encoding="utf-8")
    assert 'data-period="2026-09"' in text and 'data-previous-period="2026-08"' in text
    revenue = demo_warehouse.query(
        "select sum(revenue_reporting) from marts.fct_project_margin "
        "where month_start = date '2026-09-01'"
    )[0][0]
    assert f'data-value="{float(revenue)!r}"' in text

    assert conform(["report", "--period", "2019-01", "--output", str(out), "--html-only"]) == 2
    assert "no utilization data for 2019-01" in capsys.readouterr().err
    assert conform(["report", "--period", "October", "--html-only"]) == 2
