"""Stripe source against the simulator: full load, re-run, incremental via events, faults,
PostgreSQL, bad credentials. Ground truth is the simulator's store, converted here on its own."""

from __future__ import annotations

import os
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
import requests

from ingestion import common
from ingestion.stripe import currency_exponent, settings_for, source, to_major

CONN = "stripe"
OBJECTS = ("customers", "invoices", "payment_intents", "charges")
TABLES = (*OBJECTS, "events")


def _start(simulator_factory: Any, faults: str = "", page_size: int = 2) -> Any:
    sim = simulator_factory("tiny", faults=faults)
    common.load_connections_file(sim.connections_file)
    # small pages so that starting_after paging really happens at scale tiny
    os.environ["SOURCES__STRIPE__STRIPE__PAGE_SIZE"] = str(page_size)
    return sim


def _run() -> tuple[dict[str, int], dict[str, int]]:
    """One pipeline run; returns (rows loaded per table, request metrics)."""
    metrics = common.Metrics()
    p = common.pipeline("stripe", CONN)
    p.run(source(CONN, settings_for(CONN), metrics=metrics))
    rows = dict(p.last_trace.last_normalize_info.row_counts)
    return {k: v for k, v in rows.items() if not k.startswith("_dlt")}, metrics.as_dict()


def _query(sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts() -> dict[str, int]:
    return {t: _query(f"select count(*) from raw_stripe.{t}")[0][0] for t in TABLES}


def _store(sim: Any, table: str) -> list[dict[str, Any]]:
    return list(sim.store.connection("stripe", CONN).table(table))


def _ts(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def test_currency_exponents() -> None:
    assert currency_exponent("usd") == 2 and to_major(1999, "usd") == Decimal("19.99")
    assert currency_exponent("JPY") == 0 and to_major(500, "jpy") == Decimal("500")
    assert currency_exponent("kwd") == 3 and to_major(5120, "kwd") == Decimal("5.12")
    assert to_major(None, "usd") is None and to_major(100, None) is None


def test_full_load_equals_store_and_rerun_adds_nothing(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory)
    rows, metrics = _run()
    store = {t: _store(sim, t) for t in TABLES}
    assert _counts() == {t: len(store[t]) for t in TABLES}
    assert rows == {t: len(store[t]) for t in TABLES}
    assert metrics["requests"] > sum(len(v) for v in store.values()) // 2  # paged at 2 a page

    # typed values equal the store's, converted independently here
    inv = max(store["invoices"], key=lambda r: r["amount_paid"])
    got = _query(
        "select currency, total, total_major, amount_paid_major, created, due_date, "
        "status_transitions__paid_at, metadata__erp_invoice_number, customer "
        f"from raw_stripe.invoices where id = '{inv['id']}'"
    )[0]
    paid_at = inv["status_transitions"]["paid_at"]
    assert got == (
        inv["currency"].upper(),
        inv["total"],
        Decimal(inv["total"]) / 100,
        Decimal(inv["amount_paid"]) / 100,
        _ts(inv["created"]),
        _ts(inv["due_date"]),
        _ts(paid_at) if paid_at else None,
        inv["metadata"].get("erp_invoice_number"),
        inv["customer"],
    )
    cus = store["customers"][0]
    assert _query(
        "select name, address__country, currency, created, is_deleted "
        f"from raw_stripe.customers where id = '{cus['id']}'"
    )[0] == (
        cus["name"],
        cus["address"]["country"],
        cus["currency"].upper(),
        _ts(cus["created"]),
        False,
    )
    ch = store["charges"][0]
    assert _query(
        "select amount, amount_major, paid, captured, payment_intent "
        f"from raw_stripe.charges where id = '{ch['id']}'"
    )[0] == (ch["amount"], Decimal(ch["amount"]) / 100, True, True, ch["payment_intent"])
    ev = store["events"][-1]
    assert _query(
        "select type, created, object_id, object_type from raw_stripe.events "
        f"where id = '{ev['id']}'"
    )[0] == (
        ev["type"],
        _ts(ev["created"]),
        ev["data"]["object"]["id"],
        ev["data"]["object"]["object"],
    )

    # re-run without changes: nothing loaded, nothing duplicated, one request per resource
    rows, metrics = _run()
    assert rows == {}
    assert _counts() == {t: len(store[t]) for t in TABLES}
    assert metrics["requests"] == len(TABLES)


def test_incremental_reads_only_changes_through_events(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory)
    _, first = _run()
    previous_clock = sim.store.clock.timestamp()

    assert requests.post(sim.control_url + "/advance", json={"days": 7}, timeout=60).ok
    # writes through the API too: an update and a delete emit customer.* events
    api = settings_for(CONN)
    auth = {"Authorization": f"Bearer {api['api_key']}"}
    customers = sorted(r["id"] for r in _store(sim, "customers"))
    updated, deleted = customers[0], customers[1]
    r = requests.post(
        f"{api['base_url']}/v1/customers/{updated}",
        headers=auth,
        timeout=30,
        data={"metadata[erp_customer_id]": "C-4711"},
    )
    assert r.ok, r.text
    r = requests.delete(f"{api['base_url']}/v1/customers/{deleted}", headers=auth, timeout=30)
    assert r.ok, r.text

    rows, second = _run()

    # expected from the store: events newer than the previous clock, and the objects they touch
    new_events = [e for e in _store(sim, "events") if e["created"] > previous_clock]
    touched = {t: set() for t in OBJECTS}
    table_of = {
        "customer": "customers",
        "invoice": "invoices",
        "payment_intent": "payment_intents",
        "charge": "charges",
    }
    for e in new_events:
        touched[table_of[e["data"]["object"]["object"]]].add(e["data"]["object"]["id"])
    expected = {t: len(ids) for t, ids in touched.items() if ids}
    expected["events"] = len(new_events)
    assert new_events and rows == expected
    assert _counts() == {t: len(_store(sim, t)) for t in TABLES}
    print(f"requests: first run {first['requests']}, incremental {second['requests']}")
    assert second["requests"] * 3 <= first["requests"], (first, second)

    assert _query(f"select is_deleted from raw_stripe.customers where id = '{deleted}'") == [
        (True,)
    ]
    assert _query(
        "select metadata__erp_customer_id, is_deleted from raw_stripe.customers "
        f"where id = '{updated}'"
    ) == [("C-4711", False)]
    assert _query(
        "select type from raw_stripe.events where object_id = "
        f"'{deleted}' and type = 'customer.deleted'"
    ) == [("customer.deleted",)]

    # and once more: the boundary second's events are not read again
    rows, _ = _run()
    assert rows == {}


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for t in TABLES:
        cols = [
            c
            for (c,) in _query(
                "select column_name from information_schema.columns where table_schema = "
                f"'raw_stripe' and table_name = '{t}' and column_name not like '_dlt%' "
                "order by column_name"
            )
        ]
        out[t] = sorted(_query(f"select {', '.join(cols)} from raw_stripe.{t}"), key=str)
    return out


def test_faults_throttling_and_server_errors_end_equal(
    simulator_factory, isolated_env, monkeypatch
) -> None:
    sim = _start(simulator_factory, faults="rate_limit=0.2,server_error=0.1")
    _, metrics = _run()
    assert metrics["throttled"] > 0 and metrics["server_errors"] > 0, metrics
    faulty = _snapshot()

    # the same simulator, clean, into a second warehouse
    sim.set_faults("")
    monkeypatch.setenv("CONFORM_WAREHOUSE", str(isolated_env / "clean" / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(isolated_env / "clean-pipelines"))
    _run()
    assert _snapshot() == faulty
    assert {t: len(v) for t, v in faulty.items()} == {t: len(_store(sim, t)) for t in TABLES}


def test_malformed_records_are_quarantined(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="malformed=0.05")
    _run()
    bad = Counter()
    bad_keys = set()
    for x in sim.sim.injected():
        if x["kind"] == "malformed" and x["system"] == "stripe":
            bad_keys.add((x["object"], x["key"]))
    for obj, _key in bad_keys:
        bad[obj] += 1
    assert bad_keys
    quarantined = _query("select object, record_key, reason from raw_stripe._quarantine")
    assert {(o, k) for o, k, _ in quarantined} == bad_keys
    assert all(reason for *_, reason in quarantined)
    counts = _counts()
    for t in TABLES:
        assert counts[t] + bad[t] == len(_store(sim, t)), t


def test_schema_drift_adds_columns(simulator_factory, isolated_env) -> None:
    _start(simulator_factory, faults="drift=1")
    _run()
    cols = {
        (t, c)
        for t, c in _query(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'raw_stripe'"
        )
    }
    assert ("customers", "invoice_credit_balance") in cols
    assert ("invoices", "customer_tax_ids") in cols


def _pg_database(postgres_uri: str) -> str:
    """A fresh database on the test server, as a URI dlt accepts: dlt requires a host and a
    password, so ``localhost`` plus libpq's ``host`` query parameter (which wins) points it at
    the unix socket, and the password is a placeholder the server's trust auth ignores."""
    import psycopg2

    name = f"stripe_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(postgres_uri)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create database {name}")
    con.close()
    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    return f"postgresql://postgres:unused@localhost/{name}?host={socket_dir}"


def test_full_load_into_postgres(
    simulator_factory, isolated_env, postgres_uri, monkeypatch
) -> None:
    import psycopg2

    uri = _pg_database(postgres_uri)
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", uri)
    sim = _start(simulator_factory)
    _run()
    con = psycopg2.connect(uri)
    try:
        with con.cursor() as cur:
            for t in TABLES:
                cur.execute(f"select count(*) from raw_stripe.{t}")
                assert cur.fetchone()[0] == len(_store(sim, t)), t
            inv = _store(sim, "invoices")[0]
            cur.execute(
                "select currency, total_major, created from raw_stripe.invoices where id = %s",
                (inv["id"],),
            )
            assert cur.fetchone() == (
                inv["currency"].upper(),
                Decimal(inv["total"]) / 100,
                _ts(inv["created"]),
            )
    finally:
        con.close()


def test_bad_credential_is_one_clear_line(simulator_factory, isolated_env) -> None:
    _start(simulator_factory)
    settings = {**settings_for(CONN), "api_key": "sk_test_wrongkey1234"}
    p = common.pipeline("stripe", CONN)
    with pytest.raises(Exception) as info:
        p.run(source(CONN, settings))
    cause: BaseException | None = info.value
    while cause is not None and not isinstance(cause, common.IngestionError):
        cause = cause.__cause__ or cause.__context__
    assert cause is not None, info.value
    message = str(cause)
    assert "\n" not in message and message.startswith("stripe/stripe:") and "401" in message


def test_missing_setting_names_the_variable(isolated_env) -> None:
    with pytest.raises(common.IngestionError, match="SOURCES__STRIPE__NOWHERE__API_KEY"):
        settings_for("nowhere")


def test_no_simulator_imports() -> None:
    text = (Path(__file__).parents[2] / "ingestion" / "stripe.py").read_text()
    assert "simulator" not in text
