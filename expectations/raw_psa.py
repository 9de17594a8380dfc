"""Suites on ``raw_psa`` (Kantata OX: owns project delivery structure and time)."""

from __future__ import annotations

from expectations.spec import (
    WARNING,
    Suite,
    between,
    dates_in_range,
    iso_currency,
    mostly_filled,
    non_negative,
    not_null,
    refers_to,
)

S = "raw_psa"
KEY = ("id", "_source_connection")
WORKSPACES = f"{S}.workspaces"
USERS = f"{S}.users"

SUITES = [
    Suite(
        S,
        "workspace_groups",
        key=KEY,
        required=("name",),
        expectations=[dates_in_range("created_at", "updated_at")],
        description="Client organisations in the PSA.",
    ),
    Suite(
        S,
        "workspaces",
        key=KEY,
        required=("title", "currency", "start_date", "due_date"),
        expectations=[
            iso_currency("currency"),
            not_null("currency"),
            non_negative("price"),
            dates_in_range("start_date", "due_date", "updated_at"),
            refers_to("workspace_group_id", f"{S}.workspace_groups", "id", WARNING),
        ],
        description="PSA projects (workspaces).",
    ),
    Suite(
        S,
        "users",
        key=KEY,
        required=("full_name", "email_address"),
        expectations=[mostly_filled("email_address", 0.95), dates_in_range("updated_at")],
        description="People in the PSA (employees and contractors).",
    ),
    Suite(
        S,
        "account_memberships",
        key=KEY,
        required=("user_id", "bill_rate", "cost_rate"),
        expectations=[
            non_negative("bill_rate", "cost_rate"),
            refers_to("user_id", USERS, "id"),
        ],
        description="A user's membership of the PSA account: default bill and cost rates.",
    ),
    Suite(S, "roles", key=KEY, required=("name",), description="Delivery roles."),
    Suite(
        S,
        "stories",
        key=KEY,
        required=("workspace_id", "title"),
        expectations=[
            non_negative("budget_estimate", "time_estimate_hours"),
            between("percentage_complete", 0, 100),
            dates_in_range("start_date", "due_date"),
            refers_to("workspace_id", WORKSPACES, "id"),
        ],
        description="Tasks and milestones of a workspace.",
    ),
    Suite(
        S,
        "time_entries",
        key=KEY,
        required=("workspace_id", "user_id", "date_performed", "hours", "currency", "approved"),
        expectations=[
            iso_currency("currency"),
            not_null("workspace_id"),
            not_null("user_id"),
            not_null("date_performed"),
            non_negative("rate", "cost_rate"),
            between("hours", 0, 24, notes="one entry is at most a day"),
            dates_in_range("date_performed"),
            refers_to("workspace_id", WORKSPACES, "id"),
            refers_to("user_id", USERS, "id"),
            refers_to("story_id", f"{S}.stories", "id", WARNING),
        ],
        description="Time entries: hours, rates, approval and invoicing state.",
    ),
    Suite(
        S,
        "expenses",
        key=KEY,
        required=("workspace_id", "user_id", "date", "amount", "currency"),
        expectations=[
            iso_currency("currency"),
            non_negative("amount"),
            dates_in_range("date"),
            refers_to("workspace_id", WORKSPACES, "id"),
            refers_to("user_id", USERS, "id"),
        ],
        description="Expenses booked on workspaces.",
    ),
    Suite(
        S,
        "invoices",
        key=KEY,
        required=("invoice_date", "currency", "balance"),
        expectations=[
            iso_currency("currency"),
            non_negative("balance"),
            dates_in_range("invoice_date", "due_date"),
            refers_to("workspace_id", WORKSPACES, "id", WARNING),
        ],
        description="Invoices as the PSA shows them.",
    ),
    Suite(
        S,
        "time_off_entries",
        key=KEY,
        required=("user_id", "requested_date", "hours"),
        expectations=[
            non_negative("hours"),
            dates_in_range("requested_date"),
            refers_to("user_id", USERS, "id"),
        ],
        description="Leave (reduces capacity).",
    ),
    Suite(S, "holiday_calendars", key=KEY, required=("name",), description="Holiday calendars."),
    Suite(
        S,
        "holiday_calendar_entries",
        key=KEY,
        required=("holiday_calendar_id", "date", "hours"),
        expectations=[
            non_negative("hours"),
            dates_in_range("date"),
            refers_to("holiday_calendar_id", f"{S}.holiday_calendars", "id"),
        ],
        description="Public holidays per calendar.",
    ),
    Suite(
        S,
        "holiday_calendar_memberships",
        key=KEY,
        required=("holiday_calendar_id", "user_id"),
        expectations=[
            refers_to("holiday_calendar_id", f"{S}.holiday_calendars", "id"),
            refers_to("user_id", USERS, "id"),
        ],
        description="Which calendar applies to whom.",
    ),
    Suite(
        S,
        "custom_fields",
        key=KEY,
        required=("name", "subject_type"),
        description="Custom field definitions (financial dimensions live here).",
    ),
    Suite(
        S,
        "custom_field_values",
        key=KEY,
        required=("custom_field_id", "subject_id", "subject_type"),
        expectations=[refers_to("custom_field_id", f"{S}.custom_fields", "id")],
        description="Custom field values (cost center, legal entity, billing method, ...).",
    ),
]
