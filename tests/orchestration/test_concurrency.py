"""DuckDB takes one writer: with the project's dagster.yaml a second launch while a run is in
progress waits in the queue (it neither fails nor overlaps) and starts when the first ends; the
`warehouse` pool grants one step at a time."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from dagster._core.events import DagsterEvent, DagsterEventType
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRunStatus
from dagster._core.test_utils import create_run_for_test, create_test_daemon_workspace_context
from dagster._core.workspace.load_target import ModuleTarget
from dagster._daemon.run_coordinator.queued_run_coordinator_daemon import (
    QueuedRunCoordinatorDaemon,
)

from tests.orchestration.conftest import ROOT

JOB = "hourly_incremental"


def _instance(home: Path) -> dg.DagsterInstance:
    # the project's settings, plus a launcher that records launches instead of starting runs
    with (home / "dagster.yaml").open("a") as f:
        f.write("\nrun_launcher:\n  module: dagster._core.test_utils\n  class: MockedRunLauncher\n")
    return dg.DagsterInstance.from_config(str(home))


def test_the_instance_config_serialises_writing_runs(dagster_home: Path) -> None:
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        config = instance.get_concurrency_config()
        assert config.run_queue_config.max_concurrent_runs == 1
        assert config.pool_config.default_pool_limit == 1
    finally:
        instance.dispose()


@pytest.mark.timeout(180)
def test_a_second_launch_is_queued_until_the_first_ends(dagster_home: Path, dbt_manifest) -> None:
    instance = _instance(dagster_home)
    target = ModuleTarget(
        module_name="orchestration.definitions",
        attribute=None,
        working_directory=str(ROOT),
        location_name="conform",
    )
    try:
        with create_test_daemon_workspace_context(target, instance) as workspace:
            entry = next(
                iter(workspace.create_request_context().get_code_location_entries().values())
            )
            assert entry.code_location, entry.load_error
            repo = next(iter(entry.code_location.get_repositories().values()))
            job = repo.get_full_job(JOB)

            runs = []
            for _ in range(2):  # two launches, back to back
                run = create_run_for_test(
                    instance,
                    job_name=JOB,
                    status=DagsterRunStatus.NOT_STARTED,
                    remote_job_origin=job.get_remote_origin(),
                    job_code_origin=job.get_python_origin(),
                )
                instance.submit_run(run.run_id, workspace.create_request_context())
                runs.append(run.run_id)
            assert [instance.get_run_by_id(r).status for r in runs] == [DagsterRunStatus.QUEUED] * 2

            daemon = QueuedRunCoordinatorDaemon(interval_seconds=1)
            for _ in range(2):  # the queue is looked at twice: still one run at a time
                list(daemon.run_iteration(workspace))
                launched = instance.run_launcher.queue()
                assert [r.run_id for r in launched] == runs[:1]
            assert instance.get_run_by_id(runs[1]).status == DagsterRunStatus.QUEUED

            instance.report_dagster_event(
                DagsterEvent(
                    event_type_value=DagsterEventType.RUN_SUCCESS.value,
                    job_name=JOB,
                    message="first run done",
                ),
                run_id=runs[0],
            )
            list(daemon.run_iteration(workspace))
            assert [r.run_id for r in instance.run_launcher.queue()] == runs
    finally:
        instance.dispose()


def test_the_warehouse_pool_grants_one_step_at_a_time(dagster_home: Path, defs) -> None:
    # every asset that reads or writes the live warehouse is in the pool; the report reads
    # only the published BI copy (swapped atomically), so it needs no slot
    for assets_def in defs.resolve_asset_graph().assets_defs:
        if assets_def.is_executable and assets_def.node_def.name != "executive_report":
            assert assets_def.node_def.pools == {"warehouse"}, assets_def.node_def.name
    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        run_a, run_b = (create_run_for_test(instance, job_name=JOB) for _ in range(2))
        with (
            InstanceConcurrencyContext(instance, run_a) as a,
            InstanceConcurrencyContext(instance, run_b) as b,
        ):
            assert a.claim("warehouse", "dlt_psa")
            assert not b.claim("warehouse", "dbt_conformed_model")  # waits for the slot
            a.free_step("dlt_psa")  # the first step ends: the waiting step gets the slot
            status = instance.event_log_storage.check_concurrency_claim(
                "warehouse", run_b.run_id, "dbt_conformed_model"
            )
            assert status.is_assigned
    finally:
        instance.dispose()
