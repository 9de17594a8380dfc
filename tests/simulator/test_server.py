"""The whole simulator: five systems on their own ports, a full read of every object through
the real API contracts, advance through the control API, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import requests

from simulator.store import Store
from simulator.walk import walk_all


def _tables(store: Store) -> dict[tuple[str, str], list[str]]:
    return {key: sorted(conn.tables) for key, conn in store.connections.items()}


def test_full_read_of_every_system_matches_the_dataset(simulator_factory) -> None:
    sim = simulator_factory("tiny")
    connections = json.loads(sim.connections_file.read_text())
    assert set(connections["systems"]) == {"salesforce", "psa", "netsuite", "dynamics", "stripe"}
    ports = {s.port for s in sim.sim.servers.values()}
    assert len(ports) == 6  # five systems and the control API, each on its own port
    counts = walk_all(connections, _tables(sim.store))
    expected = {
        (s, c, t): len(table)
        for (s, c), conn in sim.store.connections.items()
        for t, table in conn.tables.items()
    }
    assert dict(counts) == expected


def test_advance_through_the_control_api_changes_the_served_data(simulator_factory) -> None:
    sim = simulator_factory("tiny")
    before = sim.store.clock
    entries = len(sim.store.connection("psa", "psa").tables["time_entries"])
    resp = requests.post(f"{sim.control_url}/advance", json={"days": 3})
    assert resp.status_code == 200, resp.text
    assert sim.store.clock > before
    assert len(sim.store.connection("psa", "psa").tables["time_entries"]) > entries
    health = requests.get(f"{sim.control_url}/health").json()
    assert health["clock"] == sim.store.manifest["clock"]
    bad = requests.post(f"{sim.control_url}/advance", json={"days": 10_000})
    assert bad.status_code == 400 and "plan ends" in bad.json()["detail"]


def test_faults_are_set_and_reported_through_the_control_api(simulator_factory) -> None:
    sim = simulator_factory("tiny")
    resp = requests.put(f"{sim.control_url}/faults", json={"spec": "stripe:rate_limit=1"})
    assert resp.json()["systems"]["stripe"]["rate_limit"] == 1.0
    stripe = json.loads(sim.connections_file.read_text())["systems"]["stripe"]["stripe"]
    answer = requests.get(
        f"{stripe['base_url']}/v1/customers",
        headers={"Authorization": f"Bearer {stripe['api_key']}"},
    )
    assert answer.status_code == 429 and answer.json()["error"]["code"] == "rate_limit"
    injected = requests.get(f"{sim.control_url}/faults/injected").json()
    assert any(x["system"] == "stripe" and x["kind"] == "rate_limit" for x in injected)
    bad = requests.put(f"{sim.control_url}/faults", json={"spec": "nonsense=1"})
    assert bad.status_code == 400


def test_cli_exports_and_advances_a_dataset_directory(tmp_path: Path) -> None:
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "orchestration.cli", *a],
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run("simulator", "export", str(tmp_path / "ds"), "--scale", "tiny", "--seed", "9")
    assert out.returncode == 0, out.stderr
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["seed"] == 9 and (tmp_path / "ds" / "truth" / "customers.csv").exists()
    out = run("simulator", "advance", "--days", "2", "--data", str(tmp_path / "ds"))
    assert out.returncode == 0, out.stderr
    assert json.loads((tmp_path / "ds" / "manifest.json").read_text())["clock"] > manifest["clock"]
    out = run("simulator", "advance", "--control", "http://127.0.0.1:9")
    assert out.returncode == 2 and "no simulator answers" in out.stderr
