"""The Salesforce source against the simulator: full load, paging, re-run, incremental with a
soft delete, faults (throttling, 5xx, expired token), quarantine, schema drift, PostgreSQL and
bad credentials. Ground truth is the simulator's store, converted here independently."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
import requests

from ingestion import common
from ingestion.pipeline import root_cause
from ingestion.salesforce import OBJECTS, settings_for, source

CONN = "crm"
TABLES = tuple(OBJECTS.values())


def _start(factory: Any, faults: str = "", scale: str = "tiny") -> Any:
    sim = factory(scale, faults=faults)
    common.load_connections_file(sim.connections_file)
    return sim


def _run(
    metrics: common.Metrics | None = None, settings: dict[str, Any] | None = None
) -> tuple[Any, common.Metrics]:
    metrics = metrics if metrics is not None else common.Metrics()
    p = common.pipeline("salesforce", CONN)
    p.run(source(CONN, settings if settings is not None else settings_for(CONN), metrics=metrics))
    return p, metrics


def _loaded(p: Any) -> dict[str, int]:
    counts = p.last_trace.last_normalize_info.row_counts
    return {t: counts.get(t, 0) for t in (*TABLES, common.QUARANTINE_TABLE)}


def _store(sim: Any, sobject: str) -> list[dict[str, Any]]:
    return list(sim.store.connections[("salesforce", CONN)].tables[sobject])


def _query(sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _counts() -> dict[str, int]:
    return {t: _query(f"select count(*) from raw_salesforce.{t}")[0][0] for t in TABLES}


def _columns(table: str) -> set[str]:
    return {
        r[0]
        for r in _query(
            "select column_name from information_schema.columns "
            f"where table_schema = 'raw_salesforce' and table_name = '{table}'"
        )
    }


def _sf_ts(text: str) -> datetime:
    """'2026-05-20T20:49:32.000+0000' -> aware datetime, independently of the source."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _expected_counts(sim: Any) -> dict[str, int]:
    return {t: len(_store(sim, o)) for o, t in OBJECTS.items()}


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for t in TABLES:
        cols = sorted(c for c in _columns(t) if not c.startswith("_dlt"))
        out[t] = sorted(_query(f"select {', '.join(cols)} from raw_salesforce.{t}"), key=str)
    return out


def test_full_load_typed_values(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory)
    p, metrics = _run()
    assert _counts() == _expected_counts(sim)
    assert _loaded(p)[common.QUARANTINE_TABLE] == 0

    opp = next(o for o in _store(sim, "Opportunity") if o["Amount"] and o["CloseDate"])
    row = _query(
        "select amount, close_date, is_won, probability, currency_iso_code, system_modstamp, "
        f"is_deleted, _source_connection from raw_salesforce.opportunity where id = '{opp['Id']}'"
    )[0]
    assert row[0] == Decimal(str(opp["Amount"]))
    assert row[1] == date.fromisoformat(opp["CloseDate"])
    assert row[2] is opp["IsWon"]
    assert row[3] == float(opp["Probability"])
    assert row[4] == opp["CurrencyIsoCode"].upper()
    assert row[5] == _sf_ts(opp["SystemModstamp"])
    assert row[6] is False and row[7] == CONN

    acc = _store(sim, "Account")[0]
    row = _query(
        f"select name, created_date, tax_id__c from raw_salesforce.account where id = '{acc['Id']}'"
    )[0]
    assert row == (acc["Name"], _sf_ts(acc["CreatedDate"]), acc["Tax_Id__c"])
    user = _store(sim, "User")[0]
    row = _query(f"select email, is_active from raw_salesforce.user where id = '{user['Id']}'")[0]
    assert row == (user["Email"], user["IsActive"])
    # token + one describe and one query page per object
    assert metrics.as_dict()["requests"] == 1 + 2 * len(OBJECTS)


def test_pages_through_next_records_url(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, scale="small")  # 238 opportunities: two pages of 200
    assert len(_store(sim, "Opportunity")) > 200
    p, metrics = _run(settings={**settings_for(CONN), "batch_size": 200})
    assert _counts() == _expected_counts(sim)
    pages = sum(-(-n // 200) for n in _expected_counts(sim).values())
    assert metrics.as_dict()["requests"] == 1 + len(OBJECTS) + pages
    assert pages > len(OBJECTS)


def _token(sim: Any) -> tuple[str, str]:
    s = settings_for(CONN)
    body = requests.post(
        f"{s['login_url']}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": s["client_id"],
            "client_secret": s["client_secret"],
            "username": s["username"],
            "password": f"{s['password']}{s['security_token']}",
        },
        timeout=10,
    ).json()
    return body["instance_url"], body["access_token"]


def test_rerun_and_incremental_with_soft_delete(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory)
    _, first = _run()
    expected = _expected_counts(sim)
    assert _counts() == expected

    p, rerun = _run()
    assert _loaded(p) == dict.fromkeys((*TABLES, common.QUARANTINE_TABLE), 0)
    assert _counts() == expected

    previous = sim.store.now()
    requests.post(sim.control_url + "/advance", json={"days": 7}, timeout=30).raise_for_status()
    # a deletion through the API: queryAll must bring it back as IsDeleted = true
    instance, token = _token(sim)
    victim = _store(sim, "Account")[0]["Id"]
    requests.delete(
        f"{instance}/services/data/v60.0/sobjects/Account/{victim}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).raise_for_status()
    changed = {
        t: sum(1 for r in _store(sim, o) if _sf_ts(r["SystemModstamp"]) > previous)
        for o, t in OBJECTS.items()
    }
    assert changed["account"] >= 1 and sum(changed.values()) > 1

    p, incremental = _run()
    loaded = _loaded(p)
    assert {t: loaded[t] for t in TABLES} == changed
    assert _counts() == _expected_counts(sim)
    assert _query(f"select is_deleted from raw_salesforce.account where id = '{victim}'") == [
        (True,)
    ]
    # same number of calls (one page per object at this scale) for far fewer rows; the
    # request count must never exceed the first run's
    assert incremental.as_dict()["requests"] <= first.as_dict()["requests"]
    assert sum(changed.values()) < sum(expected.values()) / 2


class _ExpiringMetrics(common.Metrics):
    """Expires every token at the simulator after the Nth response: a mid-run expiry."""

    def __init__(self, control_url: str, after: int):
        super().__init__()
        self.control_url, self.after = control_url, after

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        super().hook(response, *args, **kwargs)
        if self.counts["requests"] == self.after:
            requests.post(self.control_url + "/faults/expire-tokens", timeout=10)


def test_faults_end_with_the_clean_tables(
    simulator_factory, isolated_env, tmp_path: Path, monkeypatch
) -> None:
    clean = _start(simulator_factory)
    _run()
    expected = _snapshot()
    clean.stop()

    monkeypatch.setenv("CONFORM_WAREHOUSE", str(tmp_path / "faulty" / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(tmp_path / "faulty" / "pipelines"))
    sim = _start(simulator_factory, faults="rate_limit=0.2,server_error=0.1")
    metrics = _ExpiringMetrics(sim.control_url, after=3)
    _run(metrics=metrics)
    assert _snapshot() == expected
    counts = metrics.as_dict()
    # every injected fault was seen and retried (the seeded dice decide which kinds occur)
    injected = [x["kind"] for x in sim.sim.injected()]
    assert counts["throttled"] == injected.count("rate_limit")
    assert counts["server_errors"] == injected.count("server_error")
    assert counts["throttled"] + counts["server_errors"] > 0, counts
    assert counts["auth_renewals"] >= 1, counts


def test_malformed_rows_are_quarantined(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="malformed=0.05")
    p, _ = _run()
    broken = {(x["object"], x["key"]) for x in sim.sim.injected() if x["kind"] == "malformed"}
    assert broken
    quarantined = _query("select object, record_key, reason from raw_salesforce._quarantine")
    assert {(o, k) for o, k, _ in quarantined} == broken
    assert all(reason for _, _, reason in quarantined)
    for sobject, table in OBJECTS.items():
        bad = sum(1 for o, _ in broken if o == sobject)
        assert _counts()[table] + bad == len(_store(sim, sobject))
        ids = {r[0] for r in _query(f"select id from raw_salesforce.{table}")}
        assert not ids & {k for o, k in broken if o == sobject}


def test_drift_adds_the_new_column(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="drift=1")
    _run()
    assert _counts() == _expected_counts(sim)
    for table in ("account", "opportunity"):
        assert "segment__c" in _columns(table)
        assert _query(f"select distinct segment__c from raw_salesforce.{table}") == [
            ("Enterprise",)
        ]


def _pg_database(postgres_uri: str) -> str:
    """A fresh database; dlt needs a host in the URI, libpq's ``host`` parameter then points
    it at the unix socket."""
    import psycopg2

    name = f"sf_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(postgres_uri)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create database {name}")
    con.close()
    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    # dlt insists on a password; the local socket uses trust auth and ignores it
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
    _run()  # the merge keeps one row per record
    con = psycopg2.connect(uri)
    try:
        with con.cursor() as cur:
            counts = {}
            for t in TABLES:
                cur.execute(f'select count(*) from raw_salesforce."{t}"')
                counts[t] = cur.fetchone()[0]
            opp = next(o for o in _store(sim, "Opportunity") if o["Amount"])
            cur.execute(
                "select amount, system_modstamp from raw_salesforce.opportunity where id = %s",
                (opp["Id"],),
            )
            amount, stamp = cur.fetchone()
    finally:
        con.close()
    assert counts == _expected_counts(sim)
    assert amount == Decimal(str(opp["Amount"]))
    assert stamp == _sf_ts(opp["SystemModstamp"]).astimezone(UTC)


@pytest.mark.parametrize("key", ["client_secret", "password"])
def test_bad_credential_is_one_clear_line(simulator_factory, isolated_env, key: str) -> None:
    _start(simulator_factory)
    settings = {**settings_for(CONN), key: "wrong"}
    with pytest.raises(Exception) as info:
        _run(settings=settings)
    cause = root_cause(info.value)
    assert isinstance(cause, common.IngestionError)
    message = str(cause)
    assert "\n" not in message and message.startswith("salesforce/crm:")
    assert "sign-in refused" in message


def test_missing_setting_names_the_variable(isolated_env) -> None:
    with pytest.raises(common.IngestionError, match="SOURCES__SALESFORCE__CRM__CLIENT_ID"):
        settings_for(CONN)
