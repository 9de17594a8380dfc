"""NetSuite (SuiteTalk REST) source: SuiteQL over OAuth 2.0 machine-to-machine tokens.

One dlt source per NetSuite account ("connection": e.g. ``apac``, ``europe``), all loading the
same ``raw_netsuite`` tables side by side, each row tagged with its connection.

- **Auth**: OAuth 2.0 client credentials with a signed JWT client assertion (PS256 for an RSA
  key, ES256 for an EC key; ``kid`` = certificate id, ``iss`` = client id, scope
  ``rest_webservices``, ``aud`` = the token URL, lifetime under an hour). The bearer token is
  renewed before ``expires_in`` runs out and after any 401.
- **Reads**: ``POST /services/rest/query/v1/suiteql`` (``Prefer: transient``) paged with
  ``limit``/``offset`` (dlt's OffsetPaginator; the JSON body is sent again with every page).
  SuiteQL through REST stops at 100,000 rows per query, so a long walk restarts from the last
  stamp it saw (keyset windows) instead of failing at offset 100,000.
- **Incremental**: ``WHERE <stamp> >= TO_TIMESTAMP(...) ORDER BY <stamp>, <key>`` from the cursor
  kept by ``dlt.sources.incremental``. Stamps have one-second precision, so ``>=`` (not ``>``)
  is used: a record changed in the same second as the previous run's last row, but committed
  after that run read, is still caught; rows already loaded at the boundary are dropped by
  dlt's boundary de-duplication (by primary key). ``jobstatus`` has no stamp: it is read whole
  and only rows whose content changed since the last run are loaded.
- **Deletions**: ``deletedrecord`` loads as its own table, and the ``soft_deletes``
  transformer turns each new entry for a customer, project, employee, time bill or transaction
  into a soft delete on that table: the last-known row (read back from the destination) is
  written again with ``is_deleted = true`` and ``deleted_at``; a record never loaded before
  gets a key-only tombstone row. Live rows carry ``is_deleted = false``. Lines of a deleted
  transaction are not flagged: staging joins ``transactionline`` to ``transaction``.
- **Types** are made at the edge: ``'T'``/``'F'`` to booleans, ``M/D/YYYY`` to dates,
  ``M/D/YYYY h:mm:ss AM`` (the account's time zone, setting ``timezone``, default UTC) to
  timezone-aware UTC datetimes, amounts to decimals, currency and country codes upper-cased;
  ids and references stay strings. SuiteQL omits null columns, so every known column is
  declared in the resource's column hints. A value that does not convert sends the record to
  ``_quarantine`` with the reason.
- **Concurrency**: NetSuite limits concurrent requests per account (429 without
  ``Retry-After``); requests of one connection are sequential and 429s are retried with dlt's
  exponential back-off.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dlt
import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dlt.extract.items import DataItemWithMeta
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.paginators import OffsetPaginator

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

SYSTEM = "netsuite"
SETTINGS_KEYS = (
    "base_url",
    "account_id",
    "client_id",
    "certificate_id",
    "token_url",
    "private_key_path",
    "page_size",
    "timezone",
)
REQUIRED_KEYS = ("client_id", "certificate_id", "private_key_path")
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
MAX_PAGE_SIZE = 1000
# SuiteQL through REST returns at most this many rows of one query (offset >= it is a 400)
MAX_QUERY_ROWS = 100_000
TOKEN_LIFETIME_S = 1800  # of the client assertion; NetSuite accepts at most 3600
RENEW_MARGIN_S = 60  # renew the bearer token this long before it expires
TS_FORMAT = "YYYY-MM-DD HH24:MI:SS"

# -- the tables and how their columns are typed -----------------------------------------------
# kinds: id (string key/reference), text, upper (code, upper-cased), email, int, dec, bool,
# date, dt (datetime)
DLT_TYPES: dict[str, dict[str, Any]] = {
    "id": {"data_type": "text"},
    "text": {"data_type": "text"},
    "upper": {"data_type": "text"},
    "email": {"data_type": "text"},
    "int": {"data_type": "bigint"},
    "dec": {"data_type": "decimal"},
    "bool": {"data_type": "bool"},
    "date": {"data_type": "date"},
    "dt": {"data_type": "timestamp", "timezone": True},
}
SOFT_DELETE_COLUMNS = {"is_deleted": "bool", "deleted_at": "dt"}


@dataclass(frozen=True)
class Table:
    name: str
    key: tuple[str, ...]
    columns: dict[str, str]
    cursor: str | None = "lastmodifieddate"
    soft_delete: bool = False  # rows can be flagged deleted from deletedrecord
    record_types: tuple[str, ...] = field(default=())  # deletedrecord types that map here

    def hints(self) -> dict[str, dict[str, Any]]:
        kinds = dict(self.columns)
        if self.soft_delete:
            kinds.update(SOFT_DELETE_COLUMNS)
        out = {c: {**DLT_TYPES[k], "nullable": c not in self.key} for c, k in kinds.items()}
        out[CONNECTION_COLUMN] = {"data_type": "text", "nullable": False}
        return out


def _cols(spec: str) -> dict[str, str]:
    """``"id:id name country:upper"`` -> {column: kind}; a bare name is text."""
    out = {}
    for part in spec.split():
        name, _, kind = part.partition(":")
        out[name] = kind or "text"
    return out


_STAMP = "lastmodifieddate:dt"
TABLES: tuple[Table, ...] = (
    Table(
        "subsidiary",
        ("id",),
        _cols(f"id:id name country:upper currency:id isinactive:bool {_STAMP}"),
    ),
    Table("currency", ("id",), _cols(f"id:id symbol:upper name isbasecurrency:bool {_STAMP}")),
    Table(
        "currencyrate",
        ("id",),
        _cols(
            f"id:id basecurrency:id transactioncurrency:id exchangerate:dec effectivedate:date "
            f"{_STAMP}"
        ),
    ),
    Table("department", ("id",), _cols(f"id:id name subsidiary:id isinactive:bool {_STAMP}")),
    Table(
        "customer",
        ("id",),
        _cols(
            "id:id entityid companyname email:email phone url billcountry:upper billcity "
            "subsidiary:id currency:id parent:id isperson:bool isinactive:bool terms "
            "custentity_tax_id custentity_conform_id custentity_crm_account_id datecreated:dt "
            f"{_STAMP}"
        ),
        soft_delete=True,
        record_types=("customer",),
    ),
    Table(
        "job",
        ("id",),
        _cols(
            "id:id entityid companyname parent:id subsidiary:id currency:id department:id "
            "entitystatus:id startdate:date projectedenddate:date enddate:date "
            "custentity_billing_method custentity_psa_project_code isinactive:bool datecreated:dt "
            f"{_STAMP}"
        ),
        soft_delete=True,
        record_types=("job",),
    ),
    Table("jobstatus", ("id",), _cols("id:id name"), cursor=None),
    Table(
        "employee",
        ("id",),
        _cols(
            "id:id entityid firstname lastname email:email subsidiary:id department:id title "
            f"isinactive:bool {_STAMP}"
        ),
        soft_delete=True,
        record_types=("employee",),
    ),
    Table(
        "transaction",
        ("id",),
        _cols(
            "id:id tranid type entity:id trandate:date duedate:date currency:id exchangerate:dec "
            "foreigntotal:dec taxtotal:dec foreignamountremaining:dec status memo "
            "custbody_project:id custbody_disputed:bool custbody_psa_invoice_id "
            f"custbody_stripe_charge_id createddate:dt {_STAMP}"
        ),
        soft_delete=True,
        record_types=(
            "invoice",
            "creditmemo",
            "customerpayment",
            "salesorder",
            "cashsale",
            "customerrefund",
            "journalentry",
        ),
    ),
    Table(
        "transactionline",
        ("transaction", "id"),
        _cols(
            "transaction:id id:id linesequencenumber:int mainline:bool taxline:bool item memo "
            "quantity:dec rate:dec foreignamount:dec entity:id subsidiary:id department:id "
            "linelastmodifieddate:dt"
        ),
        cursor="linelastmodifieddate",
    ),
    Table(
        "previoustransactionlink",
        ("previousdoc", "nextdoc"),
        _cols(f"previousdoc:id nextdoc:id linktype foreignamount:dec {_STAMP}"),
    ),
    Table(
        "timebill",
        ("id",),
        _cols(
            "id:id employee:id customer:id item hours:dec trandate:date isbillable:bool rate:dec "
            f"posted:bool memo custcol_psa_time_entry_id subsidiary:id datecreated:dt {_STAMP}"
        ),
        soft_delete=True,
        record_types=("timebill",),
    ),
    Table(
        "deletedrecord",
        ("recordtype", "recordid"),
        _cols("recordtype recordid:id deleteddate:dt"),
        cursor="deleteddate",
    ),
)
TABLES_BY_NAME = {t.name: t for t in TABLES}
# deletedrecord.recordtype -> the table whose rows it soft-deletes
DELETED_TYPES = {rt: t for t in TABLES for rt in t.record_types}


# -- settings ---------------------------------------------------------------------------------


def settings_for(connection: str) -> dict[str, Any]:
    """The connection's settings from dlt config/secrets (``sources.netsuite.<connection>``)."""
    settings = connection_settings(SYSTEM, connection, SETTINGS_KEYS)
    if not settings.get("base_url") and not settings.get("account_id"):
        require(settings, SYSTEM, connection, "base_url")
    require(settings, SYSTEM, connection, *REQUIRED_KEYS)
    return settings


def _base_url(settings: dict[str, Any]) -> str:
    if settings.get("base_url"):
        return str(settings["base_url"]).rstrip("/")
    # NetSuite's host: the account id lower-cased with "_" as "-" (sandboxes: 123_SB1)
    account = str(settings["account_id"]).lower().replace("_", "-")
    return f"https://{account}.suitetalk.api.netsuite.com"


def _page_size(settings: dict[str, Any]) -> int:
    size = int(settings.get("page_size") or MAX_PAGE_SIZE)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise IngestionError(f"{SYSTEM}: page_size {size} must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _timezone(settings: dict[str, Any], connection: str) -> tzinfo:
    name = str(settings.get("timezone") or "UTC")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise IngestionError(
            f"{SYSTEM}/{connection}: unknown timezone {name!r} (an IANA "
            "name such as Europe/Amsterdam, the account's time zone)"
        ) from exc


# -- auth: OAuth 2.0 client credentials with a JWT assertion ----------------------------------


class _TokenAuth(RenewingBearerAuth):
    """Bearer token from the M2M token endpoint, renewed before it expires and after a 401.

    dlt's retry re-sends the very PreparedRequest that got the 401 (auth runs only when a
    request is prepared), so ``renew`` (a response hook) writes the fresh token into it."""

    def __init__(self, connection: str, settings: dict[str, Any], session: requests.Session):
        super().__init__(self._fetch)
        self.connection = connection
        self.session = session
        self.token_url = str(settings.get("token_url") or _base_url(settings) + TOKEN_PATH)
        self.client_id = str(settings["client_id"])
        self.certificate_id = str(settings["certificate_id"])
        self.key, self.algorithm = _private_key(settings, connection)
        self.expires_at = 0.0

    def _fetch(self) -> str:
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": self.client_id,
                "scope": ["rest_webservices"],
                "aud": self.token_url,
                "iat": now,
                "exp": now + TOKEN_LIFETIME_S,
            },
            self.key,
            algorithm=self.algorithm,
            headers={"kid": self.certificate_id},
        )
        form = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        try:
            response = self.session.post(self.token_url, data=form)
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: cannot reach the token endpoint "
                f"{self.token_url}: {type(exc).__name__}"
            ) from exc
        if response.status_code == 400:  # invalid_client / invalid_grant: a credentials problem
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: token request rejected "
                f"({response.text[:120].strip()}): check client_id, certificate_id, "
                "private_key_path and token_url"
            )
        raise_for_status(response, SYSTEM, self.connection)
        body = response.json()
        token = body.get("access_token")
        if not token:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: the token endpoint answered without an access_token"
            )
        # NetSuite sends expires_in as a string ("3600")
        lifetime = float(str(body.get("expires_in") or 3600))
        self.expires_at = time.monotonic() + max(0.0, lifetime - RENEW_MARGIN_S)
        return str(token)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.token is not None and time.monotonic() >= self.expires_at:
            super().invalidate()
        return super().__call__(request)

    def renew(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.status_code != 401 or response.request is None:
            return
        with self.lock:
            sent = response.request.headers.get("Authorization")
            if self.token is None or sent == f"Bearer {self.token}":
                self.token = self.fetch()  # not renewed by anyone meanwhile
            response.request.headers["Authorization"] = f"Bearer {self.token}"

    def invalidate(self) -> None:
        pass  # renew() already put a fresh token on the request the retry sends again


def _private_key(settings: dict[str, Any], connection: str) -> tuple[Any, str]:
    """The PEM private key (a path, or the PEM text itself) and the JWT algorithm for it."""
    value = str(settings["private_key_path"])
    try:
        pem = (
            value.encode()
            if value.lstrip().startswith("-----BEGIN")
            else Path(value).expanduser().read_bytes()
        )
        key = load_pem_private_key(pem, password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise IngestionError(
            f"{SYSTEM}/{connection}: cannot read the private key "
            f"private_key_path={value[:80]!r}: {type(exc).__name__}"
        ) from exc
    if isinstance(key, rsa.RSAPrivateKey):
        return key, "PS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key, "ES256"
    raise IngestionError(f"{SYSTEM}/{connection}: the private key must be RSA or EC")


# -- conversion at the edge -------------------------------------------------------------------

_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_DATETIME = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4}) (\d{1,2}):(\d{2})(?::(\d{2}))? ?([AaPp][Mm])?")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def parse_date(value: str) -> date:
    match = _DATE.fullmatch(value.strip())
    if match is None:
        raise BadRecord(f"not a date (M/D/YYYY): {value!r}")
    month, day, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise BadRecord(f"not a date (M/D/YYYY): {value!r}") from exc


def parse_datetime(value: str, tz: tzinfo = UTC) -> datetime:
    """``M/D/YYYY h:mm:ss AM`` in the account's time zone -> an aware UTC datetime."""
    match = _DATETIME.fullmatch(value.strip())
    if match is None:
        raise BadRecord(f"not a datetime (M/D/YYYY h:mm:ss AM): {value!r}")
    month, day, year, hour, minute = (int(g) for g in match.groups()[:5])
    second = int(match.group(6) or 0)
    ampm = (match.group(7) or "").upper()
    if ampm:
        if not 1 <= hour <= 12:
            raise BadRecord(f"not a datetime (M/D/YYYY h:mm:ss AM): {value!r}")
        hour = hour % 12 + (12 if ampm == "PM" else 0)
    try:
        local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError as exc:
        raise BadRecord(f"not a datetime (M/D/YYYY h:mm:ss AM): {value!r}") from exc
    return local.astimezone(UTC)


def parse_decimal(value: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise BadRecord(f"not a number: {value!r}") from exc
    if not number.is_finite():
        raise BadRecord(f"not a number: {value!r}")
    return number


def _convert_value(kind: str, value: Any, tz: tzinfo) -> Any:
    if not isinstance(value, str):  # SuiteQL sends strings; anything else is kept as it is
        return value
    if kind in ("id", "text"):
        return value
    if kind == "upper":
        return value.strip().upper()
    if kind == "email":
        if not _EMAIL.fullmatch(value.strip()):
            raise BadRecord(f"not an e-mail address: {value!r}")
        return value.strip()
    if kind == "bool":
        if value not in ("T", "F"):
            raise BadRecord(f"not a T/F boolean: {value!r}")
        return value == "T"
    if kind == "int":
        try:
            return int(value)
        except ValueError as exc:
            raise BadRecord(f"not an integer: {value!r}") from exc
    if kind == "dec":
        return parse_decimal(value)
    if kind == "date":
        return parse_date(value)
    if kind == "dt":
        return parse_datetime(value, tz)
    raise AssertionError(kind)


def make_converter(table: Table, tz: tzinfo) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Convert one SuiteQL item; columns the table spec does not know (custom fields, new
    fields) are kept as SuiteQL sent them."""

    def convert(item: dict[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column, value in item.items():
            if column == "links" or value is None:
                continue
            kind = table.columns.get(column)
            if kind is None:
                row[column] = value
                continue
            try:
                row[column] = _convert_value(kind, value, tz)
            except BadRecord as exc:
                raise BadRecord(f"{table.name}.{column}: {exc}") from None
        missing = [k for k in table.key if row.get(k) in (None, "")]
        if missing:
            raise BadRecord(f"{table.name}: missing key column(s) {', '.join(missing)}")
        if table.soft_delete:
            row["is_deleted"] = False
        return row

    return convert


# -- SuiteQL reads ----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Runs SuiteQL queries of one connection, page by page, sequentially."""

    connection: str
    client: RESTClient
    hooks: list[Callable[..., Any]]
    page_size: int
    tz: tzinfo
    max_rows: int = MAX_QUERY_ROWS

    def pages(self, query: str) -> Iterator[tuple[list[dict[str, Any]], bool]]:
        """Pages of one query up to the REST row cap; yields (items, more beyond the cap)."""
        paginator = OffsetPaginator(
            limit=self.page_size,
            total_path=None,
            has_more_path="hasMore",
            maximum_offset=self.max_rows,
        )
        try:
            for page in self.client.paginate(
                SUITEQL_PATH,
                method="POST",
                json={"q": query},
                paginator=paginator,
                data_selector="items",
                hooks={"response": list(self.hooks)},
            ):
                yield list(page), bool(page.response.json().get("hasMore"))
        except requests.HTTPError as exc:
            if exc.response is None:
                raise IngestionError(f"{SYSTEM}/{self.connection}: {exc}") from exc
            raise_for_status(exc.response, SYSTEM, self.connection)
            raise
        except requests.RequestException as exc:
            raise IngestionError(
                f"{SYSTEM}/{self.connection}: SuiteQL request failed after "
                f"retries: {type(exc).__name__}: {exc}"[:300]
            ) from exc

    def walk(self, table: Table, since: datetime | None) -> Iterator[list[dict[str, Any]]]:
        """All rows of ``table`` with a stamp >= ``since`` in stamp order. When a query hits
        the REST row cap the walk restarts from the last stamp seen, skipping the rows it
        already gave at that stamp (keyset windows)."""
        cursor = table.cursor
        if cursor is None:
            order = ", ".join(table.key)
            for items, more in self.pages(f"SELECT * FROM {table.name} ORDER BY {order}"):
                yield items
                if more:
                    raise IngestionError(
                        f"{SYSTEM}/{self.connection}: {table.name} has more "
                        f"than {self.max_rows} rows and no stamp to page on"
                    )
            return
        # stamps are compared as SuiteQL sends them (one format): no parsing per row
        lower: datetime | None = since
        lower_raw: str | None = None
        seen_at_lower: set[tuple[Any, ...]] = set()
        while True:
            query = f"SELECT * FROM {table.name}"
            if lower is not None:
                query += f" WHERE {cursor} >= {self.timestamp(lower)}"
            query += f" ORDER BY {cursor}, {', '.join(table.key)}"
            last_raw: str | None = None
            keys_at_last: set[tuple[Any, ...]] = set()
            more = False
            for items, has_more in self.pages(query):
                more = has_more
                out = []
                for item in items:
                    raw = item.get(cursor)
                    key = tuple(item.get(k) for k in table.key)
                    if raw == lower_raw and key in seen_at_lower:
                        continue  # given by the previous window
                    if raw != last_raw:
                        last_raw, keys_at_last = raw, set()
                    keys_at_last.add(key)
                    out.append(item)
                yield out
            if not more:
                return
            last = self._stamp(last_raw)
            if last is None or (last_raw == lower_raw and keys_at_last <= seen_at_lower):
                raise IngestionError(
                    f"{SYSTEM}/{self.connection}: cannot page {table.name} "
                    f"past {self.max_rows} rows at the stamp {last_raw!r}"
                )
            if last_raw == lower_raw:
                keys_at_last |= seen_at_lower
            lower, lower_raw, seen_at_lower = last, last_raw, keys_at_last

    def timestamp(self, moment: datetime) -> str:
        """A SuiteQL literal for ``moment``, in the account's time zone (as stamps are)."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        local = moment.astimezone(self.tz)
        return f"TO_TIMESTAMP('{local:%Y-%m-%d %H:%M:%S}', '{TS_FORMAT}')"

    def _stamp(self, value: Any) -> datetime | None:
        if not isinstance(value, str):
            return None
        try:
            return parse_datetime(value, self.tz)
        except BadRecord:
            return None


def _batched(rows: Iterable[Any]) -> Iterator[Any]:
    """Good rows in one list per page (fast); quarantine rows one by one (they carry their own
    table hints, which apply to a whole yielded item)."""
    batch: list[Any] = []
    for row in rows:
        if isinstance(row, DataItemWithMeta):
            yield row
        else:
            batch.append(row)
    if batch:
        yield batch


def _typed_pages(reader: _Reader, table: Table, since: datetime | None) -> Iterator[Any]:
    convert = make_converter(table, reader.tz)
    for items in reader.walk(table, since):
        yield from _batched(
            typed(
                items,
                convert,
                system=SYSTEM,
                connection=reader.connection,
                obj=table.name,
                key=_key_of(table),
            )
        )


def _key_of(table: Table) -> Callable[[dict[str, Any]], Any]:
    if len(table.key) == 1:
        return lambda r: r[table.key[0]]
    return lambda r: "|".join(str(r[k]) for k in table.key)


def _resource(reader: _Reader, table: Table) -> Any:
    hints: dict[str, Any] = {
        "name": table.name,
        "table_name": table.name,
        "write_disposition": "merge",
        "primary_key": (*table.key, CONNECTION_COLUMN),
        "columns": table.hints(),
    }
    if table.cursor is None:

        def snapshot() -> Iterator[Any]:
            """No stamp: read it all, load only rows whose content changed since last run."""
            state = dlt.current.resource_state()
            known: dict[str, str] = state.setdefault("row_hashes", {})
            for item in _typed_pages(reader, table, None):
                rows = item if isinstance(item, list) else None
                if rows is None:
                    yield item  # a quarantine row
                    continue
                changed = []
                for row in rows:
                    key = "|".join(str(row[k]) for k in table.key)
                    digest = hashlib.sha256(
                        json.dumps(row, sort_keys=True, default=str).encode()
                    ).hexdigest()[:16]
                    if known.get(key) != digest:
                        known[key] = digest
                        changed.append(row)
                if changed:
                    yield changed

        return dlt.resource(snapshot, **hints)

    def stamped(
        updated: dlt.sources.incremental[datetime] = dlt.sources.incremental(
            table.cursor, on_cursor_value_missing="include"
        ),
    ) -> Iterator[Any]:
        yield from _typed_pages(reader, table, updated.start_value)

    return dlt.resource(stamped, **hints)


# -- soft deletes ------------------------------------------------------------------------------


def _last_known(table: Table, ids: list[str], connection: str) -> dict[str, dict[str, Any]]:
    """The rows already loaded for ``ids`` (so a soft delete keeps the record's data). Empty
    when nothing was loaded yet (first run: no dataset or table)."""
    from dlt.common.destination.exceptions import (
        DestinationUndefinedEntity,
        SqlClientNotAvailable,
    )
    from dlt.destinations.exceptions import DatabaseException
    from dlt.pipeline.exceptions import PipelineConfigMissing

    try:
        pipeline = dlt.current.pipeline()
        if pipeline.default_schema_name is None or table.name not in pipeline.default_schema.tables:
            return {}
        found: list[tuple[Any, ...]] = []
        names: list[str] = []
        with pipeline.sql_client() as client:
            name = client.make_qualified_table_name(table.name)
            for start in range(0, len(ids), 500):  # keep the IN lists short
                chunk = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(chunk))
                sql = f"SELECT * FROM {name} WHERE {CONNECTION_COLUMN} = %s AND id IN ({marks})"
                with client.execute_query(sql, connection, *chunk) as cursor:
                    names = [d[0] for d in cursor.description]
                    found += cursor.fetchall()
    except (
        DatabaseException,
        DestinationUndefinedEntity,
        PipelineConfigMissing,
        SqlClientNotAvailable,
    ):
        return {}
    out = {}
    for values in found:
        row = {
            n: v
            for n, v in zip(names, values, strict=True)
            if v is not None and not n.startswith("_dlt_")
        }
        out[str(row["id"])] = row
    return out


def _soft_deletes(connection: str) -> Callable[[Any], Iterator[Any]]:
    def soft_deletes(items: Any) -> Iterator[Any]:
        batch = items if isinstance(items, list) else [items]
        by_table: dict[str, dict[str, datetime]] = {}
        for item in batch:
            if not isinstance(item, dict) or "recordid" not in item:
                continue  # a quarantined deletedrecord row
            target = DELETED_TYPES.get(str(item.get("recordtype", "")).lower())
            if target is not None:
                by_table.setdefault(target.name, {})[str(item["recordid"])] = item.get(
                    "deleteddate"
                )
        for name, deleted in by_table.items():
            table = TABLES_BY_NAME[name]
            known = _last_known(table, sorted(deleted), connection)
            for record_id, when in deleted.items():
                row = dict(known.get(record_id) or {"id": record_id})
                row.update({"is_deleted": True, "deleted_at": when, CONNECTION_COLUMN: connection})
                yield dlt.mark.with_table_name(row, name)

    return soft_deletes


# -- the source --------------------------------------------------------------------------------


def raise_http_error(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    """Inside the retried send: an HTTPError is what dlt's retry inspects (429/5xx/401 are
    retried); what is left after the retries becomes an IngestionError in ``_Reader.pages``."""
    if response.status_code >= 400:
        raise requests.HTTPError(f"{response.status_code} {response.reason}", response=response)


def source(
    connection: str,
    settings: dict[str, Any],
    metrics: Metrics | None = None,
    tables: Iterable[str] | None = None,
) -> dlt.sources.DltSource:
    """The NetSuite source of one account (connection); ``tables`` limits it to some tables."""
    metrics = metrics if metrics is not None else Metrics()
    wanted = [TABLES_BY_NAME[t] for t in tables] if tables else list(TABLES)
    auth = _TokenAuth(connection, settings, http_session(metrics))
    client = RESTClient(
        base_url=_base_url(settings),
        session=http_session(metrics, auth=auth),
        headers={"Prefer": "transient", "Accept": "application/json"},
    )
    # request-level hooks replace the session's (requests' merge_hooks): repeat metrics here
    hooks = [metrics.hook, auth.renew, raise_http_error]
    # one reader, used by one resource at a time (dlt extracts in one thread): requests of a
    # connection stay sequential, as NetSuite's concurrency limit wants
    reader = _Reader(
        connection,
        client,
        hooks,
        _page_size(settings),
        _timezone(settings, connection),
        max_rows=MAX_QUERY_ROWS,
    )

    @dlt.source(name=f"{SYSTEM}_{connection}", max_table_nesting=0)
    def netsuite() -> list[Any]:
        resources = {t.name: _resource(reader, t) for t in wanted}
        out = list(resources.values())
        if "deletedrecord" in resources:
            out.append(
                dlt.transformer(
                    _soft_deletes(connection),
                    data_from=resources["deletedrecord"],
                    name="soft_deletes",
                    write_disposition="merge",
                    primary_key=("id", CONNECTION_COLUMN),
                )
            )
        return out

    return netsuite()
