"""Suites on ``raw_stripe`` (the billing platform: owns payments)."""

from __future__ import annotations

from expectations.spec import (
    WARNING,
    Suite,
    dates_in_range,
    iso_currency,
    non_negative,
    not_null,
    refers_to,
)

S = "raw_stripe"
KEY = ("id", "_source_connection")

SUITES = [
    Suite(
        S,
        "customers",
        key=KEY,
        required=("name", "created"),
        expectations=[iso_currency("currency"), dates_in_range("created")],
        description="Stripe customers.",
    ),
    Suite(
        S,
        "invoices",
        key=KEY,
        required=("customer", "status", "currency", "total_major", "amount_due_major"),
        expectations=[
            iso_currency("currency"),
            not_null("currency"),
            non_negative("total_major", "amount_due_major", "amount_paid_major"),
            non_negative("amount_remaining_major"),
            dates_in_range("created", "due_date"),
            refers_to("customer", f"{S}.customers", "id"),
        ],
        description="Stripe invoices (mirroring ERP invoices collected by card or bank).",
    ),
    Suite(
        S,
        "payment_intents",
        key=KEY,
        required=("amount_major", "currency", "status"),
        expectations=[
            iso_currency("currency"),
            not_null("currency"),
            non_negative("amount_major", "amount_received_major"),
            dates_in_range("created"),
            refers_to("invoice", f"{S}.invoices", "id", WARNING),
        ],
        description="Payment intents.",
    ),
    Suite(
        S,
        "charges",
        key=KEY,
        required=("amount_major", "currency", "status", "paid"),
        expectations=[
            iso_currency("currency"),
            not_null("currency"),
            non_negative("amount_major", "amount_captured_major", "amount_refunded_major"),
            dates_in_range("created"),
            refers_to("payment_intent", f"{S}.payment_intents", "id", WARNING),
        ],
        description="Charges: the money actually received.",
    ),
    Suite(
        S,
        "events",
        key=KEY,
        required=("type", "created", "object_id"),
        expectations=[dates_in_range("created")],
        description="Stripe events (the change feed).",
    ),
]
