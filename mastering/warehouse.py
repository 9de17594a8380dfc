"""Reading the client records and writing the mastering state, on DuckDB (a short-lived
connection, closed at once: DuckDB allows one writer) or PostgreSQL (CONFORM_DESTINATION)."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ingestion.common import warehouse_connection

SCHEMA = "mastering"
RECORDS_RELATION = "intermediate.int_customer_records"
DECISIONS_RELATION = "reference.steward_decisions"
DEFAULT_DECISIONS_FILE = (
    Path(__file__).resolve().parent.parent / "dbt_project" / "seeds" / "steward_decisions.csv"
)

# the persisted state and the run's outputs: table -> (column, type)
TABLES: dict[str, list[tuple[str, str]]] = {
    "customer_id_map": [
        ("customer_record_key", "varchar"),
        ("canonical_customer_id", "varchar"),
        ("match_rule", "varchar"),
        ("match_confidence", "double precision"),
        ("assigned_at", "varchar"),
    ],
    "canonical_customers": [
        ("canonical_customer_id", "varchar"),
        ("status", "varchar"),
        ("retired_into", "varchar"),
        ("created_at", "varchar"),
        ("retired_at", "varchar"),
    ],
    "customer_id_events": [
        ("event_id", "bigint"),
        ("event_type", "varchar"),
        ("canonical_customer_id", "varchar"),
        ("other_canonical_customer_id", "varchar"),
        ("customer_record_key", "varchar"),
        ("occurred_at", "varchar"),
    ],
    "customer_records_normalized": [
        ("customer_record_key", "varchar"),
        ("name_normalized", "varchar"),
        ("country_code", "varchar"),
        ("website_domain", "varchar"),
        ("email_domain", "varchar"),
        ("tax_id_raw", "varchar"),
        ("tax_id_country", "varchar"),
        ("tax_id_scheme", "varchar"),
        ("tax_id_compact", "varchar"),
        ("tax_id_is_valid", "boolean"),
    ],
    "customer_match_review": [
        ("record_key_a", "varchar"),
        ("record_key_b", "varchar"),
        ("canonical_customer_id_a", "varchar"),
        ("canonical_customer_id_b", "varchar"),
        ("reason", "varchar"),
        ("name_score", "double precision"),
        ("exact_name", "boolean"),
        ("same_tax_id", "boolean"),
        ("tax_id_conflict", "boolean"),
        ("same_country", "boolean"),
        ("country_conflict", "boolean"),
        ("same_domain", "boolean"),
        ("domain_conflict", "boolean"),
        ("erp_link", "boolean"),
    ],
    "runs": [
        ("run_id", "bigint"),
        ("started_at", "varchar"),
        ("records", "bigint"),
        ("customers", "bigint"),
        ("auto_pairs", "bigint"),
        ("review_pairs", "bigint"),
        ("created", "bigint"),
        ("merged", "bigint"),
        ("split", "bigint"),
        ("seconds", "double precision"),
    ],
}
# tables rewritten whole each run (state is rewritten too, in one transaction); events and runs
# are appended
APPEND_ONLY = {"customer_id_events", "runs"}


class Warehouse:
    def __init__(self, con: Any, postgres: bool):
        self.con = con
        self.postgres = postgres

    def query(self, sql: str) -> list[dict[str, Any]]:
        cur = self.con.cursor()
        try:
            cur.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.close()

    def execute(self, sql: str) -> None:
        cur = self.con.cursor()
        try:
            cur.execute(sql)
        finally:
            cur.close()

    def exists(self, schema: str, table: str) -> bool:
        rows = self.query(
            "select count(*) as n from information_schema.tables "
            f"where table_schema = '{schema}' and table_name = '{table}'"
        )
        return bool(rows[0]["n"])

    def ensure_state(self) -> None:
        self.execute(f"create schema if not exists {SCHEMA}")
        for table, cols in TABLES.items():
            ddl = ", ".join(f"{c} {t}" for c, t in cols)
            self.execute(f"create table if not exists {SCHEMA}.{table} ({ddl})")

    def write(self, table: str, rows: Sequence[dict[str, Any]], replace: bool = True) -> None:
        cols = [c for c, _ in TABLES[table]]
        if replace:
            self.execute(f"delete from {SCHEMA}.{table}")
        if not rows:
            return
        values = [tuple(r.get(c) for c in cols) for r in rows]
        cur = self.con.cursor()
        try:
            if self.postgres:
                from psycopg2.extras import execute_values

                execute_values(
                    cur,
                    f"insert into {SCHEMA}.{table} ({', '.join(cols)}) values %s",
                    values,
                    page_size=2000,
                )
            else:
                import pandas as pd

                frame = pd.DataFrame(values, columns=cols)  # noqa: F841 - read by DuckDB
                cur.execute(f"insert into {SCHEMA}.{table} select * from frame")
        finally:
            cur.close()


@contextmanager
def connect(read_only: bool = False) -> Iterator[Warehouse]:
    """One short-lived warehouse connection (ingestion.common.warehouse_connection)."""
    with warehouse_connection(read_only) as (con, postgres):
        yield Warehouse(con, postgres)


def read_decisions_file(path: str | Path) -> list[dict[str, Any]]:
    with open(path, newline="") as f:
        return [row for row in csv.DictReader(f) if (row.get("record_key_a") or "").strip()]
