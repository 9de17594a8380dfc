"""The sync ledger (``reverse_sync.sync_ledger``): what was last confirmed in each target record
and field, and the write-ahead intents of writes in flight; plus the dead letters and the audit
log that go with it.

A write goes: :meth:`Ledger.begin` (pending intents with the idempotency key, committed before
any request) -> the request -> :meth:`Ledger.settle` (confirmed or failed, dead letters, audit,
in one transaction). A crash between the request and ``settle`` leaves the intents pending; the
next run reads the target first and confirms what is already there, so nothing is written twice
in effect, and replays what is not with the same idempotency key.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from reverse_sync.ownership import DATE, MONEY
from reverse_sync.warehouse import SCHEMA, Warehouse, connect

ACTOR = "conform"
RESPONSE_LIMIT = 2000  # characters of a response body kept in the audit log / dead letters


def now() -> datetime:
    """UTC, naive: the warehouse columns are plain timestamps in UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def canonical(value: Any, kind: str) -> str | None:
    """One text form per value, so a desired value, a ledger value and a value read back from
    a target compare equal when they mean the same (123.4 == "123.40"; a date, a datetime at
    midnight and "2026-07-15" alike). Empty means nothing."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.strip()
        if value == "":
            return None
    if kind == MONEY:
        try:
            return str(Decimal(str(value)).quantize(Decimal("0.01")))
        except InvalidOperation:
            return str(value)
    if kind == DATE:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return str(value)[:10]
    return str(value)


@dataclass(frozen=True)
class RecordKey:
    system: str
    connection: str
    object: str
    target_id: str

    def label(self) -> str:
        return f"{self.system}/{self.connection}/{self.object}/{self.target_id}"


@dataclass
class LedgerEntry:
    status: str  # confirmed | pending | failed
    confirmed_value: str | None
    pending_value: str | None
    idempotency_key: str | None


@dataclass
class Planned:
    """One target record: its desired state and the fields not confirmed there yet."""

    key: RecordKey
    correlation_id: str
    canonical_id: str | None
    desired: dict[str, str]  # column -> canonical desired value (every field with a value)
    changed: dict[str, str]  # column -> canonical desired value, not confirmed in the ledger
    entries: dict[str, LedgerEntry] = field(default_factory=dict)  # column -> ledger state

    @property
    def pending(self) -> bool:
        return any(e.status == "pending" for e in self.entries.values())

    def idempotency_key(self, run_id: str) -> str:
        """This write's key: a pending intent's key when it was for these very values (so the
        replay after a crash carries the first attempt's key), else a new one for this run."""
        keys = {e.idempotency_key for e in self.entries.values() if e.status == "pending"}
        same = all(
            c in self.entries
            and self.entries[c].status == "pending"
            and self.entries[c].pending_value == v
            for c, v in self.changed.items()
        )
        if same and len(keys) == 1 and None not in keys:
            return str(keys.pop())
        body = json.dumps([self.key.label(), self.correlation_id, self.changed, run_id])
        return "conform-" + hashlib.sha256(body.encode()).hexdigest()[:40]


@dataclass
class Failure:
    planned: Planned
    columns: dict[str, str]  # column -> value that was to be written
    error: str
    http_status: int | None
    payload: dict[str, Any]


def dead_letter_id(key: RecordKey, api_fields: Iterable[str]) -> str:
    """Stable per target record and set of fields (contract: notes/contracts.md)."""
    raw = "|".join([key.system, key.connection, key.object, key.target_id, *sorted(api_fields)])
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def _key_params(key: RecordKey) -> list[str]:
    return [key.system, key.connection, key.object, key.target_id]


_RECORD = "target_system = ? and target_connection = ? and target_object = ? and target_id = ?"


class Ledger:
    """The ledger, dead letters and audit log, as one run of the sync writes them."""

    def __init__(self, run_id: str, api_fields: dict[tuple[str, str], dict[str, str]]):
        self.run_id = run_id
        # (system, object) -> column -> api field
        self.api_fields = api_fields

    def _api(self, key: RecordKey, column: str) -> str:
        return self.api_fields[(key.system, key.object)][column]

    # -- reading ------------------------------------------------------------------------------
    @staticmethod
    def load(db: Warehouse, systems: list[str]) -> dict[tuple[RecordKey, str], LedgerEntry]:
        marks = ", ".join("?" for _ in systems)
        rows = db.query(
            "select target_system, target_connection, target_object, target_id, field, status, "
            "confirmed_value, pending_value, idempotency_key "
            f"from {SCHEMA}.sync_ledger where target_system in ({marks})",
            systems,
        )
        return {
            (
                RecordKey(
                    r["target_system"], r["target_connection"], r["target_object"], r["target_id"]
                ),
                r["field"],
            ): LedgerEntry(
                r["status"], r["confirmed_value"], r["pending_value"], r["idempotency_key"]
            )
            for r in rows
        }

    @staticmethod
    def open_dead_letters(db: Warehouse, systems: list[str]) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in systems)
        return db.query(
            f"select * from {SCHEMA}.sync_dead_letters "
            f"where resolved_at is null and target_system in ({marks})",
            systems,
        )

    # -- write-ahead ----------------------------------------------------------------------------
    def begin(self, batch: list[tuple[Planned, str]]) -> None:
        """Record the intents (pending value + idempotency key) before any request is sent;
        the last confirmed value stays beside them."""
        stamp = now()
        rows = [
            {
                **self._base(planned, column),
                "status": "pending",
                "pending_value": value,
                "pending_since": stamp,
                "idempotency_key": key,
            }
            for planned, key in batch
            for column, value in planned.changed.items()
        ]
        with connect() as db:
            db.upsert(
                "sync_ledger",
                rows,
                update=[
                    "api_field",
                    "status",
                    "pending_value",
                    "pending_since",
                    "idempotency_key",
                    "correlation_id",
                    "canonical_id",
                    "run_id",
                ],
            )

    def settle(
        self,
        confirmed: list[tuple[Planned, dict[str, str]]],
        failed: list[Failure],
        audit: list[dict[str, Any]],
    ) -> tuple[int, int]:
        """After the requests, in one transaction: confirmations, failures (ledger back to
        'failed' so the next run sends again, and a dead letter each), dead letters settled
        by the confirmations, and the audit rows. Returns (dead letters opened, resolved)."""
        stamp = now()
        ok_rows = [
            {
                **self._base(planned, column),
                "status": "confirmed",
                "confirmed_value": value,
                "confirmed_at": stamp,
                "pending_value": None,
                "pending_since": None,
                "idempotency_key": None,
            }
            for planned, columns in confirmed
            for column, value in columns.items()
        ]
        failed_rows = [
            {
                **self._base(f.planned, column),
                "status": "failed",
                "pending_value": None,
                "pending_since": None,
                "idempotency_key": None,
            }
            for f in failed
            for column in f.columns
        ]
        opened = resolved = 0
        with connect() as db:
            db.upsert(
                "sync_ledger",
                ok_rows,
                update=[
                    "api_field",
                    "status",
                    "confirmed_value",
                    "confirmed_at",
                    "pending_value",
                    "pending_since",
                    "idempotency_key",
                    "correlation_id",
                    "canonical_id",
                    "run_id",
                ],
            )
            db.upsert(
                "sync_ledger",
                failed_rows,
                update=["status", "pending_value", "pending_since", "idempotency_key", "run_id"],
            )
            for f in failed:
                opened += self._dead_letter(db, f, stamp)
            for planned, _ in confirmed:
                resolved += self._resolve_if_settled(db, planned, stamp)
            db.upsert("sync_audit_log", [self._audit_row(a, stamp) for a in audit])
        return opened, resolved

    def resolve_superseded(self, db: Warehouse, systems: list[str], live: set[RecordKey]) -> int:
        """Open dead letters of records no longer planned at all (deleted, unmatched) are
        closed: there is nothing left to retry."""
        stamp = now()
        resolved = 0
        for letter in self.open_dead_letters(db, systems):
            key = RecordKey(
                letter["target_system"],
                letter["target_connection"],
                letter["target_object"],
                letter["target_id"],
            )
            if key not in live:
                db.execute(
                    f"update {SCHEMA}.sync_dead_letters set resolved_at = ? "
                    "where dead_letter_id = ?",
                    [stamp, letter["dead_letter_id"]],
                )
                resolved += 1
        return resolved

    def resolve_settled_records(self, db: Warehouse, planned: list[Planned]) -> int:
        """Open dead letters of records whose desired state is all confirmed (nothing to send
        this run) are resolved."""
        stamp = now()
        return sum(self._resolve_if_settled(db, p, stamp) for p in planned)

    # -- helpers --------------------------------------------------------------------------------
    def _base(self, planned: Planned, column: str) -> dict[str, Any]:
        return {
            "target_system": planned.key.system,
            "target_connection": planned.key.connection,
            "target_object": planned.key.object,
            "target_id": planned.key.target_id,
            "field": column,
            "api_field": self._api(planned.key, column),
            "correlation_id": planned.correlation_id,
            "canonical_id": planned.canonical_id,
            "run_id": self.run_id,
        }

    def _dead_letter(self, db: Warehouse, f: Failure, stamp: datetime) -> int:
        api = sorted(self._api(f.planned.key, c) for c in f.columns)
        letter_id = dead_letter_id(f.planned.key, api)
        previous = db.query(
            f"select attempts, first_failed_at, resolved_at from {SCHEMA}.sync_dead_letters "
            "where dead_letter_id = ?",
            [letter_id],
        )
        db.upsert(
            "sync_dead_letters",
            [
                {
                    "dead_letter_id": letter_id,
                    "correlation_id": f.planned.correlation_id,
                    "target_system": f.planned.key.system,
                    "target_connection": f.planned.key.connection,
                    "target_object": f.planned.key.object,
                    "target_id": f.planned.key.target_id,
                    "canonical_id": f.planned.canonical_id,
                    "fields": ",".join(api),
                    "payload": json.dumps(f.payload, sort_keys=True, default=str),
                    "error": (f.error or "")[:RESPONSE_LIMIT],
                    "http_status": f.http_status,
                    "attempts": (previous[0]["attempts"] or 0) + 1 if previous else 1,
                    "first_failed_at": previous[0]["first_failed_at"] if previous else stamp,
                    "last_failed_at": stamp,
                    "resolved_at": None,
                }
            ],
        )
        # a new dead letter, or one that had been resolved and failed again
        return int(not previous or previous[0]["resolved_at"] is not None)

    def _resolve_if_settled(self, db: Warehouse, planned: Planned, stamp: datetime) -> int:
        rows = db.query(
            f"select field, status, confirmed_value from {SCHEMA}.sync_ledger where {_RECORD}",
            _key_params(planned.key),
        )
        state = {r["field"]: r for r in rows}
        settled = all(
            c in state and state[c]["status"] == "confirmed" and state[c]["confirmed_value"] == v
            for c, v in planned.desired.items()
        )
        if not settled:
            return 0
        open_letters = db.query(
            f"select dead_letter_id from {SCHEMA}.sync_dead_letters "
            f"where resolved_at is null and {_RECORD}",
            _key_params(planned.key),
        )
        for letter in open_letters:
            db.execute(
                f"update {SCHEMA}.sync_dead_letters set resolved_at = ? where dead_letter_id = ?",
                [stamp, letter["dead_letter_id"]],
            )
        return len(open_letters)

    def _audit_row(self, entry: dict[str, Any], stamp: datetime) -> dict[str, Any]:
        return {
            "audit_id": str(uuid.uuid4()),
            "run_id": self.run_id,
            "actor": ACTOR,
            "written_at": stamp,
            **entry,
            "response": (entry.get("response") or "")[:RESPONSE_LIMIT] or None,
        }
