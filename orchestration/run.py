"""`conform run`: the Dagster asset graph executed once, in this process, without the UI.

The same jobs the schedules launch (``hourly_incremental``, or ``nightly_full_reconciliation``
with ``--full-refresh``), so what `make demo` does is what production does: ingestion, dbt,
the customer master, data-quality checks, reverse sync and the report, in dependency order,
stopping downstream of a failed blocking check. Progress is printed one line per step.

With ``DAGSTER_HOME`` set, the run is recorded in that instance (it then shows in the UI);
otherwise an ephemeral instance is used.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from ingestion.common import SYSTEMS, warehouse_path

INCREMENTAL_JOB = "hourly_incremental"
FULL_REFRESH_JOB = "nightly_full_reconciliation"


@dataclass
class RunSummary:
    success: bool
    seconds: float
    materialized: int = 0
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    evaluated: set[dg.AssetCheckKey] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class _ProgressHandler(logging.Handler):
    """Turns Dagster's structured events into one line per step for a terminal."""

    def __init__(self, write: Callable[[str], None]):
        super().__init__()
        self.write = write
        self.started: dict[str, float] = {}
        self.assets: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta: dict[str, Any] = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            return
        kind, step = event.event_type_value, event.step_key
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            self.assets[step] = 0
            self.write(f"  → {step}")
        elif kind == "ASSET_MATERIALIZATION":
            self.assets[step] = self.assets.get(step, 0) + 1
        elif kind == "STEP_SUCCESS":
            took = time.monotonic() - self.started.get(step, time.monotonic())
            self.write(f"  ✓ {step}: {self.assets.get(step, 0)} asset(s) in {took:.0f}s")
        elif kind == "STEP_FAILURE":
            error = event.event_specific_data.error
            message = (error.message if error else "failed").strip().splitlines()
            self.write(f"  ✗ {step}: {message[0] if message else 'failed'}")
        elif kind == "STEP_SKIPPED":
            self.write(f"  - {step}: skipped (an upstream step or blocking check failed)")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                severity = evaluation.severity.value.lower()
                self.write(f"  ! check {evaluation.asset_check_key.to_user_string()} ({severity})")


def progress_logger(write: Callable[[str], None]) -> dg.LoggerDefinition:
    @dg.logger(description="One line per step on the terminal (conform run).")
    def conform_progress(_: Any) -> logging.Logger:
        log = logging.Logger("conform_progress", level=logging.DEBUG)
        log.addHandler(_ProgressHandler(write))
        return log

    return conform_progress


def run_log_path() -> Path:
    folder = warehouse_path().resolve().parent / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"run-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.log"


def _instance() -> dg.DagsterInstance:
    return (
        dg.DagsterInstance.get()
        if os.environ.get("DAGSTER_HOME")
        else (dg.DagsterInstance.ephemeral())
    )


def run_graph(
    select: str | None = None,
    full_refresh: bool = False,
    write: Callable[[str], None] | None = None,
) -> RunSummary:
    """Execute the job (optionally a selection of it, in Dagster's selection syntax, e.g.
    ``group:source_psa+`` or ``key:marts/fct_invoice``) and summarise what happened."""
    from orchestration import definitions

    defs = definitions.defs

    if write is None:
        terminal = sys.stdout  # bound now: stdout is redirected to the log file during the run

        def write(line: str) -> None:
            terminal.write(line + "\n")
            terminal.flush()

    started = time.monotonic()
    job_name = FULL_REFRESH_JOB if full_refresh else INCREMENTAL_JOB
    job = getattr(definitions, job_name)  # the job as defined (schedules launch it)
    keys = None
    if select:
        selection = dg.AssetSelection.from_string(select)
        keys = sorted(selection.resolve(defs.resolve_asset_graph()), key=str)
        if not keys:
            raise ValueError(f"--select {select!r} matches no asset")
        write(f"run: {len(keys)} asset(s) selected by {select!r}")
    run_config: dict[str, Any] = {
        "loggers": {"conform_progress": {}},
    }
    if full_refresh:  # the dlt ops of the selected systems forget their incremental state
        chosen = {key.path[0] for key in keys} if keys else None
        run_config["ops"] = {
            f"dlt_{system}": {"config": {"full_refresh": True}}
            for system in SYSTEMS
            if chosen is None or f"raw_{system}" in chosen
        }
    job = dg.Definitions(
        assets=list(defs.assets or []),
        asset_checks=list(defs.asset_checks or []),
        jobs=[job],
        resources=dict(defs.resources or {}),
        loggers={"conform_progress": progress_logger(write)},
        executor=dg.in_process_executor,
    ).resolve_job_def(job_name)
    log_file = run_log_path()
    write(f"run: job {job_name} (full log: {log_file})")
    # dbt and dlt write their own progress to stdout: keep it in the log file, the terminal
    # gets one line per step
    with open(log_file, "w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
        result = job.execute_in_process(
            instance=_instance(),
            run_config=run_config,
            asset_selection=keys,
            raise_on_error=False,
            tags={"conform/trigger": "cli"},
        )
    summary = RunSummary(success=result.success, seconds=time.monotonic() - started)
    for event in result.all_events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            summary.materialized += 1
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            summary.evaluated.add(evaluation.asset_check_key)
            if evaluation.passed:
                summary.checks_passed += 1
            else:
                summary.checks_failed.append(evaluation.asset_check_key.to_user_string())
        elif event.is_step_failure:
            error = event.event_specific_data.error
            summary.failures.append(f"{event.step_key}: {error.message.strip() if error else ''}")
        elif event.event_type_value == "STEP_SKIPPED":
            summary.skipped.append(event.step_key or "")
    return summary


def main_run(select: str | None, full_refresh: bool) -> int:
    try:
        summary = run_graph(select, full_refresh)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"run: {'succeeded' if summary.success else 'FAILED'} in {summary.seconds:.0f}s — "
        f"{summary.materialized} materialization(s), {summary.checks_passed} check(s) passed, "
        f"{len(summary.checks_failed)} failed"
        + (f", {len(summary.skipped)} step(s) skipped" if summary.skipped else "")
    )
    for failure in summary.failures:
        print(f"error: {failure.splitlines()[0] if failure else failure}", file=sys.stderr)
    return 0 if summary.success else 1
