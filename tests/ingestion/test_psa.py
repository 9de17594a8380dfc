"""The Kantata OX (PSA) source against the simulator: full load, re-run, incremental, faults,
quarantine, drift, PostgreSQL and bad credentials. Ground truth is the simulator's store."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pytest
import requests

from ingestion import common
from ingestion.pipeline import root_cause
from ingestion.psa import OBJECT_NAMES, settings_for, source

CONN = "psa"
DLT_COLUMNS = ("_dlt_load_id", "_dlt_id")


def _start(factory: Any, faults: str = "") -> Any:
    sim = factory("tiny", faults=faults)
    common.load_connections_file(sim.connections_file)
    return sim


def _run(
    page_size: int = 25,
    metrics: common.Metrics | None = None,
    settings: dict[str, Any] | None = None,
) -> tuple[Any, common.Metrics]:
    metrics = metrics if metrics is not None else common.Metrics()
    settings = settings if settings is not None else {**settings_for(CONN), "page_size": page_size}
    p = common.pipeline("psa", CONN)
    p.run(source(CONN, settings, metrics=metrics))
    return p, metrics


def _loaded(p: Any) -> dict[str, int]:
    """Rows the last run loaded, per object table."""
    counts = p.last_trace.last_normalize_info.row_counts
    return {t: counts.get(t, 0) for t in OBJECT_NAMES}


def _store(sim: Any, obj: str) -> list[dict[str, Any]]:
    table = sim.store.connections[("psa", CONN)].tables.get(obj)
    return list(table) if table is not None else []


def _query(sql: str, *params: Any) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(common.warehouse_path()), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _tables() -> set[str]:
    return {
        r[0]
        for r in _query(
            "select table_name from information_schema.tables where table_schema = 'raw_psa'"
        )
    }


def _counts() -> dict[str, int]:
    present = _tables()
    return {
        t: (_query(f"select count(*) from raw_psa.{t}")[0][0] if t in present else 0)
        for t in OBJECT_NAMES
    }


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_full_load_rerun_and_incremental(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory)
    p, first = _run()
    expected = {t: len(_store(sim, t)) for t in OBJECT_NAMES}
    assert expected["time_entries"] > 1000 and expected["custom_field_values"] > 100
    assert _counts() == expected
    assert _loaded(p) == expected

    # typed values, against the store converted here
    te = _store(sim, "time_entries")[17]
    row = _query(
        "select hours, rate, rate_in_cents, cost_rate, date_performed, updated_at, "
        "billable, currency, workspace_id from raw_psa.time_entries where id = ?",
        te["id"],
    )[0]
    assert row == (
        te["time_in_minutes"] / 60,
        Decimal(te["rate_in_cents"]) / 100,
        te["rate_in_cents"],
        Decimal(te["cost_rate_in_cents"]) / 100,
        date.fromisoformat(te["date_performed"]),
        _ts(te["updated_at"]),
        te["billable"],
        te["currency"].upper(),
        te["workspace_id"],
    )
    archived = [w for w in _store(sim, "workspaces") if w["archived"]]
    assert archived  # archived workspaces are asked for (include_archived=true)
    ws = archived[0]
    assert _query(
        "select status_key, status_message, status_color, archived, "
        "workspace_group_id, start_date from raw_psa.workspaces where id = ?",
        ws["id"],
    )[0] == (
        ws["status"]["key"],
        ws["status"]["message"],
        ws["status"]["color"],
        True,
        (ws["workspace_group_ids"] or [None])[0],
        date.fromisoformat(ws["start_date"]),
    )
    inv = _store(sim, "invoices")[0]
    assert _query(
        "select balance, invoice_date, workspace_id from raw_psa.invoices where id = ?", inv["id"]
    )[0] == (
        Decimal(inv["balance_in_cents"]) / 100,
        date.fromisoformat(inv["invoice_date"]),
        inv["workspace_ids"][0],
    )
    cfv = next(v for v in _store(sim, "custom_field_values") if v["type"] == "number")
    assert _query(
        "select value_number, subject_id, subject_type from "
        "raw_psa.custom_field_values where id = ?",
        cfv["id"],
    )[0] == (float(cfv["value"]), str(cfv["subject_id"]), cfv["subject_type"])
    # the conformed model's workspace -> client join
    grouped = sum(1 for w in _store(sim, "workspaces") if w["workspace_group_ids"])
    assert (
        _query(
            "select count(*) from raw_psa.workspaces w join raw_psa.workspace_groups g "
            "on g.id = w.workspace_group_id"
        )[0][0]
        == grouped
    )

    # a re-run without changes loads nothing and duplicates nothing
    p, _ = _run()
    assert sum(_loaded(p).values()) == 0
    assert _counts() == expected

    # incremental: only what changed after the previous clock
    previous = sim.store.clock
    requests.post(sim.control_url + "/advance", json={"days": 7}, timeout=60).raise_for_status()
    changed = {
        t: sum(1 for r in _store(sim, t) if _ts(r["updated_at"]) > previous) for t in OBJECT_NAMES
    }
    assert changed["time_entries"] > 0
    p, incremental = _run()
    assert _loaded(p) == changed
    assert _counts() == {t: len(_store(sim, t)) for t in OBJECT_NAMES}
    print(
        f"psa requests: first run {first.as_dict()['requests']}, "
        f"incremental {incremental.as_dict()['requests']}; changed {changed}"
    )
    assert incremental.as_dict()["requests"] * 3 < first.as_dict()["requests"]


def _snapshot() -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for t in sorted(_tables() & set(OBJECT_NAMES)):
        cols = [
            c
            for (c,) in _query(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw_psa' and table_name = ? "
                "order by ordinal_position",
                t,
            )
            if c not in DLT_COLUMNS
        ]
        out[t] = _query(f"select {', '.join(cols)} from raw_psa.{t} order by id")
    return out


@dataclass
class _ExpiringMetrics(common.Metrics):
    """Expires every issued token once, after the tenth request: a renewal mid-run."""

    control_url: str = ""

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        super().hook(response, *args, **kwargs)
        if self.counts["requests"] == 10:
            requests.post(self.control_url + "/faults/expire-tokens", timeout=10)


def test_faults_end_with_the_same_tables(simulator_factory, isolated_env, monkeypatch) -> None:
    _start(simulator_factory)
    _run(page_size=200)
    clean = _snapshot()

    monkeypatch.setenv("CONFORM_WAREHOUSE", str(isolated_env / "faulty" / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(isolated_env / "faulty-pipelines"))
    sim = _start(simulator_factory, faults="rate_limit=0.2,server_error=0.1")
    settings = settings_for(CONN)
    assert settings.get("client_id")  # OAuth: tokens that can expire
    _, metrics = _run(page_size=200, metrics=_ExpiringMetrics(control_url=sim.control_url))
    seen = metrics.as_dict()
    print(f"psa under faults: {seen}")
    assert seen["throttled"] > 0 and seen["server_errors"] > 0 and seen["auth_renewals"] > 0
    assert _snapshot() == clean


def test_malformed_records_are_quarantined_and_drift_loads(simulator_factory, isolated_env) -> None:
    sim = _start(simulator_factory, faults="malformed=0.05,drift=1")
    # the generated data has no integration links yet: make two, as a sync would
    conn = json.loads(sim.connections_file.read_text())["systems"]["psa"][CONN]
    te = _store(sim, "time_entries")[3]
    for subject_type, subject_id in (("TimeEntry", te["id"]), ("Workspace", te["workspace_id"])):
        requests.post(
            conn["base_url"] + "/external_references/create_or_update",
            headers={"Authorization": f"Bearer {conn['api_token']}"},
            timeout=10,
            json={
                "external_reference": {
                    "subject_type": subject_type,
                    "subject_id": int(subject_id),
                    "service_name": "Netsuite",
                    "service_model": "TimeBill",
                    "service_model_ref": "T-1",
                    "status": "successful",
                }
            },
        ).raise_for_status()
    _run(page_size=200)
    ref = next(r for r in _store(sim, "external_references") if r["subject_type"] == "TimeEntry")
    assert _query(
        "select subject_id, subject_ref_key, subject_ref_id, service_model_ref, "
        "locked, last_synced_at from raw_psa.external_references where id = ?",
        ref["id"],
    ) == [(te["id"], "time_entries", te["id"], "T-1", False, _ts(ref["last_synced_at"]))]
    broken: dict[str, set[str]] = {}
    for x in sim.sim.injected():
        if x["system"] == "psa" and x["kind"] == "malformed":
            broken.setdefault(x["object"], set()).add(x["key"])
    assert sum(len(k) for k in broken.values()) > 20
    quarantined: dict[str, set[str]] = {}
    for obj, key, reason, raw in _query(
        "select object, record_key, reason, raw_record from raw_psa._quarantine"
    ):
        assert reason.startswith("BadRecord: ") and obj in reason, reason
        assert json.loads(raw)["id"] == key
        quarantined.setdefault(obj, set()).add(key)
    assert quarantined == broken
    counts = _counts()
    for t in OBJECT_NAMES:
        assert counts[t] + len(quarantined.get(t, ())) == len(_store(sim, t)), t
    for t in ("workspaces", "time_entries"):
        assert _query(f"select distinct location_code from raw_psa.{t}") == [("REMOTE",)]


def _pg_database(postgres_uri: str) -> str:
    """A fresh database; the URI in the form dlt accepts (a host is required, and libpq's
    ``host`` query parameter then points it at the unix socket)."""
    import psycopg2

    name = f"psa_{uuid.uuid4().hex[:10]}"
    con = psycopg2.connect(postgres_uri)
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute(f"create database {name}")
    con.close()
    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    # dlt insists on a password; the local socket uses trust auth and ignores it
    return f"postgresql://postgres:unused@localhost/{name}?host={socket_dir}"


def test_full_load_into_postgres(shared_simulator, isolated_env, postgres_uri, monkeypatch) -> None:
    import psycopg2

    uri = _pg_database(postgres_uri)
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", uri)
    sim = shared_simulator
    common.load_connections_file(sim.connections_file)
    _run(page_size=200)
    con = psycopg2.connect(uri)
    try:
        with con.cursor() as cur:
            for t in OBJECT_NAMES:
                if not _store(sim, t):
                    continue
                cur.execute(f"select count(*) from raw_psa.{t}")
                assert cur.fetchone()[0] == len(_store(sim, t)), t
            te = _store(sim, "time_entries")[5]
            cur.execute(
                "select hours, rate, date_performed, updated_at from "
                "raw_psa.time_entries where id = %s",
                (te["id"],),
            )
            assert cur.fetchone() == (
                te["time_in_minutes"] / 60,
                Decimal(te["rate_in_cents"]) / 100,
                date.fromisoformat(te["date_performed"]),
                _ts(te["updated_at"]),
            )
    finally:
        con.close()


def _one_line_error(settings: dict[str, Any]) -> str:
    p = common.pipeline("psa", CONN)
    with pytest.raises(Exception) as info:
        p.run(source(CONN, settings))
    cause = root_cause(info.value)
    assert isinstance(cause, common.IngestionError), repr(cause)
    message = str(cause)
    assert "\n" not in message and message.startswith("psa/psa:"), message
    return message


def test_bad_credentials_and_unreachable_give_one_clear_line(
    shared_simulator, isolated_env, monkeypatch
) -> None:
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "3")  # connection refused: fail fast
    common.load_connections_file(shared_simulator.connections_file)
    settings = settings_for(CONN)
    assert "401" in _one_line_error({**settings, "client_secret": "wrong"})
    static = {k: v for k, v in settings.items() if k not in ("client_id", "client_secret")}
    assert "401" in _one_line_error({**static, "api_token": "wrong-token"})
    assert "cannot reach" in _one_line_error({**static, "base_url": "http://127.0.0.1:9/api/v1"})


def test_missing_setting_names_the_variable(isolated_env) -> None:
    with pytest.raises(common.IngestionError, match="SOURCES__PSA__NOWHERE__BASE_URL"):
        settings_for("nowhere")
