"""Customer-master benchmark (make bench): matching at scales demo and large, fed with the
generator's client records directly (no HTTP ingestion), with precision and recall against
the generator's truth. Target: large under 60 seconds."""

from __future__ import annotations

import time

import pytest

from mastering.evaluate import score, with_review
from mastering.master import match
from simulator.generator import cached_plan

pytestmark = pytest.mark.bench


def records_of(plan) -> tuple[list[dict], dict[str, str]]:
    """The planner's source client records in the int_customer_records shape."""
    rows, truth = [], {}
    for client in plan.clients:
        for r in client.records:
            key = f"{r.system}|{r.connection}|{r.source_id}"
            truth[key] = client.id
            erp = r.system in ("netsuite", "dynamics")
            rows.append(
                {
                    "source_system": r.system,
                    "source_relation": r.connection,
                    "source_record_id": r.source_id,
                    "customer_record_key": key,
                    "customer_name": r.name,
                    "tax_id_raw": r.tax_id,
                    "country_raw": r.country_value,
                    "country_code": None,
                    "website_raw": r.website,
                    "email": None if r.system == "salesforce" else f"ap@{client.domain}",
                    "parent_source_record_id": r.parent_source_id,
                    "erp_customer_number": r.extra.get("number") if erp else None,
                    "erp_customer_number_hint": r.erp_number_hint,
                    "is_deleted": r.deleted_at is not None,
                }
            )
    return rows, truth


@pytest.mark.parametrize("scale", ["demo", "large"])
def test_matching_at_scale(scale: str) -> None:
    rows, truth = records_of(cached_plan(42, scale))
    started = time.monotonic()
    _, pairs, out = match(rows)
    elapsed = time.monotonic() - started
    assigned = {k: v["canonical_customer_id"] for k, v in out.id_map.items()}
    auto = score(assigned, truth)
    both = score(with_review(assigned, [(p.a, p.b) for p in out.review]), truth)
    print(
        f"\ncustomer master {scale}: {len(rows):,} records matched in {elapsed:.1f}s; "
        f"review queue {len(out.review)} pairs\n  auto:          {auto}\n"
        f"  auto + review: {both}"
    )
    assert auto.pair_precision >= 0.995
    if scale == "large":
        assert elapsed < 60
