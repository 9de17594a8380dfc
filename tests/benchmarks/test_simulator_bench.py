"""Simulator benchmarks (make bench): demo start-up and full read; large generation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from simulator.control import describe
from simulator.emulator import FaultConfig
from simulator.generator import cached_plan, generate
from simulator.server import Simulator
from simulator.walk import walk_all

pytestmark = pytest.mark.bench


def test_demo_serves_within_ten_seconds_and_reads_in_full(tmp_path: Path) -> None:
    cached_plan.cache_clear()
    started = time.monotonic()
    store = generate(42, "demo")
    sim = Simulator(store=store, fault_configs=FaultConfig.parse("")).start(ephemeral_ports=True)
    startup = time.monotonic() - started
    try:
        connections = describe(sim)
        tables = {key: sorted(conn.tables) for key, conn in store.connections.items()}
        t0 = time.monotonic()
        counts = walk_all(json.loads(json.dumps(connections)), tables)
        read = time.monotonic() - t0
    finally:
        sim.stop()
    rows = sum(counts.values())
    print(
        f"\nsimulator demo: start-up {startup:.1f}s (target < 10s); full read of {rows:,} "
        f"records through the five APIs in {read:.1f}s ({rows / read:,.0f} records/s)"
    )
    expected = {
        (s, c, t): len(table)
        for (s, c), conn in store.connections.items()
        for t, table in conn.tables.items()
    }
    assert dict(counts) == expected
    assert startup < 10


def test_large_generation(tmp_path: Path) -> None:
    cached_plan.cache_clear()
    t0 = time.monotonic()
    store = generate(42, "large")
    elapsed = time.monotonic() - t0
    entries = len(store.connection("psa", "psa").tables["time_entries"])
    rows = sum(len(t) for c in store.connections.values() for t in c.tables.values())
    print(
        f"\nsimulator large: {rows:,} records ({entries:,} time entries) "
        f"generated in {elapsed:.1f}s"
    )
    assert entries > 500_000
