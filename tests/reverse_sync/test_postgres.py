"""The reverse sync with the warehouse on PostgreSQL: the sync models, the ledger, the dead
letters and the audit log on the second engine, against a fresh simulator at scale tiny."""

from __future__ import annotations

import os
import uuid
from urllib.parse import parse_qs, urlparse

import psycopg2
import pytest

from orchestration.cli import main as conform
from reverse_sync.sync import run_sync
from tests.reverse_sync.test_reverse_sync import effective_writes, held_customer_id


def test_sync_on_postgres(
    simulator_factory, isolated_env, postgres_uri, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    database = f"conform_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(postgres_uri)
    admin.autocommit = True
    admin.cursor().execute(f"create database {database}")
    admin.close()
    monkeypatch.setenv("CONFORM_DESTINATION", "postgres")
    monkeypatch.setenv(
        "DESTINATION__POSTGRES__CREDENTIALS",
        f"postgresql://postgres:unused@localhost/{database}?host={socket_dir}",
    )
    sim = simulator_factory("tiny")
    for key in [k for k in os.environ if k.startswith("SOURCES__")]:
        monkeypatch.delenv(key)
    assert conform(["run", "--connections", str(sim.connections_file)]) == 0

    report = run_sync()
    assert report.ok, {s: c.errors for s, c in report.systems.items()}
    con = psycopg2.connect(dbname=database, host=socket_dir, user="postgres")
    try:
        cur = con.cursor()
        cur.execute(
            "select source_system || '|' || source_relation || '|' || source_record_id, "
            "canonical_customer_id from marts.customer_xref where not is_deleted"
        )
        xref = dict(cur.fetchall())
        cur.execute("select count(*) from reverse_sync.sync_ledger where status = 'confirmed'")
        confirmed = cur.fetchone()[0]
    finally:
        con.close()
    # every live client record holds the canonical ID the master gave it
    records = [r for r in sim.store.truth["customer_records"] if r["is_deleted"] != "True"]
    assert records and confirmed > len(records)
    for r in records:
        assert held_customer_id(sim, r) == xref[f"{r['system']}|{r['connection']}|{r['source_id']}"]
    writes = effective_writes(sim)
    assert writes and max(writes.values()) == 1
    count = len(sim.store.writes)
    again = run_sync()
    assert again.total("sent") == 0 and len(sim.store.writes) == count
