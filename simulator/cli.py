"""`conform simulator ...`: serve, export, advance, status, wait, stop."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import requests

from simulator.server import DEFAULT_PORT_BASE

DEFAULT_DATA = Path("build/simulator")


def add_parser(subparsers: Any) -> None:
    sim = subparsers.add_parser("simulator", help="the local emulators of the five source systems")
    sub = sim.add_subparsers(dest="sim_command", required=True)

    serve = sub.add_parser("serve", help="serve a dataset (generated when the folder is empty)")
    _data_args(serve)
    serve.add_argument(
        "--faults", default="", help='e.g. "rate_limit=0.1,salesforce:server_error=0.05"'
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port-base", type=int, default=DEFAULT_PORT_BASE)
    serve.add_argument(
        "--fresh", action="store_true", help="regenerate even if the folder has data"
    )
    serve.set_defaults(func=cmd_serve)

    export = sub.add_parser("export", help="write a dataset directory and exit")
    export.add_argument("dir", type=Path)
    export.add_argument("--scale", default="demo")
    export.add_argument("--seed", type=int, default=42)
    export.set_defaults(func=cmd_export)

    adv = sub.add_parser("advance", help="move the business clock forward")
    adv.add_argument("--days", type=float, default=1.0)
    adv.add_argument("--data", type=Path, default=None, help="advance a folder offline")
    adv.add_argument("--control", default=f"http://127.0.0.1:{DEFAULT_PORT_BASE}")
    adv.set_defaults(func=cmd_advance)

    status = sub.add_parser(
        "status", help="base URLs, credentials and clock of a running simulator"
    )
    status.add_argument("--control", default=f"http://127.0.0.1:{DEFAULT_PORT_BASE}")
    status.set_defaults(func=cmd_status)

    wait = sub.add_parser("wait", help="wait until a simulator answers")
    wait.add_argument("--control", default=f"http://127.0.0.1:{DEFAULT_PORT_BASE}")
    wait.add_argument("--timeout", type=float, default=120)
    wait.set_defaults(func=cmd_wait)

    stop = sub.add_parser("stop", help="stop a running simulator (it saves its state first)")
    stop.add_argument("--control", default=f"http://127.0.0.1:{DEFAULT_PORT_BASE}")
    stop.set_defaults(func=cmd_stop)


def _data_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="dataset directory")
    parser.add_argument("--scale", default="demo", help="tiny | small | demo | large")
    parser.add_argument("--seed", type=int, default=42)


def load_or_generate(data: Path, scale: str, seed: int, fresh: bool = False):
    from simulator.generator import generate
    from simulator.store import Store

    if (data / "manifest.json").exists() and not fresh:
        return Store.load(data), False
    store = generate(seed, scale)
    store.save(data)
    return store, True


def cmd_serve(args: argparse.Namespace) -> int:
    from simulator.control import describe
    from simulator.emulator import FaultConfig
    from simulator.server import Simulator

    started = time.monotonic()
    store, generated = load_or_generate(args.data, args.scale, args.seed, args.fresh)
    sim = Simulator(
        store=store,
        fault_configs=FaultConfig.parse(args.faults),
        host=args.host,
        port_base=args.port_base,
        data_dir=args.data,
        fault_spec=args.faults,
    )
    sim.start()
    info = describe(sim)
    (args.data / "connections.json").write_text(json.dumps(info, indent=2) + "\n")
    what = "generated" if generated else "loaded"
    print(
        f"simulator: {what} {args.data} (scale {store.manifest.get('scale')}, seed "
        f"{store.manifest.get('seed')}, clock {store.manifest['clock']}) and serving in "
        f"{time.monotonic() - started:.1f}s",
        flush=True,
    )
    print(f"  control     {sim.servers['control'].url}")
    for system, conns in info["systems"].items():
        for name, conn in conns.items():
            url = conn.get("base_url") or conn.get("instance_url")
            print(f"  {system:<11} {name:<7} {url}")
    print(f"  credentials {args.data / 'connections.json'}", flush=True)

    def stop(*_: Any) -> None:
        sim.shutdown_requested.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while not sim.shutdown_requested.wait(0.5):
            pass
    finally:
        store.save(args.data)
        sim.stop()
        print(f"simulator: stopped; state saved to {args.data}", flush=True)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from simulator.generator import generate

    started = time.monotonic()
    store = generate(args.seed, args.scale)
    store.save(args.dir)
    rows = sum(len(t) for c in store.connections.values() for t in c.tables.values())
    print(
        f"exported {rows:,} records (scale {args.scale}, seed {args.seed}) to {args.dir} "
        f"in {time.monotonic() - started:.1f}s"
    )
    return 0


def cmd_advance(args: argparse.Namespace) -> int:
    if args.data is not None:
        from simulator.generator import advance
        from simulator.store import Store

        store = Store.load(args.data)
        result = advance(store, args.days)
        store.save(args.data)
    else:
        try:
            resp = requests.post(f"{args.control}/advance", json={"days": args.days}, timeout=300)
        except requests.ConnectionError:
            print(
                f"error: no simulator answers at {args.control} (start one with "
                "`conform simulator serve`, or pass --data DIR)",
                file=sys.stderr,
            )
            return 2
        if resp.status_code != 200:
            print(f"error: {resp.json().get('detail', resp.text)}", file=sys.stderr)
            return 2
        result = resp.json()
    print(
        f"clock now {result['clock']}: {result.get('inserted', 0):,} records added, "
        f"{result.get('updated', 0):,} changed, {result.get('deleted', 0):,} deleted"
    )
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    try:
        health = requests.get(f"{args.control}/health", timeout=5).json()
        conns = requests.get(f"{args.control}/connections", timeout=5).json()
    except requests.ConnectionError:
        print(f"no simulator answers at {args.control}", file=sys.stderr)
        return 2
    print(json.dumps({"health": health, **conns}, indent=2))
    return 0


def cmd_wait(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{args.control}/health", timeout=2).ok:
                return 0
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    print(
        f"error: no simulator answered at {args.control} within {args.timeout:.0f}s",
        file=sys.stderr,
    )
    return 2


def cmd_stop(args: argparse.Namespace) -> int:
    try:
        requests.post(f"{args.control}/shutdown", timeout=5)
    except requests.ConnectionError:
        print(f"no simulator answers at {args.control}", file=sys.stderr)
        return 0
    for _ in range(60):
        try:
            requests.get(f"{args.control}/health", timeout=1)
        except requests.ConnectionError:
            return 0
        time.sleep(0.5)
    return 0
