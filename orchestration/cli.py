"""The `conform` command. Subcommands import their module only when they run, so that
`conform simulator ...` starts without loading Dagster or dbt."""

from __future__ import annotations

import argparse
import sys
import time

from ingestion import cli as ingestion_cli
from mastering import cli as mastering_cli
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
    transform = sub.add_parser("transform", help="build the conformed model (dbt build)")
    transform.add_argument("--select", nargs="*", help="dbt selection, e.g. staging.psa+")
    transform.set_defaults(func=cmd_transform)
    run = sub.add_parser("run", help="run the whole pipeline once (what `make demo` calls)")
    ingestion_cli.add_connections_arg(run)
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
    """The whole pipeline once, without the UI: ingestion of every source, then dbt."""
    from ingestion.common import IngestionError
    from ingestion.pipeline import ingest

    ingestion_cli.apply_connections(args)
    started = time.monotonic()
    try:
        reports = ingest()
    except IngestionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in reports if r.status != "ok"]
    print(
        f"run: {sum(r.rows_loaded for r in reports):,} rows ingested from "
        f"{len(reports) - len(failed)} connection(s) in {time.monotonic() - started:.0f}s"
    )
    for r in failed:
        print(f"error: {r.system}/{r.connection}: {r.error}", file=sys.stderr)
    if failed:
        return 1
    status = cmd_transform(argparse.Namespace(select=None))
    if status == 0:
        status = mastering_cli.cmd_master(argparse.Namespace(decisions=None))
    if status == 0:  # the customer marts, on the state the master step just wrote
        status = cmd_transform(argparse.Namespace(select=CUSTOMER_MARTS))
    return status


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
