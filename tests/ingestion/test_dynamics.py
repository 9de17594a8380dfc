"""The Dynamics 365 F&O source against the simulator: full load, re-run, incremental, faults,
PostgreSQL, bad credentials. Ground truth is always the simulator's store."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import duckdb
import pytest
import requests

from ingestion import common, dynamics
from ingestion.pipeline import root_cause
from simulator.systems.dynamics import ENTITY_SETS

CONNECTIONS = ("na", "emea")
TABLES = {e.table: e.set_name for e in dynamics.ENTITIES}


# -- helpers -----------------------------------------------------------------------------------


def store_table(sim: Any, connection: str, set_name: str) -> list[dict[str, Any]]:
    conn = sim.store.connections[("dynamics", connection)]
    table = conn.tables.get(set_name)
    return list(table) if table is not None else []


def set_page_size(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    for connection in CONNECTIONS:
        monkeypatch.setenv(f"SOURCES__DYNAMICS__{connection.upper()}__PAGE_SIZE", str(size))


def run(connection: str, metrics: common.Metrics | None = None) -> tuple[Any, common.Metrics]:
    metrics = metrics or common.Metrics()
    p = common.pipeline("dynamics", connection)
    p.run(dynamics.source(connection, dynamics.settings_for(connection), metrics=metrics))
    return p, metrics


def loaded_rows(p: Any) -> dict[str, int]:
    counts = dict(p.last_trace.last_normalize_info.row_counts)
    return {t: counts.get(t, 0) for t in TABLES}


def query(sql: str, *params: Any) -> list[tuple]:
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()  # DuckDB: an open reader blocks the next pipeline run


def raw_counts(connection: str) -> dict[str, int]:
    return {
        t: query(f"select count(*) from raw_dynamics.{t} where _source_connection = ?", connection)[
            0
        ][0]
        for t in TABLES
    }


def the_date(text: str) -> date:
    return date.fromisoformat(text[:10])


def the_datetime(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture
def sim_env(
    simulator_factory: Any, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    sim = simulator_factory("tiny")
    common.load_connections_file(sim.connections_file)
    set_page_size(monkeypatch, 100)  # several pages per large set, so paging really happens
    yield sim


def check_typed_values(sim: Any, connection: str, fetch: Any) -> None:
    """A few typed values equal the store's, converted here independently."""
    inv = store_table(sim, connection, "SalesInvoiceHeadersV2")[0]
    row = fetch(
        "select total_invoice_amount, invoice_date, due_date, currency_code, modified_date_time, "
        "data_area_id from raw_dynamics.sales_invoice_headers_v2 where _source_connection = "
        "%s and invoice_number = %s",
        connection,
        inv["InvoiceNumber"],
    )
    amount, invoice_date, due_date, currency, modified, company = row
    assert amount == Decimal(str(inv["TotalInvoiceAmount"]))
    assert invoice_date == the_date(inv["InvoiceDate"])
    assert due_date == the_date(inv["DueDate"])
    assert currency == inv["CurrencyCode"].upper()
    assert modified == the_datetime(inv["ModifiedDateTime"])
    assert company == inv["dataAreaId"].lower()

    rate = store_table(sim, connection, "ExchangeRates")[-1]
    row = fetch(
        "select rate from raw_dynamics.exchange_rates where _source_connection = %s and "
        "from_currency = %s and to_currency = %s and start_date = %s",
        connection,
        rate["FromCurrency"],
        rate["ToCurrency"],
        the_date(rate["StartDate"]),
    )
    assert row[0] == Decimal(str(rate["Rate"]))

    hours = store_table(sim, connection, "ProjectHourTransactions")
    no_worker = next(h for h in hours if h["Worker"] == "")
    row = fetch(
        "select worker, hours, project_date from raw_dynamics.project_hour_transactions "
        "where _source_connection = %s and transaction_id = %s",
        connection,
        no_worker["TransactionId"],
    )
    assert row == (None, Decimal(str(no_worker["Hours"])), the_date(no_worker["ProjectDate"]))

    payment = store_table(sim, connection, "CustomerPaymentJournalLines")[0]
    row = fetch(
        "select credit_amount, is_posted, transaction_date from "
        "raw_dynamics.customer_payment_journal_lines where _source_connection = %s and "
        "journal_batch_number = %s and line_number = %s",
        connection,
        payment["JournalBatchNumber"],
        Decimal(str(payment["LineNumber"])),
    )
    assert row == (
        Decimal(str(payment["CreditAmount"])),
        payment["IsPosted"] == "Yes",
        the_date(payment["TransactionDate"]),
    )

    entity = store_table(sim, connection, "LegalEntities")[0]
    row = fetch(
        "select legal_entity_id, accounting_currency from raw_dynamics.legal_entities "
        "where _source_connection = %s and legal_entity_id = %s",
        connection,
        entity["LegalEntityId"].lower(),
    )
    assert row == (entity["LegalEntityId"].lower(), entity["AccountingCurrency"])


def duck_fetch(sql: str, *params: Any) -> tuple:
    rows = query(sql.replace("%s", "?"), *params)
    assert len(rows) == 1, (sql, params, rows)
    return rows[0]


# -- 1 + 2: full load, re-run ------------------------------------------------------------------


def test_full_load_then_rerun_loads_nothing(sim_env: Any) -> None:
    sim = sim_env
    first = {}
    for connection in CONNECTIONS:
        p, metrics = run(connection)
        first[connection] = metrics.as_dict()["requests"]
        expected = {t: len(store_table(sim, connection, s)) for t, s in TABLES.items()}
        assert loaded_rows(p) == expected
        assert raw_counts(connection) == expected
        check_typed_values(sim, connection, duck_fetch)
    # ExchangeRates (2,508 rows a connection) needs 26 pages of 100
    assert all(n > 30 for n in first.values()), first
    assert not query(
        "select table_name from information_schema.tables "
        "where table_schema = 'raw_dynamics' and table_name = '_quarantine'"
    )

    for connection in CONNECTIONS:
        p, _ = run(connection)
        assert sum(loaded_rows(p).values()) == 0, loaded_rows(p)
        expected = {t: len(store_table(sim, connection, s)) for t, s in TABLES.items()}
        assert raw_counts(connection) == expected


# -- 3: incremental ----------------------------------------------------------------------------


def test_incremental_fetches_only_changed_records(sim_env: Any) -> None:
    sim = sim_env
    first_requests = {}
    for connection in CONNECTIONS:
        _, metrics = run(connection)
        first_requests[connection] = metrics.as_dict()["requests"]
    previous_clock = sim.store.clock
    answer = requests.post(sim.control_url + "/advance", json={"days": 7}, timeout=60)
    answer.raise_for_status()
    for connection in CONNECTIONS:
        changed = {
            t: sum(
                1
                for r in store_table(sim, connection, s)
                if the_datetime(r["ModifiedDateTime"]) > previous_clock
            )
            for t, s in TABLES.items()
        }
        assert sum(changed.values()) > 0, "the advance changed nothing"
        p, metrics = run(connection)
        assert loaded_rows(p) == changed
        assert raw_counts(connection) == {
            t: len(store_table(sim, connection, s)) for t, s in TABLES.items()
        }
        # a token and one page a set (100 rows a page) instead of 26+ pages of exchange rates
        pages = sum(max(1, math.ceil((n + 1) / 100)) for n in changed.values())
        assert metrics.as_dict()["requests"] <= 1 + pages
        assert metrics.as_dict()["requests"] * 2 < first_requests[connection]


# -- 4: faults ---------------------------------------------------------------------------------


class ExpiringMetrics(common.Metrics):
    """Revokes every issued token after a few responses: a 401 in the middle of the run."""

    def __init__(self, control_url: str, at: tuple[int, ...]):
        super().__init__()
        self.control_url, self.at = control_url, at

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        super().hook(response, *args, **kwargs)
        if self.counts["requests"] in self.at:
            requests.post(self.control_url + "/faults/expire-tokens", timeout=10)


def table_contents(connection: str) -> dict[str, list[tuple]]:
    out = {}
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        for t in TABLES:
            cols = [
                c[0]
                for c in con.execute(f"describe raw_dynamics.{t}").fetchall()
                if not c[0].startswith("_dlt")
            ]
            out[t] = sorted(
                con.execute(
                    f"select {', '.join(cols)} from raw_dynamics.{t} where _source_connection = ?",
                    [connection],
                ).fetchall(),
                key=repr,
            )
    finally:
        con.close()
    return out


def test_rate_limits_server_errors_and_revoked_tokens_change_nothing(
    sim_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = sim_env
    set_page_size(monkeypatch, 500)
    run("na")
    clean = table_contents("na")

    monkeypatch.setenv("CONFORM_WAREHOUSE", str(tmp_path / "faulty" / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(tmp_path / "faulty-pipelines"))
    sim.set_faults("rate_limit=0.2,server_error=0.1")
    metrics = ExpiringMetrics(sim.control_url, at=(4, 12))
    run("na", metrics)
    counts = metrics.as_dict()
    assert counts["throttled"] > 0 and counts["server_errors"] > 0, counts
    assert counts["auth_renewals"] >= 2, counts
    assert table_contents("na") == clean


def test_malformed_records_are_quarantined_with_a_reason(sim_env: Any) -> None:
    sim = sim_env
    sim.set_faults("malformed=0.05")
    faults = sim.sim.emulators["dynamics"].faults
    for connection in CONNECTIONS:
        run(connection)
        bad_total = 0
        for table, set_name in TABLES.items():
            key_fields = ENTITY_SETS[set_name][0]
            rows = store_table(sim, connection, set_name)
            bad = {
                "|".join(str(r[k]) for k in key_fields)
                for r in rows
                if faults.is_malformed(set_name, tuple(r[k] for k in key_fields))
            }
            bad_total += len(bad)
            quarantined = query(
                "select record_key, reason from raw_dynamics._quarantine where "
                "_source_connection = ? and object = ?",
                connection,
                table,
            )
            assert {k for k, _ in quarantined} == bad, table
            assert all(reason.startswith("BadRecord: ") for _, reason in quarantined)
            clean = query(
                f"select count(*) from raw_dynamics.{table} where _source_connection = ?",
                connection,
            )[0][0]
            assert clean + len(bad) == len(rows), table
        assert bad_total > 0
    reasons = {r for (r,) in query("select reason from raw_dynamics._quarantine")}
    assert any("is not a number" in r for r in reasons), reasons


def test_schema_drift_adds_the_new_column(sim_env: Any) -> None:
    sim = sim_env
    sim.set_faults("drift=1")
    run("na")
    assert query("select distinct customer_segment from raw_dynamics.customers_v3") == [
        ("Enterprise",)
    ]
    assert query(
        "select count(*) from raw_dynamics.projects_v2 where project_segment = 'Enterprise'"
    )[0][0] == len(store_table(sim, "na", "ProjectsV2"))


# -- 5: PostgreSQL -----------------------------------------------------------------------------


def dlt_postgres_uri(socket_uri: str, database: str) -> str:
    """dlt requires a host in the URI: name localhost and keep the socket folder as the libpq
    ``host`` query parameter (it wins over the URI's host), with the server's port; and a
    password (the socket uses trust auth, but dlt treats an empty one as missing)."""
    socket_dir = parse_qs(urlsplit(socket_uri).query)["host"][0]
    ports = [p.name.rsplit(".", 1)[-1] for p in Path(socket_dir).glob(".s.PGSQL.*")]
    port = next((p for p in ports if p.isdigit()), "5432")
    return f"postgresql://postgres:unused@localhost:{port}/{database}?host={socket_dir}"


def test_full_load_into_postgres(
    sim_env: Any, postgres_uri: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2

    sim = sim_env
    admin = psycopg2.connect(postgres_uri)
    admin.autocommit = True
    name = f"dynamics_{os.getpid()}_{id(sim)}"
    with admin.cursor() as cur:
        cur.execute(f"create database {name}")
    admin.close()
    uri = dlt_postgres_uri(postgres_uri, name)
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", uri)
    for connection in CONNECTIONS:
        run(connection)
    con = psycopg2.connect(uri)
    try:

        def pg_fetch(sql: str, *params: Any) -> tuple:
            with con.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall()
            assert len(rows) == 1, (sql, params, rows)
            return rows[0]

        for connection in CONNECTIONS:
            for table, set_name in TABLES.items():
                (count,) = pg_fetch(
                    f"select count(*) from raw_dynamics.{table} where _source_connection = %s",
                    connection,
                )
                assert count == len(store_table(sim, connection, set_name)), table
            check_typed_values(sim, connection, pg_fetch)
    finally:
        con.close()


# -- 6: bad credentials ------------------------------------------------------------------------


def test_bad_secret_fails_with_one_clear_line(
    sim_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOURCES__DYNAMICS__NA__CLIENT_SECRET", "wrong")
    with pytest.raises(Exception) as failure:
        run("na")
    cause = root_cause(failure.value)
    assert isinstance(cause, common.IngestionError)
    message = str(cause)
    assert "\n" not in message
    assert message.startswith("dynamics/na:") and "401" in message
    assert "AADSTS7000215" in message


def test_missing_setting_names_the_variable(isolated_env: Path) -> None:
    with pytest.raises(common.IngestionError, match="SOURCES__DYNAMICS__NA__BASE_URL"):
        dynamics.settings_for("na")
