"""The `conform` command. Subcommands import their module only when they run, so that
`conform simulator ...` starts without loading Dagster or dbt."""

from __future__ import annotations

import argparse
import os
import sys

from expectations import cli as expectations_cli
from ingestion import cli as ingestion_cli
from mastering import cli as mastering_cli
from reports import cli as reports_cli
from reverse_sync import cli as reverse_sync_cli
from simulator import cli as simulator_cli

CUSTOMER_MARTS = ["customer_xref+", "dim_customer+", "exceptions_customer_match_review+"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conform",
        description="Conform: one client, project, time and invoice truth across CRM, PSA, "
        "ERPs and payments.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    simulator_cli.add_parser(sub)
    ingestion_cli.add_parser(sub)
    mastering_cli.add_parser(sub)
    expectations_cli.add_parser(sub)
    reports_cli.add_parser(sub)
    reverse_sync_cli.add_parser(sub)
    transform = sub.add_parser("transform", help="build the conformed model (dbt build)")
    transform.add_argument("--select", nargs="*", help="dbt selection, e.g. staging.psa+")
    transform.set_defaults(func=cmd_transform)
    run = sub.add_parser("run", help="run the whole pipeline once (what `make demo` calls)")
    ingestion_cli.add_connections_arg(run)
    run.add_argument(
        "--select",
        help="a part of the graph, in Dagster's selection syntax, e.g. 'group:source_psa+' or "
        "'key:marts/fct_invoice+'",
    )
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="reload the sources from scratch (the nightly_full_reconciliation job)",
    )
    run.set_defaults(func=cmd_run)
    return parser


def cmd_transform(args: argparse.Namespace) -> int:
    from orchestration.transform import run_dbt

    result = run_dbt("build", args.select)
    summary = ", ".join(f"{n} {status}" for status, n in sorted(result.counts.items()))
    print(f"transform: {summary or 'nothing built'}")
    for failure in result.failures:
        print(f"error: {failure}", file=sys.stderr)
    return 0 if result.ok else 1


def cmd_run(args: argparse.Namespace) -> int:
    """The whole asset graph once, in process, as the hourly job runs it (orchestration/run.py):
    ingestion, dbt, customer master, data-quality checks, reverse sync, BI copy and report."""
    from orchestration.run import main_run

    ingestion_cli.apply_connections(args)
    if args.connections:  # the Dagster assets read their connections from this file
        os.environ["CONFORM_CONNECTIONS_FILE"] = str(args.connections)
    return main_run(args.select, args.full_refresh)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
