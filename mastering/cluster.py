"""Clusters over auto-match edges (union-find with cannot-link constraints) and the stable
assignment of canonical IDs against the persisted state.

The state is data: the previous record -> canonical ID map binds records together first, so a
run can only add records to customers or merge customers (keeping the oldest ID and recording
the retired one); only a steward decision separates records that shared an ID.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mastering.matching import CONFIDENCE, Pair, Record

ID_PREFIX = "CUS"
ID_WIDTH = 7
AUTO_ORDER = {"tax_id": 0, "erp_link": 1}  # then exact-name rules


def format_id(n: int) -> str:
    return f"{ID_PREFIX}{n:0{ID_WIDTH}d}"


def id_number(canonical_id: str) -> int:
    return int(canonical_id[len(ID_PREFIX) :])


@dataclass
class Decision:
    a: str
    b: str | None
    decision: str  # match | no_match | split
    decided_by: str = ""
    decided_at: str = ""
    note: str = ""


@dataclass
class State:
    """What the warehouse holds between runs."""

    id_map: dict[str, dict[str, Any]] = field(default_factory=dict)  # record key -> row
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)  # canonical id -> row


@dataclass
class Outcome:
    id_map: dict[str, dict[str, Any]]
    customers: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    review: list[Pair]
    refused: list[Pair]


class _UnionFind:
    def __init__(
        self, keys: Iterable[str], tax: dict[str, str | None], forms: dict[str, str | None]
    ):
        self.parent = {k: k for k in keys}
        self.members: dict[str, list[str]] = {k: [k] for k in self.parent}
        # per component: country -> valid tax ids (two different ones never auto-merge)
        self.tax: dict[str, dict[str, set[str]]] = {}
        for k in self.parent:
            t = tax.get(k)
            self.tax[k] = {t.split(":", 1)[0]: {t}} if t else {}
        self.forms: dict[str, set[str]] = {
            k: {forms[k]} if forms.get(k) else set() for k in self.parent
        }
        self.cannot: dict[str, set[str]] = defaultdict(set)  # record -> records it must not join

    def find(self, k: str) -> str:
        root = k
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[k] != root:
            self.parent[k], k = root, self.parent[k]
        return root

    def forbidden(self, ra: str, rb: str, check_tax: bool, check_forms: bool) -> str | None:
        small, big = (ra, rb) if len(self.members[ra]) <= len(self.members[rb]) else (rb, ra)
        for m in self.members[small]:
            if self.cannot.get(m) and any(self.find(x) == big for x in self.cannot[m]):
                return "steward_no_match"
        if check_tax:
            ta, tb = self.tax[ra], self.tax[rb]
            for country, ids in ta.items():
                if country in tb and not (ids & tb[country]):
                    return "tax_id_conflict"
            fa, fb = self.forms[ra], self.forms[rb]
            if check_forms and fa and fb and not (fa & fb):
                return "legal_form_conflict"
        return None

    def union(self, a: str, b: str, check_tax: bool = True, check_forms: bool = True) -> str | None:
        """Join the components of a and b; returns why not when refused, else None."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return None
        why = self.forbidden(ra, rb, check_tax, check_forms)
        if why:
            return why
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))
        self.forms[ra] |= self.forms.pop(rb)
        for country, ids in self.tax.pop(rb).items():
            self.tax[ra].setdefault(country, set()).update(ids)
        return None


def latest_decisions(decisions: Sequence[Decision]) -> dict[tuple[str, str], Decision]:
    """The decision in force per pair (the latest by decided_at, then file order)."""
    out: dict[tuple[str, str], Decision] = {}
    for _, d in sorted(enumerate(decisions), key=lambda x: (x[1].decided_at or "", x[0])):
        b = d.b or ""
        out[(min(d.a, b), max(d.a, b)) if b else (d.a, "")] = d
    return out


def resolve(
    records: Sequence[Record],
    pairs: Sequence[Pair],
    state: State,
    decisions: Sequence[Decision],
    now: datetime,
) -> Outcome:
    keys = [r.key for r in records]
    known = set(keys)
    uf = _UnionFind(
        keys, {r.key: r.tax_key for r in records}, {r.key: r.legal_form for r in records}
    )
    joined_by: dict[str, tuple[str, float]] = {}
    in_force = latest_decisions(decisions)

    # steward no-match and split: cannot-link constraints
    split_records: set[str] = set()
    for (a, b), d in in_force.items():
        if d.decision in ("no_match", "split") and a in known:
            if b and b in known:
                uf.cannot[a].add(b)
                uf.cannot[b].add(a)
            elif d.decision == "split" and not b:
                split_records.add(a)  # out of its customer, on its own

    # 1. the persisted assignment binds records that already share an ID
    by_old: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        row = state.id_map.get(k)
        if row:
            by_old[row["canonical_customer_id"]].append(k)
    for members in by_old.values():
        members.sort(key=lambda k: (str(state.id_map[k]["assigned_at"]), k))
        anchor = next((m for m in members if m not in split_records), None)
        for m in members:
            if m != anchor and m not in split_records and anchor is not None:
                uf.union(anchor, m, check_tax=False)

    # 2. steward matches
    for (a, b), d in in_force.items():
        if (
            d.decision == "match"
            and a in known
            and b in known
            and uf.union(a, b, check_tax=False, check_forms=False) is None
        ):
            joined_by.setdefault(b, ("steward_match", 1.0))
            joined_by.setdefault(a, ("steward_match", 1.0))

    # 3. auto edges, strongest evidence first
    refused: list[Pair] = []
    autos = sorted(
        (p for p in pairs if p.band == "auto"),
        key=lambda p: (AUTO_ORDER.get(p.rule, 2), -p.score, p.a, p.b),
    )
    for p in autos:
        if p.a in split_records or p.b in split_records:
            continue
        # the same valid tax id outranks a differently written legal form
        why = uf.union(p.a, p.b, check_forms=p.rule != "tax_id")
        if why is None:
            for k in (p.a, p.b):
                joined_by.setdefault(k, (p.rule, CONFIDENCE.get(p.rule, 0.9)))
        elif uf.find(p.a) != uf.find(p.b) and why != "steward_no_match":
            refused.append(
                Pair(
                    p.a,
                    p.b,
                    "review",
                    f"{p.rule}_refused_{why}",
                    p.score,
                    dict(p.evidence, refused=why),
                )
            )

    # 4. stable IDs
    components: dict[str, list[str]] = defaultdict(list)
    for k in keys:
        components[uf.find(k)].append(k)
    customers = {cid: dict(row) for cid, row in state.customers.items()}
    next_n = max((id_number(c) for c in customers), default=0) + 1

    # each old ID stays with the component holding most of its records (then its oldest one)
    owner: dict[str, str] = {}
    for old, members in by_old.items():
        counts: dict[str, int] = defaultdict(int)
        for m in members:
            counts[uf.find(m)] += 1
        first = {uf.find(m): i for i, m in reversed(list(enumerate(members)))}
        owner[old] = min(counts, key=lambda c: (-counts[c], first[c]))

    def created(cid: str) -> tuple[str, int]:
        return (str(customers.get(cid, {}).get("created_at", "")), id_number(cid))

    events: list[dict[str, Any]] = []
    id_map: dict[str, dict[str, Any]] = {}
    stamp = now.isoformat()
    for root, members in sorted(components.items(), key=lambda x: min(x[1])):
        owned = sorted((o for o, c in owner.items() if c == root), key=created)
        if owned:
            survivor = owned[0]
            for retired in owned[1:]:
                customers[retired].update(status="retired", retired_into=survivor, retired_at=stamp)
                events.append(
                    dict(
                        event_type="merge",
                        canonical_customer_id=survivor,
                        other_canonical_customer_id=retired,
                        customer_record_key=None,
                        occurred_at=stamp,
                    )
                )
        else:
            survivor = format_id(next_n)
            next_n += 1
            customers[survivor] = dict(
                canonical_customer_id=survivor,
                status="active",
                retired_into=None,
                created_at=stamp,
                retired_at=None,
            )
            split_from = {
                state.id_map[m]["canonical_customer_id"] for m in members if m in state.id_map
            }
            for old in sorted(split_from):
                events.append(
                    dict(
                        event_type="split",
                        canonical_customer_id=survivor,
                        other_canonical_customer_id=old,
                        customer_record_key=None,
                        occurred_at=stamp,
                    )
                )
            if not split_from:
                events.append(
                    dict(
                        event_type="create",
                        canonical_customer_id=survivor,
                        other_canonical_customer_id=None,
                        customer_record_key=None,
                        occurred_at=stamp,
                    )
                )
        for m in members:
            prev = state.id_map.get(m)
            if prev and prev["canonical_customer_id"] == survivor:
                id_map[m] = dict(prev)
                continue
            rule, confidence = joined_by.get(m, ("singleton", 1.0))
            if len(members) == 1:
                rule, confidence = "singleton", 1.0
            elif prev:
                rule = (
                    "merge"
                    if customers[prev["canonical_customer_id"]].get("retired_into") == survivor
                    else "split"
                )
                confidence = prev.get("match_confidence") or confidence
            id_map[m] = dict(
                customer_record_key=m,
                canonical_customer_id=survivor,
                match_rule=rule,
                match_confidence=confidence,
                assigned_at=stamp,
            )

    # records the sources no longer return keep their row (following merges)
    for k, row in state.id_map.items():
        if k not in id_map:
            cid = row["canonical_customer_id"]
            while customers.get(cid, {}).get("retired_into"):
                cid = customers[cid]["retired_into"]
            id_map[k] = dict(row, canonical_customer_id=cid)

    # 5. the review queue: uncertain pairs between different customers, not yet decided
    decided_clusters: set[tuple[str, str]] = set()
    for a, b in in_force:
        if a in id_map and b in id_map:
            ca, cb = id_map[a]["canonical_customer_id"], id_map[b]["canonical_customer_id"]
            decided_clusters.add((min(ca, cb), max(ca, cb)))
    best: dict[tuple[str, str], Pair] = {}
    for p in [*(x for x in pairs if x.band == "review"), *refused]:
        ca, cb = id_map[p.a]["canonical_customer_id"], id_map[p.b]["canonical_customer_id"]
        if ca == cb:
            continue
        ck = (min(ca, cb), max(ca, cb))
        if ck in decided_clusters:
            continue
        if ck not in best or (p.score, p.a, p.b) > (best[ck].score, best[ck].a, best[ck].b):
            best[ck] = p
    review = sorted(best.values(), key=lambda p: (-p.score, p.a, p.b))
    return Outcome(id_map, customers, events, review, refused)
