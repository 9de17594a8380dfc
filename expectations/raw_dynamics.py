"""Suites on ``raw_dynamics`` (Dynamics 365 Finance in the large regions). Keys are the data
entity keys plus ``data_area_id`` (the legal entity) and ``_source_connection``."""

from __future__ import annotations

from expectations.spec import (
    Suite,
    dates_in_range,
    iso_currency,
    mostly_filled,
    non_negative,
    not_null,
    refers_to,
)

S = "raw_dynamics"
CONN = "_source_connection"


def key(*cols: str) -> tuple[str, ...]:
    return (*cols, CONN)


SUITES = [
    Suite(
        S,
        "legal_entities",
        key=key("legal_entity_id"),
        required=("name", "accounting_currency"),
        expectations=[not_null("accounting_currency"), iso_currency("accounting_currency")],
        description="Legal entities and their accounting currency.",
    ),
    Suite(
        S,
        "customers_v3",
        key=key("data_area_id", "customer_account"),
        required=("organization_name", "sales_currency_code"),
        expectations=[
            iso_currency("sales_currency_code"),
            non_negative("credit_limit"),
            mostly_filled("address_country_region_iso_code", 0.9),
            refers_to("data_area_id", f"{S}.legal_entities", "legal_entity_id"),
        ],
        description="ERP customers.",
    ),
    Suite(
        S,
        "projects_v2",
        key=key("data_area_id", "project_id"),
        required=("project_name", "customer_account", "project_stage", "start_date"),
        expectations=[
            mostly_filled("default_dimension_display_value", 0.8),
            dates_in_range("start_date", "end_date"),
            refers_to("customer_account", f"{S}.customers_v3", "customer_account"),
        ],
        description="ERP projects with their financial dimensions.",
    ),
    Suite(
        S,
        "employees_v2",
        key=key("personnel_number"),
        required=("name", "employment_legal_entity_id"),
        description="ERP workers.",
    ),
    Suite(
        S,
        "project_hour_transactions",
        key=key("data_area_id", "transaction_id"),
        required=("project_id", "worker", "project_date", "hours", "currency_code"),
        expectations=[
            iso_currency("currency_code"),
            non_negative("hours", "sales_price", "cost_price"),
            dates_in_range("project_date"),
            refers_to("project_id", f"{S}.projects_v2", "project_id"),
            refers_to("worker", f"{S}.employees_v2", "personnel_number"),
        ],
        description="Hours posted to ERP projects.",
    ),
    Suite(
        S,
        "sales_invoice_headers_v2",
        key=key("data_area_id", "invoice_number"),
        required=("invoice_customer_account_number", "invoice_date", "currency_code"),
        expectations=[
            not_null("currency_code"),
            iso_currency("currency_code"),
            # no non-negative amounts: D365 posts credit notes as negative sales invoices
            dates_in_range("invoice_date", "due_date"),
            refers_to("invoice_customer_account_number", f"{S}.customers_v3", "customer_account"),
        ],
        description="Sales invoice headers.",
    ),
    Suite(
        S,
        "sales_invoice_lines",
        key=key("data_area_id", "invoice_number", "line_number"),
        required=("line_amount", "currency_code"),
        expectations=[
            iso_currency("currency_code"),
            non_negative("invoiced_quantity"),  # amounts: credit notes are negative
            refers_to("invoice_number", f"{S}.sales_invoice_headers_v2", "invoice_number"),
        ],
        description="Sales invoice lines.",
    ),
    Suite(
        S,
        "customer_payment_journal_lines",
        key=key("data_area_id", "journal_batch_number", "line_number"),
        required=("credit_amount", "currency_code", "transaction_date"),
        expectations=[
            iso_currency("currency_code"),
            non_negative("credit_amount"),
            dates_in_range("transaction_date"),
        ],
        description="Customer payments.",
    ),
    Suite(
        S,
        "customer_transactions",
        key=key("data_area_id", "voucher"),
        required=("customer_account", "transaction_type", "amount_cur", "currency_code"),
        expectations=[
            # amounts are signed here: invoices positive, payments and credit notes negative
            iso_currency("currency_code"),
            dates_in_range("transaction_date", "due_date", "closed_date"),
            refers_to("customer_account", f"{S}.customers_v3", "customer_account"),
        ],
        description="Customer ledger: the ERP's own open balances.",
    ),
    Suite(
        S,
        "exchange_rates",
        key=key("rate_type_name", "from_currency", "to_currency", "start_date"),
        required=("rate",),
        expectations=[
            iso_currency("from_currency"),
            iso_currency("to_currency"),
            non_negative("rate"),
            dates_in_range("start_date"),
        ],
        description="Exchange rates.",
    ),
]
