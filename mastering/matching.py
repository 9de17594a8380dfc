"""Candidate pairs by blocking, evidence per pair, and the three bands (auto, review, none).

No all-pairs comparison: candidates come from blocks on valid tax id, the ERP number a source
already holds, exact normalised name, registered domain, and the name's first and last four
characters; inside a name block rapidfuzz scores every pair in C (``process.cdist``) and only
pairs above the review threshold are looked at in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from mastering.normalize import (
    TaxId,
    country_code,
    email_domain,
    legal_form_class,
    name_country_marker,
    normalize_name,
    parse_tax_id,
    registered_domain,
)

REVIEW_THRESHOLD = 88.0  # name similarity (0-100) from which a pair is worth a steward's look
MAX_BLOCK = 2000  # a name block larger than this is split by country
ERP_SYSTEMS = ("netsuite", "dynamics")
# confidence attached to each rule (what customer_xref reports)
CONFIDENCE = {
    "steward_match": 1.0,
    "tax_id": 0.99,
    "erp_link": 0.98,
    "exact_name_country_domain": 0.97,
    "exact_name_domain": 0.95,
    "exact_name_country": 0.93,
    "singleton": 1.0,
}


@dataclass
class Record:
    key: str
    system: str
    relation: str
    source_record_id: str
    name: str
    name_norm: str
    country: str | None
    website_domain: str | None
    email_domain: str | None
    tax: TaxId | None
    erp_number: str | None
    hint: str | None
    parent_key: str | None
    is_deleted: bool
    legal_form: str | None = None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def domains(self) -> set[str]:
        return {d for d in (self.website_domain, self.email_domain) if d}

    @property
    def tax_key(self) -> str | None:
        return self.tax.key if self.tax else None


@dataclass
class Pair:
    a: str
    b: str
    band: str  # auto | review
    rule: str  # auto: tax_id, erp_link, exact_name_*; review: the reason
    score: float  # name similarity 0-100
    evidence: dict[str, Any]


def to_record(row: dict[str, Any]) -> Record:
    """One int_customer_records row, normalised."""
    name = row.get("customer_name") or ""
    country = (
        country_code(row.get("country_code"))
        or country_code(row.get("country_raw"))
        or name_country_marker(name)
    )
    system, relation = row["source_system"], row["source_relation"]
    parent = row.get("parent_source_record_id")
    return Record(
        key=row["customer_record_key"],
        system=system,
        relation=relation,
        source_record_id=row["source_record_id"],
        name=name,
        name_norm=normalize_name(name),
        country=country,
        website_domain=registered_domain(row.get("website_raw")),
        email_domain=email_domain(row.get("email")),
        tax=parse_tax_id(row.get("tax_id_raw"), country),
        erp_number=(row.get("erp_customer_number") or None) if system in ERP_SYSTEMS else None,
        hint=(row.get("erp_customer_number_hint") or "").strip().upper() or None,
        parent_key=f"{system}|{relation}|{parent}" if parent else None,
        is_deleted=bool(row.get("is_deleted")),
        legal_form=legal_form_class(name),
        raw=row,
    )


def compare(
    a: Record,
    b: Record,
    score: float | None = None,
    link: bool = False,
    ambiguous: frozenset[str] = frozenset(),
) -> Pair | None:
    """The evidence on one candidate pair and its band. A name in `ambiguous` is held by two
    live records in each of two systems: an exact match on it is not strong evidence."""
    if score is None:
        score = name_score(a.name_norm, b.name_norm)
    same_tax = a.tax_key is not None and a.tax_key == b.tax_key
    tax_conflict = a.tax_key is not None and b.tax_key is not None and a.tax_key != b.tax_key
    country_conflict = a.country is not None and b.country is not None and a.country != b.country
    same_country = a.country is not None and a.country == b.country
    da, db = a.domains, b.domains
    same_domain = bool(da & db)
    domain_conflict = bool(da) and bool(db) and not same_domain
    exact = bool(a.name_norm) and a.name_norm == b.name_norm
    form_conflict = bool(a.legal_form and b.legal_form and a.legal_form != b.legal_form)
    evidence = {
        "name_score": round(score, 1),
        "exact_name": exact,
        "same_tax_id": same_tax,
        "tax_id_conflict": tax_conflict,
        "same_country": same_country,
        "country_conflict": country_conflict,
        "same_domain": same_domain,
        "domain_conflict": domain_conflict,
        "erp_link": link,
        "legal_form_conflict": form_conflict,
    }
    contradicted = tax_conflict or country_conflict or domain_conflict or form_conflict

    def pair(band: str, rule: str) -> Pair:
        return Pair(a.key, b.key, band, rule, score, evidence)

    if same_tax and not country_conflict:
        return pair("auto", "tax_id")
    if link and not contradicted:
        return pair("auto", "erp_link")
    if exact and a.name_norm in ambiguous and not contradicted:
        return pair("review", "exact_name_held_twice_in_two_systems")
    if exact and not contradicted and (same_country or same_domain):
        rule = (
            "exact_name_country_domain"
            if same_country and same_domain
            else "exact_name_country"
            if same_country
            else "exact_name_domain"
        )
        return pair("auto", rule)
    # the uncertain middle
    if link:
        return pair("review", "erp_link_with_conflict")
    if exact and (tax_conflict or form_conflict) and not country_conflict:
        return pair(
            "review",
            "exact_name_tax_id_conflict" if tax_conflict else "exact_name_legal_form_conflict",
        )
    if score >= REVIEW_THRESHOLD and not country_conflict and not domain_conflict:
        if tax_conflict or form_conflict:
            return pair(
                "review",
                "similar_name_tax_id_conflict"
                if tax_conflict
                else "similar_name_legal_form_conflict",
            )
        if exact:
            return pair("review", "exact_name_no_location")
        if same_country or same_domain:
            return pair("review", "similar_name_supported")
        return pair("review", "similar_name")
    return None


def name_score(a: str, b: str) -> float:
    """Similarity of two normalised names: rapidfuzz's token-sort ratio (order-insensitive,
    unlike token-set it does not call 'X' and 'X UK' equal)."""
    return float(fuzz.token_sort_ratio(a, b))


def candidate_pairs(records: Sequence[Record]) -> list[Pair]:
    """Every pair worth a band, from blocks; never all pairs."""
    per_system: dict[tuple[str, str, str], int] = defaultdict(int)
    for r in records:
        if r.name_norm and not r.is_deleted:
            per_system[(r.system, r.relation, r.name_norm)] += 1
    # a name two live records hold in each of two systems is most likely two legal entities
    twice: dict[str, int] = defaultdict(int)
    for (_, _, n), c in per_system.items():
        if c > 1:
            twice[n] += 1
    ambiguous = frozenset(n for n, systems in twice.items() if systems > 1)
    seen: dict[tuple[str, str], Pair] = {}

    def consider(a: Record, b: Record, score: float | None = None, link: bool = False) -> None:
        if a.key == b.key:
            return
        k = (a.key, b.key) if a.key < b.key else (b.key, a.key)
        prev = seen.get(k)
        if prev is not None and (prev.band == "auto" or not link):
            return
        x, y = (a, b) if a.key < b.key else (b, a)
        p = compare(x, y, score, link, ambiguous)
        if p is not None and (prev is None or p.band == "auto"):
            seen[k] = p

    # 1. links a source already holds: an ERP customer number on a CRM/PSA/Stripe record
    erp_by_number: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        if r.erp_number:
            erp_by_number[r.erp_number.strip().upper()].append(r)
    for r in records:
        if not r.hint or r.system in ERP_SYSTEMS:
            continue
        targets = erp_by_number.get(r.hint, [])
        if len(targets) > 1 and r.country:  # the same number in two ERP connections
            targets = [t for t in targets if t.country in (None, r.country)] or targets
        for t in targets:
            consider(r, t, link=len(targets) == 1)

    # 2. exact keys: valid tax id, normalised name, domain
    def block_all(groups: Iterable[list[Record]]) -> None:
        for group in groups:
            if len(group) < 2 or len(group) > MAX_BLOCK:
                continue
            names = [g.name_norm for g in group]
            scores = process.cdist(names, names, scorer=fuzz.token_sort_ratio, workers=1)
            for i in range(len(group)):
                for j in range(i + 1, len(group)):
                    consider(group[i], group[j], float(scores[i, j]))

    groups: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        if r.tax_key:
            groups[("tax", r.tax_key)].append(r)
        if r.name_norm:
            groups[("name", r.name_norm)].append(r)
        for d in r.domains:
            groups[("domain", d)].append(r)
    block_all(groups.values())

    # 3. fuzzy name blocks: first and last four characters (a typo rarely hits both ends)
    fuzzy: dict[tuple[str, str], list[Record]] = defaultdict(list)
    for r in records:
        compact = r.name_norm.replace(" ", "")
        if len(compact) < 4:
            continue
        fuzzy[("prefix", compact[:4])].append(r)
        fuzzy[("suffix", compact[-4:])].append(r)
    for blk in fuzzy.values():
        parts = [blk]
        if len(blk) > MAX_BLOCK:
            by_country: dict[str | None, list[Record]] = defaultdict(list)
            for r in blk:
                by_country[r.country].append(r)
            parts = [g + by_country.get(None, []) for c, g in by_country.items() if c]
        for part in parts:
            if len(part) < 2:
                continue
            names = [g.name_norm for g in part]
            scores = process.cdist(
                names,
                names,
                scorer=fuzz.token_sort_ratio,
                score_cutoff=REVIEW_THRESHOLD,
                workers=1,
            )
            ii, jj = np.nonzero(np.triu(scores, 1))
            for i, j in zip(ii.tolist(), jj.tolist(), strict=True):
                consider(part[i], part[j], float(scores[i, j]))
    return list(seen.values())
