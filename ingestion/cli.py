"""`conform ingest`: load every configured source system into the warehouse."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from ingestion.common import SYSTEMS


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("ingest", help="load the source systems into the warehouse")
    parser.add_argument(
        "--source",
        action="append",
        choices=SYSTEMS,
        help="only this system (repeatable); default: all",
    )
    parser.add_argument(
        "--full-refresh",
        action="store_true",
        help="drop the incremental state and reload everything",
    )
    add_connections_arg(parser)
    parser.set_defaults(func=cmd_ingest)


def add_connections_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connections",
        default=None,
        help="a connections JSON (base URLs and credentials per system); "
        "otherwise .dlt/config.toml, secrets.toml and environment variables",
    )


def apply_connections(args: argparse.Namespace) -> None:
    if args.connections:
        from ingestion.common import load_connections_file

        load_connections_file(args.connections)


def cmd_ingest(args: argparse.Namespace) -> int:
    from ingestion.common import IngestionError
    from ingestion.pipeline import ingest

    apply_connections(args)
    try:
        reports = ingest(args.source, full_refresh=args.full_refresh)
    except IngestionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = [r for r in reports if r.status != "ok"]
    total = sum(r.rows_loaded for r in reports)
    print(
        f"ingest: {total:,} rows from {len(reports) - len(failed)} connection(s)"
        + (f"; {len(failed)} failed" if failed else "")
    )
    for r in failed:
        print(f"error: {r.system}/{r.connection}: {r.error}", file=sys.stderr)
    return 1 if failed else 0
