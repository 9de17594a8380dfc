"""The executive report's figures, each read from one mart of the published BI copy.

Every query here names the relation it reads; the rendered report carries that name beside
each figure (``data-mart``), so any number can be traced back and recomputed. The metric
definitions are the marts' own (dbt_project/README.md, the marts' YAML); this module only
filters to the period and aggregates.

Period figures (utilization, revenue, margin, DSO, time to cash, billing cycle) are for the
chosen month and the month before. Snapshot figures (unbilled WIP, AR aging, overdue customers,
open exceptions, reconciliation) are as of the data date: the marts hold them as of then.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

TREND_MONTHS = 12
TOP_N = 10
# employees "far below" target: billable utilization this many points under their role's target
FAR_BELOW_TARGET = 0.20
# employees "above capacity": all hours logged at least this share of their capacity hours
ABOVE_CAPACITY = 1.10
OVERDUE_BUCKETS = ("1-30", "31-60", "61-90", "90+")
AGING_BUCKETS = ("current", *OVERDUE_BUCKETS)
WIP_BUCKETS = ("0-30", "31-60", "61-90", "90+")


class ReportDataError(RuntimeError):
    """The BI copy cannot back the report (missing, empty, or the period is out of range)."""


@dataclass(frozen=True)
class Period:
    """A calendar month."""

    start: date

    @classmethod
    def parse(cls, text: str) -> Period:
        try:
            year, month = (int(part) for part in text.split("-"))
            return cls(date(year, month, 1))
        except ValueError as exc:
            raise ReportDataError(f"period {text!r} is not a month like 2026-10") from exc

    @property
    def end(self) -> date:
        return self.start.replace(day=calendar.monthrange(self.start.year, self.start.month)[1])

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def title(self) -> str:
        return f"{self.start:%B %Y}"

    def shift(self, months: int) -> Period:
        index = self.start.year * 12 + self.start.month - 1 + months
        return Period(date(index // 12, index % 12 + 1, 1))

    @property
    def previous(self) -> Period:
        return self.shift(-1)


@dataclass
class Headline:
    """A headline figure: its value this period, the previous period's, and its mart."""

    metric: str
    label: str
    mart: str
    unit: str  # pct | money | days | count | hours
    value: float | None
    previous: float | None = None
    target: float | None = None
    note: str = ""


@dataclass
class Section:
    key: str
    title: str
    marts: list[str]
    headlines: list[Headline] = field(default_factory=list)
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    series: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # marts absent from the BI copy


@dataclass
class ReportData:
    period: Period
    previous: Period
    as_of_date: date
    currency: str
    published_at: datetime | None
    source_warehouse: str
    bi_path: Path
    sections: dict[str, Section]
    freshness: list[dict[str, Any]]
    checks: list[dict[str, Any]]

    def headlines(self) -> list[Headline]:
        return [h for s in self.sections.values() for h in s.headlines]


def _num(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


class _BI:
    """Read-only queries on the published copy."""

    def __init__(self, path: Path):
        if not path.exists():
            raise ReportDataError(
                f"no published BI copy at {path}: run `conform publish` (or `conform run`) first"
            )
        self.con = duckdb.connect(str(path), read_only=True)
        self.relations = {
            f"{schema}.{name}"
            for schema, name in self.con.execute(
                "select schema_name, table_name from duckdb_tables()"
            ).fetchall()
        }

    def rows(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [{n: _num(v) for n, v in zip(names, row, strict=True)} for row in cursor.fetchall()]

    def value(self, sql: str, params: list | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return _num(row[0]) if row else None

    def has(self, relation: str) -> bool:
        return relation in self.relations

    def close(self) -> None:
        self.con.close()


def available_months(bi: _BI) -> list[date]:
    return [
        r["period_start"]
        for r in bi.rows(
            "select distinct period_start from marts.rpt_utilization "
            "where period_grain = 'month' order by period_start"
        )
    ]


def default_period(as_of: date, months: list[date]) -> Period:
    """The last complete month of the data: the latest month that ended on or before the data
    date (as_of_date of rpt_collections: the latest invoice or payment date)."""
    period = Period(as_of.replace(day=1))
    if period.end > as_of:
        period = period.previous
    earlier = [m for m in months if m <= period.start]
    if not earlier:
        raise ReportDataError(f"no complete month of utilization data before {as_of}")
    return Period(earlier[-1])


# -- sections ---------------------------------------------------------------------------------

UTIL_SQL = """
    select
        {dimension} as name,
        sum(u.billable_hours) as billable_hours,
        sum(u.capacity_hours) as capacity_hours,
        sum(u.billable_hours) / nullif(sum(u.capacity_hours), 0) as utilization,
        sum(u.capacity_hours * t.target_billable_utilization)
            / nullif(sum(case when t.target_billable_utilization is not null
                              then u.capacity_hours end), 0) as target,
        count(distinct u.employee_id) as employees
    from marts.rpt_utilization as u
    left join reference.utilization_targets as t on t.role = u.role
    where u.period_grain = 'month' and u.period_start = ?
    group by 1
    order by 1
"""


def _utilization(bi: _BI, period: Period) -> Section:
    section = Section(
        "utilization",
        "Billable utilization",
        ["marts.rpt_utilization", "reference.utilization_targets"],
    )
    firm = {
        p: bi.rows(UTIL_SQL.format(dimension="'firm'"), [p.start])
        for p in (period, period.previous)
    }
    now = firm[period][0] if firm[period] else {}
    before = firm[period.previous][0] if firm[period.previous] else {}
    section.headlines += [
        Headline(
            "billable_utilization",
            "Billable utilization",
            "marts.rpt_utilization",
            "pct",
            now.get("utilization"),
            before.get("utilization"),
            target=now.get("target"),
            note="billable hours / capacity hours",
        ),
        Headline(
            "billable_hours",
            "Billable hours",
            "marts.rpt_utilization",
            "hours",
            now.get("billable_hours"),
            before.get("billable_hours"),
        ),
    ]
    for dimension, column in (
        ("legal_entity", "u.legal_entity_code"),
        ("practice", "u.practice"),
        ("role", "u.role"),
    ):
        current = bi.rows(UTIL_SQL.format(dimension=column), [period.start])
        previous = {
            r["name"]: r
            for r in bi.rows(UTIL_SQL.format(dimension=column), [period.previous.start])
        }
        for row in current:
            row["previous_utilization"] = (previous.get(row["name"]) or {}).get("utilization")
        section.tables[dimension] = current
    first = period.shift(-(TREND_MONTHS - 1))
    section.series["trend"] = bi.rows(
        """
        select
            u.period_start as month,
            sum(u.billable_hours) / nullif(sum(u.capacity_hours), 0) as utilization,
            sum(u.capacity_hours * t.target_billable_utilization)
                / nullif(sum(case when t.target_billable_utilization is not null
                                  then u.capacity_hours end), 0) as target
        from marts.rpt_utilization as u
        left join reference.utilization_targets as t on t.role = u.role
        where u.period_grain = 'month' and u.period_start between ? and ?
        group by 1
        order by 1
        """,
        [first.start, period.start],
    )
    section.series["trend_by_entity"] = bi.rows(
        """
        select legal_entity_code as name, period_start as month,
            sum(billable_hours) / nullif(sum(capacity_hours), 0) as utilization
        from marts.rpt_utilization
        where period_grain = 'month' and period_start between ? and ?
        group by 1, 2
        order by 1, 2
        """,
        [first.start, period.start],
    )
    employees = """
        select u.employee_id, u.employee_name, u.legal_entity_code, u.practice, u.role,
            u.billable_hours, u.total_hours, u.capacity_hours, u.billable_utilization,
            t.target_billable_utilization as target,
            u.total_hours / nullif(u.capacity_hours, 0) as load
        from marts.rpt_utilization as u
        left join reference.utilization_targets as t on t.role = u.role
        where u.period_grain = 'month' and u.period_start = ? and u.capacity_hours > 0
    """
    section.tables["far_below"] = bi.rows(
        employees + " and u.billable_utilization <= t.target_billable_utilization - ? "
        "order by u.billable_utilization - t.target_billable_utilization, u.employee_id",
        [period.start, FAR_BELOW_TARGET],
    )
    section.tables["above_capacity"] = bi.rows(
        employees + " and u.total_hours >= ? * u.capacity_hours "
        "order by u.total_hours / u.capacity_hours desc, u.employee_id",
        [period.start, ABOVE_CAPACITY],
    )
    return section


def _billing(bi: _BI, period: Period) -> Section:
    section = Section(
        "billing",
        "Billed revenue and unbilled WIP",
        ["marts.fct_project_margin", "marts.fct_billing"],
    )
    revenue = {
        p: bi.value(
            "select sum(revenue_reporting) from marts.fct_project_margin where month_start = ?",
            [p.start],
        )
        for p in (period, period.previous)
    }
    wip = bi.rows(
        """
        select age_bucket, sum(value_reporting) as value, sum(billable_hours) as hours
        from marts.fct_billing
        where billing_status = 'unbilled_wip'
        group by 1
        """
    )
    by_bucket = {r["age_bucket"]: r for r in wip}
    section.tables["wip_age"] = [
        {
            "age_bucket": b,
            "value": (by_bucket.get(b) or {}).get("value") or 0.0,
            "hours": (by_bucket.get(b) or {}).get("hours") or 0.0,
        }
        for b in WIP_BUCKETS
    ] + [r for b, r in by_bucket.items() if b not in WIP_BUCKETS]
    wip_total = round(sum(r["value"] for r in section.tables["wip_age"]), 2)
    wip_over_60 = round(
        sum(r["value"] for r in section.tables["wip_age"] if r["age_bucket"] in ("61-90", "90+")),
        2,
    )
    section.headlines += [
        Headline(
            "billed_revenue",
            "Billed revenue",
            "marts.fct_project_margin",
            "money",
            revenue[period],
            revenue[period.previous],
            note="invoiced fees before tax, dated in the month",
        ),
        Headline(
            "unbilled_wip",
            "Unbilled WIP",
            "marts.fct_billing",
            "money",
            wip_total,
            note="approved billable time not yet invoiced, at bill rate (as of the data date)",
        ),
        Headline(
            "unbilled_wip_over_60_days",
            "Unbilled WIP older than 60 days",
            "marts.fct_billing",
            "money",
            wip_over_60,
        ),
    ]
    first = period.shift(-(TREND_MONTHS - 1))
    section.series["revenue_trend"] = bi.rows(
        """
        select month_start as month, sum(revenue_reporting) as revenue,
            sum(margin_reporting) as margin
        from marts.fct_project_margin
        where month_start between ? and ?
        group by 1
        order by 1
        """,
        [first.start, period.start],
    )
    return section


def _collections(bi: _BI, period: Period) -> Section:
    section = Section(
        "collections",
        "Collections",
        ["marts.rpt_collections", "marts.rpt_dso", "marts.customer_xref", "marts.dim_customer"],
    )
    aging = {
        r["aging_bucket"]: r
        for r in bi.rows(
            """
            select aging_bucket, sum(open_amount_reporting) as amount, count(*) as invoices
            from marts.rpt_collections
            where aging_bucket <> 'settled'
            group by 1
            """
        )
    }
    section.tables["aging"] = [
        {
            "aging_bucket": b,
            "amount": (aging.get(b) or {}).get("amount") or 0.0,
            "invoices": (aging.get(b) or {}).get("invoices") or 0,
        }
        for b in AGING_BUCKETS
    ]
    ar_total = round(sum(r["amount"] for r in section.tables["aging"]), 2)
    overdue = round(
        sum(r["amount"] for r in section.tables["aging"] if r["aging_bucket"] != "current"), 2
    )
    dso = {
        p: bi.value(
            """
            select sum(ar_reporting) / nullif(sum(revenue_reporting), 0) * max(days_in_month)
            from marts.rpt_dso where month_start = ?
            """,
            [p.start],
        )
        for p in (period, period.previous)
    }
    # settled in the month = invoice date + time to cash falls in it (the last payment date)
    time_to_cash = {
        p: bi.value(
            """
            select median(time_to_cash_days) from marts.rpt_collections
            where time_to_cash_days is not null
              and invoice_date + time_to_cash_days between ? and ?
            """,
            [p.start, p.end],
        )
        for p in (period, period.previous)
    }
    cycle = {
        p: bi.value(
            """
            select median(billing_cycle_days) from marts.rpt_collections
            where invoice_date between ? and ?
            """,
            [p.start, p.end],
        )
        for p in (period, period.previous)
    }
    section.headlines += [
        Headline(
            "accounts_receivable",
            "Accounts receivable",
            "marts.rpt_collections",
            "money",
            ar_total,
            note="open invoices, as of the data date",
        ),
        Headline("overdue_receivables", "Overdue", "marts.rpt_collections", "money", overdue),
        Headline(
            "dso_days",
            "DSO",
            "marts.rpt_dso",
            "days",
            dso[period],
            dso[period.previous],
            note="AR at month end / invoiced in the month x days in the month",
        ),
        Headline(
            "time_to_cash_days",
            "Time to cash (median)",
            "marts.rpt_collections",
            "days",
            time_to_cash[period],
            time_to_cash[period.previous],
            note="invoice date to last payment, invoices settled in the month",
        ),
        Headline(
            "billing_cycle_days",
            "Billing cycle (median)",
            "marts.rpt_collections",
            "days",
            cycle[period],
            cycle[period.previous],
            note="median work date to invoice date, invoices issued in the month",
        ),
    ]
    first = period.shift(-(TREND_MONTHS - 1))
    section.series["dso_trend"] = bi.rows(
        """
        select month_start as month,
            sum(ar_reporting) / nullif(sum(revenue_reporting), 0) * max(days_in_month) as dso
        from marts.rpt_dso
        where month_start between ? and ?
        group by 1
        order by 1
        """,
        [first.start, period.start],
    )
    section.series["cash_cycle_trend"] = bi.rows(
        """
        with months as (
            select cast(unnest(generate_series(cast(? as date), cast(? as date),
                                               interval 1 month)) as date) as month
        )
        select
            m.month,
            (select median(c.time_to_cash_days) from marts.rpt_collections as c
             where c.time_to_cash_days is not null
               and date_trunc('month', c.invoice_date + c.time_to_cash_days) = m.month)
                as time_to_cash,
            (select median(c.billing_cycle_days) from marts.rpt_collections as c
             where date_trunc('month', c.invoice_date) = m.month) as billing_cycle
        from months as m
        order by m.month
        """,
        [first.start, period.start],
    )
    section.tables["top_overdue"] = bi.rows(
        f"""
        select
            coalesce(x.canonical_customer_id, c.source_system || ':'
                     || c.customer_source_record_id) as customer_id,
            coalesce(d.legal_name, c.customer_source_record_id) as customer_name,
            sum(c.open_amount_reporting) as overdue_amount,
            count(*) as invoices,
            max(c.days_past_due) as max_days_past_due,
            string_agg(distinct c.legal_entity_code, ', ' order by c.legal_entity_code)
                as legal_entities
        from marts.rpt_collections as c
        join marts.fct_invoice as i on i.invoice_key = c.invoice_key
        left join marts.customer_xref as x
            on x.source_system = c.source_system
            and x.source_relation = i.source_relation
            and x.source_record_id = c.customer_source_record_id
        left join marts.dim_customer as d on d.canonical_customer_id = x.canonical_customer_id
        where c.aging_bucket in ({", ".join("'" + b + "'" for b in OVERDUE_BUCKETS)})
        group by 1, 2
        order by overdue_amount desc, customer_id
        limit {TOP_N}
        """
    )
    section.marts.append("marts.fct_invoice")
    return section


def _margin(bi: _BI, period: Period) -> Section:
    section = Section("margin", "Project margin", ["marts.fct_project_margin", "marts.dim_project"])
    totals = {
        p: bi.rows(
            """
            select sum(m.revenue_reporting) as revenue, sum(m.margin_reporting) as margin,
                sum(m.margin_reporting) / nullif(sum(m.revenue_reporting), 0) as margin_pct
            from marts.fct_project_margin as m
            where m.month_start = ?
            """,
            [p.start],
        )[0]
        for p in (period, period.previous)
    }
    section.headlines += [
        Headline(
            "project_margin",
            "Project margin",
            "marts.fct_project_margin",
            "money",
            totals[period]["margin"],
            totals[period.previous]["margin"],
            note="revenue - labour at cost - expenses, all projects",
        ),
        Headline(
            "project_margin_pct",
            "Margin %",
            "marts.fct_project_margin",
            "pct",
            totals[period]["margin_pct"],
            totals[period.previous]["margin_pct"],
        ),
    ]
    projects = """
        select m.project_key, p.project_name, p.legal_entity_code, p.practice,
            m.revenue_reporting as revenue,
            m.labour_cost_reporting + m.expense_cost_reporting as cost,
            m.margin_reporting as margin, m.margin_pct
        from marts.fct_project_margin as m
        join marts.dim_project as p on p.project_key = m.project_key
        where m.month_start = ? and not coalesce(p.is_internal, false)
        order by m.margin_reporting {direction}, m.project_key
        limit ?
    """
    section.tables["top"] = bi.rows(projects.format(direction="desc"), [period.start, TOP_N])
    section.tables["bottom"] = bi.rows(projects.format(direction="asc"), [period.start, TOP_N])
    return section


def _health(bi: _BI) -> Section:
    section = Section(
        "health",
        "Data health",
        ["marts.exceptions_summary", "marts.reconciliation_summary"],
    )
    if bi.has("marts.exceptions_summary"):
        section.tables["exceptions"] = bi.rows(
            """
            select exception_kind, owner_system,
                sum(open_count) as open_count,
                sum(amount_at_risk) as amount_at_risk,
                sum(open_count) filter (where severity = 'high') as high
            from marts.exceptions_summary
            group by 1, 2
            order by amount_at_risk desc, open_count desc, exception_kind, owner_system
            """
        )
        section.tables["exceptions_by_kind"] = bi.rows(
            """
            select exception_kind, sum(open_count) as open_count,
                sum(amount_at_risk) as amount_at_risk
            from marts.exceptions_summary
            group by 1
            order by amount_at_risk desc, open_count desc, exception_kind
            """
        )
        totals = bi.rows(
            "select coalesce(sum(open_count), 0) as n, coalesce(sum(amount_at_risk), 0) as amount "
            "from marts.exceptions_summary"
        )[0]
        section.headlines += [
            Headline(
                "open_exceptions",
                "Open exceptions",
                "marts.exceptions_summary",
                "count",
                totals["n"],
            ),
            Headline(
                "money_at_risk",
                "Money at risk",
                "marts.exceptions_summary",
                "money",
                totals["amount"],
                note="reporting currency, open exceptions",
            ),
        ]
    else:
        section.missing.append("marts.exceptions_summary")
    if bi.has("marts.reconciliation_summary"):
        section.tables["reconciliation"] = bi.rows(
            "select * from marts.reconciliation_summary order by reconciliation"
        )
        section.headlines.append(
            Headline(
                "unexplained_differences",
                "Unexplained reconciliation differences",
                "marts.reconciliation_summary",
                "count",
                bi.value(
                    "select coalesce(sum(unexplained_differences), 0) "
                    "from marts.reconciliation_summary"
                ),
            )
        )
    else:
        section.missing.append("marts.reconciliation_summary")
    return section


def load(bi_path: Path, period: Period | None = None) -> ReportData:
    """Read everything the report shows from the published copy at ``bi_path``."""
    bi = _BI(bi_path)
    try:
        missing = [
            r
            for r in (
                "marts.rpt_utilization",
                "marts.rpt_collections",
                "marts.rpt_dso",
                "marts.fct_billing",
                "marts.fct_project_margin",
            )
            if not bi.has(r)
        ]
        if missing:
            raise ReportDataError(f"the BI copy {bi_path} lacks {', '.join(missing)}")
        as_of = bi.value("select max(as_of_date) from marts.rpt_collections")
        months = available_months(bi)
        if as_of is None or not months:
            raise ReportDataError(f"the BI copy {bi_path} holds no invoices or no utilization")
        if period is None:
            period = default_period(as_of, months)
        elif period.start not in months:
            raise ReportDataError(
                f"no utilization data for {period.label}: the marts cover "
                f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}"
            )
        publication = (
            bi.rows("select * from conform.publication") if bi.has("conform.publication") else []
        )
        meta = publication[0] if publication else {}
        sections = {
            s.key: s
            for s in (
                _utilization(bi, period),
                _billing(bi, period),
                _collections(bi, period),
                _margin(bi, period),
                _health(bi),
            )
        }
        freshness = (
            bi.rows("select * from conform.ingestion_runs order by system, connection")
            if bi.has("conform.ingestion_runs")
            else []
        )
        checks = (
            bi.rows(
                "select suite, asset, check_name, expectation, severity, success, "
                "unexpected_count, evaluated_at from conform.check_results "
                "order by success, severity, suite, expectation"
            )
            if bi.has("conform.check_results")
            else []
        )
        return ReportData(
            period=period,
            previous=period.previous,
            as_of_date=as_of,
            currency=meta.get("reporting_currency") or "USD",
            published_at=meta.get("published_at"),
            source_warehouse=meta.get("source_warehouse") or "",
            bi_path=bi_path,
            sections=sections,
            freshness=freshness,
            checks=checks,
        )
    finally:
        bi.close()
