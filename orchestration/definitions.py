"""The Dagster code location: the whole platform as one asset graph.

    source systems ──dlt assets [raw_<system>, <table>]──▶ dbt sources ──▶ staging
        ──▶ intermediate ──▶ marts (core, finance, operations, governance, ...)

- dlt assets (``assets_dlt.py``): one multi-asset per source system, group ``source_<system>``,
  retries with exponential back-off, pool ``warehouse``.
- dbt assets (``assets_dbt.py``): every model/seed/snapshot from the manifest, dbt tests as asset
  checks, groups by layer, ``dbt build``, pool ``warehouse``, eager declarative automation.
- jobs: ``hourly_incremental`` (everything, incremental) and ``nightly_full_reconciliation``
  (ingestion with a full refresh, then ``dbt build``), each on a schedule and launchable from the
  CLI: ``dagster job execute -m orchestration.definitions -j hourly_incremental``.
- the customer master (``assets_mastering.py``): the ``mastering`` step between the dbt
  intermediate layer and the customer marts.
- sensor ``source_change_sensor`` (``sensors.py``): loads only the system that changed.

DuckDB accepts one writer: every writing asset is in the ``warehouse`` pool, the instance
(``orchestration/dagster.yaml``) runs one run at a time and one step per pool, and a
run executes one step at a time. A second launch waits in the queue.

Connections come from dlt config/secrets or ``CONFORM_CONNECTIONS_FILE``; with none configured
the definitions still load (the assets then fail with a clear message when run).
"""

from __future__ import annotations

import dagster as dg

from ingestion.common import SYSTEMS
from orchestration.assets_dbt import conformed_model, dbt_project, dbt_resource
from orchestration.assets_dlt import (
    all_dlt_assets,
    apply_connections_file,
    configured_connections,
    dlt_resource,
)
from orchestration.assets_expectations import build_expectation_checks
from orchestration.assets_mastering import build_customer_master
from orchestration.assets_quality_gate import GATE_KEY, build_quality_gate
from orchestration.assets_reports import build_report_assets
from orchestration.assets_reverse_sync import build_reverse_sync
from orchestration.sensors import source_change_sensor

apply_connections_file()

dlt_assets_by_system = all_dlt_assets()
customer_master_assets = build_customer_master(dbt_project.manifest_path)
quality_gate = build_quality_gate()
report_assets = build_report_assets(dbt_project.manifest_path, gate=GATE_KEY)
reverse_sync_assets = build_reverse_sync(dbt_project.manifest_path, gate=GATE_KEY)

all_assets = dg.AssetSelection.all()

hourly_incremental = dg.define_asset_job(
    name="hourly_incremental",
    selection=all_assets,
    description="Incremental ingestion of every source system (dlt cursors), then `dbt build`: "
    "near-real-time time approvals, invoice postings and payment updates.",
    tags={"conform/kind": "incremental"},
)

nightly_full_reconciliation = dg.define_asset_job(
    name="nightly_full_reconciliation",
    selection=all_assets,
    description="Full reconciliation: every source reloaded from scratch (incremental state "
    "dropped), then `dbt build` of the whole model and its tests.",
    config={"ops": {f"dlt_{system}": {"config": {"full_refresh": True}} for system in SYSTEMS}},
    tags={"conform/kind": "full_reconciliation"},
)

# schedules run by default only where sources are configured (a UI opened without any source
# would otherwise fail a run every hour); start them in the UI otherwise
_schedule_status = (
    dg.DefaultScheduleStatus.RUNNING
    if configured_connections()
    else dg.DefaultScheduleStatus.STOPPED
)

hourly_schedule = dg.ScheduleDefinition(
    name="hourly_incremental_schedule",
    job=hourly_incremental,
    cron_schedule="0 * * * *",
    default_status=_schedule_status,
    description="Every hour, on the hour.",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_full_reconciliation_schedule",
    job=nightly_full_reconciliation,
    cron_schedule="30 2 * * *",
    default_status=_schedule_status,
    description="Every night at 02:30.",
)

defs = dg.Definitions(
    assets=[
        *dlt_assets_by_system,
        conformed_model,
        *customer_master_assets,
        quality_gate,
        *reverse_sync_assets,
        *report_assets,
    ],
    asset_checks=build_expectation_checks(),
    jobs=[hourly_incremental, nightly_full_reconciliation],
    schedules=[hourly_schedule, nightly_schedule],
    sensors=[source_change_sensor],
    resources={"dlt": dlt_resource, "dbt": dbt_resource},
    # one step at a time inside a run as well: DuckDB takes one writer
    executor=dg.multiprocess_executor.configured({"max_concurrent": 1}),
)
