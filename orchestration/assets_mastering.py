"""The customer-master step (package ``mastering/``, what `conform master` runs) as assets.

It reads ``intermediate.int_customer_records`` and the steward decisions seed (both dbt assets)
and writes the ``mastering.*`` tables, which the dbt project declares as the source
``mastering``: so the asset keys here are the dbt source keys ``[mastering, <table>]`` and the
customer marts (``dim_customer``, ``customer_xref``, ...) hang below it in one graph. Dagster runs
the dbt project in two steps around it within one run.
"""

import json
from pathlib import Path

import dagster as dg

from orchestration.assets_dlt import WAREHOUSE_POOL

OWNER = "team:data-stewards"


def _mastering_tables(manifest_path: Path) -> dict[str, str]:
    """{table: description} of the dbt source `mastering` (empty if the project has none)."""
    manifest = json.loads(manifest_path.read_text())
    return {
        s["name"]: s.get("description") or ""
        for s in manifest.get("sources", {}).values()
        if s.get("source_name") == "mastering"
    }


def _upstream_keys(manifest_path: Path, relations: list[str]) -> list[dg.AssetKey]:
    """The dbt asset keys of `schema.name` relations the step reads (model or seed)."""
    manifest = json.loads(manifest_path.read_text())
    wanted = {tuple(r.split(".")) for r in relations}
    keys = []
    for node in manifest.get("nodes", {}).values():
        if (
            node.get("resource_type") in ("model", "seed")
            and (node.get("schema"), node.get("name")) in wanted
        ):
            keys.append(dg.AssetKey([node["schema"], node["name"]]))
    return keys


def build_customer_master(manifest_path: Path) -> list[dg.AssetsDefinition]:
    tables = _mastering_tables(manifest_path)
    if not tables:
        return []
    from mastering.warehouse import DECISIONS_RELATION, RECORDS_RELATION

    deps = _upstream_keys(manifest_path, [RECORDS_RELATION, DECISIONS_RELATION])
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey(["mastering", table]),
            deps=deps,
            group_name="mastering",
            description=(description or f"mastering.{table}") + "\n\nWritten by the customer "
            "master (`mastering/`): matching of every client record into stable canonical IDs.",
            owners=[OWNER],
            kinds={"python", "duckdb"},
            tags={"conform/layer": "mastering"},
            automation_condition=dg.AutomationCondition.eager(),
        )
        for table, description in sorted(tables.items())
    ]

    @dg.multi_asset(
        name="customer_master",
        specs=specs,
        pool=WAREHOUSE_POOL,
        description="Match client records across systems into canonical customers.",
    )
    def customer_master(context: dg.AssetExecutionContext):
        from mastering.master import run_master

        report = run_master()
        context.log.info(
            f"master: {report.records:,} client records -> {report.customers:,} customers "
            f"({report.created} new, {report.merged} merged, {report.split} split); "
            f"{report.review_pairs} pair(s) for steward review"
        )
        summary = {k: v for k, v in vars(report).items()}
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata=summary)

    return [customer_master]
