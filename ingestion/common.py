"""What every source shares: connection settings, the HTTP client with retries and token
renewal, request metrics, the quarantine of bad records, and the destination.

Connection settings come from dlt's config and secrets (``.dlt/config.toml``,
``.dlt/secrets.toml`` or environment variables), under ``sources.<system>``::

    [sources.netsuite]
    connections = ["apac", "europe"]
    [sources.netsuite.apac]
    base_url = "https://5123001.suitetalk.api.netsuite.com"

and the matching secrets (``SOURCES__NETSUITE__APAC__CLIENT_ID=...``). ``load_connections_file``
turns a JSON file of the same settings (what ``conform simulator serve`` writes, or what a user
writes for their own systems) into those environment variables.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dlt
import requests
from dlt.sources.helpers.requests import Client

SYSTEMS = ("salesforce", "psa", "netsuite", "dynamics", "stripe")
DEFAULT_WAREHOUSE = Path("warehouse/conform.duckdb")
QUARANTINE_TABLE = "_quarantine"
CONNECTION_COLUMN = "_source_connection"


class IngestionError(RuntimeError):
    """A failure a user can act on: unreachable system, rejected credentials, bad settings."""


# --------------------------------------------------------------------------------------------
# Connections
# --------------------------------------------------------------------------------------------


def connection_names(system: str) -> list[str]:
    names = dlt.config.get(f"sources.{system}.connections")
    if names is None:
        return []
    if isinstance(names, str):
        names = json.loads(names) if names.startswith("[") else names.split(",")
    return [str(n).strip() for n in names if str(n).strip()]


def connection_settings(system: str, name: str, keys: Iterable[str]) -> dict[str, Any]:
    """Read settings of one connection; secrets and config share the same keys."""
    out: dict[str, Any] = {}
    for key in keys:
        path = f"sources.{system}.{name}.{key}"
        value = dlt.secrets.get(path)
        if value is None:
            value = dlt.config.get(path)
        if value is not None:
            out[key] = value
    return out


def require(settings: dict[str, Any], system: str, name: str, *keys: str) -> None:
    missing = [k for k in keys if not settings.get(k)]
    if missing:
        env = ", ".join(f"SOURCES__{system.upper()}__{name.upper()}__{k.upper()}" for k in missing)
        raise IngestionError(
            f"{system}/{name}: missing setting(s) {', '.join(missing)} (set {env} "
            "or add them to .dlt/secrets.toml)"
        )


def load_connections_file(path: str | Path) -> list[str]:
    """Export a connections JSON ({"systems": {system: {connection: {key: value}}}}) as dlt
    environment variables; returns the systems it configured."""
    data = json.loads(Path(path).read_text())
    systems = data.get("systems", data)
    for system, conns in systems.items():
        os.environ[f"SOURCES__{system.upper()}__CONNECTIONS"] = json.dumps(sorted(conns))
        for name, settings in conns.items():
            for key, value in settings.items():
                env = f"SOURCES__{system.upper()}__{name.upper()}__{key.upper()}"
                os.environ[env] = value if isinstance(value, str) else json.dumps(value)
    return sorted(systems)


# --------------------------------------------------------------------------------------------
# HTTP: retries (dlt's client), token renewal, metrics
# --------------------------------------------------------------------------------------------


@dataclass
class Metrics:
    """Requests seen by one source run, per outcome (retries included)."""

    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hook(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        # counted once per response, whether seen by the session's send or by a request hook
        if getattr(response, "_conform_counted", False):
            return
        response._conform_counted = True  # type: ignore[attr-defined]
        status = response.status_code
        with self.lock:
            self.counts["requests"] += 1
            if status == 429 or (status == 403 and b"REQUEST_LIMIT_EXCEEDED" in response.content):
                self.counts["throttled"] += 1
            elif status >= 500:
                self.counts["server_errors"] += 1
            elif status == 401:
                self.counts["auth_renewals"] += 1

    def as_dict(self) -> dict[str, int]:
        with self.lock:
            return {
                k: int(self.counts.get(k, 0))
                for k in ("requests", "throttled", "server_errors", "auth_renewals")
            }


class RenewingBearerAuth(requests.auth.AuthBase):
    """Bearer auth whose token comes from ``fetch()``; a 401 drops the token so the retry
    (see ``http_session``) fetches a fresh one — for tokens that expire before they say."""

    def __init__(self, fetch: Callable[[], str]):
        self.fetch = fetch
        self.token: str | None = None
        self.lock = threading.Lock()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        with self.lock:
            if self.token is None:
                self.token = self.fetch()
            request.headers["Authorization"] = f"Bearer {self.token}"
        return request

    def invalidate(self) -> None:
        with self.lock:
            self.token = None


def http_session(
    metrics: Metrics,
    auth: RenewingBearerAuth | None = None,
    extra_retry: Callable[[requests.Response | None, BaseException | None], bool] | None = None,
) -> requests.Session:
    """A dlt retrying session: 429/5xx/timeouts retried with back-off honouring Retry-After
    (``[runtime] request_max_attempts`` etc.), plus a retry after a 401 with a fresh token."""

    def renew_on_401(response: requests.Response | None, exc: BaseException | None) -> bool:
        if response is not None and response.status_code == 401 and auth is not None:
            auth.invalidate()
            # dlt's retry re-sends this same prepared request: sign it with a fresh token
            auth(response.request)
            return True
        return False

    conditions = [renew_on_401] + ([extra_retry] if extra_retry else [])
    client = Client(retry_condition=conditions, raise_for_status=False)
    client.configure()
    session = client.session
    # count every attempt at the transport adapter: dlt's retry wraps session.send (so a
    # wrapper there sees only the last attempt), and per-request hooks (RESTClient.paginate
    # passes its own) replace the session's hooks
    adapter = session.get_adapter("https://")
    send = adapter.send

    def counting_send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = send(request, **kwargs)
        metrics.hook(response)
        return response

    adapter.send = counting_send  # type: ignore[method-assign]
    if auth is not None:
        session.auth = auth
    return session


def raise_for_status(response: requests.Response, system: str, connection: str) -> None:
    """Turn an HTTP error left after the retries into a one-line, actionable error."""
    if response.ok:
        return
    body = response.text[:300].replace("\n", " ")
    hint = ""
    if response.status_code in (401, 403):
        hint = " (check the credentials)"
    raise IngestionError(
        f"{system}/{connection}: {response.request.method} "
        f"{response.url.split('?')[0]} answered {response.status_code}{hint}: {body}"
    )


# --------------------------------------------------------------------------------------------
# Typed rows and quarantine
# --------------------------------------------------------------------------------------------


class BadRecord(ValueError):
    """A record that cannot be typed: it goes to the quarantine table with this reason."""


def quarantine_row(
    system: str, connection: str, obj: str, key: Any, reason: str, record: Any
) -> Any:
    row = {
        "system": system,
        CONNECTION_COLUMN: connection,
        "object": obj,
        "record_key": str(key),
        "reason": reason,
        "raw_record": json.dumps(record, default=str, sort_keys=True),
    }
    return dlt.mark.with_hints(
        row,
        dlt.mark.make_hints(
            table_name=QUARANTINE_TABLE,
            write_disposition="merge",
            primary_key=[CONNECTION_COLUMN, "object", "record_key"],
            columns={},  # empty: the variant would otherwise inherit the resource's columns
        ),
        # a table variant: without it the hints would replace the emitting resource's own
        # (its later good rows would be written to the quarantine table)
        create_table_variant=True,
    )


def typed(
    records: Iterable[dict[str, Any]],
    convert: Callable[[dict[str, Any]], dict[str, Any]],
    *,
    system: str,
    connection: str,
    obj: str,
    key: Callable[[dict[str, Any]], Any],
) -> Iterator[Any]:
    """Convert each record at the edge; a record that does not convert is quarantined with the
    reason, never dropped. Every good row is tagged with its connection."""
    for record in records:
        try:
            row = convert(record)
        except (BadRecord, ValueError, TypeError, KeyError, ArithmeticError) as exc:
            yield quarantine_row(
                system,
                connection,
                obj,
                _safe_key(key, record),
                f"{type(exc).__name__}: {exc}",
                record,
            )
            continue
        row[CONNECTION_COLUMN] = connection
        yield row


def _safe_key(key: Callable[[dict[str, Any]], Any], record: dict[str, Any]) -> Any:
    try:
        return key(record)
    except Exception:  # noqa: BLE001 - a record too broken to have a key still gets quarantined
        return json.dumps(record, default=str, sort_keys=True)[:200]


# --------------------------------------------------------------------------------------------
# Destination and pipelines
# --------------------------------------------------------------------------------------------


def warehouse_path() -> Path:
    return Path(os.environ.get("CONFORM_WAREHOUSE", str(DEFAULT_WAREHOUSE)))


def is_postgres() -> bool:
    return os.environ.get("CONFORM_DESTINATION", "duckdb") == "postgres"


class WarehouseMissing(RuntimeError):
    """A reader asked for the DuckDB warehouse before anything built it."""


@contextmanager
def warehouse_connection(read_only: bool = False) -> Iterator[tuple[Any, bool]]:
    """One short-lived DB-API connection to the warehouse the pipelines load (the DuckDB file,
    or PostgreSQL with dlt's credentials) and whether it is PostgreSQL. Writes are one
    transaction: committed on success, rolled back on error; the connection is always closed
    (DuckDB allows one writer, and any open connection blocks it)."""
    if is_postgres():
        import psycopg2

        uri = os.environ.get("DESTINATION__POSTGRES__CREDENTIALS", "")
        if not uri:
            raise RuntimeError(
                "CONFORM_DESTINATION=postgres needs DESTINATION__POSTGRES__CREDENTIALS"
            )
        con = psycopg2.connect(uri)
        try:
            yield con, True
            con.commit()
        except BaseException:
            con.rollback()
            raise
        finally:
            con.close()
        return
    import duckdb

    path = warehouse_path()
    if read_only and not path.exists():
        raise WarehouseMissing(f"no warehouse at {path}: run `conform run` first")
    con = duckdb.connect(str(path), read_only=read_only)
    try:
        if not read_only:
            con.execute("begin transaction")
        yield con, False
        if not read_only:
            con.execute("commit")
    except BaseException:
        if not read_only:
            con.execute("rollback")
        raise
    finally:
        con.close()


def destination() -> Any:
    """DuckDB file by default; PostgreSQL when CONFORM_DESTINATION=postgres (credentials from
    DESTINATION__POSTGRES__CREDENTIALS, as dlt reads them)."""
    kind = os.environ.get("CONFORM_DESTINATION", "duckdb")
    if kind == "duckdb":
        path = warehouse_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(path))
    if kind == "postgres":
        return dlt.destinations.postgres()
    raise IngestionError(f"CONFORM_DESTINATION={kind!r}: expected duckdb or postgres")


def pipelines_dir() -> str:
    """dlt's local working state lives beside the warehouse it describes, so a new (or
    deleted) DuckDB file never meets incremental cursors left by another warehouse."""
    if os.environ.get("CONFORM_PIPELINES_DIR"):
        return os.environ["CONFORM_PIPELINES_DIR"]
    if os.environ.get("CONFORM_DESTINATION", "duckdb") == "duckdb":
        return str(warehouse_path().resolve().parent / ".dlt_pipelines")
    return str(Path("build/dlt_pipelines").resolve())


def pipeline(system: str, connection: str) -> dlt.Pipeline:
    """One pipeline per connection (its own incremental state), all loading ``raw_<system>``."""
    return dlt.pipeline(
        pipeline_name=f"conform_{system}_{connection}",
        destination=destination(),
        dataset_name=f"raw_{system}",
        pipelines_dir=pipelines_dir(),
        progress="log" if os.environ.get("CONFORM_PROGRESS") else None,
    )
