"""Great Expectations suites (``expectations/``) as Dagster asset checks.

One check per suite, named ``great_expectations``, on the asset the suite validates: the dlt
assets ``[raw_<system>, <table>]`` and the dbt marts ``[marts, <model>]``. A check is
``blocking`` when its suite holds a blocking expectation; its result is

- red (severity ERROR) when a blocking expectation failed: Dagster then skips, in that run, the
  steps that consume the checked asset (the reverse sync, the report) — except a step that itself
  carries checks on that asset (see the README: dbt, whose source tests are checks on the raw
  assets, is not held back by a raw-table check);
- yellow (WARN) when only warnings failed; green otherwise.

Metadata: rows, expectations evaluated and failed, the failed expectations with their observed
and unexpected values, the data docs page, and for the marts the business figures
(``expectations.observability``). Every outcome is also written to
``data_quality.check_results``, which the reverse sync and the report read.

The raw checks run one step per source system, the mart checks one step per mart (each in the
``warehouse`` pool: DuckDB takes one writer, and the results are written to the warehouse).
"""

from collections.abc import Iterator, Sequence
from typing import Any

import dagster as dg

from expectations.runner import SuiteResult, docs_dir, run_suites
from expectations.spec import Suite
from expectations.suites import MARTS, RAW
from orchestration.assets_dlt import WAREHOUSE_POOL

CHECK_NAME = "great_expectations"
MAX_LISTED = 20  # failed expectations listed in the metadata


def _description(suite: Suite) -> str:
    expectations = suite.all_expectations()
    blocking = sum(e.severity == "blocking" for e in expectations)
    return (
        f"Great Expectations suite `{suite.name}`: {len(expectations)} expectations "
        f"({blocking} blocking, {len(expectations) - blocking} warning). "
        f"{suite.description}".strip()
    )


def _spec(suite: Suite) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        name=CHECK_NAME,
        asset=dg.AssetKey(list(suite.dagster_key)),
        description=_description(suite),
        blocking=suite.has_blocking,
        metadata={"suite": suite.name},
    )


def check_result(result: SuiteResult, figures: dict[str, Any] | None = None) -> dg.AssetCheckResult:
    """The Dagster result of one suite run."""
    suite = result.suite
    failed = [o for o in result.outcomes if not o.success]
    listed = [
        {
            "expectation": o.expectation,
            "severity": o.severity,
            "unexpected_count": o.unexpected_count,
            "element_count": o.element_count,
            **{
                k: v
                for k, v in o.details.items()
                if k in ("observed_value", "partial_unexpected_counts", "exception")
            },
        }
        for o in sorted(failed, key=lambda o: (o.severity != "blocking", o.expectation))
    ][:MAX_LISTED]
    metadata: dict[str, Any] = {
        "suite": suite.name,
        "status": result.status,
        "rows": dg.MetadataValue.int(result.row_count),
        "expectations": dg.MetadataValue.int(len(result.outcomes)),
        "failed_blocking": dg.MetadataValue.int(len(result.blocking_failures)),
        "failed_warning": dg.MetadataValue.int(len(result.warning_failures)),
        "failed_expectations": dg.MetadataValue.json(listed),
        "run_id": result.run_id,
    }
    root = docs_dir()
    page = root / result.docs_page if result.docs_page else root / "index.html"
    if not page.exists():
        page = root / "index.html"
    metadata["data_docs"] = dg.MetadataValue.url(page.as_uri())
    metadata["data_docs_path"] = dg.MetadataValue.path(str(page))
    if result.absent:
        metadata["note"] = "optional table not loaded yet: nothing to validate"
    for name, value in (figures or {}).items():
        metadata[f"business/{name}"] = value
    severity = (
        dg.AssetCheckSeverity.ERROR if result.blocking_failures else dg.AssetCheckSeverity.WARN
    )
    summary = (
        f"{len(result.blocking_failures)} blocking and {len(result.warning_failures)} warning "
        f"expectation(s) failed of {len(result.outcomes)}"
    )
    return dg.AssetCheckResult(
        asset_key=dg.AssetKey(list(suite.dagster_key)),
        check_name=CHECK_NAME,
        passed=result.success,
        severity=severity,
        metadata=metadata,
        description=summary if failed else f"all {len(result.outcomes)} expectations met",
    )


def build_suite_checks(
    name: str, suites: Sequence[Suite], description: str
) -> dg.AssetChecksDefinition:
    """One step validating `suites` (those selected in the run)."""
    by_key = {dg.AssetKey(list(s.dagster_key)): s for s in suites}

    @dg.multi_asset_check(
        name=name,
        specs=[_spec(s) for s in suites],
        can_subset=True,
        pool=WAREHOUSE_POOL,
        description=description,
    )
    def _checks(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        selected = [by_key[k.asset_key] for k in context.selected_asset_check_keys]
        results, index = run_suites(selected)
        context.log.info(f"data docs: {index}")
        figures = _business_figures(selected)
        for result in results:
            context.log.info(f"{result.suite.name}: {result.status}")
            yield check_result(result, figures.get(result.suite.name))

    return _checks


def _business_figures(suites: Sequence[Suite]) -> dict[str, dict[str, Any]]:
    from expectations.observability import QUERIES, figures
    from expectations.warehouse import connect

    wanted = [s.name for s in suites if s.name in QUERIES]
    if not wanted:
        return {}
    with connect(read_only=True) as wh:
        return {name: figures(wh, name) for name in wanted}


def build_expectation_checks() -> list[dg.AssetChecksDefinition]:
    checks = [
        build_suite_checks(
            f"expectations_raw_{system}",
            suites,
            f"Great Expectations suites on raw_{system} (one check per table).",
        )
        for system, suites in RAW.items()
    ]
    checks += [
        build_suite_checks(
            f"expectations_{suite.schema}_{suite.table}",
            [suite],
            f"Great Expectations suite on {suite.name}.",
        )
        for suite in MARTS
    ]
    return checks
