"""The generator: deterministic, internally consistent, and its truth agrees with its records."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from simulator.generator import advance, cached_plan, generate
from simulator.store import Store


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def tiny() -> Store:
    return generate(7, "tiny")


@pytest.fixture(scope="module")
def small() -> Store:
    return generate(11, "small")


def test_same_seed_and_scale_give_byte_identical_datasets(tmp_path: Path) -> None:
    generate(3, "tiny").save(tmp_path / "a")
    cached_plan.cache_clear()  # plan again from scratch, not from the cache
    generate(3, "tiny").save(tmp_path / "b")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b")
    generate(4, "tiny").save(tmp_path / "c")
    assert _digest(tmp_path / "a") != _digest(tmp_path / "c")


def test_dataset_round_trips_through_its_directory(tiny: Store, tmp_path: Path) -> None:
    tiny.save(tmp_path)
    loaded = Store.load(tmp_path)
    assert loaded.manifest["clock"] == tiny.manifest["clock"]
    for key, conn in tiny.connections.items():
        for name, table in conn.tables.items():
            assert list(loaded.connections[key].tables[name]) == list(table), name
    assert loaded.truth["customers"][0]["customer_id"] == tiny.truth["customers"][0]["customer_id"]


def test_every_system_has_every_object(small: Store) -> None:
    expected = {
        ("salesforce", "crm"): {"Account", "Opportunity", "User"},
        ("psa", "psa"): {
            "workspace_groups",
            "workspaces",
            "users",
            "account_memberships",
            "roles",
            "stories",
            "time_entries",
            "expenses",
            "invoices",
            "time_off_entries",
            "holiday_calendars",
            "holiday_calendar_entries",
            "holiday_calendar_memberships",
            "custom_fields",
            "custom_field_values",
        },
        ("netsuite", "apac"): {
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
        },
        ("dynamics", "na"): {
            "LegalEntities",
            "CustomersV3",
            "ProjectsV2",
            "EmployeesV2",
            "ProjectHourTransactions",
            "SalesInvoiceHeadersV2",
            "SalesInvoiceLines",
            "CustomerPaymentJournalLines",
            "CustomerTransactions",
            "ExchangeRates",
        },
        ("stripe", "stripe"): {"customers", "invoices", "payment_intents", "charges", "events"},
    }
    for key, objects in expected.items():
        tables = small.connections[key].tables
        missing = {o for o in objects if not len(tables.get(o, ()))}
        assert not missing, f"{key} has no {missing}"


def test_psa_custom_field_values_use_their_subject_types_field(tiny: Store) -> None:
    """The fields "Legal Entity" and "Practice" exist on Workspace and on User: each value
    points at the field of its own subject type (the emulator refuses a write mixing them)."""
    psa = tiny.connections[("psa", "psa")]
    fields = {f["id"]: f for f in psa.tables["custom_fields"]}
    for value in psa.tables["custom_field_values"]:
        field = fields[value["custom_field_id"]]
        assert field["subject_type"] == value["subject_type"], value
        assert field["name"] == value["custom_field_name"], value


def test_truth_counts_match_the_records(small: Store) -> None:
    for row in small.truth["counts"]:
        table = small.connections[(row["system"], row["connection"])].tables[row["object"]]
        assert len(table) == int(row["rows"])


def test_every_source_client_record_exists_in_its_system(small: Store) -> None:
    lookups = {
        "salesforce": lambda r: (
            small.connection("salesforce", "crm").table("Account").get(r["source_id"])
        ),
        "psa": lambda r: (
            small.connection("psa", "psa").table("workspace_groups").get(r["source_id"])
        ),
        "stripe": lambda r: (
            small.connection("stripe", "stripe").table("customers").get(r["source_id"])
        ),
        "netsuite": lambda r: (
            small.connection("netsuite", r["connection"]).table("customer").get(r["source_id"])
        ),
        "dynamics": lambda r: (
            small.connection("dynamics", r["connection"])
            .tables["CustomersV3"]
            .get(*r["source_id"].split("|"))
        ),
    }
    records = small.truth["customer_records"]
    assert {r["system"] for r in records} == set(lookups)
    for r in records:
        found = lookups[r["system"]](r)
        if r["is_deleted"] and r["system"] == "netsuite":
            assert found is None  # NetSuite lists it in deletedrecord instead
            deleted = small.connection("netsuite", r["connection"]).tables["deletedrecord"]
            assert deleted.get("customer", r["source_id"]) is not None
            continue
        assert found is not None, r
        if r["system"] == "salesforce":
            assert found["IsDeleted"] == r["is_deleted"]
    # every true client is in the CRM; clients with projects are in the PSA too
    crm = {r["customer_id"] for r in records if r["system"] == "salesforce"}
    assert crm == {c["customer_id"] for c in small.truth["customers"]}


def test_hours_truth_equals_the_psa_time_entries(small: Store) -> None:
    psa = defaultdict(float)
    for e in small.connection("psa", "psa").tables["time_entries"]:
        psa[(e["user_id"], e["date_performed"][:7])] += e["time_in_minutes"] / 60
    truth = {
        (r["psa_user_id"], r["month"]): r["hours_total"]
        for r in small.truth["hours_by_employee_month"]
    }
    assert truth.keys() == psa.keys()
    for key, hours in truth.items():
        assert psa[key] == pytest.approx(hours, abs=0.01)


def test_invoice_truth_equals_each_erps_open_balance(small: Store) -> None:
    truth = {r["invoice_number"]: r for r in small.truth["invoices"]}
    seen = 0
    for conn in ("apac", "europe"):
        for t in small.connection("netsuite", conn).tables["transaction"]:
            if t["type"] == "CustInvc":
                assert float(t["foreignamountremaining"]) == pytest.approx(
                    truth[t["tranid"]]["open_balance"]
                )
                assert float(t["foreigntotal"]) == pytest.approx(truth[t["tranid"]]["total"])
                seen += 1
    for conn in ("na", "emea"):
        for t in small.connection("dynamics", conn).tables["CustomerTransactions"]:
            if t["TransactionType"] == "Invoice":
                row = truth[t["InvoiceNumber"]]
                assert t["AmountCur"] - t["SettledAmountCur"] == pytest.approx(row["open_balance"])
                seen += 1
    assert seen == len(truth)


def test_invoice_lines_sum_to_headers(small: Store) -> None:
    for conn in ("apac", "europe"):
        tables = small.connection("netsuite", conn).tables
        lines = defaultdict(float)
        for line in tables["transactionline"]:
            if line["mainline"] == "F":
                lines[line["transaction"]] += float(line["foreignamount"])
        for t in tables["transaction"]:
            if t["type"] == "CustInvc":
                assert lines[t["id"]] == pytest.approx(float(t["foreigntotal"]))
    for conn in ("na", "emea"):
        tables = small.connection("dynamics", conn).tables
        sums = defaultdict(float)
        for line in tables["SalesInvoiceLines"]:
            sums[line["InvoiceNumber"]] += line["LineAmount"] + line["LineTotalTaxAmount"]
        for h in tables["SalesInvoiceHeadersV2"]:
            assert sums[h["InvoiceNumber"]] == pytest.approx(h["TotalInvoiceAmount"])


def test_truth_records_every_kind_of_injected_fault(small: Store) -> None:
    kinds = {r["kind"] for r in small.truth["faults"]}
    expected = {
        "duplicate_in_crm",
        "psa_project_without_erp",
        "project_missing_cost_center",
        "time_not_posted",
        "invoice_disputed_collectible",
        "stripe_paid_erp_open",
    }
    assert expected <= kinds, expected - kinds


def test_advance_changes_only_what_changed_and_keeps_api_writes() -> None:
    store = generate(5, "tiny")
    accounts = store.connection("salesforce", "crm").tables["Account"]
    first = next(iter(accounts))
    first["Conform_Id__c"] = "CUST-000001"  # as a reverse-sync write would leave it
    entries = store.connection("psa", "psa").tables["time_entries"]
    before = {k: dict(v) for k, v in entries.rows.items()}
    clock = store.clock
    result = advance(store, 7)
    assert store.clock > clock
    assert result["inserted"] > 0 and result["updated"] > 0
    assert accounts.get(first["Id"])["Conform_Id__c"] == "CUST-000001"
    for key, rec in entries.rows.items():
        stamp = datetime.fromisoformat(rec["updated_at"])
        if key in before:
            if rec != before[key]:
                assert stamp > clock  # a changed record carries a new stamp
            else:
                assert rec["updated_at"] == before[key]["updated_at"]
        else:
            assert stamp > clock
    hours = sum(r["hours_total"] for r in store.truth["hours_by_employee_month"])
    assert hours == pytest.approx(sum(e["time_in_minutes"] for e in entries) / 60)
