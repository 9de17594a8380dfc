"""The simulated systems' state, and the dataset directory it is saved to and loaded from.

A dataset directory holds, for every connection of every system, one JSON-lines file per
object in that system's native record shape (see simulator/README.md), a manifest, and the
generator's ground truth under ``truth/``. The emulators serve a :class:`Store`; writes made
through their APIs change it and are saved back with :meth:`Store.save`.
"""

from __future__ import annotations

import csv
import json
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1

Record = dict[str, Any]
Key = tuple[Any, ...]


@dataclass
class Table:
    """One object of one connection: records kept in insertion order, addressed by key."""

    name: str
    key: tuple[str, ...]
    rows: dict[Key, Record] = field(default_factory=dict)

    def key_of(self, record: Record) -> Key:
        return tuple(record.get(k) for k in self.key)

    def upsert(self, record: Record) -> Record:
        self.rows[self.key_of(record)] = record
        return record

    def get(self, *key: Any) -> Record | None:
        return self.rows.get(tuple(key))

    def delete(self, *key: Any) -> Record | None:
        return self.rows.pop(tuple(key), None)

    def __iter__(self) -> Iterator[Record]:
        return iter(self.rows.values())

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Connection:
    """One account/instance/environment of a system, e.g. NetSuite account ``apac``."""

    system: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Table] = field(default_factory=dict)

    def table(self, name: str, key: tuple[str, ...] = ("id",)) -> Table:
        if name not in self.tables:
            self.tables[name] = Table(name=name, key=key)
        return self.tables[name]


class Store:
    """All simulated systems, the business clock, the write log and the ground truth."""

    def __init__(self, manifest: dict[str, Any]):
        self.manifest = manifest
        self.connections: dict[tuple[str, str], Connection] = {}
        self.truth: dict[str, list[dict[str, Any]]] = {}
        self.writes: list[dict[str, Any]] = []
        self.lock = threading.RLock()
        # bumped on every bulk change (advance); emulators drop their cached indexes on it
        self.generation = 0
        self._clock_set_at = time.monotonic()
        self._frozen = True  # offline (generation, export): now() is the clock itself

    # -- clock ---------------------------------------------------------------------------
    @property
    def clock(self) -> datetime:
        return datetime.fromisoformat(self.manifest["clock"])

    def set_clock(self, value: datetime) -> None:
        self.manifest["clock"] = value.astimezone(UTC).isoformat()
        self._clock_set_at = time.monotonic()

    def start_running(self) -> None:
        """From now on, now() moves with wall time so writes get fresh, increasing stamps."""
        self._frozen = False
        self._clock_set_at = time.monotonic()

    def now(self) -> datetime:
        if self._frozen:
            return self.clock
        return self.clock + timedelta(seconds=time.monotonic() - self._clock_set_at)

    # -- connections ---------------------------------------------------------------------
    def connection(self, system: str, name: str) -> Connection:
        key = (system, name)
        if key not in self.connections:
            settings = self.manifest.setdefault("connections", {}).setdefault(system, {})
            self.connections[key] = Connection(system, name, settings.setdefault(name, {}))
        return self.connections[key]

    def connections_of(self, system: str) -> list[Connection]:
        return [c for (s, _), c in self.connections.items() if s == system]

    def record_write(self, entry: dict[str, Any]) -> None:
        with self.lock:
            entry = {"seq": len(self.writes) + 1, "at": self.now().isoformat(), **entry}
            self.writes.append(entry)

    # -- persistence ---------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        """Write the dataset directory. Same store, same bytes (sorted paths, stable JSON)."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        with self.lock:
            manifest = dict(self.manifest)
            manifest["format"] = FORMAT_VERSION
            manifest["tables"] = {}
            for (system, name), conn in sorted(self.connections.items()):
                folder = root / system / name
                folder.mkdir(parents=True, exist_ok=True)
                for table_name, table in sorted(conn.tables.items()):
                    _write_jsonl(folder / f"{table_name}.jsonl", table)
                    manifest["tables"][f"{system}/{name}/{table_name}"] = {
                        "key": list(table.key),
                        "rows": len(table),
                    }
            truth_dir = root / "truth"
            truth_dir.mkdir(exist_ok=True)
            for name, rows in sorted(self.truth.items()):
                _write_csv(truth_dir / f"{name}.csv", rows)
            if self.writes:
                _write_jsonl(root / "writes.jsonl", self.writes)
            (root / "manifest.json").write_text(
                json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            )

    @classmethod
    def load(cls, directory: str | Path) -> Store:
        root = Path(directory)
        manifest_path = root / "manifest.json"
        if not manifest_path.exists():
            raise FileNotFoundError(f"{root} is not a dataset directory: no manifest.json")
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("format") != FORMAT_VERSION:
            raise ValueError(f"{root}: dataset format {manifest.get('format')!r} is not supported")
        store = cls(manifest)
        for path_key, meta in manifest.get("tables", {}).items():
            system, name, table_name = path_key.split("/")
            table = store.connection(system, name).table(table_name, tuple(meta["key"]))
            with (root / system / name / f"{table_name}.jsonl").open() as fh:
                for line in fh:
                    if line.strip():
                        table.upsert(json.loads(line))
        truth_dir = root / "truth"
        if truth_dir.exists():
            for path in sorted(truth_dir.glob("*.csv")):
                with path.open(newline="") as fh:
                    store.truth[path.stem] = list(csv.DictReader(fh))
        writes = root / "writes.jsonl"
        if writes.exists():
            store.writes = [json.loads(x) for x in writes.read_text().splitlines() if x.strip()]
        return store


def _write_jsonl(path: Path, rows: Iterable[Record]) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
            fh.write("\n")
    tmp.replace(path)


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    columns: list[str] = []
    for row in rows:
        for col in row:
            if col not in columns:
                columns.append(col)
    tmp = path.with_suffix(".csv.tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    tmp.replace(path)
