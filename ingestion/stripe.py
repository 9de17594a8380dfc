"""Stripe API v1 source: customers, invoices, payment_intents, charges and events.

Stripe objects carry no modification stamp, so changes are read from the event log:

- first run: every object is listed in full (``GET /v1/<resource>``, ``starting_after`` paging)
  and the newest event of the object's type (``customer.*`` ...) is kept in the resource's dlt
  state as the cursor (its ``created`` second and the ids of the events in that second);
- later runs: ``GET /v1/events?type=<object>.*&created[gte]=<cursor>`` and each event's
  ``data.object`` snapshot is upserted (newest event wins; events already seen in the cursor's
  second are dropped). ``customer.deleted`` sets ``is_deleted`` on the customers row. If the
  cursor's events are gone (Stripe keeps events for 30 days), the object is listed in full
  again rather than silently missing changes;
- the events themselves load into ``events`` incrementally on ``created`` (dlt.sources.incremental
  with ``created[gte]``; dlt drops the boundary duplicates).

Types are made at the edge: unix seconds -> aware datetimes, integer minor units -> decimal
``<field>_major`` columns using the currency's exponent (the minor-unit columns are kept),
currency codes upper-cased, ``address`` / ``status_transitions`` flattened, ``metadata`` kept as
JSON plus one ``metadata__<key>`` column per key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import dlt
import requests
from dlt.common.schema.typing import TColumnSchema
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import BearerTokenAuth
from dlt.sources.helpers.rest_client.paginators import BasePaginator

from ingestion.common import (
    CONNECTION_COLUMN,
    BadRecord,
    IngestionError,
    Metrics,
    connection_settings,
    http_session,
    raise_for_status,
    require,
    typed,
)

SYSTEM = "stripe"
SETTINGS_KEYS = ("base_url", "api_key", "page_size", "api_version")
DEFAULT_BASE_URL = "https://api.stripe.com"
# The API version this module's field handling was written against; Stripe shapes responses by
# the version sent, so pinning it keeps them stable whatever the account's default is.
DEFAULT_API_VERSION = "2024-06-20"
MAX_PAGE_SIZE = 100

log = logging.getLogger(__name__)

# Stripe amounts are integers in the currency's minor unit; the exponent is 2 except for these
# (https://docs.stripe.com/currencies). ISK, HUF and TWD stay two-decimal in the API.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset({"BHD", "JOD", "KWD", "OMR", "TND"})

_CURRENCY = re.compile(r"^[A-Za-z]{3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def currency_exponent(currency: str) -> int:
    code = currency.upper()
    if code in ZERO_DECIMAL:
        return 0
    if code in THREE_DECIMAL:
        return 3
    return 2


def to_major(minor: int | None, currency: str | None) -> Decimal | None:
    """Minor units -> a decimal amount in the currency's units (1999 USD -> 19.99)."""
    if minor is None or currency is None:
        return None
    return Decimal(minor).scaleb(-currency_exponent(currency))


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def settings_for(connection: str) -> dict[str, Any]:
    settings = connection_settings(SYSTEM, connection, SETTINGS_KEYS)
    settings.setdefault("base_url", DEFAULT_BASE_URL)
    require(settings, SYSTEM, connection, "base_url", "api_key")
    return settings


# --------------------------------------------------------------------------------------------
# Value conversion (raises BadRecord -> the row is quarantined by common.typed)
# --------------------------------------------------------------------------------------------


def _int(record: dict[str, Any], name: str) -> int | None:
    value = record.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{name}: expected an integer, got {value!r}")
    return value


def _ts(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRecord(f"{name}: expected unix seconds, got {value!r}")
    return datetime.fromtimestamp(value, UTC)


def _bool(record: dict[str, Any], name: str) -> bool | None:
    value = record.get(name)
    if value is None or isinstance(value, bool):
        return value
    raise BadRecord(f"{name}: expected a boolean, got {value!r}")


def _currency(value: Any, name: str = "currency") -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise BadRecord(f"{name}: expected an ISO 4217 code, got {value!r}")
    return value.upper()


def _metadata(row: dict[str, Any]) -> None:
    """Keep metadata as JSON and add one flat column per key (metadata__erp_invoice_number)."""
    if "metadata" not in row:
        return
    meta = row["metadata"]
    if meta is None:
        return
    if not isinstance(meta, dict):
        raise BadRecord(f"metadata: expected an object, got {meta!r}")
    for key, value in meta.items():
        row[f"metadata__{key}"] = value


def _base(
    record: dict[str, Any],
    timestamps: tuple[str, ...],
    bools: tuple[str, ...],
    ints: tuple[str, ...],
    money: tuple[str, ...],
) -> dict[str, Any]:
    """Shared conversion; unknown fields pass through, so a new field (drift) loads as a new
    column (nested values stay JSON: the resources use max_table_nesting=0)."""
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise BadRecord(f"id: missing or not a string: {record.get('id')!r}")
    row = dict(record)
    for name in timestamps:
        if name in row:
            row[name] = _ts(row[name], name)
    for name in bools:
        if name in row:
            row[name] = _bool(record, name)
    for name in ints + money:
        if name in row:
            row[name] = _int(record, name)
    if "currency" in row:
        row["currency"] = _currency(record["currency"])
    for name in money:
        if name in row:
            row[f"{name}_major"] = to_major(row[name], row.get("currency"))
    _metadata(row)
    return row


def convert_customer(record: dict[str, Any]) -> dict[str, Any]:
    row = _base(record, ("created",), ("livemode",), (), ("balance",))
    address = row.pop("address", None)
    if address is not None and not isinstance(address, dict):
        raise BadRecord(f"address: expected an object, got {address!r}")
    for part in ("city", "country", "line1", "line2", "postal_code", "state"):
        row[f"address__{part}"] = (address or {}).get(part)
    country = row["address__country"]
    if country is not None and not (isinstance(country, str) and _COUNTRY.match(country)):
        raise BadRecord(f"address.country: expected an ISO 3166-1 alpha-2 code, got {country!r}")
    row["is_deleted"] = bool(row.pop("deleted", False))
    return row


def convert_invoice(record: dict[str, Any]) -> dict[str, Any]:
    row = _base(
        record,
        ("created", "due_date", "period_start", "period_end"),
        ("livemode", "paid", "attempted"),
        ("attempt_count",),
        ("subtotal", "tax", "total", "amount_due", "amount_paid", "amount_remaining"),
    )
    transitions = row.pop("status_transitions", None)
    if transitions is not None and not isinstance(transitions, dict):
        raise BadRecord(f"status_transitions: expected an object, got {transitions!r}")
    for name in ("finalized_at", "paid_at", "marked_uncollectible_at", "voided_at"):
        value = (transitions or {}).get(name)
        row[f"status_transitions__{name}"] = _ts(value, f"status_transitions.{name}")
    return row


def convert_payment_intent(record: dict[str, Any]) -> dict[str, Any]:
    return _base(
        record,
        ("created", "canceled_at"),
        ("livemode",),
        (),
        ("amount", "amount_received", "amount_capturable"),
    )


def convert_charge(record: dict[str, Any]) -> dict[str, Any]:
    return _base(
        record,
        ("created",),
        ("livemode", "paid", "captured", "refunded"),
        (),
        ("amount", "amount_captured", "amount_refunded"),
    )


def convert_event(record: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(record.get("id"), str) or not record["id"]:
        raise BadRecord(f"id: missing or not a string: {record.get('id')!r}")
    created = record.get("created")
    if created is None:  # the cursor column: an event without it cannot be placed in time
        raise BadRecord("created: missing")
    data = record.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("object"), dict):
        raise BadRecord("data.object: missing or not an object")
    request = record.get("request")
    if isinstance(request, str):  # API versions before 2017-05-25 sent the request id only
        request = {"id": request, "idempotency_key": None}
    request = request or {}
    snapshot = data["object"]
    row = {k: v for k, v in record.items() if k not in ("data", "request")}
    row.update(
        created=_ts(created, "created"),
        livemode=_bool(record, "livemode"),
        pending_webhooks=_int(record, "pending_webhooks"),
        object_id=snapshot.get("id"),
        object_type=snapshot.get("object"),
        request_id=request.get("id"),
        idempotency_key=request.get("idempotency_key"),
        data_object=snapshot,
        previous_attributes=data.get("previous_attributes"),
    )
    return row


# --------------------------------------------------------------------------------------------
# Column hints: the typed columns, so a bad value can never create a variant column
# --------------------------------------------------------------------------------------------


def _cols(**types: str) -> dict[str, TColumnSchema]:
    return {name: {"data_type": t, "nullable": True} for name, t in types.items()}  # type: ignore[misc]


def _money(*names: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for name in names:
        out[name] = "bigint"
        out[f"{name}_major"] = "decimal"
    return out


_COMMON = {
    "id": "text",
    "object": "text",
    "currency": "text",
    "created": "timestamp",
    "livemode": "bool",
    "metadata": "json",
    CONNECTION_COLUMN: "text",
}

COLUMNS: dict[str, dict[str, TColumnSchema]] = {
    "customers": _cols(
        **_COMMON,
        **_money("balance"),
        name="text",
        email="text",
        description="text",
        tax_exempt="text",
        is_deleted="bool",
        address__city="text",
        address__country="text",
        address__line1="text",
        address__line2="text",
        address__postal_code="text",
        address__state="text",
    ),
    "invoices": _cols(
        **_COMMON,
        **_money("subtotal", "tax", "total", "amount_due", "amount_paid", "amount_remaining"),
        customer="text",
        status="text",
        number="text",
        due_date="timestamp",
        collection_method="text",
        payment_intent="text",
        status_transitions__finalized_at="timestamp",
        status_transitions__paid_at="timestamp",
        status_transitions__marked_uncollectible_at="timestamp",
        status_transitions__voided_at="timestamp",
    ),
    "payment_intents": _cols(
        **_COMMON,
        **_money("amount", "amount_received"),
        customer="text",
        invoice="text",
        latest_charge="text",
        status="text",
    ),
    "charges": _cols(
        **_COMMON,
        **_money("amount", "amount_captured", "amount_refunded"),
        customer="text",
        invoice="text",
        payment_intent="text",
        paid="bool",
        captured="bool",
        refunded="bool",
        status="text",
    ),
    "events": _cols(
        id="text",
        object="text",
        type="text",
        created="timestamp",
        api_version="text",
        pending_webhooks="bigint",
        livemode="bool",
        object_id="text",
        object_type="text",
        request_id="text",
        idempotency_key="text",
        data_object="json",
        previous_attributes="json",
        **{CONNECTION_COLUMN: "text"},
    ),
}

# table -> (the ``object`` value of its records, its event type prefix, converter)
OBJECTS: dict[str, tuple[str, str, Callable[[dict[str, Any]], dict[str, Any]]]] = {
    "customers": ("customer", "customer", convert_customer),
    "invoices": ("invoice", "invoice", convert_invoice),
    "payment_intents": ("payment_intent", "payment_intent", convert_payment_intent),
    "charges": ("charge", "charge", convert_charge),
}


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class StripeCursorPaginator(BasePaginator):
    """Stripe list paging: ``has_more`` plus ``starting_after=<id of the page's last object>``
    (the cursor is an object id, not a token in the response)."""

    def __init__(self) -> None:
        super().__init__()
        self._last_id: str | None = None

    def update_state(self, response: requests.Response, data: list[Any] | None = None) -> None:
        body = response.json()
        body = body if isinstance(body, dict) else {}
        items = body.get("data") or []
        last = items[-1].get("id") if items and isinstance(items[-1], dict) else None
        self._last_id = last
        self._has_next_page = bool(body.get("has_more")) and last is not None

    def update_request(self, request: requests.Request) -> None:
        if self._has_next_page:
            request.params = {**(request.params or {}), "starting_after": self._last_id}


class StripeClient(RESTClient):
    """RESTClient whose pages are checked after dlt's retries: an error still left becomes a
    one-line IngestionError (the default hook would raise mid-retry or with a long message)."""

    def __init__(self, connection: str, settings: dict[str, Any], metrics: Metrics):
        super().__init__(
            base_url=str(settings["base_url"]).rstrip("/"),
            headers={"Stripe-Version": str(settings.get("api_version") or DEFAULT_API_VERSION)},
            auth=BearerTokenAuth(str(settings["api_key"])),
            data_selector="data",
            # the key does not expire, so no RenewingBearerAuth: a 401 is final, not retried
            session=http_session(metrics),
        )
        self.connection = connection
        self.page_size = max(1, min(MAX_PAGE_SIZE, int(settings.get("page_size") or MAX_PAGE_SIZE)))

    def extract_response(self, response: requests.Response, data_selector: Any) -> list[Any]:
        raise_for_status(response, SYSTEM, self.connection)
        return super().extract_response(response, data_selector)

    def pages(self, path: str, params: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list, newest first."""
        try:
            yield from self.paginate(
                path,
                params={"limit": self.page_size, **params},
                paginator=StripeCursorPaginator(),
                hooks={"response": []},
            )
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: cannot reach {self.base_url} "
                f"({type(exc).__name__}: {str(exc).splitlines()[0][:200]})"
            ) from exc


# --------------------------------------------------------------------------------------------
# Resources
# --------------------------------------------------------------------------------------------


def _event_created(event: dict[str, Any]) -> int | None:
    value = event.get("created")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _boundary(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The cursor after reading ``events``: the newest ``created`` second and the ids in it."""
    stamps = [c for c in map(_event_created, events) if c is not None]
    if not stamps:
        return None
    newest = max(stamps)
    return {
        "created": newest,
        "ids": sorted(e["id"] for e in events if _event_created(e) == newest),
    }


def _newest_events(client: StripeClient, event_type: str) -> list[dict[str, Any]]:
    """The events of the newest ``created`` second of a type (normally one request)."""
    found: list[dict[str, Any]] = []
    newest: int | None = None
    for page in client.pages("/v1/events", {"type": event_type}):
        for event in page:
            created = _event_created(event)
            if created is None:
                continue
            if newest is None:
                newest = created
            if created < newest:
                return found
            found.append(event)
    return found


def _object_resource(client: StripeClient, connection: str, table: str) -> Any:
    obj_type, prefix, convert = OBJECTS[table]
    event_type = f"{prefix}.*"

    def rows(records: list[dict[str, Any]]) -> Iterator[Any]:
        return typed(
            records, convert, system=SYSTEM, connection=connection, obj=table, key=lambda r: r["id"]
        )

    def full() -> Iterator[Any]:
        # read the cursor first: a change made while listing then shows up again next run
        boundary = _boundary(_newest_events(client, event_type))
        for page in client.pages(f"/v1/{table}", {}):
            yield from rows(page)
        dlt.current.resource_state()["events_cursor"] = boundary or {"created": 0, "ids": []}

    def changes(cursor: dict[str, Any]) -> Iterator[Any]:
        seen = set(cursor.get("ids") or [])
        read: list[dict[str, Any]] = []
        latest: dict[str, dict[str, Any]] = {}  # object id -> newest snapshot
        for page in client.pages(
            "/v1/events", {"type": event_type, "created[gte]": int(cursor["created"])}
        ):
            read.extend(page)
            for event in page:  # newest first: the first snapshot of an object wins
                snapshot = (event.get("data") or {}).get("object")
                if event.get("id") in seen or not isinstance(snapshot, dict):
                    continue
                if snapshot.get("object") != obj_type or not snapshot.get("id"):
                    continue  # e.g. customer.tax_id.created carries a tax_id, not a customer
                if snapshot["id"] in latest:
                    continue
                record = dict(snapshot)
                if event.get("type") == f"{prefix}.deleted":
                    record["deleted"] = True
                latest[snapshot["id"]] = record
        if seen and not seen & {e.get("id") for e in read}:
            # the cursor's own events are gone (older than Stripe's 30-day retention):
            # changes may be missing, so list everything again
            log.warning(
                "%s/%s %s: events at the cursor were pruned; listing in full",
                SYSTEM,
                connection,
                table,
            )
            yield from full()
            return
        yield from rows(list(latest.values()))
        boundary = _boundary(read)
        if boundary is not None:
            dlt.current.resource_state()["events_cursor"] = boundary

    @dlt.resource(
        name=table,
        table_name=table,
        write_disposition="merge",
        primary_key=("id", CONNECTION_COLUMN),
        columns=COLUMNS[table],
        max_table_nesting=0,
    )
    def resource() -> Iterator[Any]:
        cursor = dlt.current.resource_state().get("events_cursor")
        if cursor is None:
            yield from full()
        else:
            yield from changes(cursor)

    return resource


def _events_resource(client: StripeClient, connection: str) -> Any:
    @dlt.resource(
        name="events",
        table_name="events",
        write_disposition="merge",
        primary_key=("id", CONNECTION_COLUMN),
        columns=COLUMNS["events"],
        max_table_nesting=0,
    )
    def events(
        created: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            "created", on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        params: dict[str, Any] = {}
        if created.last_value is not None:  # whole seconds; dlt drops the boundary repeats
            params["created[gte]"] = int(created.last_value.timestamp())
        for page in client.pages("/v1/events", params):
            yield from typed(
                page,
                convert_event,
                system=SYSTEM,
                connection=connection,
                obj="events",
                key=lambda r: r["id"],
            )

    return events


@dlt.source(name=SYSTEM, max_table_nesting=0)
def _stripe(connection: str, settings: dict[str, Any], metrics: Metrics) -> Any:
    client = StripeClient(connection, settings, metrics)
    return [_object_resource(client, connection, t) for t in OBJECTS] + [
        _events_resource(client, connection)
    ]


def source(
    connection: str, settings: dict[str, Any], metrics: Metrics | None = None
) -> dlt.sources.DltSource:
    """The Stripe source of one connection (its own name, hence its own cursors)."""
    return _stripe.with_args(name=f"{SYSTEM}_{connection}")(
        connection, settings, metrics if metrics is not None else Metrics()
    )
