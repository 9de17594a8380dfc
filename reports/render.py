"""Render the executive report: one self-contained HTML file (plotly charts, plotly.js inlined
once, no network access needed to open it) from the figures of ``reports.data``.

Traceability: every section names the marts it reads; every headline figure is an element with
``data-metric``, ``data-mart`` and ``data-value`` (the unrounded value), every table row carries
its key and value, and every chart its mart (``data-mart``), so a figure on the page can be
recomputed from the mart it names.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs
from plotly.subplots import make_subplots

from reports.data import (
    ABOVE_CAPACITY,
    FAR_BELOW_TARGET,
    TOP_N,
    Headline,
    ReportData,
)
from reports.template import TEMPLATE

COLORS = {
    "current": "#1f4e79",
    "previous": "#9db7d5",
    "target": "#c0392b",
    "good": "#2e7d32",
    "bad": "#c62828",
    "neutral": "#546e7a",
}
AGING_COLORS = ["#2e7d32", "#f9a825", "#ef6c00", "#d84315", "#b71c1c"]
FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"


# -- formatting ---------------------------------------------------------------------------


def fmt_money(value: float | None, currency: str) -> str:
    if value is None:
        return "–"
    size = abs(value)
    if size >= 1e6:
        text = f"{value / 1e6:,.2f}M"
    elif size >= 1e3:
        text = f"{value / 1e3:,.1f}k"
    else:
        text = f"{value:,.0f}"
    return f"{currency} {text}"


def fmt_value(value: float | None, unit: str, currency: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if unit == "pct":
        return f"{value * 100:.1f}%"
    if unit == "money":
        return fmt_money(value, currency)
    if unit == "days":
        return f"{value:.0f} days"
    if unit == "hours":
        return f"{value:,.0f} h"
    return f"{value:,.0f}"


def fmt_delta(h: Headline, currency: str) -> str:
    """The change against the previous period, in the figure's own terms."""
    if h.value is None or h.previous is None:
        return ""
    diff = h.value - h.previous
    if h.unit == "pct":
        return f"{diff * 100:+.1f} pts"
    if h.unit == "days":
        return f"{diff:+.0f} days"
    if h.previous:
        return f"{diff / abs(h.previous) * 100:+.1f}%"
    return fmt_value(diff, h.unit, currency)


def data_value(value: Any) -> str:
    """The unrounded value for a data-* attribute (empty when unknown)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


# -- charts -------------------------------------------------------------------------------


def _layout(fig: go.Figure, height: int, **kwargs: Any) -> go.Figure:
    settings: dict[str, Any] = {
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 40, "b": 50},
        "font": {"family": FONT, "size": 12},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "legend": {"orientation": "h", "y": -0.18},
    }
    fig.update_layout({**settings, **kwargs})
    fig.update_xaxes(showgrid=False, linecolor="#bbb")
    fig.update_yaxes(gridcolor="#eee", zeroline=False)
    return fig


def _month_label(d: date) -> str:
    return f"{d:%b %Y}"


def chart_utilization_trend(data: ReportData) -> go.Figure:
    section = data.sections["utilization"]
    trend = section.series["trend"]
    months = [_month_label(r["month"]) for r in trend]
    fig = go.Figure()
    for name in sorted({r["name"] for r in section.series["trend_by_entity"]}):
        rows = [r for r in section.series["trend_by_entity"] if r["name"] == name]
        fig.add_scatter(
            x=[_month_label(r["month"]) for r in rows],
            y=[r["utilization"] for r in rows],
            name=name,
            mode="lines",
            line={"width": 1},
            opacity=0.45,
        )
    fig.add_scatter(
        x=months,
        y=[r["utilization"] for r in trend],
        name="Firm",
        mode="lines+markers",
        line={"width": 3, "color": COLORS["current"]},
    )
    fig.add_scatter(
        x=months,
        y=[r["target"] for r in trend],
        name="Target",
        mode="lines",
        line={"dash": "dash", "color": COLORS["target"]},
    )
    return _layout(
        fig,
        380,
        title="Billable utilization by month (firm and legal entities) against target",
        yaxis={"tickformat": ".0%"},
    )


def chart_utilization_by(data: ReportData, dimension: str, title: str) -> go.Figure:
    rows = data.sections["utilization"].tables[dimension]
    names = [(r["name"] or "unknown").replace(" ", "<br>") for r in rows]  # long names wrap
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[r["previous_utilization"] for r in rows],
        name=data.previous.title,
        marker_color=COLORS["previous"],
    )
    fig.add_bar(
        x=names,
        y=[r["utilization"] for r in rows],
        name=data.period.title,
        marker_color=COLORS["current"],
        text=[fmt_value(r["utilization"], "pct", "") for r in rows],
        textposition="outside",
    )
    fig.add_scatter(
        x=names,
        y=[r["target"] for r in rows],
        name="Target",
        mode="markers",
        marker={
            "symbol": "line-ew-open",
            "size": 28,
            "color": COLORS["target"],
            "line": {"width": 3},
        },
    )
    return _layout(fig, 340, title=title, barmode="group", yaxis={"tickformat": ".0%"})


def chart_revenue_trend(data: ReportData) -> go.Figure:
    rows = data.sections["billing"].series["revenue_trend"]
    fig = go.Figure()
    fig.add_bar(
        x=[_month_label(r["month"]) for r in rows],
        y=[r["revenue"] for r in rows],
        name="Billed revenue",
        marker_color=[
            COLORS["current"] if r["month"] == data.period.start else COLORS["previous"]
            for r in rows
        ],
    )
    fig.add_scatter(
        x=[_month_label(r["month"]) for r in rows],
        y=[r["margin"] for r in rows],
        name="Project margin",
        mode="lines+markers",
        line={"color": COLORS["good"]},
    )
    return _layout(fig, 340, title=f"Billed revenue and project margin by month ({data.currency})")


def chart_wip_age(data: ReportData) -> go.Figure:
    rows = data.sections["billing"].tables["wip_age"]
    fig = go.Figure()
    fig.add_bar(
        x=[f"{r['age_bucket']} days" for r in rows],
        y=[r["value"] for r in rows],
        marker_color=AGING_COLORS[1 : len(rows) + 1],
        text=[fmt_money(r["value"], "") for r in rows],
        textposition="outside",
    )
    return _layout(
        fig, 320, title=f"Unbilled WIP by age of the work ({data.currency})", showlegend=False
    )


def chart_ar_aging(data: ReportData) -> go.Figure:
    rows = data.sections["collections"].tables["aging"]
    fig = go.Figure()
    fig.add_bar(
        x=[
            r["aging_bucket"] if r["aging_bucket"] == "current" else f"{r['aging_bucket']} days"
            for r in rows
        ],
        y=[r["amount"] for r in rows],
        marker_color=AGING_COLORS[: len(rows)],
        text=[fmt_money(r["amount"], "") for r in rows],
        textposition="outside",
    )
    return _layout(
        fig,
        320,
        title=f"Accounts receivable by days past due ({data.currency})",
        showlegend=False,
    )


def chart_dso_trend(data: ReportData) -> go.Figure:
    rows = data.sections["collections"].series["dso_trend"]
    fig = go.Figure()
    fig.add_scatter(
        x=[_month_label(r["month"]) for r in rows],
        y=[r["dso"] for r in rows],
        mode="lines+markers",
        name="DSO",
        line={"width": 3, "color": COLORS["current"]},
    )
    return _layout(fig, 320, title="Days sales outstanding by month", yaxis={"ticksuffix": " d"})


def chart_cash_cycle(data: ReportData) -> go.Figure:
    rows = data.sections["collections"].series["cash_cycle_trend"]
    months = [_month_label(r["month"]) for r in rows]
    fig = go.Figure()
    fig.add_scatter(
        x=months,
        y=[r["time_to_cash"] for r in rows],
        name="Time to cash (invoices settled in the month)",
        mode="lines+markers",
        line={"color": COLORS["current"]},
    )
    fig.add_scatter(
        x=months,
        y=[r["billing_cycle"] for r in rows],
        name="Billing cycle (invoices issued in the month)",
        mode="lines+markers",
        line={"color": COLORS["neutral"]},
    )
    return _layout(
        fig, 320, title="Time to cash and billing cycle, median days", yaxis={"ticksuffix": " d"}
    )


def chart_margin_projects(data: ReportData) -> go.Figure:
    section = data.sections["margin"]
    rows = list(reversed(section.tables["bottom"])) + list(reversed(section.tables["top"]))
    seen: set[str] = set()
    unique = [r for r in rows if not (r["project_key"] in seen or seen.add(r["project_key"]))]
    fig = go.Figure()
    fig.add_bar(
        y=[r["project_name"] or r["project_key"] for r in unique],
        x=[r["margin"] for r in unique],
        orientation="h",
        marker_color=[COLORS["good"] if (r["margin"] or 0) >= 0 else COLORS["bad"] for r in unique],
        text=[fmt_money(r["margin"], "") for r in unique],
        textposition="auto",
    )
    return _layout(
        fig,
        max(360, 26 * len(unique) + 80),
        title=f"Top and bottom projects by margin, {data.period.title} ({data.currency})",
        showlegend=False,
        margin={"l": 260, "r": 20, "t": 40, "b": 40},
    )


def chart_exceptions(data: ReportData) -> go.Figure:
    rows = list(reversed(data.sections["health"].tables.get("exceptions_by_kind", [])))
    kinds = [r["exception_kind"].replace("_", " ") for r in rows]
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.03,
        subplot_titles=("Open exceptions", f"Money at risk ({data.currency})"),
    )
    fig.add_bar(
        y=kinds,
        x=[r["open_count"] for r in rows],
        orientation="h",
        marker_color=COLORS["neutral"],
        text=[f"{int(r['open_count']):,}" for r in rows],
        textposition="auto",
        row=1,
        col=1,
    )
    fig.add_bar(
        y=kinds,
        x=[r["amount_at_risk"] for r in rows],
        orientation="h",
        marker_color=COLORS["bad"],
        text=[fmt_money(r["amount_at_risk"], "") if r["amount_at_risk"] else "" for r in rows],
        textposition="auto",
        row=1,
        col=2,
    )
    return _layout(
        fig,
        max(320, 24 * len(rows) + 90),
        showlegend=False,
        margin={"l": 230, "r": 20, "t": 40, "b": 40},
    )


def chart_reconciliation(data: ReportData) -> go.Figure:
    rows = data.sections["health"].tables.get("reconciliation", [])
    names = [r["reconciliation"] for r in rows]
    fig = go.Figure()
    fig.add_bar(
        x=names,
        y=[r["records_with_difference"] for r in rows],
        name="Records with a difference",
        marker_color=COLORS["previous"],
    )
    fig.add_bar(
        x=names,
        y=[r["unexplained_differences"] for r in rows],
        name="Unexplained",
        marker_color=COLORS["bad"],
    )
    return _layout(fig, 300, title="Reconciliation differences by money flow", barmode="group")


# chart id -> (section, marts it reads, builder)
CHARTS: dict[str, tuple[str, str, Any]] = {
    "utilization-trend": (
        "utilization",
        "marts.rpt_utilization reference.utilization_targets",
        chart_utilization_trend,
    ),
    "utilization-by-entity": (
        "utilization",
        "marts.rpt_utilization reference.utilization_targets",
        lambda d: chart_utilization_by(d, "legal_entity", "By legal entity"),
    ),
    "utilization-by-practice": (
        "utilization",
        "marts.rpt_utilization reference.utilization_targets",
        lambda d: chart_utilization_by(d, "practice", "By practice"),
    ),
    "utilization-by-role": (
        "utilization",
        "marts.rpt_utilization reference.utilization_targets",
        lambda d: chart_utilization_by(d, "role", "By role"),
    ),
    "revenue-trend": ("billing", "marts.fct_project_margin", chart_revenue_trend),
    "wip-age": ("billing", "marts.fct_billing", chart_wip_age),
    "ar-aging": ("collections", "marts.rpt_collections", chart_ar_aging),
    "dso-trend": ("collections", "marts.rpt_dso", chart_dso_trend),
    "cash-cycle-trend": ("collections", "marts.rpt_collections", chart_cash_cycle),
    "margin-projects": (
        "margin",
        "marts.fct_project_margin marts.dim_project",
        chart_margin_projects,
    ),
    "exceptions-by-kind": ("health", "marts.exceptions_summary", chart_exceptions),
    "reconciliation": ("health", "marts.reconciliation_summary", chart_reconciliation),
}


def _charts(data: ReportData) -> dict[str, list[dict[str, str]]]:
    by_section: dict[str, list[dict[str, str]]] = {}
    for chart_id, (section, marts, build) in CHARTS.items():
        if marts in data.sections[section].missing:
            continue  # the section says which mart is missing
        fig = build(data)
        html = fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=f"chart-{chart_id}",
            config={"displaylogo": False, "displayModeBar": False, "responsive": True},
        )
        by_section.setdefault(section, []).append({"id": chart_id, "marts": marts, "html": html})
    return by_section


def render_html(data: ReportData) -> str:
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters["value"] = lambda v, unit: fmt_value(v, unit, data.currency)
    env.filters["money"] = lambda v: fmt_money(v, data.currency)
    env.filters["dv"] = data_value
    env.filters["delta"] = lambda h: fmt_delta(h, data.currency)
    template = env.from_string(TEMPLATE)
    checks = data.checks
    return template.render(
        data=data,
        s=data.sections,
        charts=_charts(data),
        plotly_js=get_plotlyjs(),
        generated_at=datetime.now(UTC),
        checks_passed=sum(1 for c in checks if c["success"]),
        checks_failed=[c for c in checks if not c["success"]],
        far_below_points=round(FAR_BELOW_TARGET * 100),
        above_capacity_pct=round(ABOVE_CAPACITY * 100),
        top_n=TOP_N,
    )


def report_file_name(data: ReportData) -> str:
    return f"executive_report_{data.period.label}.html"


def write_html(data: ReportData, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / report_file_name(data)
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(render_html(data), encoding="utf-8")
    temp.replace(path)  # a reader never sees half a report
    return path
