"""Microsoft Dynamics 365 Finance & Operations (OData v4) → ``raw_dynamics``.

One connection is one F&O environment (``na``, ``emea`` ...); all load side by side into
``raw_dynamics``, every row tagged with its connection. Auth is Entra ID client credentials
(form POST to the v2 token endpoint). Each entity set is read cross-company with
``$filter=ModifiedDateTime ge <cursor>&$orderby=ModifiedDateTime``, following
``@odata.nextLink`` (``Prefer: odata.maxpagesize`` sets the page size when configured).

F&O has no deletion feed on data entities: a record deleted in F&O stays in the raw table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode

import dlt
import requests
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

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

SYSTEM = "dynamics"
SETTINGS_KEYS = (
    "base_url",
    "token_url",
    "tenant_id",
    "client_id",
    "client_secret",
    "scope",
    "legal_entities",
    "page_size",
)
REQUIRED_KEYS = ("base_url", "token_url", "client_id", "client_secret")
CURSOR = "ModifiedDateTime"
ETAG = "etag"

# F&O writes 1900-01-01 for an empty date/datetime (its "null" date).
_NULL_DATE = date(1900, 1, 1)
_DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
_DATE_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$"
)
_CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# ProjType enum of F&O (ProjectsV2.ProjectType).
PROJECT_TYPES = frozenset({"TimeMaterial", "FixedPrice", "Internal", "Investment", "Cost", "Time"})


def settings_for(connection: str) -> dict[str, Any]:
    """Settings of one connection from dlt config/secrets (``sources.dynamics.<connection>``)."""
    settings = connection_settings(SYSTEM, connection, SETTINGS_KEYS)
    require(settings, SYSTEM, connection, *REQUIRED_KEYS)
    return settings


# --------------------------------------------------------------------------------------------
# Value conversion (the edge where F&O's JSON becomes typed columns)
# --------------------------------------------------------------------------------------------


def to_decimal(value: Any, name: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRecord(f"{name}: boolean {value!r} is not an amount")
    if isinstance(value, int | float | Decimal):
        # str() first: Decimal(0.1) would keep the binary expansion of the float
        result = Decimal(str(value))
    elif isinstance(value, str) and value.strip():
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise BadRecord(f"{name}: {value!r} is not a number") from None
    else:
        raise BadRecord(f"{name}: {value!r} is not a number")
    if not result.is_finite():
        raise BadRecord(f"{name}: {value!r} is not a finite number")
    return result


def to_date(value: Any, name: str) -> date | None:
    """F&O serialises date-only properties as ``2026-05-20T12:00:00Z``; keep the date."""
    if value is None or value == "":
        return None
    m = _DATE_RE.match(value) if isinstance(value, str) else None
    if not m:
        raise BadRecord(f"{name}: {value!r} is not an OData date")
    try:
        result = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise BadRecord(f"{name}: {value!r} is not a valid date") from None
    return None if result == _NULL_DATE else result


def to_datetime(value: Any, name: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _DT_RE.match(value):
        raise BadRecord(f"{name}: {value!r} is not an OData datetime")
    try:
        result = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRecord(f"{name}: {value!r} is not a valid datetime") from None
    result = result.astimezone(UTC)
    return None if result.date() == _NULL_DATE else result


def to_currency(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    code = str(value).strip().upper()
    if not _CURRENCY_RE.match(code):
        raise BadRecord(f"{name}: {value!r} is not an ISO 4217 currency code")
    return code


def country_code(length: int) -> Callable[[Any, str], str | None]:
    def convert(value: Any, name: str) -> str | None:
        if value is None or value == "":
            return None
        code = str(value).strip().upper()
        if not re.fullmatch(rf"[A-Z]{{{length}}}", code):
            raise BadRecord(f"{name}: {value!r} is not a {length}-letter country code")
        return code

    return convert


def to_company(value: Any, name: str) -> str | None:
    """Legal entity ids are case-insensitive in F&O (``dataAreaId`` 'us01', LegalEntityId
    'US01'): lower-case them all so they join."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"{name}: {value!r} is not a legal entity id")
    return value.strip().lower()


def to_noyes(value: Any, name: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).rsplit("'", 2)[-2] if "'" in str(value) else str(value)  # NoYes'Yes'
    if text.lower() in ("yes", "true"):
        return True
    if text.lower() in ("no", "false"):
        return False
    raise BadRecord(f"{name}: {value!r} is not NoYes")


def to_email(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if not _EMAIL_RE.match(text):
        raise BadRecord(f"{name}: {value!r} is not an e-mail address")
    return text


def one_of(allowed: frozenset[str]) -> Callable[[Any, str], str | None]:
    def convert(value: Any, name: str) -> str | None:
        if value is None or value == "":
            return None
        if value not in allowed:
            raise BadRecord(f"{name}: {value!r} is not one of {', '.join(sorted(allowed))}")
        return str(value)

    return convert


# Converter → dlt data type of the column it produces.
KINDS: dict[str, tuple[Callable[[Any, str], Any], str]] = {
    "decimal": (to_decimal, "decimal"),
    "date": (to_date, "date"),
    "datetime": (to_datetime, "timestamp"),
    "currency": (to_currency, "text"),
    "country2": (country_code(2), "text"),
    "country3": (country_code(3), "text"),
    "company": (to_company, "text"),
    "noyes": (to_noyes, "bool"),
    "email": (to_email, "text"),
    "project_type": (one_of(PROJECT_TYPES), "text"),
}


@dataclass(frozen=True)
class Entity:
    """One F&O entity set and how its properties are typed; unlisted properties are text."""

    set_name: str
    table: str
    keys: tuple[str, ...]
    fields: dict[str, str] = field(default_factory=dict)  # property → KINDS key
    text: tuple[str, ...] = ()  # other known properties: hinted as text

    @property
    def company_specific(self) -> bool:
        return "dataAreaId" in self.keys

    def columns(self) -> dict[str, dict[str, Any]]:
        """Explicit column types, so a bad value can never create a variant column."""
        cols: dict[str, dict[str, Any]] = {
            name: {"data_type": "text"} for name in (*self.keys, *self.text)
        }
        for name, kind in self.fields.items():
            cols[name] = {"data_type": KINDS[kind][1]}
        cols[CURSOR] = {"data_type": "timestamp", "timezone": True}
        cols[ETAG] = {"data_type": "text"}
        cols[CONNECTION_COLUMN] = {"data_type": "text"}
        for name in (*self.keys, CONNECTION_COLUMN):
            cols[name]["nullable"] = False
        return cols

    def convert(self, record: dict[str, Any]) -> dict[str, Any]:
        """Typed row from one OData entity; raises BadRecord when a value cannot be typed."""
        row: dict[str, Any] = {}
        for name, value in record.items():
            if name == "@odata.etag":
                row[ETAG] = value
            elif name.startswith("@odata.") or "@" in name:
                continue  # other instance annotations carry no business data
            elif name in self.fields:
                row[name] = KINDS[self.fields[name]][0](value, name)
            elif isinstance(value, str):
                # F&O strings are never null: an empty string means "not set"
                row[name] = value if value.strip() else None
            else:
                row[name] = value
        stamp = to_datetime(record.get(CURSOR), CURSOR)
        if stamp is None:
            raise BadRecord(f"{CURSOR} is missing")
        row[CURSOR] = stamp
        for name in self.keys:
            if row.get(name) in (None, ""):
                raise BadRecord(f"key property {name} is empty")
        return row

    def record_key(self, record: dict[str, Any]) -> str:
        return "|".join(str(record.get(k)) for k in self.keys)


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "LegalEntities",
        "legal_entities",
        ("LegalEntityId",),
        {
            "LegalEntityId": "company",
            "AccountingCurrency": "currency",
            "AddressCountryRegionId": "country3",
        },
        ("Name",),
    ),
    Entity(
        "CustomersV3",
        "customers_v3",
        ("dataAreaId", "CustomerAccount"),
        {
            "dataAreaId": "company",
            "SalesCurrencyCode": "currency",
            "CreditLimit": "decimal",
            "AddressCountryRegionId": "country3",
            "AddressCountryRegionISOCode": "country2",
        },
        (
            "OrganizationName",
            "NameAlias",
            "CustomerGroupId",
            "PartyNumber",
            "AddressCity",
            "AddressZipCode",
            "AddressStreet",
            "PrimaryContactEmail",
            "PrimaryContactURL",
            "PrimaryContactPhone",
            "PaymentTerms",
            "InvoiceAccount",
            "TaxExemptNumber",
            "SalesTaxGroup",
            "OnHoldStatus",
            "ConformCustomerId",
            "CrmAccountId",
        ),
    ),
    Entity(
        "ProjectsV2",
        "projects_v2",
        ("dataAreaId", "ProjectID"),
        {
            "dataAreaId": "company",
            "StartDate": "date",
            "EndDate": "date",
            "ProjectType": "project_type",
        },
        (
            "ProjectName",
            "CustomerAccount",
            "ProjectContractID",
            "ProjectStage",
            "ProjectGroup",
            "DefaultDimensionDisplayValue",
            "PSAProjectCode",
        ),
    ),
    Entity(
        "EmployeesV2",
        "employees_v2",
        ("PersonnelNumber",),
        {"PrimaryContactEmail": "email", "EmploymentLegalEntityId": "company"},
        ("FirstName", "LastName", "Name"),
    ),
    Entity(
        "ProjectHourTransactions",
        "project_hour_transactions",
        ("dataAreaId", "TransactionId"),
        {
            "dataAreaId": "company",
            "ProjectDate": "date",
            "Hours": "decimal",
            "SalesPrice": "decimal",
            "CostPrice": "decimal",
            "CurrencyCode": "currency",
        },
        ("ProjectID", "Worker", "LineProperty", "PSATimeEntryId"),
    ),
    Entity(
        "SalesInvoiceHeadersV2",
        "sales_invoice_headers_v2",
        ("dataAreaId", "InvoiceNumber"),
        {
            "dataAreaId": "company",
            "InvoiceDate": "date",
            "DueDate": "date",
            "CurrencyCode": "currency",
            "TotalInvoiceAmount": "decimal",
            "TotalTaxAmount": "decimal",
            "TotalDiscountAmount": "decimal",
            "TotalChargeAmount": "decimal",
        },
        (
            "InvoiceCustomerAccountNumber",
            "ProjectID",
            "PaymentTermsName",
            "DisputeStatus",
            "PSAInvoiceId",
        ),
    ),
    Entity(
        # LineNumber is a real (LineNum) in F&O: a decimal, not an integer
        "SalesInvoiceLines",
        "sales_invoice_lines",
        ("dataAreaId", "InvoiceNumber", "LineNumber"),
        {
            "dataAreaId": "company",
            "LineNumber": "decimal",
            "InvoicedQuantity": "decimal",
            "SalesPrice": "decimal",
            "LineAmount": "decimal",
            "LineTotalTaxAmount": "decimal",
            "CurrencyCode": "currency",
        },
        ("ItemNumber", "LineDescription", "ProjectID"),
    ),
    Entity(
        "CustomerPaymentJournalLines",
        "customer_payment_journal_lines",
        ("dataAreaId", "JournalBatchNumber", "LineNumber"),
        {
            "dataAreaId": "company",
            "LineNumber": "decimal",
            "CreditAmount": "decimal",
            "CurrencyCode": "currency",
            "TransactionDate": "date",
            "IsPosted": "noyes",
        },
        ("AccountDisplayValue", "MarkedInvoice", "PaymentReference"),
    ),
    Entity(
        "CustomerTransactions",
        "customer_transactions",
        ("dataAreaId", "Voucher"),
        {
            "dataAreaId": "company",
            "TransactionDate": "date",
            "DueDate": "date",
            "ClosedDate": "date",
            "CurrencyCode": "currency",
            "AmountCur": "decimal",
            "SettledAmountCur": "decimal",
        },
        ("CustomerAccount", "TransactionType", "InvoiceNumber"),
    ),
    Entity(
        "ExchangeRates",
        "exchange_rates",
        ("RateTypeName", "FromCurrency", "ToCurrency", "StartDate"),
        {
            "FromCurrency": "currency",
            "ToCurrency": "currency",
            "StartDate": "date",
            "Rate": "decimal",
        },
        ("ConversionFactor",),
    ),
)
ENTITY_BY_TABLE = {e.table: e for e in ENTITIES}


# --------------------------------------------------------------------------------------------
# HTTP: Entra token, OData queries
# --------------------------------------------------------------------------------------------


class EntraAuth(RenewingBearerAuth):
    """Client-credentials bearer token. dlt's retry resends the *same* prepared request after
    a 401, so the renewed token must be written into that request: ``renew`` (a response hook)
    does it before the retry; ``invalidate`` (called by the retry condition afterwards) then has
    nothing left to do."""

    def renew(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code != 401 or response.request is None:
            return
        with self.lock:
            sent = response.request.headers.get("Authorization")
            if self.token is None or sent == f"Bearer {self.token}":
                self.token = self.fetch()  # nobody renewed it meanwhile
            response.request.headers["Authorization"] = f"Bearer {self.token}"

    def invalidate(self) -> None:
        pass  # renew() already replaced the token


def token_fetcher(
    settings: dict[str, Any], connection: str, session: requests.Session
) -> Callable[[], str]:
    url = settings["token_url"]
    scope = settings.get("scope") or settings["base_url"].rstrip("/") + "/.default"
    form = {
        "grant_type": "client_credentials",
        "client_id": settings["client_id"],
        "client_secret": settings["client_secret"],
        "scope": scope,
    }

    def fetch() -> str:
        try:
            response = session.post(url, data=form)
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{connection}: cannot reach the Entra token endpoint {url}: "
                f"{type(exc).__name__}"
            ) from None
        if not response.ok:
            detail = response.text[:300]
            try:
                body = response.json()
                detail = f"{body.get('error')}: {body.get('error_description', '')}"
            except ValueError:
                pass
            detail = detail.splitlines()[0] if detail else ""
            raise IngestionError(
                f"{SYSTEM}/{connection}: Entra token request answered {response.status_code} "
                f"(check tenant_id, client_id, client_secret and scope): {detail}"
            )
        try:
            return str(response.json()["access_token"])
        except (ValueError, KeyError):
            raise IngestionError(
                f"{SYSTEM}/{connection}: the Entra token response has no access_token"
            ) from None

    return fetch


def odata_datetime(value: datetime) -> str:
    """Unquoted OData datetime literal in UTC with 'Z' (a '+00:00' would need %2B)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def legal_entities(settings: dict[str, Any]) -> list[str]:
    raw = settings.get("legal_entities")
    if not raw:
        return []
    if isinstance(raw, str):
        raw = json.loads(raw) if raw.strip().startswith("[") else raw.split(",")
    return [str(x).strip().lower() for x in raw if str(x).strip()]


def query_path(entity: Entity, since: datetime | None, companies: list[str]) -> str:
    """``<Set>?cross-company=true&$filter=...&$orderby=ModifiedDateTime``, encoded the way
    OData expects (spaces as %20, '$' and quotes literal)."""
    clauses = []
    if since is not None:
        # ge, not gt: a record changed in the same second as the last cursor must not be
        # missed; dlt drops the boundary rows already loaded (same key and etag)
        clauses.append(f"{CURSOR} ge {odata_datetime(since)}")
    if companies and entity.company_specific:
        clauses.append("(" + " or ".join(f"dataAreaId eq '{c}'" for c in companies) + ")")
    params = [("cross-company", "true")]
    if clauses:
        params.append(("$filter", " and ".join(clauses)))
    params.append(("$orderby", f"{CURSOR} asc"))
    return entity.set_name + "?" + urlencode(params, quote_via=quote, safe="$'(),:")


def raise_http_error(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    # An HTTPError carries the response, so dlt's retry still sees 429/5xx/401 and retries;
    # what is left after the retries is turned into an IngestionError by the resource.
    if response.status_code >= 400:
        raise requests.HTTPError(f"{response.status_code}", response=response)


# --------------------------------------------------------------------------------------------
# Source
# --------------------------------------------------------------------------------------------


def make_resource(
    entity: Entity,
    connection: str,
    client: RESTClient,
    hooks: list[Callable[..., Any]],
    page_size: int | None,
    companies: list[str],
) -> Any:
    headers = {"Accept": "application/json", "OData-Version": "4.0", "OData-MaxVersion": "4.0"}
    if page_size:
        headers["Prefer"] = f"odata.maxpagesize={page_size}"

    @dlt.resource(
        name=entity.table,
        primary_key=[*entity.keys, CONNECTION_COLUMN],
        write_disposition="merge",
        columns=entity.columns(),
    )
    def rows(
        modified: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            CURSOR,
            initial_value=None,
            # boundary dedup on key + etag: an unchanged row is skipped, a changed one is not
            primary_key=(*entity.keys, ETAG),
            # quarantined rows have no typed cursor: let them through to _quarantine
            on_cursor_value_missing="include",
        ),
    ) -> Iterator[Any]:
        path = query_path(entity, modified.last_value, companies)
        try:
            for page in client.paginate(
                path,
                headers=headers,
                paginator=JSONLinkPaginator(next_url_path="['@odata.nextLink']"),
                data_selector="value",
                hooks={"response": list(hooks)},
            ):
                yield from typed(
                    page,
                    entity.convert,
                    system=SYSTEM,
                    connection=connection,
                    obj=entity.table,
                    key=entity.record_key,
                )
        except requests.HTTPError as exc:
            if exc.response is None:
                raise IngestionError(f"{SYSTEM}/{connection}: {exc}") from None
            raise_for_status(exc.response, SYSTEM, connection)
            raise
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise IngestionError(
                f"{SYSTEM}/{connection}: cannot reach {client.base_url} "
                f"({type(exc).__name__}) after retries"
            ) from None

    return rows


@dlt.source(name=SYSTEM, max_table_nesting=0)
def _dynamics(connection: str, settings: dict[str, Any], metrics: Metrics) -> list[Any]:
    token_session = http_session(metrics)
    auth = EntraAuth(token_fetcher(settings, connection, token_session))
    session = http_session(metrics, auth)
    base = settings["base_url"].rstrip("/") + "/data/"
    client = RESTClient(base_url=base, session=session)
    # Request hooks replace the session's in requests' merge_hooks, so the metrics hook is
    # listed again here; renew before raise so the retry resends with a fresh token.
    hooks = [metrics.hook, auth.renew, raise_http_error]
    page_size = int(settings["page_size"]) if settings.get("page_size") else None
    companies = legal_entities(settings)
    return [
        make_resource(entity, connection, client, hooks, page_size, companies)
        for entity in ENTITIES
    ]


def source(
    connection: str, settings: dict[str, Any], metrics: Metrics | None = None
) -> dlt.sources.DltSource:
    """The Dynamics source of one connection (its own dlt state via the source name)."""
    require(settings, SYSTEM, connection, *REQUIRED_KEYS)
    return _dynamics.clone(name=f"{SYSTEM}_{connection}")(
        connection, settings, metrics if metrics is not None else Metrics()
    )


__all__ = ["ENTITIES", "SETTINGS_KEYS", "settings_for", "source"]
