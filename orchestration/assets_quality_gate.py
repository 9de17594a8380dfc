"""The data-quality gate between the checked data and everything that acts on it.

Dagster holds a step back when a *blocking* check failed on an asset it consumes, unless the
step itself carries checks on that asset: dbt carries the source tests of every raw table, so a
red Great Expectations check on a raw table does not stop ``dbt build``. The gate consumes every
asset a blocking suite guards (raw tables and marts) and carries no check itself, so it runs only
after those checks and only when they passed; the reverse sync and the BI copy (and with it the
executive report) depend on it. Across runs it also reads ``data_quality.check_results``: a
blocking failure recorded by an earlier run that has not been re-validated since keeps the gate
closed (a sensor-launched run of one system cannot open it for the others).
"""

import dagster as dg

from expectations.suites import all_suites
from orchestration.assets_dlt import WAREHOUSE_POOL

GATE_KEY = dg.AssetKey(["data_quality", "quality_gate"])


def guarded_keys() -> list[dg.AssetKey]:
    """The assets with a blocking Great Expectations suite."""
    return sorted(
        {dg.AssetKey(list(s.dagster_key)) for s in all_suites() if s.has_blocking},
        key=lambda k: k.path,
    )


def build_quality_gate() -> dg.AssetsDefinition:
    @dg.asset(
        key=GATE_KEY,
        deps=guarded_keys(),
        group_name="governance",
        kinds={"great_expectations"},
        owners=["team:data-stewards"],
        tags={"conform/layer": "governance"},
        pool=WAREHOUSE_POOL,
        description="Open only when no blocking data-quality check is failing (this run's "
        "checks, and the latest recorded result of every suite): nothing wrong is pushed back "
        "to the systems or shown to executives. Downstream: reverse_sync, bi_warehouse.",
    )
    def quality_gate(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        from reverse_sync.warehouse import blocking_failures, connect

        with connect(read_only=True) as db:
            failures = blocking_failures(db)
        if failures:
            listed = sorted({f"{f['suite']}: {f['expectation']}" for f in failures})
            raise dg.Failure(
                f"quality gate closed: {len(failures)} blocking expectation(s) failing",
                metadata={"failing": dg.MetadataValue.json(listed[:50])},
                allow_retries=False,
            )
        context.log.info("quality gate open: no blocking expectation failing")
        return dg.MaterializeResult(metadata={"blocking_failures": 0})

    return quality_gate
