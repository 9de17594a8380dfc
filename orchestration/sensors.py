"""Change signals of the source systems, read cheaply, and the sensor that loads only the system
that changed (declarative automation on the dbt assets then follows downstream).

- PSA (Kantata OX): ``GET time_entries.json?updated_after=<cursor>&order=updated_at:desc
  &per_page=1``; ``count`` says how many time entries changed (newly approved time, edits).
- Stripe: ``GET /v1/events?created[gt]=<cursor>&limit=1``; any event (payment, invoice
  update) means something changed.
- NetSuite (each account): SuiteQL ``SELECT ... FROM transaction WHERE lastmodifieddate >
  <cursor> ORDER BY lastmodifieddate DESC`` with ``limit=1``; ``totalResults`` counts invoice
  postings, payments and credit memos since the cursor.
- Dynamics 365 F&O (each environment): ``SalesInvoiceHeadersV2?$filter=ModifiedDateTime gt
  <cursor>&$top=1&$count=true`` across companies; ``@odata.count`` counts invoice postings.

The cursor (per system and connection) is kept in the sensor's cursor. The first evaluation only
records where the systems stand; a run is requested only when a later evaluation finds a change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

import dagster as dg

from ingestion.common import Metrics, http_session, raise_for_status
from orchestration.assets_dlt import configured_connections, raw_asset_keys


@dataclass
class Signal:
    changed: int  # how many changes since the cursor (0: nothing new)
    cursor: str | None  # the new cursor (None: keep the old one)


def psa_signal(connection: str, cursor: str | None) -> Signal:
    from ingestion import psa

    settings = psa.settings_for(connection)
    metrics = Metrics()
    auth = psa._Auth(connection, settings, metrics)
    client = psa._client(connection, settings, metrics, auth)
    params: dict[str, Any] = {"per_page": 1, "order": "updated_at:desc"}
    if cursor:
        params["updated_after"] = cursor
    response = client.get(
        "time_entries.json", params=params, hooks=psa._response_hooks(metrics, auth)
    )
    body = response.json()
    count = int(body.get("count") or 0)
    newest = None
    for ref in body.get("results") or []:
        record = (body.get(ref.get("key")) or {}).get(str(ref.get("id"))) or {}
        newest = record.get("updated_at") or newest
    if cursor is None:
        return Signal(0, newest or "")
    return Signal(count, newest if count else None)


def stripe_signal(connection: str, cursor: str | None) -> Signal:
    from ingestion import stripe

    settings = stripe.settings_for(connection)
    client = stripe.StripeClient(connection, settings, Metrics())
    params: dict[str, Any] = {"limit": 1}
    if cursor:
        params["created[gt]"] = int(cursor)
    response = client.get("/v1/events", params=params)
    stripe.raise_for_status(response, "stripe", connection)
    data = response.json().get("data") or []
    newest = str(data[0]["created"]) if data else None
    if cursor is None:
        return Signal(0, newest or "0")
    return Signal(len(data), newest)


def netsuite_signal(connection: str, cursor: str | None) -> Signal:
    from ingestion import netsuite

    settings = netsuite.settings_for(connection)
    metrics = Metrics()
    auth = netsuite._TokenAuth(connection, settings, http_session(metrics))
    session = http_session(metrics, auth=auth)
    tz = netsuite._timezone(settings, connection)
    where = ""
    if cursor:
        local = datetime.fromisoformat(cursor).astimezone(tz)
        where = (
            f" WHERE lastmodifieddate > TO_TIMESTAMP('{local:%Y-%m-%d %H:%M:%S}', "
            f"'{netsuite.TS_FORMAT}')"
        )
    response = session.post(
        netsuite._base_url(settings) + netsuite.SUITEQL_PATH,
        params={"limit": 1},
        json={
            "q": f"SELECT id, lastmodifieddate FROM transaction{where} "
            "ORDER BY lastmodifieddate DESC"
        },
        headers={"Prefer": "transient", "Accept": "application/json"},
        timeout=30,
    )
    raise_for_status(response, "netsuite", connection)
    body = response.json()
    items = body.get("items") or []
    newest = (
        netsuite.parse_datetime(items[0]["lastmodifieddate"], tz).astimezone(UTC).isoformat()
        if items
        else None
    )
    if cursor is None:
        return Signal(0, newest or datetime(1970, 1, 1, tzinfo=UTC).isoformat())
    return Signal(int(body.get("totalResults") or len(items)), newest)


def dynamics_signal(connection: str, cursor: str | None) -> Signal:
    from ingestion import dynamics

    settings = dynamics.settings_for(connection)
    metrics = Metrics()
    auth = dynamics.EntraAuth(dynamics.token_fetcher(settings, connection, http_session(metrics)))
    session = http_session(metrics, auth)
    params = [("cross-company", "true"), ("$top", "1"), ("$count", "true")]
    if cursor:
        stamp = dynamics.odata_datetime(datetime.fromisoformat(cursor))
        params.append(("$filter", f"{dynamics.CURSOR} gt {stamp}"))
    params.append(("$orderby", f"{dynamics.CURSOR} desc"))
    url = (
        settings["base_url"].rstrip("/")
        + "/data/SalesInvoiceHeadersV2?"
        + urlencode(params, quote_via=quote, safe="$'(),:")
    )
    response = session.get(
        url, headers={"Accept": "application/json", "OData-Version": "4.0"}, timeout=30
    )
    raise_for_status(response, "dynamics", connection)
    body = response.json()
    rows = body.get("value") or []
    newest = (
        dynamics.to_datetime(rows[0].get(dynamics.CURSOR), dynamics.CURSOR).isoformat()
        if rows
        else None
    )
    if cursor is None:
        return Signal(0, newest or datetime(1970, 1, 1, tzinfo=UTC).isoformat())
    return Signal(int(body.get("@odata.count") or len(rows)), newest)


SIGNALS: dict[str, Callable[[str, str | None], Signal]] = {
    "psa": psa_signal,
    "stripe": stripe_signal,
    "netsuite": netsuite_signal,
    "dynamics": dynamics_signal,
}


def _cursor_of(cursors: dict[str, str], system: str) -> str:
    return json.dumps({k: v for k, v in cursors.items() if k.startswith(system)}, sort_keys=True)


@dg.sensor(
    name="source_change_sensor",
    description=(
        "Watches the source systems' change signals (PSA time entries updated since the last "
        "look, new Stripe events, ERP invoice postings in NetSuite and Dynamics) with one "
        "cheap request per connection, and loads only the system that "
        "changed; the dbt models downstream follow by declarative automation."
    ),
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    asset_selection=dg.AssetSelection.groups(*(f"source_{s}" for s in SIGNALS)),
)
def source_change_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    cursors: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    connections = configured_connections()
    requests: list[dg.RunRequest] = []
    skipped: list[str] = []
    for system, signal in SIGNALS.items():
        changed = []
        for connection in connections.get(system, []):
            key = f"{system}/{connection}"
            try:
                result = signal(connection, cursors.get(key))
            except Exception as exc:  # noqa: BLE001 - one unreachable system must not stop the rest
                context.log.warning(f"{key}: change signal unavailable: {exc}")
                continue
            if result.cursor is not None:
                cursors[key] = result.cursor
            if result.changed:
                changed.append(f"{connection} ({result.changed})")
        if changed:
            requests.append(
                dg.RunRequest(
                    run_key=f"{system}:{_cursor_of(cursors, system)}",
                    asset_selection=raw_asset_keys(system),
                    tags={"conform/trigger": "source_change", "conform/system": system},
                )
            )
            context.log.info(f"{system}: changed in {', '.join(changed)}")
        else:
            skipped.append(system)
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(cursors, sort_keys=True),
        skip_reason=None
        if requests
        else dg.SkipReason(
            f"no change in {', '.join(skipped) or 'any watched system'}"
            + ("" if connections else " (no source connections configured)")
        ),
    )
