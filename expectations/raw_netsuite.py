"""Suites on ``raw_netsuite`` (the ERP of the small subsidiaries: owns invoice numbers,
receivables and financial codes). NetSuite ids are per account: references are checked against
the ids loaded from every connection (an id exists), keys include ``_source_connection``."""

from __future__ import annotations

from expectations.spec import (
    WARNING,
    Suite,
    dates_in_range,
    iso_currency,
    mostly_filled,
    non_negative,
    not_null,
    refers_to,
)

S = "raw_netsuite"
KEY = ("id", "_source_connection")
CURRENCY = f"{S}.currency"
SUBSIDIARY = f"{S}.subsidiary"

SUITES = [
    Suite(
        S,
        "subsidiary",
        key=KEY,
        required=("name", "country", "currency"),
        expectations=[refers_to("currency", CURRENCY, "id")],
        description="Subsidiaries (legal entities) and their base currency.",
    ),
    Suite(
        S,
        "currency",
        key=KEY,
        required=("symbol", "name"),
        expectations=[not_null("symbol"), iso_currency("symbol")],
        description="NetSuite currency records: `symbol` is the ISO 4217 code every "
        "transaction's currency id resolves to.",
    ),
    Suite(
        S,
        "currencyrate",
        key=KEY,
        required=("basecurrency", "transactioncurrency", "exchangerate", "effectivedate"),
        expectations=[
            non_negative("exchangerate"),
            dates_in_range("effectivedate"),
            refers_to("basecurrency", CURRENCY, "id"),
            refers_to("transactioncurrency", CURRENCY, "id"),
        ],
        description="Exchange rates.",
    ),
    Suite(
        S,
        "department",
        key=KEY,
        required=("name",),
        description="Departments (cost centers).",
    ),
    Suite(
        S,
        "customer",
        key=KEY,
        required=("companyname", "subsidiary", "currency"),
        expectations=[
            refers_to("subsidiary", SUBSIDIARY, "id"),
            refers_to("currency", CURRENCY, "id"),
            mostly_filled("custentity_tax_id", 0.5),
            dates_in_range("datecreated", "lastmodifieddate"),
        ],
        description="ERP customers.",
    ),
    Suite(
        S,
        "job",
        key=KEY,
        required=("entityid", "subsidiary", "parent", "entitystatus"),
        expectations=[
            refers_to("parent", f"{S}.customer", "id"),
            refers_to("subsidiary", SUBSIDIARY, "id"),
            refers_to("department", f"{S}.department", "id", WARNING),
            mostly_filled("custentity_billing_method", 0.8),
            dates_in_range("startdate", "projectedenddate", "enddate"),
        ],
        description="ERP projects (jobs) with their financial dimensions.",
    ),
    Suite(S, "jobstatus", key=KEY, required=("name",), description="Job statuses."),
    Suite(
        S,
        "employee",
        key=KEY,
        required=("entityid", "subsidiary"),
        expectations=[refers_to("subsidiary", SUBSIDIARY, "id")],
        description="ERP employees.",
    ),
    Suite(
        S,
        "transaction",
        key=KEY,
        required=("tranid", "type", "entity", "trandate", "currency", "foreigntotal"),
        expectations=[
            not_null("currency"),
            refers_to("currency", CURRENCY, "id"),
            non_negative("foreigntotal", "taxtotal", "foreignamountremaining", "exchangerate"),
            dates_in_range("trandate", "duedate"),
        ],
        description="Invoices, credit memos and customer payments.",
    ),
    Suite(
        S,
        "transactionline",
        key=("transaction", "id", "_source_connection"),
        required=("foreignamount", "quantity"),
        expectations=[
            refers_to("transaction", f"{S}.transaction", "id"),
            non_negative("quantity"),
        ],
        description="Transaction lines.",
    ),
    Suite(
        S,
        "previoustransactionlink",
        key=("previousdoc", "nextdoc", "_source_connection"),
        required=("linktype", "foreignamount"),
        expectations=[
            refers_to("previousdoc", f"{S}.transaction", "id"),
            refers_to("nextdoc", f"{S}.transaction", "id"),
            non_negative("foreignamount"),
        ],
        description="Payment applications (which payment closed which invoice).",
    ),
    Suite(
        S,
        "timebill",
        key=KEY,
        required=("employee", "customer", "hours", "trandate"),
        expectations=[
            non_negative("hours", "rate"),
            dates_in_range("trandate"),
            refers_to("employee", f"{S}.employee", "id"),
            refers_to("customer", f"{S}.job", "id", WARNING),
        ],
        description="Time posted to the ERP.",
    ),
    Suite(
        S,
        "deletedrecord",
        key=("recordtype", "recordid", "_source_connection"),
        required=("deleteddate",),
        optional=True,
        description="Deleted records (absent until NetSuite reports a deletion).",
    ),
]
