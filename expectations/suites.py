"""Every suite, by name and by system."""

from __future__ import annotations

from expectations import marts, raw_dynamics, raw_netsuite, raw_psa, raw_salesforce, raw_stripe
from expectations.spec import Suite

RAW: dict[str, list[Suite]] = {
    "salesforce": raw_salesforce.SUITES,
    "psa": raw_psa.SUITES,
    "netsuite": raw_netsuite.SUITES,
    "dynamics": raw_dynamics.SUITES,
    "stripe": raw_stripe.SUITES,
}
MARTS: list[Suite] = marts.SUITES


def all_suites() -> list[Suite]:
    return [s for suites in RAW.values() for s in suites] + MARTS


def by_name() -> dict[str, Suite]:
    return {s.name: s for s in all_suites()}


def select(names: list[str] | None) -> list[Suite]:
    """Suites by name (`raw_psa.time_entries`), schema (`raw_psa`) or all when empty."""
    suites = all_suites()
    if not names:
        return suites
    chosen = [s for s in suites if s.name in names or s.schema in names]
    unknown = set(names) - {s.name for s in chosen} - {s.schema for s in chosen}
    if unknown:
        raise KeyError(f"unknown suite(s): {', '.join(sorted(unknown))}")
    return chosen
