"""Publish the marts to a separate DuckDB file for BI tools and the executive report.

DuckDB allows one writer, and any connection from another process (even read-only) blocks it:
a BI tool holding the live warehouse open would break the next pipeline run. So after each
successful run the marts are copied into their own file, built under a temporary name beside
it and swapped in with ``os.replace`` (atomic on one filesystem). A reader that has the old file
open keeps reading that version (POSIX keeps the unlinked file alive until it closes); the next
connection sees the new one. Nothing ever opens the published file for writing.

The copy holds:
- ``marts.*``: every table of the live ``marts`` schema, with its table and column comments
  (dbt ``persist_docs``), so a BI tool shows the column descriptions;
- ``reference.utilization_targets``: the firm's utilization target per role (a dbt seed);
- ``conform.ingestion_runs``: the last successful load of each system and connection
  (from ``raw_<system>._ingestion_runs``), for the report's data-freshness footer;
- ``conform.check_results``: the latest state of each Great Expectations check
  (``data_quality.check_results``; empty when no validation ran yet);
- ``conform.publication``: when it was published, from which warehouse, in which currency.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import yaml

from ingestion.common import SYSTEMS, warehouse_path

BI_FILE_NAME = "conform_bi.duckdb"
DBT_PROJECT_FILE = Path(__file__).resolve().parent.parent / "dbt_project" / "dbt_project.yml"
# the published copy's own bookkeeping schema (never a dbt schema)
META_SCHEMA = "conform"
REFERENCE_TABLES = ("utilization_targets",)

CHECK_RESULTS_COLUMNS = """
    run_id varchar, evaluated_at timestamp, suite varchar, asset varchar, check_name varchar,
    expectation varchar, severity varchar, success boolean, element_count bigint,
    unexpected_count bigint, details varchar
"""


class PublishError(RuntimeError):
    """The live warehouse cannot be published (missing, or without marts)."""


@dataclass
class Publication:
    path: Path
    published_at: datetime
    tables: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows
    seconds: float = 0.0

    @property
    def mart_count(self) -> int:
        return sum(1 for name in self.tables if name.startswith("marts."))


def bi_warehouse_path(warehouse: Path | None = None) -> Path:
    """``CONFORM_BI_WAREHOUSE``, else ``conform_bi.duckdb`` beside the live warehouse."""
    override = os.environ.get("CONFORM_BI_WAREHOUSE")
    if override:
        return Path(override)
    return (warehouse or warehouse_path()).resolve().parent / BI_FILE_NAME


def reporting_currency() -> str:
    """The dbt var every ``*_reporting`` amount is converted to."""
    project = yaml.safe_load(DBT_PROJECT_FILE.read_text())
    return str((project.get("vars") or {}).get("reporting_currency", "USD"))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() where database_name = 'live' "
        "and schema_name = ? order by table_name",
        [schema],
    ).fetchall()
    return [r[0] for r in rows]


def _copy_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> int:
    source = f"live.{_quote(schema)}.{_quote(table)}"
    target = f"bi.{_quote(schema)}.{_quote(table)}"
    con.execute(f"create table {target} as select * from {source}")
    comment = con.execute(
        "select comment from duckdb_tables() where database_name = 'live' "
        "and schema_name = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    if comment and comment[0]:
        con.execute(f"comment on table {target} is {_literal(comment[0])}")
    for column, text in con.execute(
        "select column_name, comment from duckdb_columns() where database_name = 'live' "
        "and schema_name = ? and table_name = ? and comment is not null",
        [schema, table],
    ).fetchall():
        con.execute(f"comment on column {target}.{_quote(column)} is {_literal(text)}")
    return int(con.execute(f"select count(*) from {target}").fetchone()[0])


def _ingestion_runs_sql(con: duckdb.DuckDBPyConnection) -> str | None:
    """Per system and connection, the last successful load (started + duration)."""
    parts = []
    for system in SYSTEMS:
        present = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'live' "
            "and schema_name = ? and table_name = '_ingestion_runs'",
            [f"raw_{system}"],
        ).fetchone()[0]
        if present:
            parts.append(
                f"select system, connection, started_at, duration_s, status, rows_loaded "
                f"from live.{_quote('raw_' + system)}._ingestion_runs"
            )
    if not parts:
        return None
    runs = " union all ".join(parts)
    return f"""
        select
            system,
            connection,
            max(started_at + to_microseconds(cast(duration_s * 1e6 as bigint)))
                filter (where status = 'ok') as last_success_at,
            max(started_at) as last_attempt_at,
            arg_max(status, started_at) as last_status,
            count(*) filter (where status = 'ok') as successful_runs,
            count(*) filter (where status <> 'ok') as failed_runs
        from ({runs})
        group by system, connection
    """


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables() where database_name = 'live' "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def publish(warehouse: Path | None = None, target: Path | None = None) -> Publication:
    """Copy the live warehouse's marts (and what the report's footer needs) into the BI file,
    atomically. Returns what was published. Raises PublishError when there is nothing to
    publish; the previous published copy then stays as it was."""
    started = time.monotonic()
    source = (warehouse or warehouse_path()).resolve()
    target = (target or bi_warehouse_path(source)).resolve()
    if not source.exists():
        raise PublishError(f"no warehouse at {source}: run `conform run` first")
    if source == target:
        raise PublishError("the BI copy cannot be the live warehouse itself")
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    for leftover in (temp, temp.with_name(temp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    published_at = datetime.now(UTC)
    tables: dict[str, int] = {}
    con = duckdb.connect()  # in memory: the new file and the live warehouse attached by alias
    try:
        con.execute(f"attach {_literal(str(temp))} as bi")
        con.execute(f"attach {_literal(str(source))} as live (read_only)")
        marts = _tables(con, "marts")
        if not marts:
            raise PublishError(f"{source} has no marts: run `conform transform` first")
        for schema in ("marts", "reference", META_SCHEMA):
            con.execute(f"create schema bi.{_quote(schema)}")
        for table in marts:
            tables[f"marts.{table}"] = _copy_table(con, "marts", table)
        for table in REFERENCE_TABLES:
            if _has_table(con, "reference", table):
                tables[f"reference.{table}"] = _copy_table(con, "reference", table)
        runs_sql = _ingestion_runs_sql(con)
        con.execute(
            f"create table bi.{META_SCHEMA}.ingestion_runs as "
            + (
                runs_sql
                or "select null::varchar as system, null::varchar as connection, "
                "null::timestamptz as last_success_at, null::timestamptz as last_attempt_at, "
                "null::varchar as last_status, 0::bigint as successful_runs, "
                "0::bigint as failed_runs where false"
            )
        )
        if _has_table(con, "data_quality", "check_results"):
            # the contract's "latest state": per (suite, expectation) the newest row
            con.execute(
                f"create table bi.{META_SCHEMA}.check_results as "
                "select * exclude (rn) from (select *, row_number() over (partition by suite, "
                "expectation order by evaluated_at desc) as rn "
                "from live.data_quality.check_results) where rn = 1"
            )
        else:
            con.execute(f"create table bi.{META_SCHEMA}.check_results ({CHECK_RESULTS_COLUMNS})")
        for table in ("ingestion_runs", "check_results"):
            tables[f"{META_SCHEMA}.{table}"] = int(
                con.execute(f"select count(*) from bi.{META_SCHEMA}.{table}").fetchone()[0]
            )
        con.execute(
            f"create table bi.{META_SCHEMA}.publication as select "
            "?::timestamptz as published_at, ?::varchar as source_warehouse, "
            "?::varchar as reporting_currency, ?::integer as mart_count",
            [published_at, str(source), reporting_currency(), len(marts)],
        )
        con.execute("detach live")
        con.execute("checkpoint bi")
        con.execute("detach bi")
    except BaseException:
        con.close()
        for leftover in (temp, temp.with_name(temp.name + ".wal")):
            leftover.unlink(missing_ok=True)
        raise
    con.close()
    # a WAL beside the published name belongs to the file being replaced, never to the new one
    target.with_name(target.name + ".wal").unlink(missing_ok=True)
    os.replace(temp, target)
    return Publication(
        path=target,
        published_at=published_at,
        tables=tables,
        seconds=round(time.monotonic() - started, 2),
    )
