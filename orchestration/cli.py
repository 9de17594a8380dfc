"""The `conform` command. Subcommands import their module only when they run, so that
`conform simulator ...` starts without loading Dagster or dbt."""

from __future__ import annotations

import argparse
import sys

from simulator import cli as simulator_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="conform",
        description="Conform: one client, project, time and invoice truth across CRM, PSA, "
        "ERPs and payments.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    simulator_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
