"""The simulator's control API: for `conform simulator` commands and tests, never the platform."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from fastapi import Body, FastAPI, HTTPException

from simulator.generator import advance

if TYPE_CHECKING:
    from simulator.server import Simulator


def control_app(sim: Simulator) -> FastAPI:
    app = FastAPI(title="Conform simulator control", docs_url=None, redoc_url=None)
    sim.shutdown_requested = threading.Event()

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {
            "ok": True,
            "clock": sim.store.manifest["clock"],
            "now": sim.store.now().isoformat(),
            "scale": sim.store.manifest.get("scale"),
            "seed": sim.store.manifest.get("seed"),
        }

    @app.get("/connections")
    def connections() -> dict[str, Any]:
        return describe(sim)

    @app.post("/advance")
    def do_advance(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
        try:
            days = float(body.get("days", 1))
            result = advance(sim.store, days)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        sim.store.start_running()
        return result

    @app.get("/faults")
    def get_faults() -> dict[str, Any]:
        return {
            "spec": sim.fault_spec,
            "systems": {s: e.faults.config.to_dict() for s, e in sim.emulators.items()},
        }

    @app.put("/faults")
    def put_faults(body: dict[str, Any] = Body(default_factory=dict)) -> dict[str, Any]:
        try:
            sim.set_faults(body.get("spec") or "")
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from exc
        return get_faults()

    @app.get("/faults/injected")
    def injected() -> list[dict[str, Any]]:
        return sim.injected()

    @app.post("/faults/expire-tokens")
    def expire_tokens() -> dict[str, int]:
        return {"expired": sum(e.ctx.tokens.expire_all() for e in sim.emulators.values())}

    @app.get("/writes")
    def writes(system: str | None = None) -> list[dict[str, Any]]:
        with sim.store.lock:
            return [w for w in sim.store.writes if system is None or w["system"] == system]

    @app.post("/save")
    def save() -> dict[str, Any]:
        if sim.data_dir is None:
            raise HTTPException(400, "the simulator was started without a data directory")
        sim.store.save(sim.data_dir)
        return {"saved": str(sim.data_dir)}

    @app.post("/shutdown")
    def shutdown() -> dict[str, bool]:
        sim.shutdown_requested.set()
        return {"ok": True}

    return app


def describe(sim: Simulator) -> dict[str, Any]:
    """Base URLs and credentials of every connection, as the platform would be configured."""
    out: dict[str, Any] = {"control_url": sim.servers["control"].url, "systems": {}}
    for system, emulator in sim.emulators.items():
        conns = {}
        for conn in sim.store.connections_of(system):
            conns[conn.name] = emulator.connection_info(conn)
        out["systems"][system] = conns
    return out
