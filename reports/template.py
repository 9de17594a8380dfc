# ruff: noqa: E501  (HTML lines)
"""The executive report's HTML (Jinja2, autoescaped). Kept in a module so it ships with the
package. Layout: fixed 1040 px content width, so the screen, the PNG and the A4-landscape PDF
look the same."""

TEMPLATE = r"""<!DOCTYPE html>
<html lang="en" data-period="{{ data.period.label }}" data-previous-period="{{ data.previous.label }}"
      data-as-of-date="{{ data.as_of_date }}" data-currency="{{ data.currency }}">
<head>
<meta charset="utf-8">
<title>Executive report {{ data.period.label }}: utilization, billing, collections</title>
<meta name="generator" content="Conform reports/">
<style>
  @page { size: A4 landscape; margin: 10mm; }
  * { box-sizing: border-box; }
  body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #1d2733;
         margin: 0; background: #f4f6f8; }
  main { width: 1040px; margin: 0 auto; padding: 16px 0 32px; }
  header.report { background: #1f4e79; color: white; padding: 18px 22px; border-radius: 6px; }
  header.report h1 { margin: 0 0 4px; font-size: 24px; }
  header.report p { margin: 2px 0; opacity: .9; font-size: 13px; }
  section { background: white; border-radius: 6px; margin-top: 16px; padding: 14px 18px;
            page-break-inside: avoid; break-inside: avoid-page; }
  section h2 { margin: 0 0 2px; font-size: 19px; color: #1f4e79; }
  .source { font-size: 11px; color: #607080; margin: 0 0 10px; }
  .source code { background: #eef2f6; padding: 0 3px; border-radius: 3px; }
  .kpis { display: flex; flex-wrap: wrap; gap: 10px; margin: 8px 0 12px; }
  .kpi { flex: 1 1 180px; border: 1px solid #dde3ea; border-radius: 6px; padding: 8px 10px; }
  .kpi .label { font-size: 12px; color: #526070; }
  .kpi .value { font-size: 22px; font-weight: bold; margin: 2px 0; }
  .kpi .compare { font-size: 11px; color: #607080; }
  .kpi .note { font-size: 10px; color: #8090a0; }
  .below { color: #c62828; } .above { color: #2e7d32; }
  .grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
  figure.chart { margin: 6px 0; }
  table { border-collapse: collapse; width: 100%; font-size: 12px; margin: 6px 0 10px; }
  th, td { text-align: left; padding: 3px 6px; border-bottom: 1px solid #e6eaef; }
  th { background: #f0f3f6; font-weight: 600; }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  h3 { font-size: 14px; margin: 12px 0 4px; }
  .missing { color: #c62828; font-weight: 600; }
  footer { font-size: 11px; color: #526070; background: white; border-radius: 6px;
           margin-top: 16px; padding: 12px 18px; page-break-inside: avoid; }
  footer h2 { font-size: 15px; color: #1f4e79; margin: 0 0 4px; }
  .ok { color: #2e7d32; font-weight: 600; } .fail { color: #c62828; font-weight: 600; }
</style>
<script>{{ plotly_js | safe }}</script>
</head>
<body>
<main>
<header class="report">
  <h1>Utilization, billing and collections — {{ data.period.title }}</h1>
  <p>Compared with {{ data.previous.title }}. Data as of {{ data.as_of_date }};
     amounts in {{ data.currency }} (reporting currency). Snapshot figures (WIP, receivables,
     exceptions) are as of the data date.</p>
  <p>Every figure comes from the conformed marts (published copy
     <code>{{ data.bi_path.name }}</code>); each section names its marts.</p>
</header>

{% macro kpi(h) -%}
<div class="kpi" data-metric="{{ h.metric }}" data-mart="{{ h.mart }}" data-unit="{{ h.unit }}"
     data-value="{{ h.value | dv }}" data-previous="{{ h.previous | dv }}"
     data-target="{{ h.target | dv }}" data-period="{{ data.period.label }}">
  <div class="label">{{ h.label }}</div>
  <div class="value">{{ h.value | value(h.unit) }}</div>
  <div class="compare">
    {%- if h.previous is not none %}{{ data.previous.label }}: {{ h.previous | value(h.unit) }}
      ({{ h | delta }}){% endif -%}
    {%- if h.target is not none %}{% if h.previous is not none %} · {% endif %}target
      {{ h.target | value(h.unit) }}{% endif -%}
  </div>
  {% if h.note %}<div class="note">{{ h.note }}</div>{% endif %}
  <div class="note">{{ h.mart }}</div>
</div>
{%- endmacro %}

{% macro source(section) -%}
<p class="source">Source: {% for m in section.marts %}<code>{{ m }}</code>{% if not loop.last %}, {% endif %}{% endfor %}</p>
{%- endmacro %}

{% macro chart(section_key, chart_id) -%}
{% for c in charts.get(section_key, []) if c.id == chart_id %}
<figure class="chart" data-chart="{{ c.id }}" data-mart="{{ c.marts }}">{{ c.html | safe }}</figure>
{% endfor %}
{%- endmacro %}

{% macro util_table(rows, label) -%}
<table data-table="utilization-{{ label }}" data-mart="marts.rpt_utilization">
  <tr><th>{{ label | replace('_', ' ') | capitalize }}</th><th class="num">Employees</th>
      <th class="num">Billable h</th><th class="num">Capacity h</th>
      <th class="num">{{ data.period.label }}</th><th class="num">{{ data.previous.label }}</th>
      <th class="num">Target</th></tr>
  {% for r in rows %}
  <tr data-name="{{ r.name }}" data-value="{{ r.utilization | dv }}" data-target="{{ r.target | dv }}">
    <td>{{ r.name }}</td><td class="num">{{ r.employees }}</td>
    <td class="num">{{ r.billable_hours | value('count') }}</td>
    <td class="num">{{ r.capacity_hours | value('count') }}</td>
    <td class="num {{ 'below' if r.target is not none and r.utilization is not none and r.utilization < r.target else 'above' }}">{{ r.utilization | value('pct') }}</td>
    <td class="num">{{ r.previous_utilization | value('pct') }}</td>
    <td class="num">{{ r.target | value('pct') }}</td>
  </tr>
  {% endfor %}
</table>
{%- endmacro %}

{% macro employee_table(rows, name) -%}
<table data-table="{{ name }}" data-mart="marts.rpt_utilization">
  <tr><th>Employee</th><th>Entity</th><th>Practice</th><th>Role</th>
      <th class="num">Billable</th><th class="num">Target</th><th class="num">Hours / capacity</th></tr>
  {% for r in rows %}
  <tr data-employee-id="{{ r.employee_id }}" data-value="{{ r.billable_utilization | dv }}">
    <td>{{ r.employee_name }}</td><td>{{ r.legal_entity_code }}</td><td>{{ r.practice }}</td>
    <td>{{ r.role }}</td><td class="num">{{ r.billable_utilization | value('pct') }}</td>
    <td class="num">{{ r.target | value('pct') }}</td><td class="num">{{ r.load | value('pct') }}</td>
  </tr>
  {% else %}<tr><td colspan="7">None.</td></tr>{% endfor %}
</table>
{%- endmacro %}

<section id="summary" data-section="summary" data-marts="{% for k, sec in s.items() %}{{ sec.marts | join(' ') }} {% endfor %}">
  <h2>Headlines</h2>
  <p class="source">Each figure names its mart; details in the sections below.</p>
  <div class="kpis">
    {% for metric in ['billable_utilization', 'billed_revenue', 'unbilled_wip', 'accounts_receivable', 'dso_days', 'project_margin_pct', 'money_at_risk'] %}
      {% for sec in s.values() %}{% for h in sec.headlines if h.metric == metric %}
      <div class="kpi" data-summary-of="{{ h.metric }}">
        <div class="label">{{ h.label }}</div>
        <div class="value">{{ h.value | value(h.unit) }}</div>
        <div class="compare">{% if h.previous is not none %}{{ h | delta }} vs {{ data.previous.label }}{% endif %}{% if h.target is not none %} · target {{ h.target | value(h.unit) }}{% endif %}</div>
      </div>
      {% endfor %}{% endfor %}
    {% endfor %}
  </div>
</section>

{% set sec = s.utilization %}
<section id="utilization" data-section="utilization" data-marts="{{ sec.marts | join(' ') }}">
  <h2>{{ sec.title }}</h2>
  {{ source(sec) }}
  <div class="kpis">{% for h in sec.headlines %}{{ kpi(h) }}{% endfor %}</div>
  {{ chart('utilization', 'utilization-trend') }}
  {{ chart('utilization', 'utilization-by-entity') }}
  {{ util_table(sec.tables.legal_entity, 'legal_entity') }}
  <div class="grid2">
    <div>{{ chart('utilization', 'utilization-by-practice') }}</div>
    <div>{{ chart('utilization', 'utilization-by-role') }}</div>
  </div>
  {{ util_table(sec.tables.practice, 'practice') }}
  {{ util_table(sec.tables.role, 'role') }}
  <p class="source">Target: the firm's billable-utilization target per role
    (<code>reference.utilization_targets</code>), weighted by capacity hours for each group.</p>
  <h3>Far below target: billable utilization at least {{ far_below_points }} points under the role's target ({{ sec.tables.far_below | length }})</h3>
  {{ employee_table(sec.tables.far_below, 'far-below-target') }}
  <h3>Above capacity: hours logged at least {{ above_capacity_pct }}% of capacity ({{ sec.tables.above_capacity | length }})</h3>
  {{ employee_table(sec.tables.above_capacity, 'above-capacity') }}
</section>

{% set sec = s.billing %}
<section id="billing" data-section="billing" data-marts="{{ sec.marts | join(' ') }}">
  <h2>{{ sec.title }}</h2>
  {{ source(sec) }}
  <div class="kpis">{% for h in sec.headlines %}{{ kpi(h) }}{% endfor %}</div>
  {{ chart('billing', 'revenue-trend') }}
  {{ chart('billing', 'wip-age') }}
  <table data-table="wip-age" data-mart="marts.fct_billing">
    <tr><th>Age of the work</th><th class="num">Hours</th><th class="num">Value</th></tr>
    {% for r in sec.tables.wip_age %}
    <tr data-bucket="{{ r.age_bucket }}" data-value="{{ r.value | dv }}"><td>{{ r.age_bucket }} days</td>
      <td class="num">{{ r.hours | value('count') }}</td><td class="num">{{ r.value | money }}</td></tr>
    {% endfor %}
  </table>
</section>

{% set sec = s.collections %}
<section id="collections" data-section="collections" data-marts="{{ sec.marts | join(' ') }}">
  <h2>{{ sec.title }}</h2>
  {{ source(sec) }}
  <div class="kpis">{% for h in sec.headlines %}{{ kpi(h) }}{% endfor %}</div>
  <div class="grid2">
    <div>{{ chart('collections', 'ar-aging') }}</div>
    <div>{{ chart('collections', 'dso-trend') }}</div>
  </div>
  <table data-table="ar-aging" data-mart="marts.rpt_collections">
    <tr><th>Days past due</th><th class="num">Invoices</th><th class="num">Open amount</th></tr>
    {% for r in sec.tables.aging %}
    <tr data-bucket="{{ r.aging_bucket }}" data-value="{{ r.amount | dv }}" data-invoices="{{ r.invoices }}"><td>{{ r.aging_bucket }}</td>
      <td class="num">{{ r.invoices }}</td><td class="num">{{ r.amount | money }}</td></tr>
    {% endfor %}
  </table>
  {{ chart('collections', 'cash-cycle-trend') }}
  <h3>Top {{ top_n }} overdue customers (conformed customer, all legal entities)</h3>
  <table data-table="top-overdue" data-mart="marts.rpt_collections">
    <tr><th>Customer</th><th>Legal entities</th><th class="num">Overdue invoices</th>
        <th class="num">Oldest (days past due)</th><th class="num">Overdue amount</th></tr>
    {% for r in sec.tables.top_overdue %}
    <tr data-customer-id="{{ r.customer_id }}" data-value="{{ r.overdue_amount | dv }}" data-invoices="{{ r.invoices }}">
      <td>{{ r.customer_name }}</td><td>{{ r.legal_entities }}</td>
      <td class="num">{{ r.invoices }}</td><td class="num">{{ r.max_days_past_due }}</td>
      <td class="num">{{ r.overdue_amount | money }}</td></tr>
    {% else %}<tr><td colspan="5">No overdue receivables.</td></tr>{% endfor %}
  </table>
</section>

{% set sec = s.margin %}
<section id="margin" data-section="margin" data-marts="{{ sec.marts | join(' ') }}">
  <h2>{{ sec.title }}</h2>
  {{ source(sec) }}
  <div class="kpis">{% for h in sec.headlines %}{{ kpi(h) }}{% endfor %}</div>
  {{ chart('margin', 'margin-projects') }}
  <div class="grid2">
  {% for key, title in [('top', 'Top'), ('bottom', 'Bottom')] %}
    <div><h3>{{ title }} {{ top_n }} client projects by margin</h3>
    <table data-table="margin-{{ key }}" data-mart="marts.fct_project_margin">
      <tr><th>Project</th><th>Entity</th><th class="num">Revenue</th><th class="num">Margin</th><th class="num">%</th></tr>
      {% for r in sec.tables[key] %}
      <tr data-project-key="{{ r.project_key }}" data-value="{{ r.margin | dv }}">
        <td>{{ r.project_name }}</td><td>{{ r.legal_entity_code }}</td>
        <td class="num">{{ r.revenue | money }}</td><td class="num">{{ r.margin | money }}</td>
        <td class="num">{{ r.margin_pct | value('pct') }}</td></tr>
      {% endfor %}
    </table></div>
  {% endfor %}
  </div>
</section>

{% set sec = s.health %}
<section id="health" data-section="health" data-marts="{{ sec.marts | join(' ') }}">
  <h2>{{ sec.title }}</h2>
  {{ source(sec) }}
  {% for m in sec.missing %}<p class="missing" data-missing-mart="{{ m }}">{{ m }} is not in the published copy (not built yet): no figures from it.</p>{% endfor %}
  <div class="kpis">{% for h in sec.headlines %}{{ kpi(h) }}{% endfor %}</div>
  {{ chart('health', 'exceptions-by-kind') }}
  {% if sec.tables.exceptions is defined %}
  <table data-table="exceptions" data-mart="marts.exceptions_summary">
    <tr><th>Exception</th><th>Who fixes it</th><th class="num">Open</th><th class="num">High severity</th><th class="num">Money at risk</th></tr>
    {% for r in sec.tables.exceptions %}
    <tr data-kind="{{ r.exception_kind }}" data-owner="{{ r.owner_system }}" data-count="{{ r.open_count | dv }}" data-value="{{ r.amount_at_risk | dv }}">
      <td>{{ r.exception_kind | replace('_', ' ') }}</td><td>{{ r.owner_system }}</td>
      <td class="num">{{ r.open_count }}</td><td class="num">{{ r.high or 0 }}</td>
      <td class="num">{{ r.amount_at_risk | money }}</td></tr>
    {% else %}<tr><td colspan="5">No open exceptions.</td></tr>{% endfor %}
  </table>
  {% endif %}
  {{ chart('health', 'reconciliation') }}
  {% if sec.tables.reconciliation is defined %}
  <table data-table="reconciliation" data-mart="marts.reconciliation_summary">
    <tr><th>Reconciliation</th><th class="num">Records compared</th><th class="num">With a difference</th>
        <th class="num">Unexplained</th><th class="num">Difference (absolute)</th></tr>
    {% for r in sec.tables.reconciliation %}
    <tr data-reconciliation="{{ r.reconciliation }}" data-value="{{ r.difference_amount | dv }}" data-unexplained="{{ r.unexplained_differences }}">
      <td>{{ r.reconciliation }}</td><td class="num">{{ r.records_compared }}</td>
      <td class="num">{{ r.records_with_difference }}</td><td class="num">{{ r.unexplained_differences }}</td>
      <td class="num">{{ r.difference_amount | money }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
</section>

<footer id="footer" data-section="footer">
  <h2>Data freshness and checks</h2>
  <table data-table="freshness" data-mart="raw_&lt;system&gt;._ingestion_runs">
    <tr><th>System</th><th>Connection</th><th>Last successful load (UTC)</th><th>Last attempt</th></tr>
    {% for r in data.freshness %}
    <tr data-system="{{ r.system }}" data-connection="{{ r.connection }}" data-value="{{ r.last_success_at | dv }}">
      <td>{{ r.system }}</td><td>{{ r.connection }}</td>
      <td>{{ r.last_success_at.strftime('%Y-%m-%d %H:%M') if r.last_success_at else 'never' }}</td>
      <td class="{{ 'ok' if r.last_status == 'ok' else 'fail' }}">{{ r.last_status }}</td></tr>
    {% else %}<tr><td colspan="4">No ingestion runs recorded.</td></tr>{% endfor %}
  </table>
  <p id="checks" data-checks-total="{{ data.checks | length }}" data-checks-passed="{{ checks_passed }}">
  {% if data.checks %}
    Data-quality checks (Great Expectations, latest state per expectation,
    <code>data_quality.check_results</code>): <span class="{{ 'ok' if not checks_failed else 'fail' }}">{{ checks_passed }} of {{ data.checks | length }} passed</span>.
  {% else %}
    No data-quality check results published yet (<code>data_quality.check_results</code> is empty).
  {% endif %}
  </p>
  {% if checks_failed %}
  <table data-table="failed-checks">
    <tr><th>Suite</th><th>Expectation</th><th>Severity</th><th class="num">Unexpected</th></tr>
    {% for c in checks_failed %}
    <tr data-check="{{ c.check_name }}"><td>{{ c.suite }}</td><td>{{ c.expectation }}</td>
      <td class="fail">{{ c.severity }}</td><td class="num">{{ c.unexpected_count }}</td></tr>
    {% endfor %}
  </table>
  {% endif %}
  <p>Published {{ data.published_at.strftime('%Y-%m-%d %H:%M UTC') if data.published_at else 'unknown' }}
     from <code>{{ data.source_warehouse }}</code>; report generated {{ generated_at.strftime('%Y-%m-%d %H:%M UTC') }}.</p>
</footer>
</main>
<script>
  // the page's full height, for the PNG export (reports/export.py reads it from the DOM)
  window.addEventListener("load", function () {
    document.documentElement.setAttribute(
      "data-page-height", String(document.documentElement.scrollHeight));
  });
</script>
</body>
</html>
"""
