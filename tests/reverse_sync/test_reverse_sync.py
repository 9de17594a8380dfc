"""The reverse sync against the simulator, at scale tiny.

One warehouse is built once (ingest -> dbt -> customer master with the data stewards' queue
decided from the generator's truth -> customer marts and sync models) and copied for each test;
each test pushes into its own fresh simulator of the same seed (same records, same ids), so
tests never see each other's writes. Assertions read the simulator's own state and write log
(what the APIs received) and the generator's truth, never the sync's own report alone.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import duckdb
import pytest

from orchestration.cli import CUSTOMER_MARTS
from orchestration.cli import main as conform
from reverse_sync import ledger as ledger_module
from reverse_sync.ownership import TARGETS, OwnershipError, check_fields, ownership_violations
from reverse_sync.sync import SyncRefused, run_sync
from simulator.generator import generate
from tests.conftest import RunningSimulator

SEED, SCALE = 7, "tiny"
ROOT = Path(__file__).resolve().parents[2]
# where each system keeps the canonical customer ID Conform pushes
ID_FIELDS = {
    "salesforce": "Conform_Id__c",
    "netsuite": "custentity_conform_id",
    "dynamics": "ConformCustomerId",
}


@dataclass
class Built:
    folder: Path
    warehouse: Path  # pristine copy: built, never synced
    pipelines: Path
    truth: dict[str, list[dict[str, Any]]]


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def use_connections(sim: RunningSimulator) -> None:
    """Point the platform at this simulator (inside a patch.dict(os.environ) context)."""
    for key in [k for k in os.environ if k.startswith("SOURCES__")]:
        del os.environ[key]
    from ingestion.common import load_connections_file

    load_connections_file(sim.connections_file)


def steward_decisions(warehouse: Path, truth: list[dict[str, Any]], path: Path) -> int:
    """The data stewards' work, done from the truth: every pair in the review queue decided
    match / no_match by whether the two records are the same true client."""
    client = {f"{r['system']}|{r['connection']}|{r['source_id']}": r["customer_id"] for r in truth}
    pairs = query(
        warehouse, "select record_key_a, record_key_b from marts.exceptions_customer_match_review"
    )
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(
            ["record_key_a", "record_key_b", "decision", "decided_by", "decided_at", "note"]
        )
        for a, b in pairs:
            same = client.get(a) is not None and client.get(a) == client.get(b)
            out.writerow([a, b, "match" if same else "no_match", "test", "2026-11-01", ""])
    return len(pairs)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("reverse-sync")
    with mock.patch.dict(os.environ):
        os.environ["CONFORM_WAREHOUSE"] = str(folder / "work" / "conform.duckdb")
        os.environ["CONFORM_PIPELINES_DIR"] = str(folder / "pipelines")
        (folder / "sim").mkdir()
        sim = RunningSimulator(generate(SEED, SCALE), "", folder / "sim")
        try:
            # the graph up to the customer marts, without the reverse sync that `conform run`
            # ends with: the tests drive the sync themselves
            assert conform(["ingest", "--connections", str(sim.connections_file)]) == 0
            assert conform(["transform"]) == 0
            assert conform(["master"]) == 0
            assert conform(["transform", "--select", *CUSTOMER_MARTS]) == 0
            work = Path(os.environ["CONFORM_WAREHOUSE"])
            decisions = folder / "decisions.csv"
            assert steward_decisions(work, sim.store.truth["customer_records"], decisions) > 0
            assert conform(["master", "--decisions", str(decisions)]) == 0
            assert conform(["transform", "--select", *CUSTOMER_MARTS]) == 0
            pristine = folder / "pristine.duckdb"
            shutil.copy(work, pristine)
            yield Built(folder, pristine, folder / "pipelines", sim.store.truth)
        finally:
            sim.stop()


@pytest.fixture
def env(built: Built, tmp_path: Path) -> Iterator[Path]:
    """This test's own copy of the built warehouse; the environment is restored afterwards."""
    with mock.patch.dict(os.environ):
        warehouse = tmp_path / "warehouse" / "conform.duckdb"
        warehouse.parent.mkdir()
        shutil.copy(built.warehouse, warehouse)
        os.environ["CONFORM_WAREHOUSE"] = str(warehouse)
        os.environ["CONFORM_PIPELINES_DIR"] = str(tmp_path / "pipelines")
        os.environ["RUNTIME__REQUEST_BACKOFF_FACTOR"] = "0.05"
        os.environ["RUNTIME__REQUEST_MAX_RETRY_DELAY"] = "1"
        os.environ["RUNTIME__REQUEST_MAX_ATTEMPTS"] = "8"
        yield warehouse


# -- reading the simulator ------------------------------------------------------------------------


def held_customer_id(sim: RunningSimulator, record: dict[str, Any]) -> str | None:
    """The canonical customer ID a source client record holds now, read from the simulator."""
    conn = sim.store.connections[(record["system"], record["connection"])]
    system, source_id = record["system"], record["source_id"]
    if system == "psa":
        values = conn.tables["custom_field_values"]
        found = [
            v["value"]
            for v in values
            if v["subject_type"] == "WorkspaceGroup"
            and str(v["subject_id"]) == source_id
            and v["custom_field_name"] == "Conform ID"
        ]
        assert len(found) <= 1, (record, found)
        return found[0] if found else None
    if system == "stripe":
        return (
            (conn.tables["customers"].get(source_id) or {})
            .get("metadata", {})
            .get("conform_customer_id")
        )
    if system == "dynamics":
        row = conn.tables["CustomersV3"].get(*source_id.split("|", 1))
    else:
        row = conn.tables[record["object"]].get(source_id)
    return (row or {}).get(ID_FIELDS[system])


def effective_writes(sim: RunningSimulator) -> Counter:
    """(system, connection, object, record, field) -> writes that took effect, from the
    simulator's write log: failed answers and Stripe's idempotent replays are not effects."""
    out: Counter = Counter()
    for w in sim.store.writes:
        system, conn, body, status = w["system"], w["connection"], w["body"], w["status"]
        if status >= 300 or w.get("replayed"):
            continue
        if system == "salesforce":
            for rec, result in zip(body["records"], w["response"], strict=True):
                if result.get("success"):
                    for f in set(rec) - {"attributes", "id"}:
                        out[(system, conn, rec["attributes"]["type"], rec["id"], f)] += 1
        elif system == "psa" and w["path"].endswith("/custom_field_values"):
            for v in body["custom_field_values"]:
                key = (
                    system,
                    conn,
                    v["subject_type"],
                    str(v["subject_id"]),
                    str(v["custom_field_id"]),
                )
                out[key] += 1
        elif system == "psa" and w["path"].endswith("/create_or_update"):
            ref = body["external_reference"]
            out[
                (system, conn, ref["subject_type"], str(ref["subject_id"]), ref["service_name"])
            ] += 1
        elif system in ("netsuite", "dynamics"):
            for f in body:
                out[(system, conn, w.get("object") or w.get("record_type"), w["path"], f)] += 1
        elif system == "stripe":
            for f in body.get("metadata") or {}:
                out[(system, conn, "metadata", w["path"], f)] += 1
    return out


def written_fields(sim: RunningSimulator) -> dict[tuple[str, str], set[str]]:
    """(system, object) -> every field name the simulator received a write for."""
    names = {
        str(f["id"]): f["name"]
        for f in sim.store.connections[("psa", "psa")].tables["custom_fields"]
    }
    objects = {
        "WorkspaceGroup": "workspace_groups",
        "Workspace": "workspaces",
        "Invoice": "invoices",
    }
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for w in sim.store.writes:
        system, body = w["system"], w["body"]
        if system == "salesforce":
            for rec in body["records"]:
                out[(system, rec["attributes"]["type"])] |= set(rec) - {"attributes", "id"}
        elif system == "psa" and w["path"].endswith("/custom_field_values"):
            for v in body["custom_field_values"]:
                out[(system, objects[v["subject_type"]])].add(names[str(v["custom_field_id"])])
        elif system == "psa":
            ref = body["external_reference"]
            assert ref["service_name"] == "Conform" and ref["subject_type"] == "Invoice", ref
            fields = set(ref) - {
                "subject_type",
                "subject_id",
                "service_name",
                "service_model",
                "status",
            }
            out[(system, "invoices")] |= fields
        elif system == "netsuite":
            out[(system, w["record_type"])] |= set(body)
        elif system == "dynamics":
            out[(system, w["object"])] |= set(body)
        elif system == "stripe":
            assert set(body) == {"metadata"}, body
            out[(system, w["path"].split("/")[2])] |= set(body["metadata"])
    return out


def desired_state(warehouse: Path) -> dict[tuple[str, str, str, str], dict[str, str]]:
    """What the sync models say each target should hold (api field -> value)."""
    from reverse_sync.ledger import canonical

    out: dict[tuple[str, str, str, str], dict[str, str]] = {}
    for target in TARGETS:
        columns = ", ".join(f.column for f in target.fields)
        rows = query(
            warehouse,
            f"select target_connection, target_id, {columns} from sync.{target.model}",
        )
        for row in rows:
            values = {
                f.api_field: canonical(v, f.kind)
                for f, v in zip(target.fields, row[2:], strict=True)
                if canonical(v, f.kind) is not None
            }
            out[(target.system, row[0], target.object, row[1])] = values
    return out


def held_state(sim: RunningSimulator, key: tuple[str, str, str, str], fields: list[str]) -> dict:
    """What one target record holds now for the given api fields, read from the simulator."""
    system, connection, obj, target_id = key
    conn = sim.store.connections[(system, connection)]
    if system == "psa" and obj == "invoices":
        refs = [
            r
            for r in conn.tables["external_references"]
            if r["subject_type"] == "Invoice"
            and str(r["subject_id"]) == target_id
            and r["service_name"] == "Conform"
        ]
        assert len(refs) == 1, (key, refs)
        return {f: refs[0].get(f) for f in fields}
    if system == "psa":
        subject = {"workspace_groups": "WorkspaceGroup", "workspaces": "Workspace"}[obj]
        values = {
            v["custom_field_name"]: v["value"]
            for v in conn.tables["custom_field_values"]
            if v["subject_type"] == subject and str(v["subject_id"]) == target_id
        }
        return {f: values.get(f) for f in fields}
    if system == "stripe":
        metadata = conn.tables[obj].get(target_id)["metadata"]
        return {f: metadata.get(f) for f in fields}
    row = conn.tables[obj].get(*target_id.split("|", 1)) if system == "dynamics" else None
    row = row or conn.tables[obj].get(target_id)
    return {f: row.get(f) for f in fields}


def assert_targets_hold_desired(
    sim: RunningSimulator, warehouse: Path, system: str | None = None
) -> int:
    """Nothing lost: every target record holds every value the sync models want."""
    from reverse_sync.ledger import canonical
    from reverse_sync.ownership import target as target_spec

    checked = 0
    for key, desired in desired_state(warehouse).items():
        if system is not None and key[0] != system:
            continue
        spec = target_spec(key[0], key[2])
        kinds = {f.api_field: f.kind for f in spec.fields}
        held = held_state(sim, key, sorted(desired))
        held = {f: canonical(v, kinds[f]) for f, v in held.items()}
        assert held == desired, key
        checked += 1
    return checked


# -- the tests ------------------------------------------------------------------------------------


def test_ownership_allowlist_against_the_system_of_record_seed() -> None:
    """Every allowlisted field carries a value whose system of record (the seed) is another
    system: Conform never overwrites what a target owns; anything else is refused."""
    with (ROOT / "dbt_project" / "seeds" / "system_of_record.csv").open() as f:
        owners = {(r["domain"], r["attribute"]): r["system_of_record"] for r in csv.DictReader(f)}
    assert ownership_violations(owners) == []
    # the owners the allowlist relies on are the seed's (a target writing its own data fails)
    assert ownership_violations({**owners, ("customer", "crm_account_id"): "netsuite"}) == []
    assert ownership_violations({**owners, ("customer", "crm_account_id"): "erp"})
    check_fields("salesforce", "Account", {"Conform_Id__c", "Open_AR__c"})
    for system, obj, field in [
        ("salesforce", "Account", "Name"),
        ("psa", "workspaces", "Project Code"),
        ("netsuite", "customer", "companyName"),
        ("dynamics", "CustomersV3", "OrganizationName"),
        ("stripe", "customers", "email"),
    ]:
        with pytest.raises(OwnershipError):
            check_fields(system, obj, {field})


def test_dry_run_sends_nothing_and_counts_per_field(
    env: Path, built: Built, simulator_factory, capsys: pytest.CaptureFixture
) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED)
    use_connections(sim)
    assert conform(["sync", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert sim.store.writes == []
    # every live client record of the truth is planned for its canonical ID
    live = Counter(
        r["system"] for r in built.truth["customer_records"] if r["is_deleted"] != "True"
    )
    assert f"Account.Conform_Id__c: {live['salesforce']}" in out
    assert f"workspace_groups.Conform ID: {live['psa']}" in out
    assert f"customers.conform_customer_id: {live['stripe']}" in out
    assert "salesforce: " in out and "record(s) to write" in out
    # nothing was recorded as sent either
    assert not query(
        env, "select count(*) from information_schema.tables where table_schema = 'reverse_sync'"
    )[0][0]


def test_sync_every_record_holds_its_canonical_id_and_a_rerun_sends_nothing(
    env: Path, built: Built, simulator_factory
) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED)
    use_connections(sim)
    # the master put each true client under exactly one canonical ID (stewards decided)
    xref = dict(
        query(
            env,
            "select source_system || '|' || source_relation || '|' || source_record_id, "
            "canonical_customer_id from marts.customer_xref",
        )
    )
    records = [r for r in built.truth["customer_records"] if r["is_deleted"] != "True"]
    ids_of_client: dict[str, set[str]] = defaultdict(set)
    for r in records:
        ids_of_client[r["customer_id"]].add(
            xref[f"{r['system']}|{r['connection']}|{r['source_id']}"]
        )
    assert all(len(ids) == 1 for ids in ids_of_client.values()), ids_of_client
    clients_of_id: dict[str, set[str]] = defaultdict(set)
    for client, ids in ids_of_client.items():
        clients_of_id[next(iter(ids))].add(client)
    assert all(len(c) == 1 for c in clients_of_id.values()), clients_of_id
    assert not any(held_customer_id(sim, r) for r in records)  # nothing there before

    report = run_sync()
    assert report.ok, {s: c.errors for s, c in report.systems.items()}
    # every client record in every system holds its true client's one canonical ID
    for r in records:
        assert held_customer_id(sim, r) == next(iter(ids_of_client[r["customer_id"]])), r
    assert {r["system"] for r in records} == {"salesforce", "psa", "netsuite", "dynamics", "stripe"}
    first = effective_writes(sim)
    assert first and max(first.values()) == 1
    assert assert_targets_hold_desired(sim, env) == report.total("planned_records")
    # only allowlisted fields were ever written
    allowed = {(t.system, t.object): {f.api_field for f in t.fields} for t in TARGETS}
    for (system, obj), fields in written_fields(sim).items():
        assert fields <= allowed[(system, obj)], (system, obj, fields - allowed[(system, obj)])
    # the audit log has a row per field written (a Kantata external reference is one write
    # of three fields), with who, before, after and the answer's status
    references = sum(n for k, n in first.items() if k[0] == "psa" and k[4] == "Conform")
    audit = query(
        env,
        "select count(*), count(distinct run_id), min(actor), count(http_status) "
        "from reverse_sync.sync_audit_log where action = 'sent'",
    )[0]
    assert audit == (sum(first.values()) + 2 * references, 1, "conform", audit[0])

    # a second run sends nothing: the ledger holds what was confirmed
    writes_before = len(sim.store.writes)
    again = run_sync()
    assert len(sim.store.writes) == writes_before
    assert again.total("sent") == 0 and again.total("planned_records") == 0
    assert again.total("unchanged") == report.total("planned_records") + report.total("unchanged")


def test_read_back_after_reingest_reconciles_every_target(
    env: Path, built: Built, simulator_factory
) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED)
    use_connections(sim)
    shutil.copytree(built.pipelines, os.environ["CONFORM_PIPELINES_DIR"])
    before = query(
        env,
        "select count(*), count(*) filter (where matches) from sync.reconciliation_sync_targets",
    )[0]
    assert before[0] > 0 and before[1] < before[0]  # most identifiers are missing before a sync
    assert run_sync().ok
    assert conform(["ingest"]) == 0
    # staging and intermediate are views over raw: only the Stripe staging view (whose
    # metadata columns appear with the first pushed key) and the reconciliation are rebuilt
    assert (
        conform(["transform", "--select", "stg_stripe__customers", "reconciliation_sync_targets"])
        == 0
    )
    rows = query(
        env,
        "select target_system, target_object, id_field, expected_value, read_back_value, matches "
        "from sync.reconciliation_sync_targets",
    )
    assert len(rows) == before[0]
    mismatched = [r for r in rows if not r[5]]
    assert not mismatched, mismatched[:5]
    # the canonical IDs read back equal the master's, for every client record of the truth
    read_back = {
        (s, o): n
        for s, o, n in query(
            env,
            "select target_system, target_object, count(*) from sync.reconciliation_sync_targets "
            "where id_field = 'conform_id' and matches group by 1, 2",
        )
    }
    live = Counter(
        (r["system"], r["object"])
        for r in built.truth["customer_records"]
        if r["is_deleted"] != "True"
    )
    assert read_back == dict(live)


def test_faults_and_a_crash_write_nothing_twice_and_lose_nothing(
    env: Path, simulator_factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED, faults="rate_limit=0.05,server_error=0.05")
    use_connections(sim)
    settle = ledger_module.Ledger.settle
    calls = {"n": 0}

    def crash_after_the_writes(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 4:  # the fourth batch's requests were sent; its ledger update is lost
            raise RuntimeError("simulated crash between the write and the ledger update")
        return settle(self, *args, **kwargs)

    monkeypatch.setattr(ledger_module.Ledger, "settle", crash_after_the_writes)
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_sync()
    pending = query(env, "select count(*) from reverse_sync.sync_ledger where status = 'pending'")[
        0
    ][0]
    assert pending > 0
    monkeypatch.setattr(ledger_module.Ledger, "settle", settle)

    second = run_sync()  # faults still on
    assert second.ok
    assert (
        query(env, "select count(*) from reverse_sync.sync_ledger where status <> 'confirmed'")[0][
            0
        ]
        == 0
    )
    # the intents the crash left were resolved by reading the target, not by writing again
    resolved = query(
        env,
        "select count(*) from reverse_sync.sync_audit_log where action = 'already_in_target'",
    )[0][0]
    assert resolved >= pending
    third = run_sync()
    assert third.total("sent") == 0 and third.total("planned_records") == 0

    injected = Counter(f["kind"] for f in sim.sim.injected())
    assert injected["rate_limit"] > 0 and injected["server_error"] > 0, injected
    writes = effective_writes(sim)
    assert writes and max(writes.values()) == 1, [k for k, n in writes.items() if n > 1][:5]
    assert assert_targets_hold_desired(sim, env) > 0


def test_dead_letters_are_retried_and_resolved(env: Path, simulator_factory) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED, faults="netsuite:server_error=1")
    use_connections(sim)
    os.environ["RUNTIME__REQUEST_MAX_ATTEMPTS"] = "2"
    planned = len(desired_netsuite := [k for k in desired_state(env) if k[0] == "netsuite"])
    first = run_sync(["netsuite"])
    counts = first.systems["netsuite"]
    assert counts.failed == planned and counts.dead_lettered == planned and counts.sent == 0
    letters = query(
        env,
        "select target_system, target_id, http_status, error, attempts, resolved_at "
        "from reverse_sync.sync_dead_letters",
    )
    assert len(letters) == planned
    assert all(
        s == "netsuite" and status == 500 and "UNEXPECTED_ERROR" in error and n == 1 and r is None
        for s, _, status, error, n, r in letters
    ), letters[:3]
    assert not [w for w in sim.store.writes if w["status"] < 300]

    # still down: the dead letters are retried and count their attempts
    again = run_sync(["netsuite"])
    assert again.systems["netsuite"].dead_letters_retried == planned
    assert {
        a
        for *_, a, _ in query(
            env, "select attempts, resolved_at from reverse_sync.sync_dead_letters"
        )
    } == {2}

    sim.set_faults("")
    healed = run_sync(["netsuite"])
    counts = healed.systems["netsuite"]
    assert counts.sent == planned and counts.failed == 0
    assert counts.dead_letters_retried == planned and counts.dead_letters_resolved == planned
    open_letters = query(
        env, "select count(*) from reverse_sync.sync_dead_letters where resolved_at is null"
    )
    assert open_letters[0][0] == 0
    writes = effective_writes(sim)
    assert sum(1 for k in writes if k[0] == "netsuite") > 0 and max(writes.values()) == 1
    assert all(k[0] == "netsuite" for k in desired_netsuite)
    assert assert_targets_hold_desired(sim, env, "netsuite") == planned


def test_a_blocking_data_quality_failure_refuses_the_push(
    env: Path, simulator_factory, capsys: pytest.CaptureFixture
) -> None:
    sim = simulator_factory(scale=SCALE, seed=SEED)
    use_connections(sim)
    con = duckdb.connect(str(env))
    con.execute("create schema if not exists data_quality")
    con.execute(
        "create table if not exists data_quality.check_results (run_id varchar, "
        "evaluated_at timestamp, suite varchar, asset varchar, check_name varchar, "
        "expectation varchar, severity varchar, success boolean, element_count bigint, "
        "unexpected_count bigint, details varchar)"
    )
    rows = [
        # an old blocking failure, passing since: not blocking any more
        (
            "r1",
            "2026-11-01 10:00",
            "marts.fct_invoice",
            "not_null(currency_code)",
            "blocking",
            False,
        ),
        (
            "r2",
            "2026-11-01 11:00",
            "marts.fct_invoice",
            "not_null(currency_code)",
            "blocking",
            True,
        ),
        # a failing warning never blocks
        ("r2", "2026-11-01 11:00", "marts.dim_customer", "unique(tax_id)", "warning", False),
    ]
    insert = (
        "insert into data_quality.check_results values (?, ?, ?, ?, 'check', ?, ?, ?, 100, 3, '{}')"
    )
    for run, at, suite, expectation, severity, success in rows:
        con.execute(insert, [run, at, suite, suite, expectation, severity, success])
    con.close()
    assert run_sync(["stripe"]).ok  # nothing blocking: it pushes
    pushed = len(sim.store.writes)
    assert pushed > 0

    con = duckdb.connect(str(env))
    con.execute(
        insert,
        [
            "r3",
            "2026-11-01 12:00",
            "marts.dim_project",
            "marts.dim_project",
            "unique(project_key)",
            "blocking",
            False,
        ],
    )
    con.close()
    with pytest.raises(SyncRefused, match="unique"):
        run_sync()
    capsys.readouterr()
    assert conform(["sync"]) == 3
    assert "refusing to push" in capsys.readouterr().err
    assert len(sim.store.writes) == pushed
