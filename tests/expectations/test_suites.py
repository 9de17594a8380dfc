"""The Great Expectations suites against a tiny warehouse built from the simulator: green on
clean data; with non-ISO currency codes injected into the PSA, exactly the records the simulator
corrupted (its injected-fault log) are counted unexpected; results kept in
data_quality.check_results; data docs built to HTML."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import yaml

from expectations.iso4217 import ISO_4217_CODES
from expectations.runner import PARTIAL_UNEXPECTED, SuiteResult, run_suites
from expectations.suites import RAW, all_suites, select
from orchestration.cli import main as conform
from simulator.emulator import NON_ISO_CURRENCY
from simulator.generator import generate
from tests.conftest import RunningSimulator

ROOT = Path(__file__).resolve().parents[2]
FAULTED_SYSTEM = "psa"


@dataclass
class Built:
    sim: RunningSimulator
    env: dict[str, str]

    @property
    def warehouse(self) -> Path:
        return Path(self.env["CONFORM_WAREHOUSE"])

    @property
    def docs(self) -> Path:
        return Path(self.env["CONFORM_DATA_DOCS_DIR"])

    def query(self, sql: str) -> list[tuple]:
        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()


def _build(folder: Path, faults: str, command: list[str]) -> Iterator[Built]:
    """A simulator (tiny, seed 7) and a warehouse built by `conform <command>` from it."""
    env = {
        "CONFORM_WAREHOUSE": str(folder / "warehouse" / "conform.duckdb"),
        "CONFORM_PIPELINES_DIR": str(folder / "pipelines"),
        "CONFORM_DATA_DOCS_DIR": str(folder / "data_docs"),
    }
    (folder / "sim").mkdir()
    sim = RunningSimulator(generate(7, "tiny"), faults, folder / "sim")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("SOURCES__"):
                mp.delenv(key)
        for key, value in env.items():
            mp.setenv(key, value)
        try:
            status = conform([*command, "--connections", str(sim.connections_file)])
            assert status == 0, f"conform {command[0]} exited {status}"
            yield Built(sim, env)
        finally:
            sim.stop()
            for key in list(os.environ):
                if key.startswith("SOURCES__"):
                    del os.environ[key]


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """`conform run` (the whole graph, its own suites included) on clean data."""
    yield from _build(tmp_path_factory.mktemp("ge-clean"), "", ["run"])


@pytest.fixture(scope="module")
def faulted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    """`conform ingest` with non-ISO currency codes served by the PSA for 4% of records (few
    enough that the result lists every unexpected key: PARTIAL_UNEXPECTED)."""
    folder = tmp_path_factory.mktemp("ge-bad-currency")
    yield from _build(folder, f"{FAULTED_SYSTEM}:bad_currency=0.04", ["ingest"])


@pytest.fixture
def use(monkeypatch: pytest.MonkeyPatch):
    def point_at(built: Built) -> Built:
        for key, value in built.env.items():
            monkeypatch.setenv(key, value)
        return built

    return point_at


def _by_name(results: list[SuiteResult]) -> dict[str, SuiteResult]:
    return {r.suite.name: r for r in results}


def test_every_raw_table_the_dbt_project_reads_has_a_suite() -> None:
    declared = set()
    for path in (ROOT / "dbt_project" / "models" / "staging").glob("*/_*__sources.yml"):
        for source in yaml.safe_load(path.read_text())["sources"]:
            if source["name"].startswith("raw_"):
                declared |= {f"{source['name']}.{t['name']}" for t in source["tables"]}
    assert declared, "no dbt sources found"
    suites = {s.name for s in all_suites()}
    assert declared <= suites, sorted(declared - suites)
    published = {"dim_customer", "dim_project", "fct_invoice", "fct_payment", "rpt_utilization"}
    published |= {"rpt_collections", "fct_time_entry"}
    assert {f"marts.{m}" for m in published} <= suites


def test_every_expectation_has_a_severity_and_keys_are_blocking() -> None:
    for suite in all_suites():
        expectations = suite.all_expectations()
        assert all(e.severity in ("blocking", "warning") for e in expectations), suite.name
        labels = [e.label for e in expectations]
        assert len(labels) == len(set(labels)), f"{suite.name}: duplicate expectations"
        for col in suite.key:
            assert f"expect_column_values_to_not_be_null({col})" in labels


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_suites_pass_on_a_clean_warehouse(clean: Built, use) -> None:
    use(clean)
    results, index = run_suites(all_suites())
    failures = {
        r.suite.name: [
            (o.expectation, o.unexpected_count, o.details) for o in r.outcomes if not o.success
        ]
        for r in results
        if not r.success
    }
    assert not failures, json.dumps(failures, default=str, indent=1)[:3000]
    # every non-optional suite validated rows; the marts are not empty
    for r in results:
        assert r.absent == r.suite.optional or r.row_count > 0, r.suite.name
    # results kept in the warehouse, one row per expectation (`conform run` has already
    # validated once inside the Dagster graph: count this validation's runs only)
    run_ids = ", ".join(f"'{r.run_id}'" for r in results)
    rows = clean.query(
        "select suite, severity, success, count(*) from data_quality.check_results "
        f"where run_id in ({run_ids}) group by all"
    )
    assert sum(n for *_, n in rows) == sum(max(len(r.outcomes), 1) for r in results)
    assert all(success for _, _, success, _ in rows)
    # data docs: the index and a validation page per suite that ran
    assert index is not None and index.is_file()
    for r in results:
        if not r.absent:
            assert (clean.docs / r.suite.name.replace(".", "/")).with_suffix(".html").exists() or (
                clean.docs / "expectations" / r.suite.schema / f"{r.suite.table}.html"
            ).is_file()
            assert r.docs_page and (clean.docs / r.docs_page).is_file(), r.suite.name
    assert "raw_psa.time_entries" in index.read_text()


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_bad_currency_counts_exactly_the_corrupted_records(faulted: Built, use) -> None:
    use(faulted)
    # the simulator's log of what it served with a non-ISO currency: object -> record ids
    corrupted: dict[str, set[str]] = {}
    for fault in faulted.sim.sim.injected():
        if fault["kind"] == "bad_currency":
            assert fault["system"] == FAULTED_SYSTEM
            for old, new in fault["fields"].values():
                assert old.upper() in ISO_4217_CODES and new.upper() not in ISO_4217_CODES
                assert NON_ISO_CURRENCY[old.upper()] == new.upper()
            corrupted.setdefault(fault["object"], set()).add(fault["key"])
    assert "time_entries" in corrupted and len(corrupted["time_entries"]) > 10
    # the ingestion accepted them (nothing quarantined): only the suites can catch them
    quarantined = faulted.query(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw_psa' and table_name = '_quarantine'"
    )[0][0]
    if quarantined:
        assert faulted.query("select count(*) from raw_psa._quarantine")[0][0] == 0

    results = _by_name(run_suites(select([f"raw_{s}" for s in RAW]))[0])
    for suite_name, result in results.items():
        table = result.suite.table
        currency = [
            o
            for o in result.outcomes
            if o.expectation.startswith("expect_column_values_to_be_in_set(currenc")
        ]
        if result.suite.schema == f"raw_{FAULTED_SYSTEM}" and table in corrupted:
            assert result.status == "failed", suite_name
            assert [o.success for o in currency] == [False], suite_name
            outcome = currency[0]
            assert outcome.severity == "blocking"
            assert outcome.unexpected_count == len(corrupted[table]), suite_name
            assert len(corrupted[table]) <= PARTIAL_UNEXPECTED
            flagged = {row["id"] for row in outcome.details["partial_unexpected_index_list"]}
            assert flagged == corrupted[table], suite_name
            # nothing else in the suite failed: the fault is only the currency
            assert [o for o in result.outcomes if not o.success] == currency, suite_name
        else:
            assert result.success, (suite_name, [o for o in result.outcomes if not o.success])

    # the latest state in data_quality.check_results shows the blocking failure
    rows = faulted.query(
        "select suite, expectation, unexpected_count from data_quality.check_results "
        "where severity = 'blocking' and not success"
    )
    assert {(s, n) for s, _, n in rows} == {
        (f"raw_{FAULTED_SYSTEM}.{t}", len(keys)) for t, keys in corrupted.items()
    }


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_conform_validate_exit_status(clean: Built, faulted: Built, use, capsys) -> None:
    use(clean)
    assert conform(["validate", "--suite", "marts", "--no-save"]) == 0
    out = capsys.readouterr().out
    assert "passed   marts.fct_invoice" in out and "0 with blocking failures" in out
    use(faulted)
    assert conform(["validate", "--suite", "raw_psa", "--no-save"]) == 1
    out = capsys.readouterr().out
    assert "failed   raw_psa.time_entries" in out
    assert "blocking: expect_column_values_to_be_in_set(currency)" in out
    assert (faulted.docs / "index.html").is_file()
