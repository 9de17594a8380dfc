"""Kantata OX (formerly Mavenlink) API v1: the PSA source.

One table per object in ``raw_psa``, flattened from Kantata's side-loaded envelope
(``results`` gives the order, the id-keyed map named by each result's ``key`` holds the record).
Incremental by ``updated_after`` (strictly greater) on each object's ``updated_at``, ordered
``updated_at:asc``; page/per_page paging driven by ``meta.page_count``.

Settings (``sources.psa.<connection>.*``): ``base_url`` (``https://api.mavenlink.com/api/v1``),
then either ``api_token`` (a static bearer token) or ``client_id`` + ``client_secret`` +
``token_url`` (OAuth client credentials, renewed on 401; preferred when all three are given),
and optionally ``page_size`` (default 200, Kantata's maximum).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import dlt
import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import PageNumberPaginator

from ingestion.common import (
    CONNECTION_COLUMN,
    BadRecord,
    IngestionError,
    Metrics,
    RenewingBearerAuth,
    connection_settings,
    http_session,
    raise_for_status,
    require,
    typed,
)

SYSTEM = "psa"
SETTINGS_KEYS = ("base_url", "api_token", "client_id", "client_secret", "token_url", "page_size")
DEFAULT_PAGE_SIZE = 200
MAX_PAGE_SIZE = 200  # Kantata clamps per_page to 200
# updated_after is strictly greater: ask from one second before the cursor so a record written
# in the cursor's own second after the last run is not lost; dlt drops what it already has
CURSOR_OVERLAP = timedelta(seconds=1)

CUSTOM_FIELD_SUBJECTS = ("Workspace", "WorkspaceGroup", "User")
EXTERNAL_REFERENCE_SUBJECTS = ("Workspace", "WorkspaceGroup", "TimeEntry", "Invoice", "User")


@dataclass(frozen=True)
class Obj:
    """One Kantata object: its endpoint, the fixed query parameters it needs, and the fields
    the contract documents (used for the column type hints; other fields load as they come)."""

    name: str
    fields: tuple[str, ...]
    params: tuple[tuple[str, str], ...] = ()
    subject_types: tuple[str, ...] = ()  # endpoints that require a subject_type filter


def _f(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_STAMPS = " created_at updated_at"
OBJECTS: tuple[Obj, ...] = (
    Obj(
        "workspace_groups",
        _f(
            "id name company contact_name email phone_number address website "
            "notes workspace_ids custom_field_value_ids external_reference_ids" + _STAMPS
        ),
    ),
    # archived workspaces are hidden unless asked for; archived is the soft-delete flag
    Obj(
        "workspaces",
        _f(
            "id title description account_id archived start_date due_date "
            "effective_due_date budgeted currency price_in_cents status stage "
            "creator_id primary_maven_id primary_workspace_group_id "
            "workspace_group_ids participant_ids custom_field_value_ids "
            "external_reference_ids" + _STAMPS
        ),
        params=(("include_archived", "true"),),
    ),
    Obj(
        "users",
        _f(
            "id full_name email_address headline disabled account_id "
            "account_membership_id role_id custom_field_value_ids external_reference_ids" + _STAMPS
        ),
    ),
    Obj(
        "account_memberships",
        _f(
            "id user_id bill_rate_in_cents cost_rate_in_cents "
            "default_role_id manager_id permission" + _STAMPS
        ),
    ),
    Obj("roles", _f("id name" + _STAMPS)),
    # the flags the Singer tap sends so archived and deleted stories (deleted_at) come too
    Obj(
        "stories",
        _f(
            "id workspace_id parent_id title story_type state start_date due_date "
            "billable fixed_fee budget_estimate_in_cents percentage_complete "
            "time_estimate_in_minutes archived deleted_at" + _STAMPS
        ),
        params=(
            ("show_archived", "true"),
            ("show_deleted", "true"),
            ("show_from_archived_workspaces", "true"),
        ),
    ),
    Obj(
        "time_entries",
        _f(
            "id workspace_id user_id story_id role_id date_performed "
            "time_in_minutes billable notes rate_in_cents cost_rate_in_cents "
            "currency approved is_invoiced invoice_id external_reference_ids" + _STAMPS
        ),
        params=(("from_archived_workspaces", "true"),),
    ),
    Obj(
        "expenses",
        _f(
            "id workspace_id user_id date category notes amount_in_cents currency "
            "is_billable is_invoiced reimbursable" + _STAMPS
        ),
    ),
    Obj(
        "invoices",
        _f(
            "id workspace_ids invoice_date due_date status draft balance_in_cents "
            "currency user_invoice_number time_entry_ids expense_ids "
            "external_reference_ids" + _STAMPS
        ),
    ),
    Obj("time_off_entries", _f("id user_id requested_date hours" + _STAMPS)),
    Obj("holiday_calendars", _f("id name" + _STAMPS)),
    Obj("holiday_calendar_entries", _f("id holiday_calendar_id date name hours" + _STAMPS)),
    Obj("holiday_calendar_memberships", _f("id holiday_calendar_id user_id" + _STAMPS)),
    Obj("custom_fields", _f("id name subject_type value_type" + _STAMPS)),
    Obj(
        "custom_field_values",
        _f(
            "id subject_type subject_id custom_field_id custom_field_name "
            "value display_value type" + _STAMPS
        ),
        subject_types=CUSTOM_FIELD_SUBJECTS,
    ),
    Obj(
        "external_references",
        _f(
            "id subject_type subject_id subject_ref service_name "
            "service_model service_model_ref status external_link "
            "external_message external_status locked last_synced_at" + _STAMPS
        ),
        subject_types=EXTERNAL_REFERENCE_SUBJECTS,
    ),
)
OBJECT_NAMES = tuple(o.name for o in OBJECTS)

# -- field typing rules (by name, as Kantata names its fields) --------------------------------
BOOL_FIELDS = frozenset(
    {
        "archived",
        "budgeted",
        "company",
        "disabled",
        "billable",
        "fixed_fee",
        "approved",
        "is_invoiced",
        "is_billable",
        "reimbursable",
        "draft",
        "locked",
        "taxable",
    }
)
DATE_FIELDS = frozenset(
    {
        "date",
        "start_date",
        "due_date",
        "effective_due_date",
        "date_performed",
        "invoice_date",
        "requested_date",
    }
)
INT_FIELDS = frozenset({"percentage_complete", "currency_base_unit"})
NUMBER_FIELDS = frozenset({"hours"})
EMAIL_FIELDS = frozenset({"email", "email_address"})
TEXT_FIELDS = frozenset({"value", "display_value"})  # custom field values: text or number
CENTS, MINUTES = "_in_cents", "_in_minutes"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INT_RE = re.compile(r"^-?\d+$")
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MONEY = {"data_type": "decimal", "precision": 18, "scale": 2}


def money_column(name: str) -> str:
    """``price_in_cents`` -> ``price`` (major units)."""
    return name[: -len(CENTS)]


def hours_column(name: str) -> str:
    """``time_in_minutes`` -> ``hours``, ``time_estimate_in_minutes`` -> ``time_estimate_hours``."""
    base = name[: -len(MINUTES)]
    return "hours" if base == "time" else f"{base}_hours"


def column_hints(obj: Obj) -> dict[str, dict[str, Any]]:
    """Explicit types for the documented fields and the columns derived from them, so a bad
    value can never create a variant column."""
    cols: dict[str, dict[str, Any]] = {}
    for name in obj.fields:
        if name == "id" or name.endswith("_id") or name in TEXT_FIELDS:
            cols[name] = {"data_type": "text"}
        elif name.endswith("_ids"):
            cols[name] = {"data_type": "json"}  # kept as a JSON list, not a child table
        elif name.endswith("_at"):
            cols[name] = {"data_type": "timestamp", "timezone": True}
        elif name in DATE_FIELDS:
            cols[name] = {"data_type": "date"}
        elif name in BOOL_FIELDS:
            cols[name] = {"data_type": "bool"}
        elif name.endswith(CENTS):
            cols[name] = {"data_type": "bigint"}
            cols[money_column(name)] = dict(MONEY)
        elif name.endswith(MINUTES):
            cols[name] = {"data_type": "bigint"}
            cols[hours_column(name)] = {"data_type": "double"}
        elif name in INT_FIELDS:
            cols[name] = {"data_type": "bigint"}
        elif name in NUMBER_FIELDS:
            cols[name] = {"data_type": "double"}
        elif name in ("status", "subject_ref"):
            continue  # flattened below
        else:
            cols[name] = {"data_type": "text"}
    if obj.name == "workspaces":
        cols.update(
            status_key={"data_type": "bigint"},
            status_message={"data_type": "text"},
            status_color={"data_type": "text"},
            workspace_group_id={"data_type": "text"},
        )
    if obj.name == "invoices":
        cols["status"] = {"data_type": "text"}
        cols["workspace_id"] = {"data_type": "text"}
    if obj.name == "external_references":
        cols.update(
            status={"data_type": "text"},
            subject_ref_key={"data_type": "text"},
            subject_ref_id={"data_type": "text"},
        )
    if obj.name == "custom_field_values":
        cols.update(value_number={"data_type": "double"}, value_date={"data_type": "date"})
    cols[CONNECTION_COLUMN] = {"data_type": "text", "nullable": False}
    return cols


# -- conversion at the edge -------------------------------------------------------------------
def _bad(obj: str, name: str, value: Any, problem: str) -> BadRecord:
    return BadRecord(f"{obj}.{name}: {value!r} {problem}")


def to_datetime(obj: str, name: str, value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise _bad(obj, name, value, "is not an ISO 8601 datetime") from None
    # Kantata always sends an offset; a bare value is taken as UTC
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(obj: str, name: str, value: Any) -> date | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if not _DATE_RE.match(text[:10]):
            raise ValueError(text)
        return date.fromisoformat(text[:10])
    except ValueError:
        raise _bad(obj, name, value, "is not a YYYY-MM-DD date") from None


def to_int(obj: str, name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(obj, name, value, "is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    raise _bad(obj, name, value, "is not an integer")


def to_number(obj: str, name: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _bad(obj, name, value, "is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(obj, name, value, "is not a number") from None


def to_bool(obj: str, name: str, value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "t", "1"):
        return True
    if text in ("false", "f", "0"):
        return False
    raise _bad(obj, name, value, "is not a boolean")


def to_id(obj: str, name: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _bad(obj, name, value, "is not an id")
    return str(value)


def to_ids(obj: str, name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        raise _bad(obj, name, value, "is not a list of ids")
    return [to_id(obj, name, v) or "" for v in value]


def convert(obj: str, record: dict[str, Any]) -> dict[str, Any]:
    """Type one Kantata record; unknown (new) fields pass through for schema evolution."""
    if not isinstance(record, dict) or record.get("id") in (None, ""):
        raise BadRecord(f"{obj}: record without an id")
    row: dict[str, Any] = dict(record)
    for name, value in record.items():
        if name == "id" or name.endswith("_id"):
            row[name] = to_id(obj, name, value)
        elif name.endswith("_ids"):
            row[name] = to_ids(obj, name, value)
        elif name.endswith("_at"):
            row[name] = to_datetime(obj, name, value)
        elif name in DATE_FIELDS:
            row[name] = to_date(obj, name, value)
        elif name in BOOL_FIELDS:
            row[name] = to_bool(obj, name, value)
        elif name.endswith(MINUTES):
            minutes = row[name] = to_int(obj, name, value)
            row[hours_column(name)] = None if minutes is None else minutes / 60
        elif name in INT_FIELDS:
            row[name] = to_int(obj, name, value)
        elif name in NUMBER_FIELDS:
            row[name] = to_number(obj, name, value)
        elif name in EMAIL_FIELDS and value not in (None, ""):
            if not isinstance(value, str) or not _EMAIL_RE.match(value.strip()):
                raise _bad(obj, name, value, "is not an email address")
            row[name] = value.strip()
        elif name == "currency" and value is not None:
            if not isinstance(value, str) or not _CURRENCY_RE.match(value.strip()):
                raise _bad(obj, name, value, "is not an ISO 4217 currency code")
            row[name] = value.strip().upper()
    # money: integer minor units kept, a decimal amount in major units added. Kantata's own
    # display strings of the same name (workspace ``price`` "TBD", ``budget_used`` "$200")
    # move to ``<name>_display``
    base_unit = row.get("currency_base_unit") or 100
    for name, value in record.items():
        if name.endswith(CENTS):
            cents = row[name] = to_int(obj, name, value)
            target = money_column(name)
            if target in record:
                row[f"{target}_display"] = record[target]
            row[target] = None if cents is None else Decimal(cents) / Decimal(base_unit)
    if isinstance(record.get("status"), dict):  # workspace status {color, key, message}
        status = row.pop("status")
        row["status_key"] = to_int(obj, "status.key", status.get("key"))
        row["status_message"] = status.get("message")
        row["status_color"] = status.get("color")
    if isinstance(record.get("subject_ref"), dict):  # {"key": "time_entries", "id": "1"}
        ref = row.pop("subject_ref")
        row["subject_ref_key"] = ref.get("key")
        row["subject_ref_id"] = to_id(obj, "subject_ref.id", ref.get("id"))
    if obj == "workspaces":
        # the workspace -> client (workspace group) link as one column; the full list stays
        groups = row.get("workspace_group_ids") or []
        row["workspace_group_id"] = row.get("primary_workspace_group_id") or (
            groups[0] if groups else None
        )
    if obj == "invoices":
        workspaces = row.get("workspace_ids") or []
        row["workspace_id"] = workspaces[0] if workspaces else None
    if obj == "custom_field_values":
        _custom_value(row, record)
    return row


def _custom_value(row: dict[str, Any], record: dict[str, Any]) -> None:
    """``value`` is text, a number or a list of choices: kept as text, plus a typed copy."""
    value = record.get("value")
    for name in ("value", "display_value"):
        raw = record.get(name)
        row[name] = raw if raw is None or isinstance(raw, str) else json.dumps(raw)
    kind = record.get("type")
    if kind in ("number", "currency"):
        row["value_number"] = to_number("custom_field_values", "value", value)
    elif kind == "date":
        row["value_date"] = to_date("custom_field_values", "value", value)


# -- settings, auth and the HTTP client -------------------------------------------------------
def settings_for(connection: str) -> dict[str, Any]:
    settings = connection_settings(SYSTEM, connection, SETTINGS_KEYS)
    require(settings, SYSTEM, connection, "base_url")
    if not _oauth(settings):
        require(settings, SYSTEM, connection, "api_token")
    try:
        size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
    except (TypeError, ValueError):
        raise IngestionError(
            f"{SYSTEM}/{connection}: page_size must be an integer, got "
            f"{settings.get('page_size')!r}"
        ) from None
    settings["page_size"] = max(1, min(size, MAX_PAGE_SIZE))
    return settings


def _oauth(settings: dict[str, Any]) -> bool:
    return all(settings.get(k) for k in ("client_id", "client_secret", "token_url"))


class _Auth:
    """Static bearer token, or an OAuth client-credentials token renewed after a 401."""

    def __init__(self, connection: str, settings: dict[str, Any], metrics: Metrics):
        self.connection = connection
        self.settings = settings
        self.renewing: RenewingBearerAuth | None = None
        self.static: BearerTokenAuth | None = None
        if _oauth(settings):
            self.token_session = http_session(metrics)
            self.renewing = RenewingBearerAuth(self._fetch_token)
        else:
            self.static = BearerTokenAuth(str(settings["api_token"]))

    def _fetch_token(self) -> str:
        url = str(self.settings["token_url"])
        try:
            response = self.token_session.post(
                url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.settings["client_id"],
                    "client_secret": self.settings["client_secret"],
                },
            )
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: cannot reach the token endpoint "
                f"{url}: {type(exc).__name__}"
            ) from exc
        raise_for_status(response, SYSTEM, self.connection)
        token = (response.json() or {}).get("access_token")
        if not token:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: the token endpoint {url} "
                "answered without an access_token"
            )
        return str(token)

    def resign(self, response: requests.Response) -> None:
        """After a 401, put a fresh token on the very request the retry will send again (the
        retrying session resends the prepared request as it is)."""
        if self.renewing is not None and response.request is not None:
            self.renewing.invalidate()
            self.renewing(response.request)


def _client(connection: str, settings: dict[str, Any], metrics: Metrics, auth: _Auth) -> RESTClient:
    session = http_session(metrics, auth=auth.renewing)
    return RESTClient(
        base_url=str(settings["base_url"]).rstrip("/") + "/",
        session=session,
        auth=auth.static,
        headers={"Accept": "application/json"},
    )


def _response_hooks(metrics: Metrics, auth: _Auth) -> dict[str, list[Callable[..., Any]]]:
    """Request-level hooks replace the session's (requests merges hooks per event), so the
    metrics hook is repeated here. Errors raise HTTPError inside the retried send, which is
    what dlt's retry inspects; whatever is left after the retries is turned into an
    IngestionError by ``_pages``."""

    def check(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code >= 400:
            if response.status_code == 401:
                auth.resign(response)
            raise requests.HTTPError(f"{response.status_code}", response=response)

    return {"response": [metrics.hook, check]}


class KantataPaginator(PageNumberPaginator):
    """``page``=1,2,... until ``meta.page_count``; responses without ``meta`` (older ones omit
    it) fall back to ``count`` / page size, and an empty ``results`` always ends the list."""

    def __init__(self, page_size: int):
        super().__init__(
            base_page=1, page_param="page", total_path=None, stop_after_empty_page=True
        )
        self.page_size = page_size

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        body = response.json()
        meta = body.get("meta") or {}
        pages = meta.get("page_count")
        if pages is None and body.get("count") is not None:
            size = int(meta.get("page_size") or self.page_size)
            pages = math.ceil(int(body["count"]) / size)
        self.current_value += 1
        if not body.get("results") or (pages is not None and self.current_value > int(pages)):
            self._has_next_page = False


def _pages(
    client: RESTClient,
    connection: str,
    obj: str,
    params: dict[str, Any],
    hooks: dict[str, list[Callable[..., Any]]],
) -> Iterator[dict[str, Any]]:
    """Every primary record of a list endpoint, in ``results`` order, across pages."""
    paginator = KantataPaginator(int(params["per_page"]))
    try:
        # "$": the whole envelope is the page (dlt wraps it in a one-item list)
        for page in client.paginate(
            f"{obj}.json", params=params, paginator=paginator, data_selector="$", hooks=hooks
        ):
            yield from _flatten(page[0] if page else {}, obj)
    except requests.HTTPError as exc:
        if exc.response is None:
            raise IngestionError(f"{SYSTEM}/{connection}: {exc}") from exc
        raise_for_status(exc.response, SYSTEM, connection)
        raise
    except requests.RequestException as exc:
        raise IngestionError(
            f"{SYSTEM}/{connection}: cannot reach {client.base_url}: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
        ) from exc


def _flatten(body: dict[str, Any], obj: str) -> Iterator[dict[str, Any]]:
    """Kantata's normalised envelope: ``results`` lists {key, id} in order; each record is in
    the id-keyed map named by ``key`` (side-loads of the same type share that map)."""
    for ref in body.get("results") or []:
        key = ref.get("key") or obj
        if key != obj:
            continue  # a side-loaded record of another type: not asked for here
        record = (body.get(key) or {}).get(str(ref.get("id")))
        if record is None:
            raise IngestionError(
                f"{SYSTEM}: {obj} result {ref.get('id')} is missing from the "
                f"'{key}' map of the response"
            )
        yield record


# -- the source -------------------------------------------------------------------------------
def _resource(
    obj: Obj,
    connection: str,
    client: RESTClient,
    page_size: int,
    hooks: dict[str, list[Callable[..., Any]]],
) -> Any:
    def records(
        updated_at: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "updated_at", on_cursor_value_missing="include"
        ),  # quarantine rows have no stamp
    ) -> Iterator[Any]:
        params: dict[str, Any] = {
            "per_page": page_size,
            "order": "updated_at:asc",
            **dict(obj.params),
        }
        if updated_at.start_value is not None:
            since = updated_at.start_value - CURSOR_OVERLAP
            params["updated_after"] = since.astimezone(UTC).isoformat()
        for subject_type in obj.subject_types or (None,):
            query = dict(params, subject_type=subject_type) if subject_type else params
            yield from typed(
                _pages(client, connection, obj.name, query, hooks),
                lambda r: convert(obj.name, r),
                system=SYSTEM,
                connection=connection,
                obj=obj.name,
                key=lambda r: r["id"],
            )

    return dlt.resource(
        records,
        name=obj.name,
        table_name=obj.name,
        write_disposition="merge",
        primary_key=["id", CONNECTION_COLUMN],
        columns=column_hints(obj),
    )


def source(
    connection: str,
    settings: dict[str, Any],
    metrics: Metrics | None = None,
    objects: tuple[str, ...] | None = None,
) -> dlt.sources.DltSource:
    """The PSA source of one connection (its own name, so its own incremental state)."""
    metrics = metrics if metrics is not None else Metrics()
    page_size = int(settings.get("page_size") or DEFAULT_PAGE_SIZE)
    auth = _Auth(connection, settings, metrics)
    client = _client(connection, settings, metrics, auth)
    hooks = _response_hooks(metrics, auth)
    wanted = [o for o in OBJECTS if objects is None or o.name in objects]

    @dlt.source(name=f"{SYSTEM}_{connection}")
    def psa() -> list[Any]:
        return [_resource(o, connection, client, page_size, hooks) for o in wanted]

    return psa()
