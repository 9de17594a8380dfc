"""Run the sources: every configured connection of every system, one dlt pipeline each, and
keep what each run did (rows, requests, throttles, failures, duration) as data in the
warehouse (``raw_<system>._ingestion_runs`` beside dlt's own ``_dlt_loads``)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from dlt.pipeline.exceptions import PipelineStepFailed

from ingestion.common import (
    SYSTEMS,
    IngestionError,
    Metrics,
    connection_names,
    pipeline,
)

RUNS_TABLE = "_ingestion_runs"


@dataclass
class RunReport:
    system: str
    connection: str
    started_at: str
    duration_s: float = 0.0
    status: str = "ok"
    error: str = ""
    rows: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    throttled: int = 0
    server_errors: int = 0
    auth_renewals: int = 0
    load_id: str = ""

    @property
    def rows_loaded(self) -> int:
        return sum(n for t, n in self.rows.items() if not t.startswith("_dlt"))

    def as_row(self) -> dict[str, Any]:
        row = asdict(self)
        row["rows"] = {k: v for k, v in self.rows.items() if not k.startswith("_dlt")}
        row["rows_loaded"] = self.rows_loaded
        return row


def source_module(system: str) -> Any:
    if system not in SYSTEMS:
        raise IngestionError(f"unknown source {system!r}; known: {', '.join(SYSTEMS)}")
    return importlib.import_module(f"ingestion.{system}")


def root_cause(exc: BaseException) -> BaseException:
    """dlt wraps a source's exception in PipelineStepFailed (and more); find the first
    IngestionError in the chain, or the innermost exception."""
    seen: set[int] = set()
    current: BaseException | None = exc
    last = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, IngestionError):
            return current
        last = current
        current = current.__cause__ or current.__context__
    return last


def run_connection(system: str, connection: str, full_refresh: bool = False) -> RunReport:
    module = source_module(system)
    report = RunReport(system, connection, datetime.now(UTC).isoformat())
    metrics = Metrics()
    started = time.monotonic()
    p = None
    try:
        settings = module.settings_for(connection)
        p = pipeline(system, connection)
        source = module.source(connection, settings, metrics=metrics)
        if full_refresh:
            forget_incremental_state(p, source.name)
        info = p.run(source)
        report.load_id = ",".join(info.loads_ids)
        normalize = p.last_trace.last_normalize_info if p.last_trace else None
        if normalize is not None:
            report.rows = dict(normalize.row_counts)
    except (PipelineStepFailed, IngestionError, OSError, ValueError) as exc:
        cause = root_cause(exc)
        report.status = "failed"
        report.error = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
        if not isinstance(cause, IngestionError):
            report.error = f"{type(cause).__name__}: {report.error}"
    report.duration_s = round(time.monotonic() - started, 3)
    for key, value in metrics.as_dict().items():
        setattr(report, key, value)
    if p is not None:
        _record(p, report)
    return report


def forget_incremental_state(p: Any, source_name: str) -> None:
    """A full refresh re-reads every record of this connection and upserts it. It does not
    drop tables (dlt's refresh modes would): several connections share a system's tables, and
    dropping them for one would lose the others' rows."""
    p.sync_destination()
    with p.managed_state(extract_state=True) as state:
        state.get("sources", {}).pop(source_name, None)
    # store the forgotten state now, so the run that follows extracts from the start
    p.normalize()
    p.load()


def _record(p: Any, report: RunReport) -> None:
    """Keep the run's figures in the warehouse, even when the run failed."""
    try:
        p.run([report.as_row()], table_name=RUNS_TABLE, write_disposition="append")
    except Exception as exc:  # noqa: BLE001 - losing the metrics row must not hide the run's result
        report.error = (report.error + f" (metrics not recorded: {exc})").strip()


def ingest(
    systems: Iterable[str] | None = None,
    full_refresh: bool = False,
    progress: Callable[[str], None] = print,
) -> list[RunReport]:
    """Load the given systems (default: every system that has connections configured)."""
    explicit = systems is not None
    reports = []
    for system in systems or SYSTEMS:
        source_module(system)
        names = connection_names(system)
        if not names:
            if explicit:
                reports.append(
                    RunReport(
                        system,
                        "",
                        datetime.now(UTC).isoformat(),
                        status="failed",
                        error=f"no connections configured for {system} "
                        f"(sources.{system}.connections)",
                    )
                )
            else:
                progress(f"{system}: not configured")
            continue
        for connection in names:
            progress(f"{system}/{connection}: loading ...")
            report = run_connection(system, connection, full_refresh)
            if report.status == "ok":
                progress(
                    f"{system}/{connection}: {report.rows_loaded:,} rows in "
                    f"{report.duration_s:.1f}s ({report.requests} requests, "
                    f"{report.throttled} throttled, {report.server_errors} server errors "
                    "retried)"
                )
            else:
                progress(f"{system}/{connection}: FAILED: {report.error}")
            reports.append(report)
    if not reports:
        raise IngestionError(
            "no source system is configured: see `sources.<system>` in "
            ".dlt/config.toml, or pass --connections FILE"
        )
    return reports
