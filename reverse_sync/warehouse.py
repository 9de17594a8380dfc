"""The reverse sync's tables in the warehouse (schema ``reverse_sync``) and what it reads there:
the ``sync.*`` models and ``data_quality.check_results``.

DuckDB (default) allows one writer, so every step opens a short-lived connection and closes it
at once; PostgreSQL when ``CONFORM_DESTINATION=postgres`` (``DESTINATION__POSTGRES__CREDENTIALS``).
Queries are written with ``?`` placeholders and translated for psycopg2.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ingestion.common import warehouse_connection

SCHEMA = "reverse_sync"
SYNC_SCHEMA = "sync"
CHECKS_RELATION = ("data_quality", "check_results")

# table -> columns; the first `KEYS[table]` columns form the primary key
TABLES: dict[str, list[tuple[str, str]]] = {
    # what was last confirmed per target record and field; a pending intent while a write is
    # in flight (write-ahead), so a crash between the write and the confirmation is resolved
    # by reading the target on the next run, never by writing blindly again
    "sync_ledger": [
        ("target_system", "varchar"),
        ("target_connection", "varchar"),
        ("target_object", "varchar"),
        ("target_id", "varchar"),
        ("field", "varchar"),
        ("api_field", "varchar"),
        ("status", "varchar"),  # confirmed | pending | failed
        ("confirmed_value", "varchar"),
        ("confirmed_at", "timestamp"),
        ("pending_value", "varchar"),
        ("pending_since", "timestamp"),
        ("idempotency_key", "varchar"),
        ("correlation_id", "varchar"),
        ("canonical_id", "varchar"),
        ("run_id", "varchar"),
    ],
    # contract with the governance marts (notes/contracts.md): do not change the columns
    "sync_dead_letters": [
        ("dead_letter_id", "varchar"),
        ("correlation_id", "varchar"),
        ("target_system", "varchar"),
        ("target_connection", "varchar"),
        ("target_object", "varchar"),
        ("target_id", "varchar"),
        ("canonical_id", "varchar"),
        ("fields", "varchar"),
        ("payload", "varchar"),
        ("error", "varchar"),
        ("http_status", "integer"),
        ("attempts", "integer"),
        ("first_failed_at", "timestamp"),
        ("last_failed_at", "timestamp"),
        ("resolved_at", "timestamp"),
    ],
    # every write (and every confirmation by read-back): who, what, when, before, after, answer
    "sync_audit_log": [
        ("audit_id", "varchar"),
        ("run_id", "varchar"),
        ("actor", "varchar"),
        ("target_system", "varchar"),
        ("target_connection", "varchar"),
        ("target_object", "varchar"),
        ("target_id", "varchar"),
        ("field", "varchar"),
        ("api_field", "varchar"),
        ("action", "varchar"),  # sent | already_in_target | failed
        ("before_value", "varchar"),
        ("after_value", "varchar"),
        ("http_status", "integer"),
        ("response", "varchar"),
        ("correlation_id", "varchar"),
        ("idempotency_key", "varchar"),
        ("written_at", "timestamp"),
    ],
    # one row per `conform sync` run with its counts
    "sync_runs": [
        ("run_id", "varchar"),
        ("started_at", "timestamp"),
        ("finished_at", "timestamp"),
        ("systems", "varchar"),
        ("status", "varchar"),  # ok | failed | refused
        ("planned_records", "integer"),
        ("sent", "integer"),
        ("already_in_target", "integer"),
        ("unchanged", "integer"),
        ("failed", "integer"),
        ("dead_lettered", "integer"),
        ("dead_letters_resolved", "integer"),
        ("error", "varchar"),
    ],
}
KEYS: dict[str, int] = {
    "sync_ledger": 5,
    "sync_dead_letters": 1,
    "sync_audit_log": 1,
    "sync_runs": 1,
}


class Warehouse:
    """One open connection: parameterised queries in DuckDB's ``?`` style on both engines."""

    def __init__(self, con: Any, postgres: bool):
        self.con = con
        self.postgres = postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.con.cursor()
        try:
            cur.execute(self._sql(sql), list(params))
            names = [d[0] for d in cur.description]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
        finally:
            cur.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        cur = self.con.cursor()
        try:
            cur.execute(self._sql(sql), list(params))
        finally:
            cur.close()

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        cur = self.con.cursor()
        try:
            cur.executemany(self._sql(sql), [list(r) for r in rows])
        finally:
            cur.close()

    def exists(self, schema: str, table: str) -> bool:
        rows = self.query(
            "select count(*) as n from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
        return bool(rows[0]["n"])

    def ensure_tables(self) -> None:
        self.execute(f"create schema if not exists {SCHEMA}")
        for table, cols in TABLES.items():
            ddl = ", ".join(f"{c} {t}" for c, t in cols)
            key = ", ".join(c for c, _ in cols[: KEYS[table]])
            self.execute(
                f"create table if not exists {SCHEMA}.{table} ({ddl}, primary key ({key}))"
            )

    def upsert(
        self, table: str, rows: Sequence[dict[str, Any]], update: Sequence[str] | None = None
    ) -> None:
        """Insert, or update the ``update`` columns (default: every non-key column) of the row
        with the same key; columns not updated keep their stored values."""
        if not rows:
            return
        cols = [c for c, _ in TABLES[table]]
        keys = cols[: KEYS[table]]
        changing = [c for c in (update or cols) if c not in keys]
        updates = ", ".join(f"{c} = excluded.{c}" for c in changing)
        sql = (
            f"insert into {SCHEMA}.{table} ({', '.join(cols)}) "
            f"values ({', '.join('?' for _ in cols)}) "
            f"on conflict ({', '.join(keys)}) do update set {updates}"
        )
        self.executemany(sql, [[r.get(c) for c in cols] for r in rows])


@contextmanager
def connect(read_only: bool = False) -> Iterator[Warehouse]:
    """One short-lived warehouse connection (ingestion.common.warehouse_connection)."""
    with warehouse_connection(read_only) as (con, postgres):
        yield Warehouse(con, postgres)


def read_model(db: Warehouse, model: str) -> list[dict[str, Any]] | None:
    """Rows of ``sync.<model>``, or None when dbt has not built it yet."""
    if not db.exists(SYNC_SCHEMA, model):
        return None
    return db.query(f"select * from {SYNC_SCHEMA}.{model}")


def blocking_failures(db: Warehouse) -> list[dict[str, Any]]:
    """Latest state of every (suite, expectation) in data_quality.check_results that is a
    failed blocking check (contract: notes/contracts.md). None when the table does not exist."""
    schema, table = CHECKS_RELATION
    if not db.exists(schema, table):
        return []
    return db.query(
        f"""
        with ranked as (
            select
                suite, asset, check_name, expectation, severity, success, evaluated_at,
                unexpected_count,
                row_number() over (
                    partition by suite, expectation order by evaluated_at desc
                ) as recency
            from {schema}.{table}
        )
        select suite, asset, check_name, expectation, evaluated_at, unexpected_count
        from ranked
        where recency = 1 and severity = 'blocking' and not success
        order by suite, expectation
        """
    )
