"""The customer master at scale demo (seed 42) against the generator's ground truth:
precision and recall, stable IDs across re-runs and `advance`, steward decisions.

One warehouse for the module (ingest ~60 s); the tests run in file order and build on each
other's state, as the pipeline would: first run, re-run, advance, steward decisions."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
import requests

from ingestion.common import load_connections_file, warehouse_path
from ingestion.pipeline import ingest
from mastering.evaluate import score, with_review
from mastering.master import run_master
from orchestration.cli import CUSTOMER_MARTS
from orchestration.transform import run_dbt
from simulator.generator import generate
from tests.conftest import RunningSimulator

pytestmark = pytest.mark.integration


def truth_map(sim: RunningSimulator) -> dict[str, str]:
    return {
        f"{r['system']}|{r['connection']}|{r['source_id']}": r["customer_id"]
        for r in sim.store.truth["customer_records"]
    }


def deleted_before_first_load(sim: RunningSimulator) -> set[str]:
    return {
        f"{r['system']}|{r['connection']}|{r['source_id']}"
        for r in sim.store.truth["customer_records"]
        if r["system"] == "netsuite" and r["is_deleted"]
    }


def query(sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse_path()), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def id_map() -> dict[str, str]:
    return dict(
        query("select customer_record_key, canonical_customer_id from mastering.customer_id_map")
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    folder = tmp_path_factory.mktemp("customer-master")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CONFORM_WAREHOUSE", str(folder / "conform.duckdb"))
        mp.setenv("CONFORM_PIPELINES_DIR", str(folder / "pipelines"))
        mp.delenv("CONFORM_STEWARD_DECISIONS", raising=False)
        for key in list(os.environ):
            if key.startswith("SOURCES__"):
                mp.delenv(key)
        (folder / "sim").mkdir()
        sim = RunningSimulator(generate(42, "demo"), "", folder / "sim")
        try:
            load_connections_file(sim.connections_file)
            reports = ingest(progress=lambda _: None)
            assert all(r.status == "ok" for r in reports), [r.error for r in reports]
            # the views the master reads, and the seeds the customer marts use
            seeded = run_dbt("seed")
            assert seeded.ok, seeded.failures
            # every model (the customer marts' downstream, governance and sync, reads the rest)
            result = run_dbt("run")
            assert result.ok, result.failures
            yield sim
        finally:
            sim.stop()


def test_matching_precision_and_recall_against_the_truth(demo: RunningSimulator) -> None:
    report = run_master()
    truth = truth_map(demo)
    assigned = id_map()
    # a NetSuite customer deleted before the first load is known only by its deletedrecord
    # entry (an id without attributes): not a client record, so not mastered
    assert set(assigned) == set(truth) - deleted_before_first_load(demo)
    truth = {k: v for k, v in truth.items() if k in assigned}
    review = query("select record_key_a, record_key_b from mastering.customer_match_review")
    auto = score(assigned, truth)
    both = score(with_review(assigned, review), truth)
    print(
        f"\ncustomer master demo: {report.records} records -> {report.customers} customers; "
        f"review queue {len(review)} pairs\n  auto:          {auto}\n  auto + review: {both}"
    )
    assert auto.pair_precision >= 0.995
    assert both.pair_recall >= 0.98
    assert report.review_pairs == len(review)


def test_customer_marts_build_and_test_green(demo: RunningSimulator) -> None:
    result = run_dbt("build", CUSTOMER_MARTS)
    assert result.ok, result.failures
    (xref,) = query("select count(*) from marts.customer_xref")[0]
    assert xref == len(truth_map(demo)) - len(deleted_before_first_load(demo))
    (queue,) = query("select count(*) from marts.exceptions_customer_match_review")[0]
    assert queue == len(query("select 1 from mastering.customer_match_review"))
    # a subsidiary with its own tax id is its own customer, under its parent
    truth_parents = {r["customer_id"]: r["parent_id"] for r in demo.store.truth["customers"]}
    crm = {k: v for k, v in id_map().items() if k.startswith("salesforce|")}
    canon_of = {}
    for r in demo.store.truth["customer_records"]:
        key = f"{r['system']}|{r['connection']}|{r['source_id']}"
        if key in crm and r["is_duplicate"] in (False, "False", "false"):
            canon_of[r["customer_id"]] = crm[key]
    parents = dict(
        query(
            "select canonical_customer_id, parent_customer_id "
            "from marts.dim_customer where parent_customer_id is not null"
        )
    )
    right = sum(
        1
        for c, p in truth_parents.items()
        if p and c in canon_of and p in canon_of and parents.get(canon_of[c]) == canon_of[p]
    )
    with_parent = sum(1 for c, p in truth_parents.items() if p and c in canon_of)
    print(f"\nhierarchy: {right}/{with_parent} subsidiaries under their true parent")
    # the CRM keeps ~85% of hierarchies and an ERP only those within one set of books
    assert right >= 0.8 * with_parent


def test_rerun_changes_no_canonical_id(demo: RunningSimulator) -> None:
    before = query("select * from mastering.customer_id_map order by 1")
    report = run_master()
    assert query("select * from mastering.customer_id_map order by 1") == before
    assert (report.created, report.merged, report.split) == (0, 0, 0)


def test_advance_adds_records_and_changes_no_existing_id(demo: RunningSimulator) -> None:
    before = id_map()
    response = requests.post(f"{demo.control_url}/advance", json={"days": 30}, timeout=300)
    response.raise_for_status()
    reports = ingest(progress=lambda _: None)
    assert all(r.status == "ok" for r in reports), [r.error for r in reports]
    report = run_master()  # int_customer_records is a view over the raw tables
    after = id_map()
    retired = dict(
        query(
            "select canonical_customer_id, retired_into "
            "from mastering.canonical_customers where status = 'retired'"
        )
    )
    changed = {k: (v, after[k]) for k, v in before.items() if after.get(k) != v}
    # only a logged merge may move a record: into the survivor of its old ID
    assert all(retired.get(old) == new for old, new in changed.values()), changed
    print(
        f"\nadvance 30 days: {len(after) - len(before)} new records, {report.created} new "
        f"customers, {report.merged} merges ({len(changed)} records moved by merges)"
    )
    assert len(after) >= len(before)
    truth = truth_map(demo)
    auto = score(after, truth)
    assert auto.pair_precision >= 0.995, auto


def _write_decisions(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(
            f, ["record_key_a", "record_key_b", "decision", "decided_by", "decided_at", "note"]
        )
        w.writeheader()
        w.writerows(rows)
    return path


def test_steward_match_and_split_are_honoured(demo: RunningSimulator, tmp_path: Path) -> None:
    review = query(
        "select record_key_a, record_key_b from mastering.customer_match_review "
        "order by name_score desc, record_key_a"
    )
    assert review, "expected pairs in the review queue"
    a, b = review[0]
    before = id_map()
    assert before[a] != before[b]
    # a multi-record customer to split one record out of
    sizes = query(
        "select canonical_customer_id, min(customer_record_key), "
        "max(customer_record_key) from mastering.customer_id_map "
        "group by 1 having count(*) >= 3 order by 1"
    )
    cid, keep, split = sizes[0]
    decisions = _write_decisions(
        tmp_path / "decisions.csv",
        [
            {
                "record_key_a": a,
                "record_key_b": b,
                "decision": "match",
                "decided_by": "steward",
                "decided_at": "2026-11-01T09:00:00",
                "note": "same client",
            },
            {
                "record_key_a": split,
                "record_key_b": "",
                "decision": "split",
                "decided_by": "steward",
                "decided_at": "2026-11-01T09:05:00",
                "note": "a different legal entity",
            },
        ],
    )
    report = run_master(decisions)
    after = id_map()
    assert after[a] == after[b] and after[a] in (before[a], before[b])
    assert (a, b) not in set(
        query("select record_key_a, record_key_b from mastering.customer_match_review")
    )
    assert after[keep] == cid  # the customer keeps its ID
    assert after[split] != cid  # the split record gets its own
    assert report.merged >= 1 and report.split >= 1
    # and it stays that way on the next run
    run_master(decisions)
    assert id_map() == after
