"""Run the five emulators and the control API, each on its own port of 127.0.0.1."""

from __future__ import annotations

import importlib
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from simulator.emulator import EmulatorContext, FaultConfig, Faults, SystemEmulator
from simulator.store import Store

SYSTEMS = ("salesforce", "psa", "netsuite", "dynamics", "stripe")
PORT_OFFSETS = {"control": 0, "salesforce": 1, "psa": 2, "netsuite": 3, "dynamics": 4, "stripe": 5}
DEFAULT_PORT_BASE = 8700


class ServerThread:
    """A uvicorn server in a background thread; ``stop()`` shuts it down cleanly."""

    def __init__(
        self, app: Any, host: str = "127.0.0.1", port: int = 0, sock: socket.socket | None = None
    ):
        self.host = host
        # bind now and hand uvicorn the socket: no window for another process to take the port
        self.sock = sock or bind(host, port)
        self.port = self.sock.getsockname()[1]
        config = uvicorn.Config(
            app, host=host, port=self.port, log_level="warning", access_log=False, lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run,
            kwargs={"sockets": [self.sock]},
            daemon=True,
            name=f"sim-{self.port}",
        )

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"server on port {self.port} failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError(f"server on port {self.port} did not start in {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def emulator_class(system: str) -> type[SystemEmulator]:
    module = importlib.import_module(f"simulator.systems.{system}")
    return module.Emulator


@dataclass
class Simulator:
    """The running simulator: one store, five emulators, a control API."""

    store: Store
    fault_configs: dict[str, FaultConfig]
    host: str = "127.0.0.1"
    port_base: int = DEFAULT_PORT_BASE
    data_dir: Path | None = None
    emulators: dict[str, SystemEmulator] = field(default_factory=dict)
    servers: dict[str, ServerThread] = field(default_factory=dict)
    fault_spec: str = ""
    shutdown_requested: threading.Event = field(default_factory=threading.Event)

    def faults_for(self, system: str) -> FaultConfig:
        return self.fault_configs.get(system, self.fault_configs["*"])

    def base_url(self, system: str) -> str:
        return self.servers[system].url

    def start(self, ephemeral_ports: bool = False) -> Simulator:
        seed = int(self.store.manifest.get("seed", 0))
        for system in SYSTEMS:
            port = 0 if ephemeral_ports else self.port_base + PORT_OFFSETS[system]
            ctx = EmulatorContext(
                store=self.store, faults=Faults(system, self.faults_for(system), seed)
            )
            sock = bind(self.host, port)
            ctx.base_url = f"http://{self.host}:{sock.getsockname()[1]}"
            emulator = emulator_class(system)(ctx)
            self.emulators[system] = emulator
            self.servers[system] = ServerThread(emulator.app, self.host, sock=sock)
        from simulator.control import control_app

        control_port = 0 if ephemeral_ports else self.port_base + PORT_OFFSETS["control"]
        self.servers["control"] = ServerThread(control_app(self), self.host, control_port)
        self.store.start_running()
        for server in self.servers.values():
            server.start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def set_faults(self, spec: str | None) -> None:
        self.fault_configs = FaultConfig.parse(spec)
        self.fault_spec = spec or ""
        for system, emulator in self.emulators.items():
            emulator.faults.config = self.faults_for(system)

    def injected(self) -> list[dict[str, Any]]:
        return [x for e in self.emulators.values() for x in list(e.faults.injected)]
