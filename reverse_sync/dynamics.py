"""Dynamics 365 Finance & Operations writer: the firm's extension fields through OData.

- Read: ``GET /data/{Set}(dataAreaId='us01',CustomerAccount='US-0001')?cross-company=true&$select=``
  gives the values and the record's ``@odata.etag`` (404 = not found).
- Write: ``PATCH`` of the same key URL with only the changed fields and ``If-Match: <etag>`` of
  that read (204): a record changed in between answers 412, and is read and patched once more
  with its new ETag (optimistic concurrency rather than overwriting a concurrent edit blindly).
- Keys: ``target_id`` is ``<dataAreaId>|<key>``; CustomersV3 is keyed by CustomerAccount,
  ProjectsV2 by ProjectID. Sign-in is the ingestion's Entra client credentials.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ingestion.common import Metrics, http_session
from ingestion.dynamics import EntraAuth, settings_for, token_fetcher
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

KEY_FIELDS = {"CustomersV3": "CustomerAccount", "ProjectsV2": "ProjectID"}


def odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class DynamicsWriter(Writer):
    system = "dynamics"
    batch_sizes = {"CustomersV3": 50, "ProjectsV2": 50}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        super().__init__(connection, metrics)
        settings = settings_for(connection)
        auth = EntraAuth(token_fetcher(settings, connection, http_session(self.metrics)))
        self.session = http_session(self.metrics, auth)
        self.session.hooks["response"].append(auth.renew)
        self.base = str(settings["base_url"]).rstrip("/") + "/data"
        self.etags: dict[tuple[str, str], str] = {}

    def _url(self, obj: str, target_id: str) -> str:
        area, _, key = target_id.partition("|")
        if not key:
            raise WriteError(f"{self.system}: target id {target_id!r} is not <dataAreaId>|<key>")
        segment = f"dataAreaId={odata_string(area)},{KEY_FIELDS[obj]}={odata_string(key)}"
        return f"{self.base}/{obj}({quote(segment, safe=chr(39) + '=,')})"

    def _get(self, obj: str, target_id: str, api_fields: list[str]) -> dict[str, Any] | None:
        response = self.call(
            self.session,
            "GET",
            self._url(obj, target_id),
            params={"cross-company": "true", "$select": ",".join(api_fields)},
        )
        if response.status_code == 404:
            return None
        self.check(response, f"GET {obj}")
        record = response.json()
        self.etags[(obj, target_id)] = str(record.get("@odata.etag") or "*")
        return {f: record.get(f) for f in api_fields}

    def read(self, obj: str, ids: list[str], api_fields: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for target_id in ids:
            record = self._get(obj, target_id, api_fields)
            if record is not None:
                found[target_id] = record
        return found

    def _patch(self, obj: str, change: Change) -> Any:
        return self.call(
            self.session,
            "PATCH",
            self._url(obj, change.target_id),
            params={"cross-company": "true"},
            json=dict(change.fields),
            headers={
                "If-Match": self.etags.get((obj, change.target_id), "*"),
                CORRELATION_HEADER: change.correlation_id,
            },
        )

    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        out: dict[str, Outcome] = {}
        for change in changes:
            try:
                response = self._patch(obj, change)
                if response.status_code == 412:  # changed since the read: read again, once
                    current = self._get(obj, change.target_id, sorted(change.fields))
                    if current is None:
                        out[change.target_id] = Outcome(False, 404, NOT_FOUND)
                        continue
                    response = self._patch(obj, change)
            except WriteError as exc:
                out[change.target_id] = failed(exc)
                continue
            result = outcome(response)
            if response.status_code == 404:
                result.response = f"{NOT_FOUND}: {response.text}"
            out[change.target_id] = result
        return out
