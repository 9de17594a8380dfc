"""`conform sync`: push canonical IDs, ERP codes and invoice and payment status to the systems."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ingestion import cli as ingestion_cli
from reverse_sync.ownership import SYSTEMS

EXIT_FAILED = 1
EXIT_REFUSED = 3


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sync",
        help="reverse sync: write the conformed IDs, ERP codes and invoice status back to every "
        "system (reads the sync_* models; run `conform run` first)",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the planned writes per system and field; send nothing",
    )
    parser.add_argument(
        "--system",
        action="append",
        choices=SYSTEMS,
        help="only this system (repeatable); default: all",
    )
    ingestion_cli.add_connections_arg(parser)
    parser.set_defaults(func=cmd_sync)


def cmd_sync(args: argparse.Namespace) -> int:
    from reverse_sync.sync import SyncError, SyncRefused, run_sync

    ingestion_cli.apply_connections(args)
    try:
        report = run_sync(
            args.system,
            dry_run=args.dry_run,
            progress=lambda line: print(line, file=sys.stderr),
        )
    except SyncRefused as exc:
        print(f"error: sync: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except SyncError as exc:
        print(f"error: sync: {exc}", file=sys.stderr)
        return EXIT_FAILED
    if report.dry_run:
        print("sync (dry run): nothing sent; planned writes against the ledger:")
        for system, counts in report.systems.items():
            print(
                f"  {system}: {counts.planned_records} record(s) to write, "
                f"{counts.unchanged} unchanged"
                + (
                    f", {counts.dead_letters_retried} dead letter(s) to retry"
                    if counts.dead_letters_retried
                    else ""
                )
            )
            for (obj, api_field), n in sorted(counts.planned_fields.items()):
                print(f"    {obj}.{api_field}: {n}")
        if report.blocking:
            print(
                f"warning: {len(report.blocking)} blocking data-quality check(s) failed: a real "
                "sync would refuse to push",
                file=sys.stderr,
            )
        return 0
    for system, counts in report.systems.items():
        requests = counts.requests
        print(
            f"sync: {system}: {counts.sent} sent, {counts.already_in_target} already in target, "
            f"{counts.unchanged} unchanged, {counts.failed} failed, {counts.dead_lettered} "
            f"dead-lettered, {counts.dead_letters_resolved} dead letter(s) resolved"
            + (
                f" ({requests.get('requests', 0)} requests, {requests.get('throttled', 0)} "
                f"throttled, {requests.get('server_errors', 0)} server errors retried)"
                if requests
                else ""
            )
        )
        for error in counts.errors:
            print(f"error: {error}", file=sys.stderr)
    print(f"sync: run {report.run_id} in {report.seconds:.1f}s")
    return 0 if report.ok else EXIT_FAILED
