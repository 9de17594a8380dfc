"""`conform master`: match every client record and assign stable canonical customer IDs."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "master",
        help="match client records across systems into canonical customers "
        "(reads intermediate.int_customer_records; run `conform transform` first)",
    )
    parser.add_argument(
        "--decisions",
        default=None,
        help="a steward decisions CSV (default: the seed table "
        "reference.steward_decisions, loaded by dbt)",
    )
    parser.set_defaults(func=cmd_master)


def cmd_master(args: argparse.Namespace) -> int:
    from mastering.master import run_master

    try:
        report = run_master(getattr(args, "decisions", None))
    except Exception as exc:  # noqa: BLE001 - a clear message, not a traceback
        print(f"error: master: {exc}", file=sys.stderr)
        return 1
    print(
        f"master: {report.records:,} client records -> {report.customers:,} customers "
        f"({report.created} new, {report.merged} merged, {report.split} split); "
        f"{report.review_pairs} pair(s) for steward review; {report.seconds:.1f}s"
    )
    return 0
