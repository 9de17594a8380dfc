"""One mastering run: read every client record, normalise, match, cluster, assign stable
canonical IDs against the persisted state, apply steward decisions, write state and queue."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mastering.cluster import Decision, Outcome, State, resolve
from mastering.matching import Pair, Record, candidate_pairs, to_record
from mastering.warehouse import (
    DECISIONS_RELATION,
    RECORDS_RELATION,
    SCHEMA,
    connect,
    read_decisions_file,
)

RECORD_COLUMNS = (
    "source_system, source_relation, source_object, source_record_id, customer_record_key, "
    "customer_name, tax_id_raw, country_raw, country_code, website_raw, email, city, "
    "parent_source_record_id, erp_customer_number, erp_customer_number_hint, "
    "legal_entity_code, is_deleted"
)


@dataclass
class MasterReport:
    records: int
    customers: int
    auto_pairs: int
    review_pairs: int
    created: int
    merged: int
    split: int
    seconds: float


def match(
    rows: Sequence[dict[str, Any]],
    state: State | None = None,
    decisions: Sequence[Decision] = (),
    now: datetime | None = None,
) -> tuple[list[Record], list[Pair], Outcome]:
    """The whole matching in memory (what the run and the benchmark call)."""
    records = [to_record(r) for r in rows]
    pairs = candidate_pairs(records)
    outcome = resolve(records, pairs, state or State(), decisions, now or datetime.now(UTC))
    return records, pairs, outcome


def to_decisions(rows: Sequence[dict[str, Any]]) -> list[Decision]:
    out = []
    for r in rows:
        decision = (r.get("decision") or "").strip().lower()
        if decision not in ("match", "no_match", "split"):
            raise ValueError(f"steward decision {decision!r}: expected match, no_match or split")
        out.append(
            Decision(
                a=str(r["record_key_a"]).strip(),
                b=(str(r.get("record_key_b") or "").strip() or None),
                decision=decision,
                decided_by=str(r.get("decided_by") or ""),
                decided_at=str(r.get("decided_at") or ""),
                note=str(r.get("note") or ""),
            )
        )
    return out


def run_master(decisions_file: str | Path | None = None) -> MasterReport:
    """Read from the warehouse, match, and persist. Decisions come from the seed table
    reference.steward_decisions (loaded by dbt), or from a CSV file when one is given (argument
    or CONFORM_STEWARD_DECISIONS)."""
    started = time.monotonic()
    now = datetime.now(UTC).replace(microsecond=0)
    decisions_file = decisions_file or os.environ.get("CONFORM_STEWARD_DECISIONS")
    with connect() as wh:
        wh.ensure_state()
        # a deletion seen before the record itself (NetSuite's deletedrecord feed) leaves a
        # stub with nothing but its id: not a client record, so not mastered
        rows = wh.query(
            f"select {RECORD_COLUMNS} from {RECORDS_RELATION} "
            "where not (is_deleted and customer_name is null)"
        )
        state = State(
            id_map={
                r["customer_record_key"]: r
                for r in wh.query(f"select * from {SCHEMA}.customer_id_map")
            },
            customers={
                r["canonical_customer_id"]: r
                for r in wh.query(f"select * from {SCHEMA}.canonical_customers")
            },
        )
        if decisions_file:
            decision_rows = read_decisions_file(decisions_file)
        elif wh.exists(*DECISIONS_RELATION.split(".")):
            decision_rows = wh.query(f"select * from {DECISIONS_RELATION}")
        else:
            decision_rows = []
        records, pairs, out = match(rows, state, to_decisions(decision_rows), now)

        wh.write(
            "customer_id_map", sorted(out.id_map.values(), key=lambda r: r["customer_record_key"])
        )
        wh.write(
            "canonical_customers",
            sorted(out.customers.values(), key=lambda r: r["canonical_customer_id"]),
        )
        last_event = wh.query(
            f"select coalesce(max(event_id), 0) as n from {SCHEMA}.customer_id_events"
        )
        first = int(last_event[0]["n"]) + 1
        wh.write(
            "customer_id_events",
            [dict(e, event_id=first + i) for i, e in enumerate(out.events)],
            replace=False,
        )
        wh.write("customer_records_normalized", [_normalized_row(r) for r in records])
        wh.write("customer_match_review", [_review_row(p, out) for p in out.review])
        counts = {
            k: sum(1 for e in out.events if e["event_type"] == k)
            for k in ("create", "merge", "split")
        }
        report = MasterReport(
            records=len(records),
            customers=len({r["canonical_customer_id"] for r in out.id_map.values()}),
            auto_pairs=sum(1 for p in pairs if p.band == "auto"),
            review_pairs=len(out.review),
            created=counts["create"],
            merged=counts["merge"],
            split=counts["split"],
            seconds=round(time.monotonic() - started, 2),
        )
        last_run = wh.query(f"select coalesce(max(run_id), 0) as n from {SCHEMA}.runs")
        wh.write(
            "runs",
            [dict(vars(report), run_id=int(last_run[0]["n"]) + 1, started_at=now.isoformat())],
            replace=False,
        )
    return report


def _normalized_row(r: Record) -> dict[str, Any]:
    t = r.tax
    return dict(
        customer_record_key=r.key,
        name_normalized=r.name_norm,
        country_code=r.country,
        website_domain=r.website_domain,
        email_domain=r.email_domain,
        tax_id_raw=t.raw if t else None,
        tax_id_country=t.country if t else None,
        tax_id_scheme=t.scheme if t else None,
        tax_id_compact=t.compact if t else None,
        tax_id_is_valid=t.is_valid if t else None,
    )


def _review_row(p: Pair, out: Outcome) -> dict[str, Any]:
    return dict(
        record_key_a=p.a,
        record_key_b=p.b,
        canonical_customer_id_a=out.id_map[p.a]["canonical_customer_id"],
        canonical_customer_id_b=out.id_map[p.b]["canonical_customer_id"],
        reason=p.rule,
        **{
            k: p.evidence.get(k)
            for k in (
                "name_score",
                "exact_name",
                "same_tax_id",
                "tax_id_conflict",
                "same_country",
                "country_conflict",
                "same_domain",
                "domain_conflict",
                "erp_link",
            )
        },
    )
