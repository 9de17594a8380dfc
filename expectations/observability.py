"""The business figures the operating model watches, read from the marts and attached to the
checks as metadata: unposted time, projects missing financial dimensions, invoices stuck in
approval, payment statuses not returned to the ERP.

Each figure is computed from the conformed marts (``fct_time_entry``, ``dim_project``,
``fct_invoice``, ``fct_payment``); where the governance mart ``exceptions_summary`` exists, the
open exception counts and money at risk of the matching kinds are added beside it.
"""

from __future__ import annotations

from typing import Any

from expectations.warehouse import Warehouse

# the exceptions_summary kinds behind each figure (the exception queues' own vocabulary)
EXCEPTION_KINDS: dict[str, tuple[str, ...]] = {
    "marts.fct_time_entry": ("time_not_posted",),
    "marts.dim_project": (
        "project_missing_cost_center",
        "project_missing_billing_method",
        "project_missing_legal_entity",
        "project_missing_tax_setting",
        "psa_project_without_erp",
    ),
    "marts.fct_invoice": ("invoice_disputed_collectible", "invoice_currency_not_allowed"),
    "marts.fct_payment": ("stripe_paid_erp_open", "unexplained_payment_difference"),
}

QUERIES: dict[str, str] = {
    # approved billable time the ERP has not received yet
    "marts.fct_time_entry": """
        select count(*) as unposted_time_entries,
               coalesce(sum(billable_hours), 0) as unposted_hours,
               coalesce(sum(bill_amount_reporting), 0) as unposted_value_reporting
        from marts.fct_time_entry
        where is_approved and is_billable and not is_posted_to_erp""",
    # client projects lacking an ERP project, cost center, legal entity or billing method
    "marts.dim_project": """
        select count(*) as projects_missing_financial_dimensions,
               coalesce(sum(case when erp_project_code is null then 1 else 0 end), 0)
                   as projects_without_erp_project,
               coalesce(sum(case when cost_center is null then 1 else 0 end), 0)
                   as projects_without_cost_center,
               coalesce(sum(case when legal_entity_code is null then 1 else 0 end), 0)
                   as projects_without_legal_entity,
               coalesce(sum(case when billing_method is null then 1 else 0 end), 0)
                   as projects_without_billing_method
        from marts.dim_project
        where not is_internal
          and (erp_project_code is null or cost_center is null
               or legal_entity_code is null or billing_method is null)""",
    # PSA invoices (submitted for approval, time billed on them) with no ERP invoice yet
    "marts.fct_invoice": """
        select count(distinct t.psa_invoice_id) as invoices_stuck_in_approval,
               coalesce(sum(t.bill_amount_reporting), 0) as stuck_invoice_value_reporting
        from marts.fct_time_entry as t
        where t.psa_invoice_id is not null
          and t.psa_invoice_id not in (
              select i.psa_invoice_id from marts.fct_invoice as i
              where i.psa_invoice_id is not null)""",
    # money received by Stripe that the ERP does not show as a payment
    "marts.fct_payment": """
        select count(*) as payment_statuses_not_returned,
               coalesce(sum(amount_reporting), 0) as payments_not_returned_value_reporting
        from marts.fct_payment
        where not is_recorded_in_erp""",
}


def figures(wh: Warehouse, suite_name: str) -> dict[str, Any]:
    """The business figures attached to one suite's check (empty when it has none or the
    marts are not built yet)."""
    sql = QUERIES.get(suite_name)
    out: dict[str, Any] = {}
    if sql is None:
        return out
    schema, table = suite_name.split(".", 1)
    if not wh.columns(schema, table):
        return out
    try:
        names, rows = wh.rows(sql)
    except Exception as exc:  # noqa: BLE001 - a figure must never fail the check itself
        return {"business_figures_error": str(exc).splitlines()[0]}
    if rows:
        out.update({n: _number(v) for n, v in zip(names, rows[0], strict=True)})
    kinds = EXCEPTION_KINDS.get(suite_name, ())
    if kinds and wh.columns("marts", "exceptions_summary"):
        placeholders = ", ".join(["%s" if wh.postgres else "?"] * len(kinds))
        names, rows = wh.rows(
            "select exception_kind, sum(open_count) as open_count, "
            "sum(amount_at_risk) as amount_at_risk from marts.exceptions_summary "
            f"where exception_kind in ({placeholders}) group by exception_kind",
            list(kinds),
        )
        for kind, count, amount in rows:
            out[f"open_exceptions.{kind}"] = _number(count)
            out[f"amount_at_risk.{kind}"] = _number(amount)
    return out


def _number(value: Any) -> Any:
    if value is None:
        return 0
    if isinstance(value, int | float):
        return round(value, 2) if isinstance(value, float) else value
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return int(number) if number.is_integer() else round(number, 2)
