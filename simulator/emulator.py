"""What every system emulator shares: bearer tokens, fault injection, the write log.

Each system module (``simulator/systems/<system>.py``) subclasses :class:`SystemEmulator`,
declares how its own API answers an auth failure, a rate limit and a server error, and builds
its FastAPI routes. The fault middleware here decides, per request, whether to answer with one
of those instead; tests read what was injected from :attr:`Faults.injected`.
"""

from __future__ import annotations

import asyncio
import json
import random
import secrets
import threading
import time
import zlib
from dataclasses import dataclass, field, fields
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.middleware.base import BaseHTTPMiddleware

from simulator.store import Connection, Record, Store

# bad_currency: what a careless entry or a legacy interface writes instead of the ISO 4217 code
# (a country code, an old colloquial abbreviation). Three letters, so a client that only checks
# the shape of a code accepts it; only a check against the ISO list catches it.
NON_ISO_CURRENCY = {
    "USD": "USA",
    "CAD": "CDN",
    "GBP": "UKP",
    "EUR": "EMU",
    "SGD": "SGP",
    "AUD": "AUS",
    "SEK": "SKR",
    "CHF": "SFR",
}


def is_currency_field(obj: str, name: str) -> bool:
    """A field holding a currency code: *currency* / *CurrencyCode* / CurrencyIsoCode, and the
    `symbol` of NetSuite's currency records."""
    return "currenc" in name.lower() or (obj == "currency" and name == "symbol")


@dataclass
class FaultConfig:
    """Faults for one run. Probabilities are per request (rate_limit, server_error, slow) or
    per record (malformed, bad_currency); drift adds a new field to every record of the drifted
    objects."""

    rate_limit: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    retry_after: int = 1
    token_ttl: float = 0.0  # seconds; 0 = tokens never expire
    malformed: float = 0.0
    bad_currency: float = 0.0
    drift: bool = False

    @classmethod
    def parse(cls, spec: str | None) -> dict[str, FaultConfig]:
        """Parse ``"rate_limit=0.1,salesforce:server_error=0.05,drift=1"``.

        Returns per-system configs; the key ``"*"`` holds what applies to every system."""
        configs: dict[str, FaultConfig] = {"*": cls()}
        if not spec:
            return configs
        names = {f.name: f.type for f in fields(cls)}
        for part in filter(None, (p.strip() for p in spec.split(","))):
            if "=" not in part:
                raise ValueError(f"fault {part!r}: expected name=value")
            name, value = part.split("=", 1)
            system = "*"
            if ":" in name:
                system, name = name.split(":", 1)
            if name not in names:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(names))}")
            config = configs.setdefault(system, cls(**vars(configs["*"])))
            typ = names[name]
            parsed: Any
            if typ in ("bool", bool):
                parsed = value.lower() in ("1", "true", "yes", "on")
            elif typ in ("int", int):
                parsed = int(value)
            else:
                parsed = float(value)
            setattr(config, name, parsed)
            if system == "*":
                for other in configs.values():
                    setattr(other, name, parsed)
        return configs

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Faults:
    """The faults in force for one system, with a seeded random source and a log."""

    def __init__(self, system: str, config: FaultConfig, seed: int):
        self.system = system
        self.config = config
        self.seed = seed
        self._rng = random.Random(f"{seed}:{system}:faults")
        self.injected: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def roll(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self.lock:
            return self._rng.random() < probability

    def log(self, kind: str, **detail: Any) -> None:
        with self.lock:
            self.injected.append({"system": self.system, "kind": kind, **detail})

    def is_malformed(self, obj: str, key: Any) -> bool:
        """Deterministic per record, independent of request order: the same records break
        on every read while the fault is on."""
        if self.config.malformed <= 0:
            return False
        digest = zlib.crc32(f"{self.seed}:{self.system}:{obj}:{key}".encode())
        return digest / 0xFFFFFFFF < self.config.malformed

    def has_bad_currency(self, obj: str, key: Any) -> bool:
        """Deterministic per record, like is_malformed (another draw: the two are independent)."""
        if self.config.bad_currency <= 0:
            return False
        digest = zlib.crc32(f"{self.seed}:{self.system}:{obj}:{key}:bad_currency".encode())
        return digest / 0xFFFFFFFF < self.config.bad_currency


@dataclass
class Token:
    value: str
    issued: float
    connection: str
    subject: str = ""
    expired: bool = False


class TokenIssuer:
    def __init__(self) -> None:
        self.tokens: dict[str, Token] = {}
        self.lock = threading.Lock()

    def issue(self, connection: str, prefix: str = "", subject: str = "") -> Token:
        with self.lock:
            token = Token(prefix + secrets.token_urlsafe(24), time.monotonic(), connection, subject)
            self.tokens[token.value] = token
            return token

    def check(self, value: str | None, ttl: float) -> Token | None:
        if not value:
            return None
        with self.lock:
            token = self.tokens.get(value)
        if token is None or token.expired:
            return None
        if ttl and time.monotonic() - token.issued > ttl:
            token.expired = True
            return None
        return token

    def expire_all(self) -> int:
        with self.lock:
            for token in self.tokens.values():
                token.expired = True
            return len(self.tokens)


@dataclass
class EmulatorContext:
    store: Store
    faults: Faults
    tokens: TokenIssuer = field(default_factory=TokenIssuer)
    base_url: str = ""


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return None


class SystemEmulator:
    """Base of the five emulators. Subclasses set ``system`` and implement the hooks."""

    system: str = ""
    # paths that must never get injected faults or auth checks (token endpoints, discovery)
    open_paths: tuple[str, ...] = ()

    def __init__(self, ctx: EmulatorContext):
        self.ctx = ctx
        self.store = ctx.store
        self.faults = ctx.faults
        self.app = FastAPI(
            title=f"Conform simulator: {self.system}",
            docs_url=None,
            redoc_url=None,
            openapi_url=None,
        )
        self.app.add_middleware(_FaultMiddleware, emulator=self)
        self.routes(self.app)

    # -- hooks each system implements in its own error shapes -----------------------------
    def routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def rate_limited(self) -> Response:
        raise NotImplementedError

    def server_error(self) -> Response:
        raise NotImplementedError

    def unauthorized(self) -> Response:
        raise NotImplementedError

    def malform(self, obj: str, record: Record) -> Record:
        """Return a copy of the record with one field broken the way real bad data is."""
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        """The new field(s) a drifted schema shows on this object."""
        return {}

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        """Base URL(s) and credentials a client needs for this connection (from
        ``conn.settings``), as written to connections.json for the platform's configuration."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------------
    def authorize(self, request: Request, connection: str | None = None) -> Token | None:
        token = self.ctx.tokens.check(bearer(request), self.faults.config.token_ttl)
        if token is None:
            return None
        if connection is not None and token.connection != connection:
            return None
        return token

    def connection(self, name: str) -> Connection | None:
        return self.store.connections.get((self.system, name))

    def render(self, obj: str, record: Record, key: Any) -> Record:
        """Apply serve-time faults (malformed values, schema drift) to a stored record."""
        if self.faults.config.drift:
            extra = self.drift_fields(obj)
            if extra:
                record = {**record, **extra}
        if self.faults.is_malformed(obj, key):
            broken = self.malform(obj, dict(record))
            if broken != record:
                self.faults.log("malformed", object=obj, key=str(key))
            record = broken
        if self.faults.has_bad_currency(obj, key):
            record = self._bad_currency(obj, record, key)
        return record

    def _bad_currency(self, obj: str, record: Record, key: Any) -> Record:
        """Replace every currency code of the record by a non-ISO one (same case as served)."""
        changed: dict[str, list[str]] = {}
        out = dict(record)
        for name, value in record.items():
            if not isinstance(value, str) or not is_currency_field(obj, name):
                continue
            bad = NON_ISO_CURRENCY.get(value.upper())
            if bad is None:
                continue
            out[name] = bad.lower() if value.islower() else bad
            changed[name] = [value, out[name]]
        if changed:
            self.faults.log("bad_currency", object=obj, key=str(key), fields=changed)
        return out

    def log_write(
        self, request: Request, connection: str, status: int, body: Any, response: Any, **extra: Any
    ) -> None:
        self.store.record_write(
            {
                "system": self.system,
                "connection": connection,
                "method": request.method,
                "path": request.url.path,
                "query": str(request.url.query),
                "body": body,
                "status": status,
                "response": response,
                **extra,
            }
        )


class _FaultMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: Any, emulator: SystemEmulator):
        super().__init__(app)
        self.emulator = emulator

    async def dispatch(self, request: Request, call_next: Any) -> Response:
        em = self.emulator
        path = request.url.path
        if not any(path.endswith(p) or p in path for p in em.open_paths):
            cfg = em.faults.config
            if em.faults.roll(cfg.slow):
                em.faults.log("slow", path=path, seconds=cfg.slow_seconds)
                await asyncio.sleep(cfg.slow_seconds)
            if em.faults.roll(cfg.rate_limit):
                em.faults.log("rate_limit", path=path)
                return em.rate_limited()
            if em.faults.roll(cfg.server_error):
                em.faults.log("server_error", path=path)
                return em.server_error()
        return await call_next(request)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON with stable separators; ``JSONResponse`` would re-encode through the same path."""
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


__all__ = [
    "EmulatorContext",
    "FaultConfig",
    "Faults",
    "JSONResponse",
    "SystemEmulator",
    "TokenIssuer",
    "bearer",
    "json_response",
]
