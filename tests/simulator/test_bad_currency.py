"""The `bad_currency` fault: served currency codes replaced by non-ISO three-letter codes,
deterministically per record, each one in the injected-fault log."""

from __future__ import annotations

import requests

from simulator.emulator import NON_ISO_CURRENCY, FaultConfig

ISO_SEEN = {"USD", "CAD", "GBP", "EUR", "SGD", "AUD", "SEK", "CHF"}


def test_parse_per_system() -> None:
    configs = FaultConfig.parse("psa:bad_currency=0.25")
    assert configs["psa"].bad_currency == 0.25
    assert configs["*"].bad_currency == 0.0


def test_the_non_iso_codes_are_not_iso_and_keep_the_shape() -> None:
    from babel.numbers import list_currencies  # every code ever assigned, withdrawn ones too

    assert set(NON_ISO_CURRENCY) == ISO_SEEN
    for bad in NON_ISO_CURRENCY.values():
        assert len(bad) == 3 and bad.isalpha() and bad.isupper()
        assert bad not in list_currencies()


def test_stripe_serves_lowercase_non_iso_codes_and_logs_each_record(simulator_factory) -> None:
    sim = simulator_factory(scale="tiny", faults="stripe:bad_currency=0.5")
    conn = next(c for (system, _), c in sim.store.connections.items() if system == "stripe")
    info = sim.sim.emulators["stripe"].connection_info(conn)
    url, key = info["base_url"], info["api_key"]

    def charges() -> dict[str, str]:
        r = requests.get(f"{url}/v1/charges?limit=100", auth=(key, ""), timeout=10)
        assert r.status_code == 200
        return {c["id"]: c["currency"] for c in r.json()["data"]}

    served = charges()
    stored = {r["id"]: r["currency"] for r in conn.table("charges")}
    bad = {i for i, code in served.items() if code != stored[i]}
    assert 0 < len(bad) < len(served)
    for charge_id in bad:
        assert served[charge_id] == NON_ISO_CURRENCY[stored[charge_id].upper()].lower()
    logged = {
        f["key"]
        for f in sim.sim.injected()
        if f["kind"] == "bad_currency" and f["object"] == "charges"
    }
    assert logged == bad
    # the same records on every read while the fault is on, none once it is off
    assert charges() == served
    sim.set_faults("")
    assert charges() == stored
