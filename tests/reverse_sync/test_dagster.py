"""The reverse sync in the Dagster graph: downstream of the sync models and of the marts the
data-quality checks guard, in the writers' pool, retried with back-off."""

from __future__ import annotations

import dagster as dg

from orchestration.assets_dlt import WAREHOUSE_POOL
from reverse_sync.ownership import TARGETS

TABLES = {"sync_ledger", "sync_dead_letters", "sync_audit_log", "sync_runs"}


def test_reverse_sync_asset_sits_below_the_sync_models_and_guarded_marts(defs) -> None:
    graph = defs.resolve_asset_graph()
    keys = {dg.AssetKey(["reverse_sync", t]) for t in TABLES}
    assert keys <= graph.materializable_asset_keys
    expected = {dg.AssetKey(["sync", t.model]) for t in TARGETS} | {
        dg.AssetKey(["marts", m])
        for m in ("dim_customer", "dim_project", "fct_invoice", "fct_payment")
    }
    for key in keys:
        node = graph.get(key)
        assert node.group_name == "reverse_sync"
        assert expected <= set(node.parent_keys), expected - set(node.parent_keys)
    for model in expected:
        if model.path[0] == "sync":
            assert graph.get(model).group_name == "reverse_sync", model
    (assets_def,) = {graph.get(k).assets_def for k in keys}
    assert assets_def.node_def.pool == WAREHOUSE_POOL
    policy = assets_def.node_def.retry_policy
    assert policy and policy.max_retries >= 1 and policy.backoff == dg.Backoff.EXPONENTIAL
