"""Governance marts against the generator's ground truth: every fault the simulator injects
(truth["faults"], computed in Python by the generator) appears in the right exception mart with
the right object, and nothing else does (precision and recall 1.0 per kind); quarantined
ingestion records against the emulators' own log of malformed records; an exception resolved in
the source turns `resolved` on the next run and keeps its first_seen_at."""

from __future__ import annotations

import ast
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import requests
import yaml

from ingestion import dynamics as dynamics_source
from ingestion.common import load_connections_file, warehouse_path
from ingestion.pipeline import ingest
from orchestration.cli import main as conform
from orchestration.transform import DBT_DIR, run_dbt
from tests.conftest import BuiltWarehouse, RunningSimulator

VARS = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text()).get("vars", {})
TIME_POSTING_DAYS = int(VARS.get("time_posting_days", 5))
PAYMENT_RECORDING_DAYS = int(VARS.get("payment_recording_days", 5))
PROJECT_SETUP_DAYS = int(VARS.get("project_setup_days", 7))

ERP = ("netsuite", "dynamics")

# truth kind -> (exceptions mart, exception kind). Duplicates: one truth kind per system, one
# exception kind whose source_system says which system holds the customer twice.
TRUTH_TO_EXCEPTION: dict[str, tuple[str, str]] = {
    "duplicate_in_crm": ("exceptions_customers", "duplicate_customer"),
    "duplicate_in_psa": ("exceptions_customers", "duplicate_customer"),
    "duplicate_in_erp": ("exceptions_customers", "duplicate_customer"),
    "customer_missing_in_erp": ("exceptions_customers", "customer_missing_in_erp"),
    "psa_project_without_erp": ("exceptions_projects", "psa_project_without_erp"),
    "erp_project_without_psa": ("exceptions_projects", "erp_project_without_psa"),
    "project_missing_cost_center": ("exceptions_projects", "project_missing_cost_center"),
    "project_missing_billing_method": ("exceptions_projects", "project_missing_billing_method"),
    "time_not_posted": ("exceptions_time", "time_not_posted"),
    "time_on_closed_project": ("exceptions_time", "time_on_closed_project"),
    "psa_active_erp_closed": ("exceptions_status", "psa_active_erp_closed"),
    "invoice_disputed_collectible": ("exceptions_status", "invoice_disputed_collectible"),
    "stripe_paid_erp_open": ("exceptions_status", "stripe_paid_erp_open"),
    "tax_id_invalid": ("exceptions_tax_currency", "tax_id_invalid"),
    "tax_id_conflict": ("exceptions_tax_currency", "tax_id_conflict"),
    "invoice_currency_not_allowed": ("exceptions_tax_currency", "invoice_currency_not_allowed"),
    "missing_fx_rate": ("exceptions_tax_currency", "missing_fx_rate"),
}
DUPLICATE_SYSTEMS = {
    "duplicate_in_crm": ("salesforce",),
    "duplicate_in_psa": ("psa",),
    "duplicate_in_erp": ERP,
}
# Kinds the generator never injects: none may appear at demo scale.
NOT_INJECTED = {
    "exceptions_projects": [
        "ambiguous_project_match",
        "project_missing_legal_entity",
        "project_missing_tax_setting",
    ],
    "exceptions_ingestion": ["quarantined_record"],
    "exceptions_reverse_sync": ["reverse_sync_dead_letter"],
    "exceptions_reconciliation": [
        "unexplained_time_difference",
        "unexplained_invoice_difference",
        "unexplained_payment_difference",
        "unexplained_receivable_difference",
    ],
}
AREA_MARTS = [
    "exceptions_customers",
    "exceptions_projects",
    "exceptions_time",
    "exceptions_status",
    "exceptions_tax_currency",
    "exceptions_ingestion",
    "exceptions_reverse_sync",
    "exceptions_reconciliation",
]


# -- object identities: truth rows and exception rows reduced to the same key -----------------


class Identities:
    """Maps each truth fault and each exception row onto a comparable object key, using the
    simulator's truth tables (never the warehouse) to resolve connections and ids."""

    def __init__(self, truth: Callable[[str], list[dict]]):
        self.records = truth("customer_records")
        self.projects = {p["project_id"]: p for p in truth("projects")}
        self.psa_client = {
            r["source_id"]: r["customer_id"] for r in self.records if r["system"] == "psa"
        }
        self.connection_of = {
            (r["system"], r["source_id"], r["customer_id"]): r["connection"] for r in self.records
        }
        self.record_client = {
            (r["system"], r["connection"], r["source_id"]): r["customer_id"] for r in self.records
        }

    def truth_key(self, row: dict) -> tuple:
        kind, system, ids = row["kind"], row["system"], row["ids"]
        if kind.startswith("duplicate_in_"):
            return (system, frozenset(ids.split(";")))
        if kind == "customer_missing_in_erp":
            return (row["customer_id"], row["detail"].split()[2])  # "billed from <le> but ..."
        if kind in ("tax_id_invalid", "tax_id_conflict"):
            return (system, self.connection_of[(system, ids, row["customer_id"])], ids)
        if kind in ("erp_project_without_psa", "project_missing_cost_center"):
            return (system, self.projects[row["project_id"]]["erp_connection"], ids)
        if kind == "psa_active_erp_closed":
            return (ids.split(";")[0],)  # the PSA workspace
        return (ids,)  # PSA workspace, time entry or invoice number

    @staticmethod
    def exception_key(kind: str, row: dict) -> tuple:
        system, connection, source_id = (
            row["source_system"],
            row["source_connection"],
            row["source_id"],
        )
        if kind == "duplicate_customer":
            return (system, frozenset(source_id.split(";")))
        if kind == "customer_missing_in_erp":
            return (row["psa_client"], row["legal_entity_code"])
        if kind in ("tax_id_invalid", "tax_id_conflict"):
            return (system, connection, source_id)
        if kind in ("erp_project_without_psa", "project_missing_cost_center"):
            # Dynamics record ids are <dataAreaId>|<ProjectID>; the truth holds the ProjectID
            return (system, connection, source_id.split("|")[-1])
        if kind == "psa_active_erp_closed":
            return (row["canonical_id"].split("|")[-1],)
        return (source_id,)


def rows_of(warehouse: BuiltWarehouse, mart: str) -> list[dict]:
    cols = [
        "exception_id",
        "exception_kind",
        "severity",
        "object_type",
        "canonical_id",
        "source_system",
        "source_connection",
        "source_id",
        "owner_system",
        "legal_entity_code",
        "reason",
        "amount_at_risk",
        "correlation_id",
        "first_seen_at",
        "last_seen_at",
        "status",
        "resolved_at",
    ]
    return [
        dict(zip(cols, r, strict=True))
        for r in warehouse.query(f"select {', '.join(cols)} from marts.{mart}")
    ]


def precision_recall(expected: set, found: set) -> tuple[float, float]:
    hit = len(expected & found)
    return (hit / len(found) if found else 1.0, hit / len(expected) if expected else 1.0)


# -- what the truth says should be raised, given the queues' windows --------------------------


def store_records(sim: RunningSimulator, system: str, connection: str, table: str) -> Iterable:
    return sim.store.connection(system, connection).tables[table]


def expected_faults(warehouse: BuiltWarehouse) -> dict[str, set]:
    """Truth faults per kind, less those still inside a documented grace window at the clock:
    approved time whose last PSA change is under time_posting_days old (posting takes up to
    ~4 days), card payments under payment_recording_days old (the ERP books them 2-4 days
    later), PSA workspaces under project_setup_days old (the ERP project follows in <= 6)."""
    sim = warehouse.sim
    clock = sim.store.clock.date()
    ids = Identities(warehouse.truth)
    entries = {r["id"]: r for r in store_records(sim, "psa", "psa", "time_entries")}
    workspaces = {r["id"]: r for r in store_records(sim, "psa", "psa", "workspaces")}
    recent_payment_invoices = defaultdict(list)
    for p in warehouse.truth("payments"):
        if p["channel"] == "card" and not p["erp_recorded_at"]:
            paid = datetime.fromisoformat(p["paid_at"]).date()
            recent_payment_invoices[p["invoice_number"]].append(paid)
    expected: dict[str, set] = defaultdict(set)
    for row in warehouse.truth("faults"):
        kind = row["kind"]
        if kind == "time_not_posted":
            changed = datetime.fromisoformat(entries[row["ids"]]["updated_at"]).date()
            if changed > clock - timedelta(days=TIME_POSTING_DAYS):
                continue
        if kind == "stripe_paid_erp_open":
            paid = recent_payment_invoices[row["ids"]]
            if not any(d <= clock - timedelta(days=PAYMENT_RECORDING_DAYS) for d in paid):
                continue
        if kind == "psa_project_without_erp":
            created = datetime.fromisoformat(workspaces[row["ids"]]["created_at"]).date()
            if created > clock - timedelta(days=PROJECT_SETUP_DAYS):
                continue
        expected[kind].add(ids.truth_key(row))
    return expected


# -- the acceptance test: demo scale, precision and recall per kind ---------------------------


def test_every_injected_fault_is_in_the_right_queue_and_nothing_else(
    demo_warehouse: BuiltWarehouse,
) -> None:
    assert warehouse_path() == demo_warehouse.warehouse
    # the queues judge ages at the business clock, as the truth does
    assert demo_warehouse.query("select as_of_date from intermediate.int_governance_as_of") == [
        (demo_warehouse.sim.store.clock.date(),)
    ]
    expected = expected_faults(demo_warehouse)
    ids = Identities(demo_warehouse.truth)
    marts = {mart: rows_of(demo_warehouse, mart) for mart in AREA_MARTS}
    found: dict[tuple[str, str], set] = defaultdict(set)
    for mart, rows in marts.items():
        for row in rows:
            assert row["status"] == "open", row  # one run: nothing resolved yet
            row["psa_client"] = ids.psa_client.get(row["source_id"])
            found[(mart, row["exception_kind"])].add(ids.exception_key(row["exception_kind"], row))

    measured = {}
    for truth_kind, (mart, kind) in TRUTH_TO_EXCEPTION.items():
        raised = found[(mart, kind)]
        if truth_kind in DUPLICATE_SYSTEMS:
            raised = {k for k in raised if k[0] in DUPLICATE_SYSTEMS[truth_kind]}
        measured[truth_kind] = precision_recall(expected[truth_kind], raised), len(raised)
    # duplicates: precision 1.0 always; a duplicate the customer master could not auto-merge
    # is in the steward queue instead (a pair of customers, each holding one of its records)
    duplicates = _duplicates_not_merged(demo_warehouse, expected, found)
    report = "\n".join(
        f"{k:32s} precision {p:.3f} recall {r:.3f} raised {n} expected {len(expected[k])}"
        for k, ((p, r), n) in sorted(measured.items())
    )
    print("\n" + report)
    for truth_kind, ((precision, recall), _) in measured.items():
        assert precision == 1.0, (truth_kind, report)
        if truth_kind in DUPLICATE_SYSTEMS:
            assert not duplicates[truth_kind], (truth_kind, duplicates[truth_kind])
        else:
            assert recall == 1.0, (truth_kind, report)
    assert all(expected[k] for k in TRUTH_TO_EXCEPTION), "every kind is injected at demo"

    # nothing the generator does not inject; the steward queue is the master's review band
    for mart, kinds in NOT_INJECTED.items():
        for kind in kinds:
            assert not found[(mart, kind)], (mart, kind)
    known = {(m, k) for m, k in TRUTH_TO_EXCEPTION.values()} | {
        ("exceptions_customers", "uncertain_customer_match")
    }
    assert {key for key, rows in found.items() if rows} <= known
    review = demo_warehouse.query("select count(*) from marts.exceptions_customer_match_review")
    assert len(found[("exceptions_customers", "uncertain_customer_match")]) == review[0][0]


def _duplicates_not_merged(
    warehouse: BuiltWarehouse, expected: dict[str, set], found: dict[tuple[str, str], set]
) -> dict[str, list]:
    """Truth duplicates neither raised as duplicate_customer nor covered by a steward-queue
    pair whose two customers each hold one of the duplicate records."""
    canonical = dict(
        warehouse.query(
            "select source_system || '|' || source_record_id, canonical_customer_id "
            "from marts.customer_xref"
        )
    )
    pairs = set()
    for a, b in warehouse.query(
        "select canonical_customer_id_a, canonical_customer_id_b "
        "from marts.exceptions_customer_match_review"
    ):
        pairs |= {(a, b), (b, a)}
    raised = found[("exceptions_customers", "duplicate_customer")]
    missing: dict[str, list] = {}
    for truth_kind in DUPLICATE_SYSTEMS:
        missing[truth_kind] = []
        for system, records in expected[truth_kind]:
            if (system, records) in raised:
                continue
            customers = {canonical.get(f"{system}|{r}") for r in records}
            if not any((a, b) in pairs for a in customers for b in customers if a != b):
                missing[truth_kind].append((system, sorted(records)))
    return missing


def test_queue_shape_summary_and_reconciliation(demo_warehouse: BuiltWarehouse) -> None:
    q = demo_warehouse.query
    # one shape everywhere; each exception in exactly one area mart
    total = sum(q(f"select count(*) from marts.{m}")[0][0] for m in AREA_MARTS)
    assert total == q("select count(*) from marts.exceptions_register")[0][0] > 0
    # correlation ids trace to a record and a real load of its connection
    bad = q("""select correlation_id from marts.exceptions_register
               where correlation_id not like '%/%/%/%@%' or correlation_id like '%@unloaded'""")
    assert not bad, bad[:5]
    # the summary counts exactly the open exceptions and their money
    assert q("select sum(open_count), sum(amount_at_risk) from marts.exceptions_summary") == q(
        "select count(*), coalesce(sum(amount_at_risk), 0) from marts.exceptions_register "
        "where status = 'open'"
    )
    # reconciliation: every difference is explained (the generator injects no unexplained
    # one), and time differences add up to the unposted approved billable hours of the truth
    summary = {r[0]: r[1:] for r in q("select * from marts.reconciliation_summary")}
    assert set(summary) == {"time", "invoices", "payments", "receivables"}
    assert all(row[2] == 0 for row in summary.values()), summary
    assert summary["invoices"][0] == len(demo_warehouse.truth("invoices"))
    card_charges = {
        p["stripe_charge_id"] for p in demo_warehouse.truth("payments") if p["stripe_charge_id"]
    }
    unrecorded = {
        p["stripe_charge_id"]
        for p in demo_warehouse.truth("payments")
        if p["stripe_charge_id"] and not p["erp_recorded_at"]
    }
    assert summary["payments"][0] == len(card_charges)
    assert summary["payments"][1] == len(unrecorded)
    hours = q("select sum(difference_hours) from marts.reconciliation_time")[0][0]
    unposted_ids = _unposted_ids(demo_warehouse)
    unposted = sum(
        e["time_in_minutes"] / 60
        for e in store_records(demo_warehouse.sim, "psa", "psa", "time_entries")
        if e["approved"] and e["billable"] and e["id"] in unposted_ids
    )
    assert hours == pytest.approx(unposted, abs=0.01)


def _unposted_ids(warehouse: BuiltWarehouse) -> set[str]:
    """PSA entries on client projects the ERP never received (truth: the ERPs' postings)."""
    sim = warehouse.sim
    posted = {
        r["PSATimeEntryId"]
        for conn in ("na", "emea")
        for r in store_records(sim, "dynamics", conn, "ProjectHourTransactions")
    }
    posted |= {
        r["custcol_psa_time_entry_id"]
        for conn in ("apac", "europe")
        for r in store_records(sim, "netsuite", conn, "timebill")
    }
    internal = {
        p["psa_workspace_id"] for p in warehouse.truth("projects") if p["kind"] == "internal"
    }
    return {
        e["id"]
        for e in store_records(sim, "psa", "psa", "time_entries")
        if e["id"] not in posted and e["workspace_id"] not in internal
    }


# -- quarantined ingestion records, against the emulators' own log ---------------------------


def _query(sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _injected_key(system: str, obj: str, key: str) -> tuple[str, str]:
    """The (object, record key) ingestion writes to _quarantine for a logged malformed record:
    Dynamics logs the entity set and a key tuple, ingestion the table and `a|b`."""
    if system == "dynamics":
        table = {e.set_name: e.table for e in dynamics_source.ENTITIES}[obj]
        parts = ast.literal_eval(key)
        return table, "|".join(str(p) for p in (parts if isinstance(parts, tuple) else (parts,)))
    if key.startswith("("):
        return obj, "|".join(str(p) for p in ast.literal_eval(key))
    return obj, key


def test_quarantined_records_are_ingestion_exceptions(
    simulator_factory: Callable[..., RunningSimulator], isolated_env: Path
) -> None:
    sim = simulator_factory("tiny", faults="malformed=0.05")
    load_connections_file(sim.connections_file)
    reports = ingest(progress=lambda _: None)
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    # `run`, then the governance marts' own tests: quarantined records leave holes that fail
    # other marts' relationship tests, and a failed test would skip everything downstream
    assert run_dbt("seed").ok
    assert run_dbt("run", ["+path:models/marts/governance"]).ok
    tested = run_dbt("test", ["path:models/marts/governance"])
    assert tested.ok, tested.failures
    injected = {
        (x["system"], *_injected_key(x["system"], x["object"], x["key"]))
        for x in sim.sim.injected()
        if x["kind"] == "malformed"
    }
    assert injected
    rows = _query("""select source_system, object_type, source_id, owner_system, reason,
                            correlation_id, status
                     from marts.exceptions_ingestion""")
    assert {(s, o, k) for s, o, k, *_ in rows} == injected
    loads = {
        r[0]
        for r in _query(
            " union all ".join(
                f"select load_id from raw_{system}._dlt_loads"
                for system in ("salesforce", "psa", "netsuite", "dynamics", "stripe")
            )
        )
    }
    for system, _, key, owner, reason, correlation, status in rows:
        assert owner == system and status == "open"
        assert "quarantined at ingestion: " in reason and key in reason
        assert correlation.rsplit("@", 1)[1] in loads, correlation


# -- state across runs: resolved when the source is fixed, first seen kept -------------------


def _salesforce_fix_tax_id(sim: RunningSimulator, account_id: str, tax_id: str) -> None:
    info = json.loads(sim.connections_file.read_text())
    crm = info["systems"]["salesforce"]["crm"]
    token = requests.post(
        crm["login_url"] + "/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": crm["client_id"],
            "client_secret": crm["client_secret"],
            "username": crm["username"],
            "password": crm["password"] + crm.get("security_token", ""),
        },
        timeout=10,
    )
    token.raise_for_status()
    response = requests.patch(
        f"{crm['instance_url']}/services/data/v{crm['api_version']}/sobjects/Account/{account_id}",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        json={"Tax_Id__c": tax_id},
        timeout=10,
    )
    assert response.status_code == 204, response.text


def test_an_exception_fixed_in_the_source_resolves_on_the_next_run(
    simulator_factory: Callable[..., RunningSimulator], isolated_env: Path
) -> None:
    sim = simulator_factory("tiny")
    fault = next(f for f in sim.store.truth["faults"] if f["kind"] == "tax_id_invalid")
    real_tax_id = next(
        c["tax_id"]
        for c in sim.store.truth["customers"]
        if c["customer_id"] == fault["customer_id"]
    )

    def run() -> list[tuple]:
        assert conform(["run", "--connections", str(sim.connections_file)]) == 0
        return _query("""select exception_id, exception_kind, source_id, status, first_seen_at,
                                last_seen_at, resolved_at from marts.exceptions_register""")

    first = {r[0]: r for r in run()}
    invalid = [r for r in first.values() if r[1] == "tax_id_invalid"]
    assert [(r[2], r[3]) for r in invalid] == [(fault["ids"], "open")]
    _salesforce_fix_tax_id(sim, fault["ids"], real_tax_id)
    second = {r[0]: r for r in run()}
    fixed = second[invalid[0][0]]
    assert fixed[3] == "resolved"
    assert fixed[4] == invalid[0][4]  # first seen kept
    # last seen: the latest build that still saw it (the run's first dbt pass still reads the
    # previous master state; the pass after `conform master` finds it fixed)
    assert fixed[5] >= invalid[0][5]
    assert fixed[6] is not None and fixed[6] > fixed[5]
    # everything else still open keeps its id and first sighting
    for exception_id, row in first.items():
        if exception_id != invalid[0][0] and second[exception_id][3] == "open":
            assert second[exception_id][4] == row[4]
            assert second[exception_id][5] > row[5]
    assert os.environ["CONFORM_WAREHOUSE"] == str(warehouse_path())


def test_the_register_is_incremental_on_postgres(
    simulator_factory: Callable[..., RunningSimulator],
    isolated_env: Path,
    postgres_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The register's merge (delete+insert on exception_id) on the PostgreSQL target: a second
    build keeps every id and first sighting and moves last_seen_at."""
    import uuid
    from urllib.parse import parse_qs, urlparse

    import psycopg2

    socket_dir = parse_qs(urlparse(postgres_uri).query)["host"][0]
    database = f"conform_gov_{uuid.uuid4().hex[:8]}"
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
    load_connections_file(sim.connections_file)
    assert all(r.status == "ok" for r in ingest(progress=lambda _: None))
    built = run_dbt("build")
    assert built.ok, built.failures

    def register() -> dict[str, tuple]:
        con = psycopg2.connect(dbname=database, host=socket_dir, user="postgres")
        try:
            cur = con.cursor()
            cur.execute(
                "select exception_id, exception_kind, status, first_seen_at, last_seen_at "
                "from marts.exceptions_register"
            )
            return {r[0]: r[1:] for r in cur.fetchall()}
        finally:
            con.close()

    first = register()
    truth_kinds = {f["kind"] for f in sim.store.truth["faults"]}
    assert {"time_not_posted", "psa_project_without_erp"} <= truth_kinds
    assert {k for k, *_ in first.values()} >= {"time_not_posted", "psa_project_without_erp"}
    again = run_dbt("build", ["exceptions_register"])
    assert again.ok, again.failures
    second = register()
    assert set(second) == set(first)
    for exception_id, (kind, status, first_seen, last_seen) in first.items():
        assert status == "open"
        assert second[exception_id][:3] == (kind, "open", first_seen)
        assert second[exception_id][3] > last_seen
