"""NetSuite source against the simulator: two accounts side by side, full load, re-run,
incremental with soft deletes, keyset windows past the REST row cap, faults, PostgreSQL, bad
credentials. Ground truth is the simulator's store, converted here on its own."""

from __future__ import annotations

import os
import threading
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest
import requests

from ingestion import common, netsuite
from ingestion.pipeline import root_cause

CONNS = ("apac", "europe")
TABLES = (
    "subsidiary",
    "currency",
    "currencyrate",
    "department",
    "customer",
    "job",
    "jobstatus",
    "employee",
    "transaction",
    "transactionline",
    "previoustransactionlink",
    "timebill",
    "deletedrecord",
)
STAMP = {
    "transactionline": "linelastmodifieddate",
    "deletedrecord": "deleteddate",
    "jobstatus": None,
}
SOFT = ("customer", "job", "employee", "transaction", "timebill")
PAGE_SIZE = 25


def _start(simulator_factory: Any, faults: str = "") -> Any:
    sim = simulator_factory("tiny", faults=faults)
    common.load_connections_file(sim.connections_file)
    for conn in CONNS:  # small pages so that offset paging really happens at scale tiny
        os.environ[f"SOURCES__NETSUITE__{conn.upper()}__PAGE_SIZE"] = str(PAGE_SIZE)
    return sim


def _run(conn: str, **settings: Any) -> tuple[dict[str, int], dict[str, int]]:
    """One pipeline run of one connection: (rows loaded per table, request metrics)."""
    metrics = common.Metrics()
    p = common.pipeline("netsuite", conn)
    p.run(netsuite.source(conn, {**netsuite.settings_for(conn), **settings}, metrics=metrics))
    rows = dict(p.last_trace.last_normalize_info.row_counts)
    return {k: v for k, v in rows.items() if not k.startswith("_dlt")}, metrics.as_dict()


def _query(sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _raw_counts(live_only: bool = False) -> dict[tuple[str, str], int]:
    """Rows per (table, connection) in raw_netsuite; soft-deleted rows left out if asked."""
    existing = {
        r[0]
        for r in _query(
            "select table_name from information_schema.tables where table_schema = 'raw_netsuite'"
        )
    }
    out: dict[tuple[str, str], int] = {}
    for t in TABLES:
        if t not in existing:
            continue
        where = "where not coalesce(is_deleted, false)" if live_only and t in SOFT else ""
        for conn, n in _query(
            f"select _source_connection, count(*) from raw_netsuite.{t} {where} group by 1"
        ):
            out[(t, conn)] = n
    return out


def _store(sim: Any, conn: str, table: str) -> list[dict[str, Any]]:
    tbl = sim.store.connection("netsuite", conn).tables.get(table)
    return list(tbl) if tbl is not None else []


def _store_counts(sim: Any) -> dict[tuple[str, str], int]:
    return {(t, c): n for t in TABLES for c in CONNS if (n := len(_store(sim, c, t)))}


def _dt(value: str) -> datetime:
    return datetime.strptime(value, "%m/%d/%Y %I:%M:%S %p").replace(tzinfo=UTC)


def _d(value: str) -> Any:
    return datetime.strptime(value, "%m/%d/%Y").date()


def _ns_stamp(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    return (
        f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d}:"
        f"{moment.second:02d} {'AM' if moment.hour < 12 else 'PM'}"
    )


def test_conversions() -> None:
    assert netsuite.parse_datetime("5/20/2026 8:49:32 PM") == datetime(
        2026, 5, 20, 20, 49, 32, tzinfo=UTC
    )
    assert netsuite.parse_datetime("1/13/2026 12:06:00 AM").hour == 0
    assert netsuite.parse_datetime("1/13/2026 12:06:00 PM").hour == 12
    from zoneinfo import ZoneInfo

    amsterdam = netsuite.parse_datetime("7/1/2026 2:00:00 PM", ZoneInfo("Europe/Amsterdam"))
    assert amsterdam == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert netsuite.parse_date("2/29/2028").isoformat() == "2028-02-29"
    for bad in ("31/31/2026", "2026-13-45", "2/30/2026"):
        with pytest.raises(common.BadRecord):
            netsuite.parse_date(bad)
    for bad in ("1,234.5O", "seven", "N/A", "NaN"):
        with pytest.raises(common.BadRecord):
            netsuite.parse_decimal(bad)
    convert = netsuite.make_converter(netsuite.TABLES_BY_NAME["employee"], UTC)
    with pytest.raises(common.BadRecord, match="employee.email"):
        convert({"id": "1", "email": "first.last(at)example"})
    row = convert({"links": [], "id": "7", "isinactive": "T", "custentity_x": "T"})
    assert row == {"id": "7", "isinactive": True, "custentity_x": "T", "is_deleted": False}


def test_two_accounts_full_load_rerun_incremental_soft_delete(
    simulator_factory, isolated_env
) -> None:
    sim = _start(simulator_factory)
    first: dict[str, dict[str, int]] = {}
    for conn in CONNS:
        rows, metrics = _run(conn)
        expected = {t: n for (t, c), n in _store_counts(sim).items() if c == conn}
        assert rows == expected, conn
        first[conn] = metrics
    # every table of every account equals the store, side by side
    assert _raw_counts() == _store_counts(sim)
    assert first["apac"]["requests"] > len(_store(sim, "apac", "currencyrate")) // PAGE_SIZE

    # typed values equal the store's, converted independently here
    tx = _store(sim, "europe", "transaction")[0]
    got = _query(
        "select foreigntotal, trandate, lastmodifieddate, custbody_disputed, entity, "
        "currency from raw_netsuite.transaction "
        f"where _source_connection = 'europe' and id = '{tx['id']}'"
    )
    assert got == [
        (
            Decimal(tx["foreigntotal"]),
            _d(tx["trandate"]),
            _dt(tx["lastmodifieddate"]),
            tx["custbody_disputed"] == "T",
            tx["entity"],
            tx["currency"],
        )
    ]
    tb = _store(sim, "apac", "timebill")[-1]
    got = _query(
        "select hours, isbillable, datecreated from raw_netsuite.timebill "
        f"where _source_connection = 'apac' and id = '{tb['id']}'"
    )
    assert got == [(Decimal(tb["hours"]), tb["isbillable"] == "T", _dt(tb["datecreated"]))]
    line = _store(sim, "apac", "transactionline")[0]
    got = _query(
        "select linesequencenumber, mainline from raw_netsuite.transactionline "
        f"where _source_connection = 'apac' and transaction = '{line['transaction']}' "
        f"and id = '{line['id']}'"
    )
    assert got == [(int(line["linesequencenumber"]), line["mainline"] == "T")]
    cur = _store(sim, "apac", "currency")[0]
    assert _query(
        "select symbol from raw_netsuite.currency where _source_connection = 'apac' "
        f"and id = '{cur['id']}'"
    ) == [(cur["symbol"].upper(),)]
    # SuiteQL omits null columns: declared anyway, and null where the store has no value
    no_parent = sum(1 for c in CONNS for r in _store(sim, c, "customer") if "parent" not in r)
    assert _query("select count(*) from raw_netsuite.customer where parent is null") == [
        (no_parent,)
    ]

    # re-run without changes: nothing loaded, nothing duplicated
    for conn in CONNS:
        rows, _ = _run(conn)
        assert rows == {}, conn
    assert _raw_counts() == _store_counts(sim)

    # a week later, plus a customer deleted in apac (and one never loaded, deleted as well)
    before = sim.store.clock
    requests.post(sim.control_url + "/advance", json={"days": 7}, timeout=60).raise_for_status()
    apac = sim.store.connection("netsuite", "apac")
    with sim.store.lock:
        gone = apac.tables["customer"].delete(_store(sim, "apac", "customer")[0]["id"])
        stamp = _ns_stamp(sim.store.clock)
        deleted = apac.table("deletedrecord", ("recordtype", "recordid"))
        for record_id in (gone["id"], "999999"):
            deleted.upsert({"recordtype": "customer", "recordid": record_id, "deleteddate": stamp})
    sim.sim.emulators["netsuite"].invalidate()

    for conn in CONNS:
        expected: dict[str, int] = {}
        for t in TABLES:
            cursor = STAMP.get(t, "lastmodifieddate")
            if cursor is None:
                continue  # jobstatus: unchanged content loads nothing
            n = sum(1 for r in _store(sim, conn, t) if _dt(r[cursor]) > before)
            if t == "customer":  # soft deletes are written to the customer table
                n += sum(
                    1
                    for r in _store(sim, conn, "deletedrecord")
                    if r["recordtype"] == "customer" and _dt(r["deleteddate"]) > before
                )
            if n:
                expected[t] = n
        rows, metrics = _run(conn)
        assert rows == expected, conn
        assert metrics["requests"] * 4 < first[conn]["requests"], (metrics, first[conn])
    assert _raw_counts(live_only=True) == _store_counts(sim)
    assert _raw_counts()[("customer", "apac")] == len(_store(sim, "apac", "customer")) + 2
    # the deleted customer keeps its data, flagged; the never-loaded one is a tombstone
    flagged = _query(
        "select id, companyname, is_deleted, deleted_at from raw_netsuite.customer "
        "where _source_connection = 'apac' and is_deleted order by id"
    )
    assert flagged == sorted(
        [(gone["id"], gone["companyname"], True, _dt(stamp)), ("999999", None, True, _dt(stamp))]
    )
    assert _query(
        "select count(*) from raw_netsuite.customer where "
        "_source_connection = 'europe' and is_deleted"
    ) == [(0,)]
    # deletions already applied are not applied again
    assert _run("apac")[0] == {}


def test_keyset_windows_past_the_row_cap(
    simulator_factory, isolated_env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SuiteQL stops at 100,000 rows a query: with the cap lowered to 60, long walks restart
    from the last stamp, and every row still loads exactly once."""
    sim = _start(simulator_factory)
    monkeypatch.setattr(netsuite, "MAX_QUERY_ROWS", 60)
    queries: list[str] = []
    pages = netsuite._Reader.pages

    def spy(self: Any, query: str) -> Any:
        queries.append(query)
        return pages(self, query)

    monkeypatch.setattr(netsuite._Reader, "pages", spy)
    rows, _ = _run("europe")
    # currencyrate (2,508 rows) needs over 40 windows, each restarting from the last stamp
    restarts = [q for q in queries if q.startswith("SELECT * FROM currencyrate WHERE")]
    assert len(restarts) >= 2508 // 75, queries
    expected = {t: n for (t, c), n in _store_counts(sim).items() if c == "europe"}
    assert rows == expected  # no row given twice (normalize counts what was extracted)
    assert {t: n for (t, c), n in _raw_counts().items() if c == "europe"} == expected


def test_faults_throttling_errors_and_expired_tokens(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="rate_limit=0.2,server_error=0.1")
    done = threading.Event()

    def expire_tokens() -> None:  # the account revokes every token, three times mid-run
        for _ in range(3):
            if done.wait(0.6):
                return
            requests.post(sim.control_url + "/faults/expire-tokens", timeout=10)

    expirer = threading.Thread(target=expire_tokens)
    expirer.start()
    try:
        rows, metrics = _run("apac")
    finally:
        done.set()
        expirer.join()
    expected = {t: n for (t, c), n in _store_counts(sim).items() if c == "apac"}
    assert rows == expected
    assert {t: n for (t, c), n in _raw_counts().items() if c == "apac"} == expected
    assert metrics["throttled"] > 0 and metrics["server_errors"] > 0, metrics
    assert metrics["auth_renewals"] > 0, metrics
    # same content as the store, not only the same counts
    hours = sum(Decimal(r["hours"]) for r in _store(sim, "apac", "timebill"))
    assert _query("select sum(hours) from raw_netsuite.timebill") == [(hours,)]


def test_malformed_rows_are_quarantined_and_drift_loads(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="malformed=0.05,drift=1")
    faults = sim.sim.emulators["netsuite"].faults
    _run("apac")
    broken_objects = (
        "transaction",
        "timebill",
        "customer",
        "job",
        "employee",
        "transactionline",
        "currencyrate",
    )
    quarantined = dict(
        _query(
            "select object, count(*) from raw_netsuite._quarantine "
            "where _source_connection = 'apac' group by 1"
        )
    )
    raw = {t: n for (t, c), n in _raw_counts().items() if c == "apac"}
    total_bad = 0
    for t in broken_objects:
        store = _store(sim, "apac", t)
        key = sim.store.connection("netsuite", "apac").tables[t].key
        bad = sum(
            1
            for r in store
            if faults.is_malformed(t, r["id"] if key == ("id",) else tuple(r[k] for k in key))
        )
        total_bad += bad
        assert quarantined.get(t, 0) == bad, t
        assert raw.get(t, 0) + bad == len(store), t
    assert total_bad > 0
    assert len([x for x in sim.sim.injected() if x["kind"] == "malformed"]) >= total_bad
    reasons = _query("select reason, raw_record from raw_netsuite._quarantine limit 50")
    assert all(r and "not" in r for r, _ in reasons), reasons
    # schema drift: the new field appears as a column, with its value
    assert _query("select distinct custentity_new_segment from raw_netsuite.customer") == [
        ("Mid-market",)
    ]
    assert _query("select count(*) from raw_netsuite.job where custentity_new_segment is null") == [
        (0,)
    ]


def test_full_load_into_postgres(
    simulator_factory, isolated_env, postgres_uri, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg2
    from psycopg2.extensions import make_dsn, parse_dsn

    sim = _start(simulator_factory)
    db = f"ns_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(postgres_uri)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {db}")
    admin.close()
    dsn = parse_dsn(postgres_uri)
    dsn["dbname"] = db
    # dlt wants a password; the unix-socket server trusts local users and ignores it
    uri = f"postgresql://{dsn.get('user', 'postgres')}:unused@localhost/{db}?host={dsn['host']}"
    if dsn.get("port"):
        uri += f"&port={dsn['port']}"
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", uri)

    rows, _ = _run("apac")
    expected = {t: n for (t, c), n in _store_counts(sim).items() if c == "apac"}
    assert rows == expected
    # a soft delete reads the last-known row back from PostgreSQL too
    apac = sim.store.connection("netsuite", "apac")
    with sim.store.lock:
        gone = apac.tables["customer"].delete(_store(sim, "apac", "customer")[0]["id"])
        apac.table("deletedrecord", ("recordtype", "recordid")).upsert(
            {
                "recordtype": "customer",
                "recordid": gone["id"],
                "deleteddate": _ns_stamp(sim.store.clock),
            }
        )
    rows, _ = _run("apac")
    assert rows == {"deletedrecord": 1, "customer": 1}

    con = psycopg2.connect(make_dsn(**dsn))
    try:
        cur = con.cursor()
        for t, n in expected.items():
            cur.execute(f"select count(*) from raw_netsuite.{t}")
            assert cur.fetchone()[0] == n, t
        tx = _store(sim, "apac", "transaction")[0]
        cur.execute(
            "select foreigntotal, trandate, lastmodifieddate from "
            "raw_netsuite.transaction where id = %s",
            (tx["id"],),
        )
        assert cur.fetchone() == (
            Decimal(tx["foreigntotal"]),
            _d(tx["trandate"]),
            _dt(tx["lastmodifieddate"]),
        )
        cur.execute(
            "select companyname, is_deleted from raw_netsuite.customer where id = %s", (gone["id"],)
        )
        assert cur.fetchone() == (gone["companyname"], True)
    finally:
        con.close()


@pytest.mark.parametrize("bad", [{"certificate_id": "wrong-kid"}, {"client_id": "nobody"}])
def test_bad_credentials_fail_with_one_line(
    simulator_factory, isolated_env, bad: dict[str, str]
) -> None:
    _start(simulator_factory)
    with pytest.raises(Exception) as caught:
        _run("apac", **bad)
    cause = root_cause(caught.value)
    assert isinstance(cause, common.IngestionError), cause
    message = str(cause)
    assert "\n" not in message and message.startswith("netsuite/apac"), message
    assert "client_id" in message


def test_missing_settings_name_the_variable(isolated_env) -> None:
    os.environ["SOURCES__NETSUITE__CONNECTIONS"] = '["apac"]'
    os.environ["SOURCES__NETSUITE__APAC__BASE_URL"] = "https://123.suitetalk.api.netsuite.com"
    try:
        with pytest.raises(common.IngestionError, match="SOURCES__NETSUITE__APAC__CLIENT_ID"):
            netsuite.settings_for("apac")
    finally:
        del os.environ["SOURCES__NETSUITE__CONNECTIONS"]
        del os.environ["SOURCES__NETSUITE__APAC__BASE_URL"]
