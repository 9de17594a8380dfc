"""Reading what the suites validate and writing ``data_quality.check_results``, on DuckDB (a
short-lived connection, closed at once: DuckDB allows one writer and any open connection blocks
it) or PostgreSQL (``CONFORM_DESTINATION=postgres``, ``DESTINATION__POSTGRES__CREDENTIALS``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pandas as pd

from ingestion.common import warehouse_connection

SCHEMA = "data_quality"
RESULTS_TABLE = "check_results"
RESULTS_COLUMNS: list[tuple[str, str]] = [
    ("run_id", "varchar"),
    ("evaluated_at", "timestamp"),
    ("suite", "varchar"),
    ("asset", "varchar"),
    ("check_name", "varchar"),
    ("expectation", "varchar"),
    ("severity", "varchar"),
    ("success", "boolean"),
    ("element_count", "bigint"),
    ("unexpected_count", "bigint"),
    ("details", "varchar"),
]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    def __init__(self, con: Any, postgres: bool):
        self.con = con
        self.postgres = postgres

    def rows(self, sql: str, params: Sequence[Any] = ()) -> tuple[list[str], list[tuple]]:
        cur = self.con.cursor()
        try:
            cur.execute(sql, list(params)) if params else cur.execute(sql)
            names = [d[0] for d in cur.description] if cur.description else []
            return names, list(cur.fetchall()) if cur.description else []
        finally:
            cur.close()

    def columns(self, schema: str, table: str) -> list[str]:
        """The table's columns, in order; empty when the table does not exist."""
        placeholder = "%s" if self.postgres else "?"
        _, rows = self.rows(
            "select column_name from information_schema.columns "
            f"where table_schema = {placeholder} and table_name = {placeholder} "
            "order by ordinal_position",
            [schema, table],
        )
        return [r[0] for r in rows]

    def frame(self, schema: str, table: str, columns: Sequence[str]) -> pd.DataFrame:
        """Only the named columns (those that exist) of schema.table, as a typed DataFrame."""
        cols = ", ".join(_quote(c) for c in columns) or "1 as _none"
        names, rows = self.rows(f"select {cols} from {_quote(schema)}.{_quote(table)}")
        df = pd.DataFrame.from_records(rows, columns=names)
        return normalise(df)

    def distinct(self, relation: str, column: str) -> list[Any]:
        schema, table = relation.split(".", 1)
        if column not in self.columns(schema, table):
            return []
        _, rows = self.rows(
            f"select distinct {_quote(column)} from {_quote(schema)}.{_quote(table)} "
            f"where {_quote(column)} is not null"
        )
        return [r[0] for r in rows]

    def ensure_results_table(self) -> None:
        ddl = ", ".join(f"{c} {t}" for c, t in RESULTS_COLUMNS)
        self.execute(f"create schema if not exists {SCHEMA}")
        self.execute(f"create table if not exists {SCHEMA}.{RESULTS_TABLE} ({ddl})")

    def execute(self, sql: str) -> None:
        cur = self.con.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def insert_results(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = [c for c, _ in RESULTS_COLUMNS]
        values = [tuple(r.get(c) for c in cols) for r in rows]
        placeholders = ", ".join(["%s" if self.postgres else "?"] * len(cols))
        cur = self.con.cursor()
        try:
            cur.executemany(
                f"insert into {SCHEMA}.{RESULTS_TABLE} ({', '.join(cols)}) values ({placeholders})",
                values,
            )
        finally:
            cur.close()


def normalise(df: pd.DataFrame) -> pd.DataFrame:
    """One shape whatever the engine: decimals as floats, dates and timestamps as naive UTC
    datetimes (so one range expectation fits DATE, TIMESTAMP and TIMESTAMPTZ columns)."""
    for col in df.columns:
        series = df[col]
        if isinstance(series.dtype, pd.DatetimeTZDtype):
            df[col] = series.dt.tz_convert("UTC").dt.tz_localize(None)
            continue
        if series.dtype != object:
            continue
        sample = series.dropna()
        if sample.empty:
            continue
        first = sample.iloc[0]
        if isinstance(first, Decimal):
            df[col] = series.map(lambda v: None if v is None else float(v)).astype("float64")
        elif isinstance(first, dt.datetime):
            df[col] = pd.to_datetime(series, utc=True).dt.tz_localize(None)
        elif isinstance(first, dt.date):
            df[col] = pd.to_datetime(series)
    return df


@contextmanager
def connect(read_only: bool = True) -> Iterator[Warehouse]:
    """One short-lived warehouse connection (ingestion.common.warehouse_connection)."""
    with warehouse_connection(read_only) as (con, postgres):
        yield Warehouse(con, postgres)
