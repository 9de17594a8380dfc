"""`conform publish` (the BI copy of the marts) and `conform report` (the executive report)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    publish = subparsers.add_parser(
        "publish",
        help="publish the marts to the BI copy (conform_bi.duckdb) that BI tools and the "
        "report read",
    )
    publish.add_argument(
        "--target",
        type=Path,
        default=None,
        help="default: CONFORM_BI_WAREHOUSE or beside the warehouse",
    )
    publish.set_defaults(func=cmd_publish)

    report = subparsers.add_parser(
        "report", help="render the executive report (HTML, PNG, PDF) from the BI copy"
    )
    report.add_argument(
        "--period", default=None, help="month, e.g. 2026-10 (default: last complete month)"
    )
    report.add_argument(
        "--output",
        type=Path,
        default=None,
        help="folder (default: CONFORM_REPORTS_DIR or build/reports)",
    )
    report.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=["png", "pdf"],
        help="export format (repeatable; default: png and pdf)",
    )
    report.add_argument("--html-only", action="store_true", help="no PNG/PDF export")
    report.add_argument(
        "--publish", action="store_true", help="publish the BI copy from the warehouse first"
    )
    report.set_defaults(func=cmd_report)


def cmd_publish(args: argparse.Namespace) -> int:
    from reports.publish import PublishError, publish

    try:
        done = publish(target=args.target)
    except PublishError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"publish: {done.mart_count} marts to {done.path} in {done.seconds:.1f}s")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from reports.data import ReportDataError
    from reports.executive import build_report
    from reports.export import FORMATS, ExportError

    if args.publish and cmd_publish(argparse.Namespace(target=None)) != 0:
        return 2
    formats = () if args.html_only else tuple(args.formats or FORMATS)
    try:
        result = build_report(args.period, args.output, formats)
    except ReportDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ExportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"report: {result.data.period.label} -> {result.html}")
    for kind, path in result.exports.items():
        print(f"report: {kind} -> {path}")
    return 0
