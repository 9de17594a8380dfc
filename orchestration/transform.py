"""Run the dbt project against the same warehouse the ingestion loaded (DuckDB by default,
PostgreSQL when CONFORM_DESTINATION=postgres: the dlt credentials are the dbt credentials)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from ingestion.common import warehouse_path

DBT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"


@dataclass
class TransformResult:
    ok: bool
    counts: dict[str, int]
    failures: list[str]


def dbt_environment() -> dict[str, str]:
    """The variables profiles.yml reads, derived from the platform's one destination setting."""
    env: dict[str, str] = {}
    if os.environ.get("CONFORM_DESTINATION", "duckdb") == "postgres":
        uri = os.environ.get("DESTINATION__POSTGRES__CREDENTIALS", "")
        if not uri:
            raise RuntimeError(
                "CONFORM_DESTINATION=postgres needs DESTINATION__POSTGRES__CREDENTIALS"
            )
        parsed = urlparse(uri)
        query = parse_qs(parsed.query)
        env.update(
            {
                "CONFORM_DBT_TARGET": "postgres",
                # a unix-socket directory in ?host= wins over the URI's host, as in libpq
                "CONFORM_PG_HOST": query.get("host", [parsed.hostname or "localhost"])[0],
                "CONFORM_PG_PORT": str(parsed.port or 5432),
                "CONFORM_PG_USER": unquote(parsed.username or "postgres"),
                "CONFORM_PG_PASSWORD": unquote(parsed.password or ""),
                "CONFORM_PG_DATABASE": parsed.path.lstrip("/") or "postgres",
            }
        )
    else:
        env["CONFORM_DBT_TARGET"] = "duckdb"
        env["CONFORM_WAREHOUSE"] = str(warehouse_path().resolve())
    return env


def dbt_args(command: str, select: Sequence[str] | None = None) -> list[str]:
    args = [*command.split(), "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR)]
    if select:
        args += ["--select", *select]
    return args


def run_dbt(command: str = "build", select: Sequence[str] | None = None) -> TransformResult:
    from dbt.cli.main import dbtRunner

    os.environ.update(dbt_environment())
    result = dbtRunner().invoke(dbt_args(command, select))
    counts: dict[str, int] = {}
    failures: list[str] = []
    for node in getattr(result.result, "results", None) or []:
        status = str(node.status)
        counts[status] = counts.get(status, 0) + 1
        if status in ("error", "fail"):
            failures.append(f"{node.node.unique_id}: {(node.message or '').splitlines()[0]}")
    if result.exception is not None:
        failures.append(f"dbt: {result.exception}")
    _release_duckdb()
    return TransformResult(ok=bool(result.success), counts=counts, failures=failures)


def _release_duckdb() -> None:
    """dbt-duckdb keeps its connection open in the process after a run; DuckDB allows one
    writer and no other configuration alongside it, so close it for the steps that follow."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the postgres adapter only
        return
    DuckDBConnectionManager.close_all_connections()
