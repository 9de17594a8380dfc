"""One reverse-sync run: plan from the ``sync.*`` models against the ledger, then write.

1. Refuse (``SyncRefused``) when ``data_quality.check_results`` shows a latest blocking failure.
2. Plan: each sync model row is one target record; its fields (the allowlist of
   ``ownership.py``) whose desired value is not confirmed in the ledger are to be written. A
   re-run with nothing changed plans nothing and sends nothing.
3. Per system connection, per batch: write-ahead intents -> read what the target holds ->
   fields it already holds are confirmed without a write (this also resolves intents a crash
   left pending) -> the rest is written -> confirmations, failures (dead letters) and the audit
   rows are settled in one transaction.
4. Open dead letters are retried by the plan itself (their fields are not confirmed); they are
   resolved once the record's desired state is confirmed, or when the record is no longer a
   sync target.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingestion.common import IngestionError, Metrics
from reverse_sync.ledger import Failure, Ledger, Planned, RecordKey, canonical, now
from reverse_sync.ownership import SYSTEMS, OwnershipError, Target, check_fields, targets_for
from reverse_sync.warehouse import blocking_failures, connect, read_model
from reverse_sync.writer import NOT_FOUND, Change, Outcome, WriteError, Writer


class SyncError(RuntimeError):
    """A sync that cannot start: no warehouse, no sync models, bad configuration."""


class SyncRefused(SyncError):
    """A blocking data-quality check failed: nothing is pushed."""

    def __init__(self, failures: list[dict[str, Any]]):
        self.failures = failures
        lines = "; ".join(
            f"{f['suite']} {f['expectation']} ({f.get('unexpected_count') or 0} unexpected)"
            for f in failures[:10]
        )
        super().__init__(
            f"refusing to push: {len(failures)} blocking data-quality check(s) failed in "
            f"data_quality.check_results: {lines}"
        )


@dataclass
class SystemCounts:
    planned_records: int = 0
    planned_fields: Counter = field(default_factory=Counter)  # (object, api field) -> records
    unchanged: int = 0  # records whose desired state is all confirmed: nothing planned
    sent: int = 0  # records written
    already_in_target: int = 0  # records confirmed by reading the target, without a write
    failed: int = 0  # records whose write failed after the retries
    dead_lettered: int = 0  # dead letters opened (or reopened)
    dead_letters_retried: int = 0  # planned records that had an open dead letter
    dead_letters_resolved: int = 0
    errors: list[str] = field(default_factory=list)  # connection-level problems
    requests: dict[str, int] = field(default_factory=dict)


@dataclass
class SyncReport:
    run_id: str
    dry_run: bool
    systems: dict[str, SystemCounts]
    seconds: float = 0.0
    blocking: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(c.failed or c.errors for c in self.systems.values())

    def total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.systems.values())


def writer_for(system: str, connection: str, metrics: Metrics) -> Writer:
    from reverse_sync.dynamics import DynamicsWriter
    from reverse_sync.netsuite import NetSuiteWriter
    from reverse_sync.psa import PsaWriter
    from reverse_sync.salesforce import SalesforceWriter
    from reverse_sync.stripe import StripeWriter

    writers: dict[str, type[Writer]] = {
        "salesforce": SalesforceWriter,
        "psa": PsaWriter,
        "netsuite": NetSuiteWriter,
        "dynamics": DynamicsWriter,
        "stripe": StripeWriter,
    }
    return writers[system](connection, metrics)


# -- planning -------------------------------------------------------------------------------------


def plan_target(
    target: Target, rows: list[dict[str, Any]], ledger: dict[tuple[RecordKey, str], Any]
) -> list[Planned]:
    planned = []
    for row in rows:
        if row["target_system"] != target.system or row["target_object"] != target.object:
            raise OwnershipError(
                f"{target.model}: row for {row['target_system']}/{row['target_object']}, "
                f"expected {target.system}/{target.object}"
            )
        key = RecordKey(
            target.system, str(row["target_connection"]), target.object, str(row["target_id"])
        )
        desired = {
            f.column: value
            for f in target.fields
            if (value := canonical(row.get(f.column), f.kind)) is not None
        }
        entries = {c: ledger[(key, c)] for c in desired if (key, c) in ledger}
        changed = {
            c: v
            for c, v in desired.items()
            if not (
                c in entries
                and entries[c].status == "confirmed"
                and entries[c].confirmed_value == v
            )
        }
        planned.append(
            Planned(
                key=key,
                correlation_id=str(row["correlation_id"]),
                canonical_id=row.get("canonical_id"),
                desired=desired,
                changed=changed,
                entries=entries,
            )
        )
    return planned


def plan(systems: list[str]) -> tuple[list[tuple[Target, list[Planned]]], list[dict[str, Any]]]:
    """(target, its records) per sync model, and the current blocking check failures."""
    out = []
    with connect(read_only=True) as db:
        blocking = blocking_failures(db)
        has_ledger = db.exists("reverse_sync", "sync_ledger")
        ledger = Ledger.load(db, systems) if has_ledger else {}
        for target in targets_for(systems):
            rows = read_model(db, target.model)
            if rows is None:
                raise SyncError(
                    f"sync.{target.model} does not exist: build the sync models first "
                    "(`conform transform`, or `conform run`)"
                )
            out.append((target, plan_target(target, rows, ledger)))
    return out, blocking


# -- running --------------------------------------------------------------------------------------


def run_sync(
    systems: list[str] | None = None,
    dry_run: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> SyncReport:
    systems = list(systems or SYSTEMS)
    unknown = sorted(set(systems) - set(SYSTEMS))
    if unknown:
        raise SyncError(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(SYSTEMS)}")
    started = time.monotonic()
    run_id = str(uuid.uuid4())
    try:
        targets, blocking = plan(systems)
    except RuntimeError as exc:
        if isinstance(exc, SyncError | OwnershipError):
            raise
        raise SyncError(str(exc)) from exc
    report = SyncReport(run_id, dry_run, {s: SystemCounts() for s in systems}, blocking=blocking)
    with connect(read_only=True) as db:
        open_letters = (
            Ledger.open_dead_letters(db, systems)
            if db.exists("reverse_sync", "sync_dead_letters")
            else []
        )
    lettered = {
        RecordKey(r["target_system"], r["target_connection"], r["target_object"], r["target_id"])
        for r in open_letters
    }
    for target, planned in targets:
        counts = report.systems[target.system]
        for p in planned:
            if p.changed:
                counts.planned_records += 1
                counts.dead_letters_retried += p.key in lettered
                for column in p.changed:
                    counts.planned_fields[(target.object, target.field(column).api_field)] += 1
            else:
                counts.unchanged += 1
    if dry_run:
        report.seconds = time.monotonic() - started
        return report
    if blocking:
        _record_run(report, started, "refused", str(SyncRefused(blocking)))
        raise SyncRefused(blocking)

    api_fields = {
        (t.system, t.object): {f.column: f.api_field for f in t.fields} for t in targets_for()
    }
    ledger = Ledger(run_id, api_fields)
    with connect() as db:
        db.ensure_tables()
    _record_run(report, started, "running", None)
    status, error = "ok", None
    try:
        for system in systems:
            _sync_system(
                system, [t for t in targets if t[0].system == system], ledger, report, progress
            )
        # dead letters of records settled without a write, or no longer planned at all
        live = {p.key for _, planned in targets for p in planned}
        with connect() as db:
            for target, planned in targets:
                settled = [p for p in planned if not p.changed and p.key in lettered]
                report.systems[
                    target.system
                ].dead_letters_resolved += ledger.resolve_settled_records(db, settled)
            for system in systems:
                report.systems[system].dead_letters_resolved += ledger.resolve_superseded(
                    db, [system], {k for k in live if k.system == system}
                )
    except BaseException as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        report.seconds = time.monotonic() - started
        if status == "ok" and not report.ok:
            status = "partial"
        _record_run(report, started, status, error)
    return report


def _sync_system(
    system: str,
    targets: list[tuple[Target, list[Planned]]],
    ledger: Ledger,
    report: SyncReport,
    progress: Callable[[str], None],
) -> None:
    counts = report.systems[system]
    connections = sorted({p.key.connection for _, planned in targets for p in planned if p.changed})
    for connection in connections:
        metrics = Metrics()
        try:
            writer = writer_for(system, connection, metrics)
        except (IngestionError, OSError, ValueError) as exc:
            counts.errors.append(f"{system}/{connection}: {exc}")
            progress(f"error: {system}/{connection}: {exc}")
            continue
        for target, planned in targets:
            todo = [p for p in planned if p.changed and p.key.connection == connection]
            size = writer.batch_size(target.object)
            for start in range(0, len(todo), size):
                _sync_batch(target, todo[start : start + size], writer, ledger, counts)
            if todo:
                progress(
                    f"sync: {system}/{connection} {target.object}: {len(todo)} record(s) planned"
                )
        for name, value in metrics.as_dict().items():
            counts.requests[name] = counts.requests.get(name, 0) + value


def _sync_batch(
    target: Target, batch: list[Planned], writer: Writer, ledger: Ledger, counts: SystemCounts
) -> None:
    api = {f.column: f.api_field for f in target.fields}
    kinds = {f.column: f.kind for f in target.fields}
    for p in batch:  # the allowlist, once more, right before anything is sent
        check_fields(target.system, target.object, {api[c] for c in p.changed})
    keyed = [(p, p.idempotency_key(ledger.run_id)) for p in batch]
    ledger.begin(keyed)

    confirmed: list[tuple[Planned, dict[str, str]]] = []
    failures: list[Failure] = []
    audit: list[dict[str, Any]] = []

    def audit_row(p: Planned, column: str, action: str, before: Any, key: str, **extra: Any):
        audit.append(
            {
                "target_system": p.key.system,
                "target_connection": p.key.connection,
                "target_object": p.key.object,
                "target_id": p.key.target_id,
                "field": column,
                "api_field": api[column],
                "action": action,
                "before_value": before,
                "after_value": p.changed[column],
                "correlation_id": p.correlation_id,
                "idempotency_key": key,
                **extra,
            }
        )

    def fail(p: Planned, key: str, columns: dict[str, str], before: dict, result: Outcome):
        failures.append(
            Failure(
                p,
                columns,
                result.response,
                result.http_status,
                {api[c]: v for c, v in columns.items()},
            )
        )
        for column in columns:
            audit_row(
                p,
                column,
                "failed",
                before.get(column),
                key,
                http_status=result.http_status,
                response=result.response,
            )

    try:
        current = writer.read(
            target.object, [p.key.target_id for p in batch], [f.api_field for f in target.fields]
        )
    except WriteError as exc:
        for p, key in keyed:
            fail(p, key, p.changed, {}, Outcome(False, exc.http_status, exc.body))
        current = None
    sends: list[tuple[Planned, str, dict[str, str], dict[str, Any]]] = []
    if current is not None:
        for p, key in keyed:
            if p.key.target_id not in current:
                fail(p, key, p.changed, {}, Outcome(False, 404, NOT_FOUND))
                continue
            held = current[p.key.target_id]
            before = {c: canonical(held.get(api[c]), kinds[c]) for c in p.changed}
            already = {c: v for c, v in p.changed.items() if before[c] == v}
            to_send = {c: v for c, v in p.changed.items() if before[c] != v}
            if already:
                confirmed.append((p, already))
                for column in already:
                    audit_row(p, column, "already_in_target", before[column], key)
            if to_send:
                sends.append((p, key, to_send, before))
            elif already:
                counts.already_in_target += 1
    if sends:
        changes = [
            Change(
                target_id=p.key.target_id,
                fields={api[c]: v for c, v in to_send.items()},
                desired={api[c]: v for c, v in p.desired.items()},
                correlation_id=p.correlation_id,
                idempotency_key=key,
            )
            for p, key, to_send, _ in sends
        ]
        results = writer.write(target.object, changes)
        for p, key, to_send, before in sends:
            result = results.get(p.key.target_id) or Outcome(False, None, "no answer")
            if result.ok:
                confirmed.append((p, to_send))
                counts.sent += 1
                for column in to_send:
                    audit_row(
                        p,
                        column,
                        "sent",
                        before.get(column),
                        key,
                        http_status=result.http_status,
                        response=result.response,
                    )
            else:
                fail(p, key, to_send, before, result)
    counts.failed += len({f.planned.key for f in failures})
    opened, resolved = ledger.settle(confirmed, failures, audit)
    counts.dead_lettered += opened
    counts.dead_letters_resolved += resolved


def _record_run(report: SyncReport, started: float, status: str, error: str | None) -> None:
    row = {
        "run_id": report.run_id,
        "started_at": None,
        "finished_at": now() if status != "running" else None,
        "systems": ",".join(report.systems),
        "status": status,
        "planned_records": report.total("planned_records"),
        "sent": report.total("sent"),
        "already_in_target": report.total("already_in_target"),
        "unchanged": report.total("unchanged"),
        "failed": report.total("failed"),
        "dead_lettered": report.total("dead_lettered"),
        "dead_letters_resolved": report.total("dead_letters_resolved"),
        "error": error,
    }
    with connect() as db:
        db.ensure_tables()
        found = db.query(
            "select started_at from reverse_sync.sync_runs where run_id = ?", [report.run_id]
        )
        row["started_at"] = found[0]["started_at"] if found else now()
        db.upsert("sync_runs", [row])
