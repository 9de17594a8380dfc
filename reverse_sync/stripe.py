"""Stripe writer: metadata keys on customers and invoices.

- Read: ``GET /v1/customers/{id}`` / ``GET /v1/invoices/{id}`` (a deleted customer is
  ``{"deleted": true}``: not found).
- Write: ``POST /v1/{customers|invoices}/{id}``, form-encoded ``metadata[<key>]=<value>`` (only
  the changed keys: other metadata keys are left as they are), with an ``Idempotency-Key``
  that the ledger keeps with the pending intent: a retry by the session, or the replay of an
  intent a crash left pending, carries the same key and Stripe answers the first result
  instead of executing again. 409 ``idempotency_key_in_use`` is retried like a 429.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from ingestion.common import Metrics, http_session
from ingestion.stripe import DEFAULT_API_VERSION, settings_for
from reverse_sync.writer import (
    CORRELATION_HEADER,
    NOT_FOUND,
    Change,
    Outcome,
    WriteError,
    Writer,
    failed,
    outcome,
)


def _in_use(response: requests.Response | None, exc: BaseException | None) -> bool:
    """A concurrent request with the same key is still executing: wait and ask again."""
    return response is not None and response.status_code == 409


class StripeWriter(Writer):
    system = "stripe"
    batch_sizes = {"customers": 50, "invoices": 50}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        super().__init__(connection, metrics)
        settings = settings_for(connection)
        self.base = str(settings["base_url"]).rstrip("/") + "/v1"
        self.session = http_session(self.metrics, extra_retry=_in_use)
        self.session.headers.update(
            {
                "Authorization": f"Bearer {settings['api_key']}",
                "Stripe-Version": str(settings.get("api_version") or DEFAULT_API_VERSION),
            }
        )

    def _url(self, obj: str, target_id: str) -> str:
        return f"{self.base}/{obj}/{quote(target_id, safe='')}"

    def read(self, obj: str, ids: list[str], api_fields: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for target_id in ids:
            response = self.call(self.session, "GET", self._url(obj, target_id))
            if response.status_code == 404:
                continue
            self.check(response, f"GET {obj}/{target_id}")
            record = response.json()
            if record.get("deleted"):
                continue
            metadata = record.get("metadata") or {}
            found[target_id] = {f: metadata.get(f) for f in api_fields}
        return found

    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        for change in changes:
            form = {f"metadata[{k}]": v for k, v in sorted(change.fields.items())}
            try:
                response = self.call(
                    self.session,
                    "POST",
                    self._url(obj, change.target_id),
                    data=form,
                    headers={
                        "Idempotency-Key": change.idempotency_key,
                        CORRELATION_HEADER: change.correlation_id,
                    },
                )
            except WriteError as exc:
                out[change.target_id] = failed(exc)
                continue
            result = outcome(response)
            if response.status_code == 404:
                result.response = f"{NOT_FOUND}: {response.text}"
            out[change.target_id] = result
        return out
