"""Suites on the published marts: what BI tools, the executive report and the reverse sync
read. A blocking failure here stops the reverse sync and the report."""

from __future__ import annotations

from typing import Any

from expectations.spec import (
    WARNING,
    Suite,
    between,
    dates_in_range,
    in_set,
    iso_currency,
    mostly_filled,
    non_negative,
    not_null,
    refers_to,
)

S = "marts"
DIM_PROJECT = f"{S}.dim_project"
DIM_EMPLOYEE = f"{S}.dim_employee"
CLIENT_WORK = ("is_internal", False)  # internal projects have no ERP project or billing


def mart(table: str, **kwargs: Any) -> Suite:
    """A published mart: its suite also expects it not to be empty."""
    return Suite(S, table, min_rows=1, **kwargs)


SUITES = [
    mart(
        "dim_customer",
        key=("canonical_customer_id",),
        required=("legal_name", "billing_country", "source_system_count"),
        expectations=[
            not_null("legal_name"),
            mostly_filled("tax_id", 0.5),
            mostly_filled("erp_customer_number", 0.5),
            refers_to("parent_customer_id", f"{S}.dim_customer", "canonical_customer_id"),
        ],
        description="The conformed client: one row per canonical customer.",
    ),
    mart(
        "dim_project",
        key=("project_key",),
        required=("project_name", "legal_entity_code", "currency_code", "erp_project_code"),
        expectations=[
            iso_currency("currency_code"),
            # missing financial dimensions are real exceptions (exceptions_projects), not
            # broken data: a warning above a tolerated rate
            *(
                mostly_filled(c, 0.8, where=CLIENT_WORK)
                for c in ("erp_project_code", "cost_center", "billing_method")
            ),
            mostly_filled("legal_entity_code", 0.9),
            refers_to("legal_entity_code", f"{S}.dim_legal_entity", "legal_entity_code"),
            dates_in_range("start_date", "end_date"),
        ],
        description="The conformed project (PSA workspace ↔ ERP project).",
    ),
    mart(
        "fct_time_entry",
        key=("time_entry_id",),
        required=("project_key", "employee_id", "work_date", "hours", "currency_code"),
        expectations=[
            not_null("project_key"),
            not_null("employee_id"),
            iso_currency("currency_code"),
            iso_currency("standard_rate_currency_code"),
            non_negative("billable_hours", "bill_amount", "cost_amount"),
            between("hours", 0, 24, notes="one entry is at most a day"),
            dates_in_range("work_date"),
            refers_to("project_key", DIM_PROJECT, "project_key"),
            refers_to("employee_id", DIM_EMPLOYEE, "employee_id"),
            mostly_filled("bill_amount_reporting", 0.95),
        ],
        description="Every time entry with its billing and posting state.",
    ),
    mart(
        "fct_invoice",
        key=("invoice_key",),
        required=("invoice_number", "invoice_date", "currency_code", "total_amount"),
        expectations=[
            not_null("invoice_number"),
            not_null("currency_code"),
            iso_currency("currency_code"),
            non_negative("total_amount", "tax_amount", "paid_amount"),
            dates_in_range("invoice_date", "due_date"),
            refers_to("project_key", DIM_PROJECT, "project_key", WARNING),
            # an invoice without an FX rate is an exception (missing_fx_rate), tolerated rarely
            mostly_filled("total_amount_reporting", 0.9),
        ],
        description="ERP invoices with paid, credited and open amounts.",
    ),
    mart(
        "fct_payment",
        key=("payment_key",),
        required=("payment_date", "amount", "currency_code", "status"),
        expectations=[
            not_null("currency_code"),
            iso_currency("currency_code"),
            non_negative("amount"),
            dates_in_range("payment_date"),
            refers_to("invoice_key", f"{S}.fct_invoice", "invoice_key", WARNING),
        ],
        description="Payments received (ERP and Stripe).",
    ),
    mart(
        "rpt_utilization",
        key=("utilization_key",),
        required=("employee_id", "period_start", "total_hours", "capacity_hours"),
        expectations=[
            in_set("period_grain", ["week", "month"]),
            non_negative("total_hours", "billable_hours", "nonbillable_hours", "capacity_hours"),
            between("billable_utilization", 0, 1.5, WARNING, "over 150% is implausible"),
            refers_to("employee_id", DIM_EMPLOYEE, "employee_id"),
            dates_in_range("period_start"),
        ],
        description="Billable utilization per employee and period (executive report).",
    ),
    mart(
        "rpt_collections",
        key=("invoice_key",),
        required=("invoice_number", "currency_code", "open_amount", "aging_bucket"),
        expectations=[
            iso_currency("currency_code"),
            non_negative("total_amount", "open_amount"),
            in_set("aging_bucket", ["current", "1-30", "31-60", "61-90", "90+", "settled"]),
            dates_in_range("invoice_date", "due_date"),
            refers_to("invoice_key", f"{S}.fct_invoice", "invoice_key"),
        ],
        description="AR aging and collections (executive report).",
    ),
]
