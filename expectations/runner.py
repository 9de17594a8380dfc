"""Run suites with Great Expectations (the pandas route: ephemeral context, a dataframe asset,
a whole-dataframe batch, ``ValidationDefinition.run``), keep every expectation's outcome in
``data_quality.check_results`` and build the data docs (HTML).

The context is ephemeral, but its expectation and validation-result stores are folders under the
data docs directory: each Dagster check runs in its own process, and one shared store lets every
build list every suite of the run in one index. Old results are pruned (``KEEP_RESULTS``).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from expectations.spec import BLOCKING, EARLIEST_DATE, FUTURE_YEARS, WARNING, Suite
from expectations.warehouse import Warehouse, connect

DOCS_ENV = "CONFORM_DATA_DOCS_DIR"
DEFAULT_DOCS_DIR = Path("build/data_docs")
SITE_NAME = "conform"
KEEP_RESULTS = 10  # validation results kept per suite in the store (and pages in the docs)
PARTIAL_UNEXPECTED = 100  # unexpected values / keys listed per expectation

# GE logs a progress bar per validation; the result is what matters here
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass
class Outcome:
    """One expectation's result."""

    expectation: str  # expect_column_values_to_be_in_set(currency)
    severity: str
    success: bool
    element_count: int | None
    unexpected_count: int | None
    details: dict[str, Any]


@dataclass
class SuiteResult:
    suite: Suite
    run_id: str
    evaluated_at: datetime
    outcomes: list[Outcome] = field(default_factory=list)
    row_count: int = 0
    absent: bool = False  # an optional table that does not exist (nothing to validate)
    docs_page: str | None = None

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def blocking_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == BLOCKING]

    @property
    def warning_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == WARNING]

    @property
    def status(self) -> str:
        if self.blocking_failures:
            return "failed"
        if self.warning_failures:
            return "warning"
        return "passed"


def docs_dir() -> Path:
    return Path(os.environ.get(DOCS_ENV) or DEFAULT_DOCS_DIR).resolve()


# -- Great Expectations context -----------------------------------------------------------------


def make_context(docs: Path | None = None) -> Any:
    """An ephemeral context whose stores and data docs site live under `docs`."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    root = docs or docs_dir()
    root.mkdir(parents=True, exist_ok=True)

    def filesystem(sub: str) -> dict[str, Any]:
        return {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(root / sub)}

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),  # logs, not terminal bars
    )
    config.stores["expectations_store"] = {
        "class_name": "ExpectationsStore",
        "store_backend": filesystem("_store/expectations"),
    }
    config.stores["validation_results_store"] = {
        "class_name": "ValidationResultsStore",
        "store_backend": filesystem("_store/validations"),
    }
    context = gx.get_context(mode="ephemeral", project_config=config)
    # the data docs site, added through the API GE documents for it
    context.add_data_docs_site(
        site_name=SITE_NAME,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(root),
            },
        },
    )
    context.data_sources.add_pandas("conform")
    return context


# -- one suite ------------------------------------------------------------------------------------


def _resolve(value: Any, today: date) -> Any:
    if value == "$earliest":
        return datetime.combine(EARLIEST_DATE, datetime.min.time())
    if value == "$latest":
        return datetime.combine(today.replace(year=today.year + FUTURE_YEARS), datetime.min.time())
    return value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def validate(suite: Suite, context: Any, wh: Warehouse) -> SuiteResult:
    """Load the suite's columns, run it, return every expectation's outcome."""
    import great_expectations as gx

    started = datetime.now(UTC)
    result = SuiteResult(suite=suite, run_id=str(uuid.uuid4()), evaluated_at=started)
    existing = wh.columns(suite.schema, suite.table)
    if not existing:
        if suite.optional:
            result.absent = True
            return result
        result.outcomes.append(
            Outcome(
                "expect_table_to_exist",
                BLOCKING,
                False,
                0,
                None,
                {"observed_value": f"{suite.relation} does not exist"},
            )
        )
        return result
    columns = [c for c in suite.columns() if c in existing]
    df = wh.frame(suite.schema, suite.table, columns)
    result.row_count = len(df)

    today = started.date()
    expectations = []
    for spec in suite.all_expectations():
        values = None
        if spec.value_set_from is not None:
            ref = spec.value_set_from
            values = wh.distinct(ref.relation, ref.column)
        expectation = spec.build(values, lambda v: _resolve(v, today))
        expectations.append((spec, expectation))

    source = context.data_sources.get("conform")
    try:
        asset = source.get_asset(suite.name)
    except LookupError:
        asset = source.add_dataframe_asset(suite.name)
    batch = asset.add_batch_definition_whole_dataframe(f"{suite.name}:{result.run_id}")
    gx_suite = context.suites.add_or_update(
        gx.ExpectationSuite(
            name=suite.name,
            expectations=[e for _, e in expectations],
            meta={"notes": suite.description or suite.relation},
        )
    )
    definition = gx.ValidationDefinition(
        name=f"{suite.name}:{result.run_id}", data=batch, suite=gx_suite
    )
    key_columns = [c for c in suite.key if c in df.columns]
    run = definition.run(
        batch_parameters={"dataframe": df},
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": PARTIAL_UNEXPECTED,
            **({"unexpected_index_column_names": key_columns} if key_columns else {}),
        },
    )
    by_label = {spec.label: spec for spec, _ in expectations}
    for item in run.results:
        meta = item.expectation_config.meta or {}
        spec = by_label[meta["conform_label"]]
        res = dict(item.result or {})
        details: dict[str, Any] = {}
        for name in (
            "observed_value",
            "partial_unexpected_list",
            "partial_unexpected_counts",
            "partial_unexpected_index_list",
            "unexpected_percent",
            "missing_count",
            "details",
        ):
            if name in res:
                details[name] = _jsonable(res[name])
        if item.exception_info and item.exception_info.get("raised_exception"):
            details["exception"] = str(item.exception_info.get("exception_message"))[:500]
        if spec.notes:
            details["notes"] = spec.notes
        result.outcomes.append(
            Outcome(
                expectation=spec.label,
                severity=spec.severity,
                success=bool(item.success),
                element_count=res.get("element_count", len(df)),
                unexpected_count=res.get("unexpected_count"),
                details=details,
            )
        )
    result.docs_page = _validation_page(run, suite)
    return result


def _validation_page(run: Any, suite: Suite) -> str | None:
    """The data docs page (relative to the docs folder) of this validation result."""
    run_id = run.meta.get("run_id")
    run_time = getattr(run_id, "run_time", None)
    batch_id = (run.meta.get("active_batch_definition") or {}).get("batch_identifier") or ""
    if run_time is None:
        return None
    stamp = run_time.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    name = getattr(run_id, "run_name", None) or "__none__"
    batch = run.meta.get("batch_spec", {}).get("batch_id") or batch_id or f"conform-{suite.name}"
    return f"validations/{suite.schema}/{suite.table}/{name}/{stamp}/{batch}.html"


# -- persistence and docs -------------------------------------------------------------------------


def result_rows(result: SuiteResult) -> list[dict[str, Any]]:
    """The data_quality.check_results rows of one suite run (contract in notes/contracts.md)."""
    evaluated = result.evaluated_at.astimezone(UTC).replace(tzinfo=None)
    base = {
        "run_id": result.run_id,
        "evaluated_at": evaluated,
        "suite": result.suite.name,
        "asset": result.suite.relation,
        "check_name": result.suite.check_name,
    }
    if result.absent:
        return [
            {
                **base,
                "expectation": "table_absent",
                "severity": WARNING,
                "success": True,
                "element_count": 0,
                "unexpected_count": 0,
                "details": json.dumps({"notes": "optional table not loaded yet"}),
            }
        ]
    return [
        {
            **base,
            "expectation": o.expectation,
            "severity": o.severity,
            "success": o.success,
            "element_count": o.element_count,
            "unexpected_count": o.unexpected_count,
            "details": json.dumps(o.details, default=str, sort_keys=True),
        }
        for o in result.outcomes
    ]


def persist(results: Sequence[SuiteResult]) -> int:
    """Append the results to data_quality.check_results (created if missing)."""
    rows = [r for result in results for r in result_rows(result)]
    with connect(read_only=False) as wh:
        wh.ensure_results_table()
        wh.insert_results(rows)
    return len(rows)


def build_docs(context: Any, results: Sequence[SuiteResult], docs: Path | None = None) -> Path:
    """Render this run's pages and the index (which lists every suite in the store)."""
    root = docs or docs_dir()
    for result in results:  # the index lists what the store holds: prune it first
        _prune(root / "_store" / "validations", result.suite)
    context.build_data_docs(site_names=[SITE_NAME])
    for result in results:  # then the pages of the results no longer listed
        _prune(root / "validations", result.suite)
    index = root / "index.html"
    if not index.exists():
        raise RuntimeError(f"Great Expectations built no data docs index at {index}")
    return index


def _prune(base: Path, suite: Suite) -> None:
    """Keep the newest KEEP_RESULTS validation results (or pages) of a suite under `base`."""
    folder = base / suite.schema / suite.table
    if not folder.is_dir():
        return
    runs = sorted(
        (p for run_name in folder.iterdir() if run_name.is_dir() for p in run_name.iterdir()),
        key=lambda p: p.name,
    )
    for old in runs[:-KEEP_RESULTS]:
        shutil.rmtree(old, ignore_errors=True)


def run_suites(
    suites: Iterable[Suite], *, save: bool = True, docs: bool = True
) -> tuple[list[SuiteResult], Path | None]:
    """Validate the suites against the current warehouse, keep the results, build the docs."""
    suites = list(suites)
    context = make_context()
    with connect(read_only=True) as wh:
        results = [validate(suite, context, wh) for suite in suites]
    if save:
        persist(results)
    index = build_docs(context, results) if docs else None
    return results, index
