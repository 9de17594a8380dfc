"""NetSuite writer: Conform's custom entity fields through the REST Record API.

- Read: ``GET /services/rest/record/v1/{customer|job}/{id}`` (custom fields under their script
  ids; a null field is omitted; 404 ``NONEXISTENT_ID`` = not found).
- Write: ``PATCH /services/rest/record/v1/{type}/{id}`` with only the changed custom fields
  (``custentity_conform_id``, ``custentity_crm_account_id``, ``custentity_psa_project_code``):
  204 No Content. A PATCH of the same values is harmless, and the ledger makes it rare.
- Sign-in is the ingestion's OAuth 2.0 client credentials with a signed JWT (M2M); 429
  ``CONCURRENCY_LIMIT_EXCEEDED`` and 5xx are retried with back-off by the session.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ingestion.common import Metrics, http_session
from ingestion.netsuite import _base_url, _TokenAuth, settings_for
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

RECORD_PATH = "/services/rest/record/v1"


class NetSuiteWriter(Writer):
    system = "netsuite"
    batch_sizes = {"customer": 50, "job": 50}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        super().__init__(connection, metrics)
        settings = settings_for(connection)
        self.base = _base_url(settings) + RECORD_PATH
        auth = _TokenAuth(connection, settings, http_session(self.metrics))
        self.session = http_session(self.metrics, auth)
        # renew() puts a fresh token on the very request dlt's retry sends again after a 401
        self.session.hooks["response"].append(auth.renew)

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
            found[target_id] = {f: record.get(f) for f in api_fields}
        return found

    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        for change in changes:
            try:
                response = self.call(
                    self.session,
                    "PATCH",
                    self._url(obj, change.target_id),
                    json=dict(change.fields),
                    headers={CORRELATION_HEADER: change.correlation_id},
                )
            except WriteError as exc:
                out[change.target_id] = failed(exc)
                continue
            result = outcome(response)
            if response.status_code == 404:
                result.response = f"{NOT_FOUND}: {response.text}"
            out[change.target_id] = result
        return out
