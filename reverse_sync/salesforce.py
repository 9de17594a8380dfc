"""Salesforce writer: Conform's custom fields on Account through sObject Collections.

- Read: SOQL ``SELECT Id, <fields> FROM Account WHERE Id IN (...)`` (plain ``query``: soft-deleted
  rows are absent, i.e. not found).
- Write: ``PATCH /services/data/vXX.X/composite/sobjects`` with ``allOrNone: false`` and at most
  200 records per call; each record succeeds or fails on its own (``statusCode`` errors in the
  SaveResult array, which comes back in request order).
- Sign-in, instance URL and API version are the ingestion's (``ingestion.salesforce``); the
  API allowance answer (403 ``REQUEST_LIMIT_EXCEEDED``) is retried like a 429.
"""

from __future__ import annotations

import json
from typing import Any

from ingestion.common import Metrics, http_session
from ingestion.salesforce import SalesforceApi, _request_limit_exceeded, settings_for
from reverse_sync.writer import CORRELATION_HEADER, Change, Outcome, Writer, failed
from reverse_sync.writer import WriteError as WriteError

MAX_COLLECTION = 200
# value kinds of the allowlisted fields, for the JSON types Salesforce expects
NUMBER_FIELDS = frozenset({"Open_AR__c", "Overdue_AR__c"})


def soql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class SalesforceWriter(Writer):
    system = "salesforce"
    batch_sizes = {"Account": MAX_COLLECTION}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        super().__init__(connection, metrics)
        self.api = SalesforceApi(connection, settings_for(connection), self.metrics)
        # the ingestion's session raises on errors; a writer needs each answer as it is
        self.session = http_session(
            self.metrics, self.api.auth, extra_retry=_request_limit_exceeded
        )

    def read(self, obj: str, ids: list[str], api_fields: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        fields = ", ".join(["Id", *api_fields])
        soql = f"SELECT {fields} FROM {obj} WHERE Id IN ({', '.join(soql_string(i) for i in ids)})"
        url: str | None = f"{self.api.data_url}/query"
        params: dict[str, str] | None = {"q": soql}
        found: dict[str, dict[str, Any]] = {}
        while url:
            response = self.call(self.session, "GET", url, params=params)
            self.check(response, f"query {obj}")
            body = response.json()
            for record in body.get("records") or []:
                found[str(record["Id"])] = record
            next_url = body.get("nextRecordsUrl") if not body.get("done", True) else None
            url = f"{self.api.instance_url}{next_url}" if next_url else None
            params = None
        # the API returns 18-character ids; the warehouse holds them the same way
        return found

    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        if len(changes) > MAX_COLLECTION:
            raise ValueError(f"at most {MAX_COLLECTION} records per collection call")
        records = [
            {"attributes": {"type": obj}, "id": c.target_id, **self._typed(c.fields)}
            for c in changes
        ]
        headers = {CORRELATION_HEADER: ",".join(c.correlation_id for c in changes)[:1000]}
        try:
            response = self.call(
                self.session,
                "PATCH",
                f"{self.api.data_url}/composite/sobjects",
                json={"allOrNone": False, "records": records},
                headers=headers,
            )
            self.check(response, f"PATCH composite/sobjects ({obj})")
            results = response.json()
        except WriteError as exc:
            return {c.target_id: failed(exc) for c in changes}
        if not isinstance(results, list) or len(results) != len(changes):
            error = WriteError(
                f"{self.system}/{self.connection}: unexpected collection answer",
                response.status_code,
                response.text,
            )
            return {c.target_id: failed(error) for c in changes}
        # results come back in request order
        return {
            c.target_id: Outcome(
                bool(r.get("success")), response.status_code, json.dumps(r, sort_keys=True)
            )
            for c, r in zip(changes, results, strict=True)
        }

    @staticmethod
    def _typed(fields: dict[str, str]) -> dict[str, Any]:
        """Currency fields are JSON numbers; dates and text are strings."""
        return {
            k: float(v) if k in NUMBER_FIELDS and v is not None else v for k, v in fields.items()
        }
