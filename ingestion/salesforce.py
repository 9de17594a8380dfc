"""Salesforce (CRM) source: Account, Opportunity and User through the REST API.

- Auth: OAuth 2.0 at ``{login_url}/services/oauth2/token``, password grant (password + security
  token) or client credentials when no username is set. Salesforce issues no refresh token and
  no expiry, so the token is fetched again whenever a call answers 401 (RenewingBearerAuth).
  Data calls go to the ``instance_url`` of the token answer.
- Fields: ``GET /sobjects/<T>/describe`` lists them on every run, so a new custom field
  (schema drift) is selected and loaded without a code change; its describe type drives the
  conversion (datetime, date, boolean, currency -> decimal, percent/double, int).
- Rows: ``queryAll`` (soft-deleted rows arrive with ``IsDeleted = true``) with
  ``WHERE SystemModstamp >= <last cursor> ORDER BY SystemModstamp, Id``, paged through
  ``nextRecordsUrl``. ``SystemModstamp`` also moves on system changes, so nothing is missed.
- Limits: Salesforce answers an exhausted API allowance with 403 ``REQUEST_LIMIT_EXCEEDED``
  (not 429); the session retries it with back-off like a 429.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import dlt
import requests
from dlt.common.schema.typing import TColumnSchema, TDataType
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

SYSTEM = "salesforce"
SETTINGS_KEYS = (
    "login_url",
    "instance_url",
    "api_version",
    "client_id",
    "client_secret",
    "username",
    "password",
    "security_token",
    "batch_size",  # optional: Sforce-Query-Options batchSize (200..2000) per query page
)
DEFAULT_API_VERSION = "60.0"
# sObject -> raw table
OBJECTS: dict[str, str] = {"Account": "account", "Opportunity": "opportunity", "User": "user"}
CURSOR = "SystemModstamp"
# compound fields repeat their component fields; base64 bodies are not for bulk reads
SKIPPED_TYPES = frozenset({"address", "location", "base64"})
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")
# Salesforce answers "2026-05-20T20:49:32.000+0000": no colon in the offset
SF_DATETIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:?\d{2})$"
)


# --------------------------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------------------------


def settings_for(connection: str) -> dict[str, Any]:
    settings = connection_settings(SYSTEM, connection, SETTINGS_KEYS)
    require(settings, SYSTEM, connection, "login_url", "client_id", "client_secret")
    if settings.get("username"):
        require(settings, SYSTEM, connection, "password")
    return settings


def _api_version(settings: dict[str, Any]) -> str:
    raw = str(settings.get("api_version") or DEFAULT_API_VERSION).strip().lstrip("vV")
    try:
        return f"{float(raw):.1f}"  # config may hand "60.0" back as the float 60.0
    except ValueError as exc:
        raise IngestionError(f"{SYSTEM}: api_version {raw!r} is not like 60.0") from exc


# --------------------------------------------------------------------------------------------
# Value conversion at the edge
# --------------------------------------------------------------------------------------------


def parse_datetime(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadRecord(f"datetime expected, got {value!r}")
    m = SF_DATETIME_RE.match(value.strip())
    if m is None:
        raise BadRecord(f"not a Salesforce datetime: {value!r}")
    stamp, offset = m.groups()
    if offset == "Z":
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        return datetime.fromisoformat(stamp + offset).astimezone(UTC)
    except ValueError as exc:
        raise BadRecord(f"not a valid datetime: {value!r}") from exc


def parse_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise BadRecord(f"not a YYYY-MM-DD date: {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadRecord(f"not a valid date: {value!r}") from exc


def parse_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadRecord(f"number expected, got {value!r}")
    try:
        out = Decimal(str(value).strip())  # str() keeps 0.1 exact instead of binary noise
    except InvalidOperation as exc:
        raise BadRecord(f"not a number: {value!r}") from exc
    if not out.is_finite():
        raise BadRecord(f"not a finite number: {value!r}")
    return out


def parse_float(value: Any) -> float | None:
    number = parse_decimal(value)
    return None if number is None else float(number)


def parse_int(value: Any) -> int | None:
    number = parse_decimal(value)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise BadRecord(f"not an integer: {value!r}")
    return int(number)


def parse_bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise BadRecord(f"not a boolean: {value!r}")


def parse_text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # e.g. a numeric-looking picklist value
    raise BadRecord(f"text expected, got {value!r}")


def parse_email(value: Any) -> str | None:
    text = parse_text(value)
    if text and not EMAIL_RE.match(text):
        raise BadRecord(f"not an email address: {text!r}")
    return text


# describe type -> (converter, dlt data type); anything else is text
TYPES: dict[str, tuple[Callable[[Any], Any], TDataType]] = {
    "datetime": (parse_datetime, "timestamp"),
    "date": (parse_date, "date"),
    "boolean": (parse_bool, "bool"),
    "currency": (parse_decimal, "decimal"),
    "double": (parse_float, "double"),
    "percent": (parse_float, "double"),
    "int": (parse_int, "bigint"),
    "long": (parse_int, "bigint"),
    "email": (parse_email, "text"),
}


class Converter:
    """Types one object's records from its describe: field name -> converter."""

    def __init__(self, sobject: str, fields: dict[str, str]):
        self.sobject = sobject
        self.fields = fields  # name -> describe type
        self.convert_field = {
            name: TYPES.get(typ, (parse_text, "text"))[0] for name, typ in fields.items()
        }

    def columns(self) -> dict[str, TColumnSchema]:
        cols: dict[str, TColumnSchema] = {}
        for name, typ in self.fields.items():
            data_type = TYPES.get(typ, (parse_text, "text"))[1]
            cols[name] = {"name": name, "data_type": data_type, "nullable": name != "Id"}
        cols[CONNECTION_COLUMN] = {
            "name": CONNECTION_COLUMN,
            "data_type": "text",
            "nullable": False,
        }
        return cols

    def __call__(self, record: dict[str, Any]) -> dict[str, Any]:
        if not record.get("Id"):
            raise BadRecord("record without Id")
        row: dict[str, Any] = {}
        for name, value in record.items():
            if name == "attributes":
                continue
            convert = self.convert_field.get(name, parse_text)
            try:
                row[name] = convert(value)
            except BadRecord as exc:
                raise BadRecord(f"{name}: {exc}") from None
        return OBJECT_RULES.get(self.sobject, _no_rules)(row)


def _no_rules(row: dict[str, Any]) -> dict[str, Any]:
    return row


def _currency(row: dict[str, Any]) -> None:
    code = row.get("CurrencyIsoCode")
    if code is None:
        return
    if not CURRENCY_RE.match(code):
        raise BadRecord(f"CurrencyIsoCode: not an ISO 4217 code: {code!r}")
    row["CurrencyIsoCode"] = code.upper()


def convert_account(row: dict[str, Any]) -> dict[str, Any]:
    _currency(row)
    return row


def convert_opportunity(row: dict[str, Any]) -> dict[str, Any]:
    _currency(row)
    probability = row.get("Probability")
    if probability is not None and not 0 <= probability <= 100:
        raise BadRecord(f"Probability: outside 0..100: {probability!r}")
    return row


def convert_user(row: dict[str, Any]) -> dict[str, Any]:
    return row  # Email is checked by its describe type


# the rules each object adds on top of the describe-driven typing
OBJECT_RULES: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "Account": convert_account,
    "Opportunity": convert_opportunity,
    "User": convert_user,
}


def soql_datetime(value: datetime) -> str:
    """An unquoted SOQL datetime literal, cut to whole seconds (the form every API version
    accepts); with ``>=`` the few boundary rows read again are dropped by dlt's dedup."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------------------------
# API access
# --------------------------------------------------------------------------------------------


def _request_limit_exceeded(response: requests.Response | None, exc: BaseException | None) -> bool:
    """Salesforce's API allowance answer is 403 REQUEST_LIMIT_EXCEEDED: retry it like a 429."""
    return (
        response is not None
        and response.status_code == 403
        and b"REQUEST_LIMIT_EXCEEDED" in response.content
    )


class SalesforceApi:
    """Token, instance URL and the retrying session of one connection."""

    def __init__(self, connection: str, settings: dict[str, Any], metrics: Metrics):
        self.connection = connection
        self.settings = settings
        self.login_url = str(settings["login_url"]).rstrip("/")
        self.instance_url = str(settings.get("instance_url") or self.login_url).rstrip("/")
        self.version = _api_version(settings)
        self.batch_size = int(settings["batch_size"]) if settings.get("batch_size") else None
        self.token_session = http_session(metrics)
        self.auth = RenewingBearerAuth(self._fetch_token)
        session = http_session(metrics, self.auth, extra_retry=_request_limit_exceeded)
        retrying_send = session.send

        # an answer still failing after the retries becomes one actionable line
        def send(request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
            response = retrying_send(request, **kwargs)
            raise_for_status(response, SYSTEM, connection)
            return response

        session.send = send  # type: ignore[method-assign]
        self.session = session

    def _fetch_token(self) -> str:
        s = self.settings
        form = {"client_id": str(s["client_id"]), "client_secret": str(s["client_secret"])}
        if s.get("username"):
            form |= {
                "grant_type": "password",
                "username": str(s["username"]),
                "password": f"{s.get('password', '')}{s.get('security_token') or ''}",
            }
        else:
            form["grant_type"] = "client_credentials"
        url = f"{self.login_url}/services/oauth2/token"
        try:
            response = self.token_session.post(url, data=form)
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: cannot reach {url}: {type(exc).__name__}"
            ) from exc
        if not response.ok:
            try:
                body = response.json()
                detail = f"{body.get('error')}: {body.get('error_description')}"
            except (ValueError, AttributeError):
                detail = response.text[:200].replace("\n", " ")
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: sign-in refused by {url} "
                f"({response.status_code} {detail}; check client_id, client_secret, username, "
                "password and security_token)"
            )
        body = response.json()
        self.instance_url = str(body.get("instance_url") or self.instance_url).rstrip("/")
        return str(body["access_token"])

    @property
    def data_url(self) -> str:
        """``{instance_url}/services/data/vXX.X``; signs in first, as the token names the
        instance."""
        with self.auth.lock:
            if self.auth.token is None:
                self.auth.token = self._fetch_token()
        return f"{self.instance_url}/services/data/v{self.version}"

    def describe(self, sobject: str) -> dict[str, str]:
        """Queryable fields of an object: name -> describe type, in describe order."""
        response = self.session.get(f"{self.data_url}/sobjects/{sobject}/describe")
        fields = response.json().get("fields") or []
        return {
            f["name"]: str(f.get("type", "string")).lower()
            for f in fields
            if str(f.get("type", "")).lower() not in SKIPPED_TYPES
        }

    def query_all(self, soql: str) -> Iterator[list[dict[str, Any]]]:
        headers = (
            {"Sforce-Query-Options": f"batchSize={self.batch_size}"} if self.batch_size else None
        )
        client = RESTClient(
            base_url=self.data_url,
            session=self.session,
            # relative nextRecordsUrl is joined to the instance host by the paginator
            paginator=JSONLinkPaginator(next_url_path="nextRecordsUrl"),
            data_selector="records",
            headers=headers,
        )
        # no per-attempt raise hook: errors are raised after the retries (see __init__)
        for page in client.paginate("queryAll", params={"q": soql}, hooks={"response": []}):
            yield list(page)


# --------------------------------------------------------------------------------------------
# The source
# --------------------------------------------------------------------------------------------


def _resource(api: SalesforceApi, sobject: str, table: str) -> Any:
    @dlt.resource(
        name=table,
        table_name=table,
        write_disposition="merge",
        primary_key=("Id", CONNECTION_COLUMN),
    )
    def read(
        stamp: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            CURSOR,
            on_cursor_value_missing="include",  # quarantined rows carry no cursor
        ),
    ) -> Iterator[Any]:
        try:
            fields = api.describe(sobject)
            if CURSOR not in fields:
                raise IngestionError(
                    f"{SYSTEM}/{api.connection}: {sobject} has no {CURSOR} field to sync on"
                )
            convert = Converter(sobject, fields)
            soql = f"SELECT {', '.join(fields)} FROM {sobject}"
            if stamp.last_value is not None:
                soql += f" WHERE {CURSOR} >= {soql_datetime(stamp.last_value)}"
            soql += f" ORDER BY {CURSOR}, Id"
            hinted = False
            for records in api.query_all(soql):
                for row in typed(
                    records,
                    convert,
                    system=SYSTEM,
                    connection=api.connection,
                    obj=sobject,
                    key=lambda r: r.get("Id"),
                ):
                    if not hinted and isinstance(row, dict):
                        # the describe types, so every typed column is declared (drift too)
                        row = dlt.mark.with_hints(
                            row, dlt.mark.make_hints(columns=convert.columns())
                        )
                        hinted = True
                    yield row
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{api.connection}: {sobject}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc

    return read


def source(
    connection: str, settings: dict[str, Any], metrics: Metrics | None = None
) -> dlt.sources.DltSource:
    """The Salesforce objects of one connection; ``metrics`` counts its requests."""
    api = SalesforceApi(connection, settings, metrics if metrics is not None else Metrics())

    @dlt.source(name=f"{SYSTEM}_{connection}", max_table_nesting=0)
    def salesforce() -> list[Any]:
        return [_resource(api, sobject, table) for sobject, table in OBJECTS.items()]

    return salesforce()
