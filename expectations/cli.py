"""`conform validate`: run every Great Expectations suite against the current warehouse."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="run the data quality suites (Great Expectations) on the raw tables and marts; "
        "exits 1 on a blocking failure",
    )
    parser.add_argument(
        "--suite",
        action="append",
        help="a suite (raw_psa.time_entries) or a schema (raw_psa, marts); repeatable; "
        "default: all",
    )
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="do not append the results to data_quality.check_results",
    )
    parser.set_defaults(func=cmd_validate)


def cmd_validate(args: argparse.Namespace) -> int:
    from expectations.runner import run_suites
    from expectations.suites import select

    try:
        suites = select(args.suite)
        results, index = run_suites(suites, save=not args.no_save)
    except (KeyError, FileNotFoundError, RuntimeError) as exc:
        print(f"error: validate: {exc}", file=sys.stderr)
        return 2
    width = max(len(r.suite.name) for r in results)
    for r in results:
        line = f"{r.status:<8} {r.suite.name:<{width}} {r.row_count:>9,} rows"
        failed = r.blocking_failures + r.warning_failures
        if r.absent:
            line += "  (table absent: optional)"
        print(line)
        for o in failed:
            count = "" if o.unexpected_count is None else f" {o.unexpected_count:,} unexpected"
            print(f"    {o.severity}: {o.expectation}{count}")
    blocking = [r for r in results if r.blocking_failures]
    warnings = [r for r in results if r.warning_failures and not r.blocking_failures]
    print(
        f"validate: {len(results)} suites, {len(blocking)} with blocking failures, "
        f"{len(warnings)} with warnings; data docs: {index}"
    )
    return 1 if blocking else 0
