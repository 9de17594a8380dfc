"""Suites on ``raw_salesforce`` (the CRM: owns accounts and opportunities)."""

from __future__ import annotations

from expectations.spec import (
    WARNING,
    Suite,
    between,
    dates_in_range,
    iso_currency,
    mostly_filled,
    non_negative,
    refers_to,
)

S = "raw_salesforce"
KEY = ("id", "_source_connection")

SUITES = [
    Suite(
        S,
        "account",
        key=KEY,
        required=("name", "currency_iso_code", "billing_country", "last_modified_date"),
        expectations=[
            iso_currency("currency_iso_code"),
            # the country picklist code is often empty where the free-text country is set
            mostly_filled("billing_country", 0.9),
            mostly_filled("website", 0.5),
            non_negative("open_ar__c", "overdue_ar__c"),
            dates_in_range("created_date", "last_modified_date"),
            refers_to("parent_id", f"{S}.account", "id", WARNING),
        ],
        description="CRM accounts: the system of record for client identity.",
    ),
    Suite(
        S,
        "opportunity",
        key=KEY,
        required=("account_id", "stage_name", "close_date", "amount", "currency_iso_code"),
        expectations=[
            iso_currency("currency_iso_code"),
            non_negative("amount"),
            between("probability", 0, 100),
            dates_in_range("close_date", "created_date"),
            refers_to("account_id", f"{S}.account", "id"),
        ],
        description="Opportunities: the commercial origin of PSA projects.",
    ),
    Suite(
        S,
        "user",
        key=KEY,
        required=("name", "email"),
        expectations=[mostly_filled("email", 0.95)],
        description="CRM users (account and opportunity owners).",
    ),
]
