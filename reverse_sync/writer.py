"""What every system's writer shares: the change and outcome shapes, and the HTTP plumbing.

Writers reuse the ingestion's connection settings, sign-in and dlt's retrying session
(``ingestion.common.http_session``: 429/5xx/timeouts retried with back-off, Retry-After
honoured, a fresh token after a 401), so the reverse sync talks to a system exactly as the
ingestion does, through configuration only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests

from ingestion.common import Metrics

CORRELATION_HEADER = "X-Correlation-ID"
NOT_FOUND = "not found in the target"


@dataclass
class Change:
    """One record's write: the fields to send, and everything desired (some APIs need the
    whole set in each call, e.g. Kantata's external reference upsert)."""

    target_id: str
    fields: dict[str, str]  # api field -> canonical text value to send
    desired: dict[str, str]  # api field -> canonical text value, every desired field
    correlation_id: str
    idempotency_key: str


@dataclass
class Outcome:
    ok: bool
    http_status: int | None
    response: str  # the answer's body (or the error) for the audit log and dead letters


class WriteError(RuntimeError):
    """A request that still failed after the retries (a whole batch or a read)."""

    def __init__(self, message: str, http_status: int | None = None, body: str = ""):
        super().__init__(message)
        self.http_status = http_status
        self.body = body or message


class Writer:
    """Base of the system writers: ``read`` what the target holds, ``write`` changes."""

    system = ""
    # records per write call, by object (the API's batch limits)
    batch_sizes: dict[str, int] = {}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        self.connection = connection
        self.metrics = metrics if metrics is not None else Metrics()

    def batch_size(self, obj: str) -> int:
        return self.batch_sizes.get(obj, 50)

    def read(self, obj: str, ids: list[str], api_fields: list[str]) -> dict[str, dict[str, Any]]:
        """{target id: {api field: value as the API returns it}} for the records that exist;
        an id missing from the answer does not exist (or is deleted) in the target."""
        raise NotImplementedError

    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        """Send the changes; one outcome per target id."""
        raise NotImplementedError

    # -- helpers ------------------------------------------------------------------------------
    def call(self, session: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        """One request through the retrying session; connection errors and timeouts left
        after the retries become a WriteError without a status."""
        try:
            return session.request(method, url, **kwargs)
        except requests.RequestException as exc:
            raise WriteError(
                f"{self.system}/{self.connection}: {method} {url.split('?')[0]}: "
                f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc

    def check(self, response: requests.Response, what: str) -> None:
        if not response.ok:
            raise WriteError(
                f"{self.system}/{self.connection}: {what} answered {response.status_code}",
                response.status_code,
                response.text,
            )


def outcome(response: requests.Response) -> Outcome:
    return Outcome(response.ok, response.status_code, response.text)


def failed(error: WriteError) -> Outcome:
    return Outcome(False, error.http_status, error.body)
