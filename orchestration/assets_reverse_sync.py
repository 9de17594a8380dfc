"""The reverse sync (package ``reverse_sync/``, what `conform sync` runs) as one Dagster asset.

It reads the ``sync_*`` dbt models (what each target record should hold) and writes the
``reverse_sync.*`` tables (ledger, dead letters, audit log, runs) while it writes to the source
systems. It also depends on the marts the data-quality checks guard (``dim_customer``,
``dim_project``, ``fct_invoice``, ``fct_payment``): a failed blocking check on one of them stops
it in the same run, and ``reverse_sync`` itself refuses to push while
``data_quality.check_results`` shows a blocking failure.
"""

import json
from pathlib import Path

import dagster as dg

from orchestration.assets_dlt import WAREHOUSE_POOL

GROUP = "reverse_sync"
OWNER = "team:data-platform"
GUARDED_MARTS = ("dim_customer", "dim_project", "fct_invoice", "fct_payment")
TABLES = {
    "sync_ledger": "What was last confirmed per target record and field, and the write-ahead "
    "intents of writes in flight.",
    "sync_dead_letters": "Writes that still failed after the retries, with the error body; "
    "retried by the next sync and resolved when they succeed.",
    "sync_audit_log": "Every write and every confirmation by read-back: who, what, when, "
    "before, after, response status.",
    "sync_runs": "One row per sync run with its counts.",
}
# the systems' APIs are retried per request (429/5xx, Retry-After); a step that still fails
# (a system down for minutes) is retried by Dagster with back-off; a refusal is not retried
SYNC_RETRY = dg.RetryPolicy(
    max_retries=2, delay=60, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


def _upstream_keys(manifest_path: Path) -> list[dg.AssetKey]:
    """The sync_* models and the guarded marts, as dbt asset keys [schema, name]."""
    manifest = json.loads(manifest_path.read_text())
    keys = []
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        schema, name = node.get("schema"), node.get("name", "")
        if (schema == "sync" and name.startswith("sync_")) or (
            schema == "marts" and name in GUARDED_MARTS
        ):
            keys.append(dg.AssetKey([schema, name]))
    return sorted(keys, key=lambda k: k.path)


def build_reverse_sync(
    manifest_path: Path, gate: dg.AssetKey | None = None
) -> list[dg.AssetsDefinition]:
    deps = _upstream_keys(manifest_path)
    if not any(k.path[0] == "sync" for k in deps):
        return []  # a dbt project without the sync models
    if gate is not None:  # the data-quality gate (orchestration/assets_quality_gate.py)
        deps = [*deps, gate]
    specs = [
        dg.AssetSpec(
            key=dg.AssetKey(["reverse_sync", table]),
            deps=deps,
            group_name=GROUP,
            description=description + "\n\nWritten by the reverse sync (`reverse_sync/`): "
            "canonical IDs, ERP codes and invoice status pushed back to every system.",
            owners=[OWNER],
            kinds={"python", "duckdb"},
            tags={"conform/layer": GROUP},
        )
        for table, description in TABLES.items()
    ]

    @dg.multi_asset(
        name="reverse_sync",
        specs=specs,
        pool=WAREHOUSE_POOL,
        retry_policy=SYNC_RETRY,
        description="Push canonical IDs, ERP financial codes and invoice and payment status to "
        "Salesforce, Kantata, NetSuite, Dynamics and Stripe: only what changed, exactly once "
        "in effect.",
    )
    def reverse_sync(context: dg.AssetExecutionContext):
        from reverse_sync.sync import SyncError, SyncRefused, run_sync

        try:
            report = run_sync(progress=context.log.info)
        except SyncRefused as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc
        except SyncError as exc:
            raise dg.Failure(str(exc), allow_retries=False) from exc
        summary: dict[str, int | str] = {"run_id": report.run_id}
        for system, counts in report.systems.items():
            for name in ("sent", "already_in_target", "unchanged", "failed", "dead_lettered"):
                summary[f"{system}_{name}"] = getattr(counts, name)
            context.log.info(
                f"sync: {system}: {counts.sent} sent, {counts.already_in_target} already in "
                f"target, {counts.unchanged} unchanged, {counts.failed} failed, "
                f"{counts.dead_lettered} dead-lettered"
            )
        errors = [e for c in report.systems.values() for e in c.errors]
        if errors:
            # a connection that cannot be reached or signed in to: retried by the policy
            raise dg.Failure("; ".join(errors), metadata=summary)
        # record failures are dead letters (retried by the next run), not a failed step
        for spec in specs:
            yield dg.MaterializeResult(asset_key=spec.key, metadata=summary)

    return [reverse_sync]
