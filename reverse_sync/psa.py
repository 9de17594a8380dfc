"""Kantata OX (PSA) writer: Conform's integration fields, through the API's own upserts.

- Clients (``workspace_groups``) and projects (``workspaces``): custom field values, by the
  custom field's name on the subject type ("Conform ID", "ERP Project ID", ...).
  Read: ``GET /custom_field_values?subject_type=&subject_id=1,2&custom_field_id=a,b``;
  write: ``POST /custom_field_values`` with ``{"custom_field_values": [...]}`` (bulk, at most 100
  values, an upsert per subject and field; all or nothing, so a failed bulk is retried one
  record at a time to isolate the record at fault).
- Invoices: Conform's external reference on the invoice (``service_name`` Conform,
  ``service_model`` ERPInvoice; ``service_model_ref`` = ERP invoice number, ``external_status`` =
  invoice status, ``external_message`` = payment summary) through
  ``POST /external_references/create_or_update``, the only documented write; read with
  ``GET /external_references?subject_type=Invoice&subject_id=...&service_name=Conform``.
- A subject that does not exist (``GET /<objects>?only=...``) is reported not found.
"""

from __future__ import annotations

from typing import Any

from ingestion.common import Metrics, http_session
from ingestion.psa import _Auth, settings_for
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

SERVICE_NAME = "Conform"
SERVICE_MODEL = "ERPInvoice"
MAX_BULK = 100  # custom field values per bulk call
PER_PAGE = 200
SUBJECTS = {"workspace_groups": "WorkspaceGroup", "workspaces": "Workspace", "invoices": "Invoice"}
EXTERNAL_REFERENCE_FIELDS = ("service_model_ref", "external_status", "external_message")


class PsaWriter(Writer):
    system = "psa"
    # records per batch: at most 3 custom fields each, so a bulk call stays within 100 values
    batch_sizes = {"workspace_groups": 30, "workspaces": 30, "invoices": 50}

    def __init__(self, connection: str, metrics: Metrics | None = None):
        super().__init__(connection, metrics)
        settings = settings_for(connection)
        self.base = str(settings["base_url"]).rstrip("/")
        auth = _Auth(connection, settings, self.metrics)
        self.session = http_session(self.metrics, auth=auth.renewing)
        if auth.static is not None:
            self.session.auth = auth.static
        self.session.headers["Accept"] = "application/json"
        self._custom_fields: dict[tuple[str, str], str] | None = None

    # -- reading ------------------------------------------------------------------------------
    def _list(self, path: str, params: dict[str, Any], key: str) -> list[dict[str, Any]]:
        """Every record of a list endpoint, walking ``results`` page by page."""
        records: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.call(
                self.session,
                "GET",
                f"{self.base}/{path}",
                params={**params, "page": page, "per_page": PER_PAGE},
            )
            self.check(response, f"GET {path}")
            body = response.json()
            objects = body.get(key) or {}
            records.extend(objects[r["id"]] for r in body.get("results") or [] if r["key"] == key)
            page_count = int((body.get("meta") or {}).get("page_count") or 0)
            if page >= page_count or not body.get("results"):
                return records
            page += 1

    def custom_field_ids(self) -> dict[tuple[str, str], str]:
        """(subject type, custom field name) -> custom field id, read once per writer."""
        if self._custom_fields is None:
            fields = self._list("custom_fields", {}, "custom_fields")
            self._custom_fields = {
                (str(f.get("subject_type")), str(f.get("name"))): str(f["id"]) for f in fields
            }
        return self._custom_fields

    def _field_id(self, obj: str, name: str) -> str:
        subject = SUBJECTS[obj]
        found = self.custom_field_ids().get((subject, name))
        if found is None:
            raise WriteError(
                f"{self.system}/{self.connection}: no custom field {name!r} on {subject} "
                "(create it in Kantata, as a string field)"
            )
        return found

    def _existing(self, obj: str, ids: list[str]) -> set[str]:
        params: dict[str, Any] = {"only": ",".join(ids)}
        if obj == "workspaces":
            params["include_archived"] = "true"
        return {str(r["id"]) for r in self._list(obj, params, obj)}

    def read(self, obj: str, ids: list[str], api_fields: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        existing = self._existing(obj, ids)
        found: dict[str, dict[str, Any]] = {i: {} for i in ids if i in existing}
        live = ",".join(sorted(found))
        if not live:
            return found
        if obj == "invoices":
            refs = self._list(
                "external_references",
                {"subject_type": "Invoice", "subject_id": live, "service_name": SERVICE_NAME},
                "external_references",
            )
            for ref in refs:
                subject = str(ref.get("subject_id"))
                if subject in found and ref.get("service_model") == SERVICE_MODEL:
                    found[subject] = {f: ref.get(f) for f in EXTERNAL_REFERENCE_FIELDS}
            return found
        ids_by_name = {name: self._field_id(obj, name) for name in api_fields}
        names = {v: k for k, v in ids_by_name.items()}
        values = self._list(
            "custom_field_values",
            {
                "subject_type": SUBJECTS[obj],
                "subject_id": live,
                "custom_field_id": ",".join(sorted(ids_by_name.values())),
            },
            "custom_field_values",
        )
        for value in values:
            subject = str(value.get("subject_id"))
            name = names.get(str(value.get("custom_field_id")))
            if subject in found and name is not None:
                found[subject][name] = value.get("value")
        return found

    # -- writing ------------------------------------------------------------------------------
    def write(self, obj: str, changes: list[Change]) -> dict[str, Outcome]:
        if obj == "invoices":
            return {c.target_id: self._external_reference(c) for c in changes}
        try:
            field_ids = {name: self._field_id(obj, name) for c in changes for name in c.fields}
        except WriteError as exc:
            return {c.target_id: failed(exc) for c in changes}
        results = self._bulk(obj, changes, field_ids)
        if all(r.ok for r in results.values()) or len(changes) == 1:
            return results
        # the bulk is all or nothing: one record at a time finds the one at fault
        out: dict[str, Outcome] = {}
        for change in changes:
            out.update(self._bulk(obj, [change], field_ids))
        return out

    def _bulk(
        self, obj: str, changes: list[Change], field_ids: dict[str, str]
    ) -> dict[str, Outcome]:
        values = [
            {
                "subject_type": SUBJECTS[obj],
                "subject_id": int(c.target_id),
                "custom_field_id": int(field_ids[name]),
                "value": value,
            }
            for c in changes
            for name, value in sorted(c.fields.items())
        ]
        if len(values) > MAX_BULK:
            raise ValueError(f"at most {MAX_BULK} custom field values per call")
        try:
            response = self.call(
                self.session,
                "POST",
                f"{self.base}/custom_field_values",
                json={"custom_field_values": values},
                headers={CORRELATION_HEADER: ",".join(c.correlation_id for c in changes)[:1000]},
            )
        except WriteError as exc:
            return {c.target_id: failed(exc) for c in changes}
        result = outcome(response)
        return {c.target_id: result for c in changes}

    def _external_reference(self, change: Change) -> Outcome:
        reference = {
            "subject_type": "Invoice",
            "subject_id": int(change.target_id),
            "service_name": SERVICE_NAME,
            "service_model": SERVICE_MODEL,
            "status": "successful",
            # the upsert needs the whole reference each time: every desired field is sent
            **{f: change.desired.get(f) for f in EXTERNAL_REFERENCE_FIELDS},
        }
        if not reference.get("service_model_ref"):
            return Outcome(False, None, "no ERP invoice number to reference")
        try:
            response = self.call(
                self.session,
                "POST",
                f"{self.base}/external_references/create_or_update",
                json={"external_reference": reference},
                headers={CORRELATION_HEADER: change.correlation_id},
            )
        except WriteError as exc:
            return failed(exc)
        if response.status_code == 404 or (
            response.status_code == 422 and "subject" in response.text
        ):
            return Outcome(False, response.status_code, f"{NOT_FOUND}: {response.text}")
        return outcome(response)
