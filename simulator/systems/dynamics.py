"""Microsoft Dynamics 365 Finance & Operations (OData v4) and its Entra ID token endpoint.

One emulator serves every F&O environment: connection ``na`` lives under ``{base}/na`` (standing
in for ``https://<env>.operations.dynamics.com``), its OData service under ``{base}/na/data/``.
Entra ID (``login.microsoftonline.com``) is served at ``{base}/{tenant_id}/oauth2/v2.0/token``.

Reads run a small OData v4 query engine over the store: ``$filter`` (subset, compiled once per
request into closures), ``$select``, ``$orderby``, ``$top``, ``$skip``, ``$count`` and
server-driven paging. The first page of a query computes the list of matching keys once and
keeps it as a snapshot; ``@odata.nextLink`` carries a ``$skiptoken`` pointing into that snapshot,
so paging a million rows costs one filter pass, then slices.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, quote, urlencode
from xml.etree import ElementTree as ET

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from simulator.emulator import SystemEmulator, json_response
from simulator.store import Connection, Key, Record, Table

NAMESPACE = "Microsoft.Dynamics.DataEntities"
DEFAULT_PAGE_SIZE = 10_000

# Entity sets with their keys (simulator/README.md) and the entity type behind each set.
ENTITY_SETS: dict[str, tuple[tuple[str, ...], str]] = {
    "LegalEntities": (("LegalEntityId",), "LegalEntity"),
    "CustomersV3": (("dataAreaId", "CustomerAccount"), "CustomerV3"),
    "ProjectsV2": (("dataAreaId", "ProjectID"), "ProjectV2"),
    "EmployeesV2": (("PersonnelNumber",), "EmployeeV2"),
    "ProjectHourTransactions": (("dataAreaId", "TransactionId"), "ProjectHourTransaction"),
    "SalesInvoiceHeadersV2": (("dataAreaId", "InvoiceNumber"), "SalesInvoiceHeaderV2"),
    "SalesInvoiceLines": (("dataAreaId", "InvoiceNumber", "LineNumber"), "SalesInvoiceLine"),
    "CustomerPaymentJournalLines": (
        ("dataAreaId", "JournalBatchNumber", "LineNumber"),
        "CustomerPaymentJournalLine",
    ),
    "CustomerTransactions": (("dataAreaId", "Voucher"), "CustomerTransaction"),
    "ExchangeRates": (("RateTypeName", "FromCurrency", "ToCurrency", "StartDate"), "ExchangeRate"),
}

DRIFT = {
    "CustomersV3": {"CustomerSegment": "Enterprise"},
    "ProjectsV2": {"ProjectSegment": "Enterprise"},
}

# Per set, the ways a value goes bad in real exports; one is picked per record, stably.
MALFORMED: dict[str, list[tuple[str, Any]]] = {
    "SalesInvoiceHeadersV2": [("CurrencyCode", "Euro"), ("TotalInvoiceAmount", "n/a")],
    "ProjectHourTransactions": [("Hours", "-"), ("ProjectDate", "2026-02-30T12:00:00Z")],
    "CustomersV3": [("AddressCountryRegionISOCode", "Deutschland"), ("CreditLimit", "n/a")],
    "ProjectsV2": [("StartDate", "2026-02-30T12:00:00Z"), ("ProjectType", "T&M")],
    "EmployeesV2": [("PrimaryContactEmail", "n/a")],
    "SalesInvoiceLines": [("LineAmount", "n/a"), ("CurrencyCode", "Euro")],
    "CustomerPaymentJournalLines": [("CreditAmount", "-"), ("TransactionDate", "31/12/2026")],
    "CustomerTransactions": [("AmountCur", "n/a"), ("TransactionDate", "2026-02-30T12:00:00Z")],
    "ExchangeRates": [("Rate", "n/a")],
    "LegalEntities": [("AccountingCurrency", "Euro")],
}

_DT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_SYSTEM_OPTIONS = {
    "$filter",
    "$select",
    "$orderby",
    "$top",
    "$skip",
    "$count",
    "$expand",
    "$skiptoken",
    "$format",
    "$search",
    "$apply",
    "$compute",
    "$levels",
}


def fmt_dt(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_dt(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class ODataError(Exception):
    """An OData v4 error answer: ``{"error":{"code":"","message":...,"innererror":...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        inner: str | None = None,
        type_: str = "Microsoft.OData.ODataException",
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.inner = inner or message
        self.type = type_

    def response(self) -> Response:
        return odata_error(self.status, self.message, self.inner, self.type)


def odata_error(
    status: int,
    message: str,
    inner: str | None = None,
    type_: str = "Microsoft.OData.ODataException",
    headers: dict[str, str] | None = None,
) -> Response:
    body = {
        "error": {
            "code": "",
            "message": message,
            "innererror": {"message": inner or message, "type": type_, "stacktrace": ""},
        }
    }
    return json_response(body, status, headers)


# -- $filter: tokenizer, parser, compiler ---------------------------------------------------


@dataclass
class Lit:
    kind: str  # string | number | datetime | bool | null | enum
    value: Any


@dataclass
class Prop:
    name: str


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)
  | (?P<enum>[A-Za-z_][\w.]*'(?:[^']|'')*')
  | (?P<ident>[A-Za-z_$][\w./]*)
  | (?P<op>[(),])
""",
    re.VERBOSE,
)

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_FUNCTIONS = {"contains", "startswith", "endswith"}


class FilterParser:
    """Recursive descent over the OData v4 ``$filter`` subset F&O clients use."""

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if not m:
                raise self.error(pos)
            if m.lastgroup != "ws":
                self.tokens.append((m.lastgroup or "", m.group(), pos))
            pos = m.end()
        self.i = 0

    def error(self, pos: int | None = None) -> ODataError:
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        return ODataError(400, f"Syntax error at position {pos} in '{self.text}'.")

    def peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise self.error()
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise self.error(tok[2])

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "ident" and tok[1] == word

    def parse(self) -> tuple:
        if not self.tokens:
            raise self.error(0)
        node = self.parse_or()
        if self.peek() is not None:
            raise self.error()
        return node

    def parse_or(self) -> tuple:
        node = self.parse_and()
        while self.is_word("or"):
            self.i += 1
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> tuple:
        node = self.parse_unary()
        while self.is_word("and"):
            self.i += 1
            node = ("and", node, self.parse_unary())
        return node

    def parse_unary(self) -> tuple:
        if self.is_word("not"):
            self.i += 1
            return ("not", self.parse_unary())
        tok = self.peek()
        if tok is not None and tok[1] == "(":
            self.i += 1
            node = self.parse_or()
            self.expect(")")
            return node
        left = self.parse_operand()
        if isinstance(left, tuple):  # a boolean function call used as a predicate
            return left
        tok = self.peek()
        if tok is None or tok[0] != "ident" or tok[1] not in _COMPARISONS:
            if tok is not None and tok[0] == "ident" and tok[1] in ("has", "in"):
                raise ODataError(400, f"The '{tok[1]}' operator is not supported.")
            raise self.error()
        self.i += 1
        right = self.parse_operand()
        if isinstance(right, tuple):
            raise self.error()
        return ("cmp", tok[1], left, right)

    def parse_operand(self) -> Prop | Lit | tuple:
        kind, text, pos = self.take()
        if kind == "string":
            return Lit("string", text[1:-1].replace("''", "'"))
        if kind == "datetime":
            value = parse_dt(text)
            if value is None:
                raise self.error(pos)
            return Lit("datetime", value)
        if kind == "date":
            value = parse_dt(text + "T00:00:00Z")
            if value is None:
                raise self.error(pos)
            return Lit("datetime", value)
        if kind == "number":
            core = text.rstrip("mMdDfFlL")
            return Lit("number", float(core) if re.search(r"[.eE]", core) else int(core))
        if kind == "enum":
            quote_at = text.index("'")
            return Lit("enum", text[quote_at + 1 : -1].replace("''", "'"))
        if kind == "ident":
            if text in ("true", "false"):
                return Lit("bool", text == "true")
            if text == "null":
                return Lit("null", None)
            tok = self.peek()
            if tok is not None and tok[1] == "(":
                if text not in _FUNCTIONS:
                    raise ODataError(
                        400,
                        f"An unknown function with name '{text}' was found. "
                        "This may also be a function import or a key lookup "
                        "on a navigation property, which is not allowed.",
                    )
                self.i += 1
                arg1 = self.parse_operand()
                self.expect(",")
                arg2 = self.parse_operand()
                self.expect(")")
                if not isinstance(arg1, Prop) or not isinstance(arg2, Lit) or arg2.kind != "string":
                    raise ODataError(
                        400,
                        f"The function '{text}' needs a property and a "
                        "string literal in this emulator.",
                    )
                return ("func", text, arg1.name, arg2.value)
            if "/" in text:
                raise ODataError(
                    400, "Navigation property paths are not supported in $filter by this emulator."
                )
            return Prop(text)
        raise self.error(pos)


_EDM_OF_KIND = {
    "string": "Edm.String",
    "number": "Edm.Decimal",
    "datetime": "Edm.DateTimeOffset",
    "bool": "Edm.Boolean",
}
_OP_KIND = {
    "eq": "Equal",
    "ne": "NotEqual",
    "gt": "GreaterThan",
    "ge": "GreaterThanOrEqual",
    "lt": "LessThan",
    "le": "LessThanOrEqual",
}


def _rank(value: Any) -> tuple[int, Any]:
    """Sort/compare key tolerant of mixed types: nulls first (SQL Server order)."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, int | float):
        return (2, value)
    if isinstance(value, str):
        return (3, value.casefold())
    return (4, json.dumps(value, sort_keys=True))


def _plain(value: Any) -> Any:
    """Sort key without a per-row tuple (see _rank): strings compare case-insensitively."""
    return value.casefold() if isinstance(value, str) else value


def _compare(op: str, a: Any, b: Any) -> bool:
    if op == "eq":
        return a == b
    if op == "ne":
        return a != b
    if a is None or b is None:
        return False
    try:
        if op == "gt":
            return a > b
        if op == "ge":
            return a >= b
        if op == "lt":
            return a < b
        return a <= b
    except TypeError:
        return False


Predicate = Callable[[Record], bool]


class FilterCompiler:
    """Turns the parsed tree into closures over one record, type-checked against the schema."""

    def __init__(self, entity_type: str, types: dict[str, str], extra: dict[str, Any]):
        self.entity_type = entity_type
        self.types = types
        self.extra = extra  # drifted fields: present in responses, absent from stored records

    def getter(self, name: str) -> Callable[[Record], Any]:
        if name not in self.types:
            raise ODataError(
                400,
                f"Could not find a property named '{name}' on type "
                f"'{NAMESPACE}.{self.entity_type}'.",
            )
        if name in self.extra:
            default = self.extra[name]
            return lambda r: r.get(name, default)
        return lambda r: r.get(name)

    def compile(self, node: tuple) -> Predicate:
        kind = node[0]
        if kind == "and":
            left, right = self.compile(node[1]), self.compile(node[2])
            return lambda r: left(r) and right(r)
        if kind == "or":
            left, right = self.compile(node[1]), self.compile(node[2])
            return lambda r: left(r) or right(r)
        if kind == "not":
            inner = self.compile(node[1])
            return lambda r: not inner(r)
        if kind == "func":
            return self.function(node[1], node[2], node[3])
        return self.comparison(node[1], node[2], node[3])

    def function(self, name: str, prop: str, needle: str) -> Predicate:
        get = self.getter(prop)
        n = needle.casefold()

        def test(r: Record) -> bool:
            v = get(r)
            if not isinstance(v, str):
                return False
            v = v.casefold()
            if name == "contains":
                return n in v
            if name == "startswith":
                return v.startswith(n)
            return v.endswith(n)

        return test

    def comparison(self, op: str, left: Prop | Lit, right: Prop | Lit) -> Predicate:
        if isinstance(left, Lit) and isinstance(right, Prop):
            flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}.get(op, op)
            return self.comparison(flipped, right, left)
        if isinstance(left, Lit) and isinstance(right, Lit):
            result = _compare(op, _rank(left.value), _rank(right.value))
            return lambda r: result
        assert isinstance(left, Prop)
        get = self.getter(left.name)
        if isinstance(right, Prop):
            get2 = self.getter(right.name)
            return lambda r: _compare(op, _rank(get(r)), _rank(get2(r)))
        ptype = self.types[left.name]
        lit = right
        if lit.kind == "null":
            return (
                (lambda r: get(r) is None)
                if op == "eq"
                else (lambda r: get(r) is not None)
                if op == "ne"
                else (lambda r: False)
            )
        self.check_types(op, ptype, lit)
        if ptype == "Edm.DateTimeOffset" or lit.kind == "datetime":
            return self.datetime_comparison(op, get, lit)
        if lit.kind in ("string", "enum"):
            if lit.kind == "enum" and ptype == "Edm.Boolean":
                flag = lit.value.casefold() == "yes"
                return lambda r: _compare(op, get(r), flag)
            text = lit.value
            if op in ("eq", "ne") and "*" in text:
                # F&O's wildcard: eq '*abc*' is a LIKE match.
                pattern = re.compile(
                    "^" + ".*".join(re.escape(p) for p in text.split("*")) + "$",
                    re.IGNORECASE | re.DOTALL,
                )
                want = op == "eq"
                return lambda r: (
                    isinstance(v := get(r), str) and (pattern.match(v) is not None) == want
                )
            folded = text.casefold()
            if op in ("eq", "ne"):
                want = op == "eq"

                def text_eq(r: Record) -> bool:
                    v = get(r)
                    if isinstance(v, bool):  # a NoYes enum stored as a JSON boolean
                        return (v == (folded in ("yes", "true"))) == want
                    return (isinstance(v, str) and v.casefold() == folded) == want

                return text_eq
            return lambda r: isinstance(v := get(r), str) and _compare(op, v.casefold(), folded)
        if lit.kind == "bool":
            flag = lit.value
            return lambda r: _compare(op, _bool_of(get(r)), flag)
        number = lit.value

        def num(r: Record) -> bool:
            v = get(r)
            if isinstance(v, bool) or not isinstance(v, int | float):
                return op == "ne" and v != number
            return _compare(op, v, number)

        return num

    def check_types(self, op: str, ptype: str, lit: Lit) -> None:
        lit_type = _EDM_OF_KIND.get(lit.kind)
        if lit_type is None or ptype == "Edm.String" and lit.kind in ("string", "enum"):
            return
        compatible = {
            "Edm.String": {"Edm.String"},
            "Edm.Decimal": {"Edm.Decimal"},
            "Edm.DateTimeOffset": {"Edm.DateTimeOffset"},
            "Edm.Boolean": {"Edm.Boolean"},
        }.get(ptype, {lit_type})
        if lit_type not in compatible:
            raise ODataError(
                400,
                "A binary operator with incompatible types was detected. Found operand "
                f"types '{ptype}' and '{lit_type}' for operator kind '{_OP_KIND[op]}'.",
            )

    @staticmethod
    def datetime_comparison(op: str, get: Callable[[Record], Any], lit: Lit) -> Predicate:
        target: datetime = lit.value.astimezone(UTC)
        canonical = fmt_dt(target) if target.microsecond == 0 else None

        def test(r: Record) -> bool:
            v = get(r)
            if v is None:
                return op == "ne"
            if not isinstance(v, str):
                return False
            # Stored stamps share one fixed-width UTC format: compare them as strings (fast
            # and exact); anything else is parsed.
            if canonical is not None and len(v) == 20 and v[19] == "Z":
                return _compare(op, v, canonical)
            parsed = parse_dt(v)
            return parsed is not None and _compare(op, parsed, target)

        return test


def _bool_of(value: Any) -> Any:
    if isinstance(value, str) and value in ("Yes", "No"):
        return value == "Yes"
    return value


# -- query snapshots for server-driven paging -------------------------------------------------


@dataclass
class Snapshot:
    signature: tuple
    keys: list[Key]
    page_size: int


def _edm_type(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Edm.Boolean"
    if isinstance(value, int | float):
        return "Edm.Decimal"
    if isinstance(value, str) and _DT_RE.match(value):
        return "Edm.DateTimeOffset"
    return "Edm.String"


class Emulator(SystemEmulator):
    system = "dynamics"
    open_paths = (
        "/oauth2/v2.0/token",
        "/oauth2/token",
        "/.well-known/openid-configuration",
        "/common/discovery/instance",
    )

    def __init__(self, ctx: Any):
        self._version = 0  # bumped on every write through the API: invalidates schema caches
        self._schemas: dict[int, tuple[Table, tuple, dict[str, str]]] = {}
        self._snapshots: OrderedDict[str, Snapshot] = OrderedDict()
        self._cache_lock = threading.Lock()
        super().__init__(ctx)

    # -- hooks ------------------------------------------------------------------------------
    def unauthorized(self) -> Response:
        # F&O answers a missing, expired or foreign token with an empty 401 and a challenge.
        return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})

    def rate_limited(self) -> Response:
        seconds = self.faults.config.retry_after
        return odata_error(
            429,
            "Service protection limits: the number of requests exceeded the limit for the "
            f"time window. Retry after {seconds} seconds.",
            type_="Microsoft.Dynamics.Platform.Integration.Services.OData.ServiceProtection"
            "LimitException",
            headers={"Retry-After": str(seconds)},
        )

    def server_error(self) -> Response:
        return odata_error(
            500,
            "An error has occurred.",
            "An unexpected error occurred while processing the request.",
            type_="System.InvalidOperationException",
        )

    def malform(self, obj: str, record: Record) -> Record:
        options = MALFORMED.get(obj)
        if not options:
            return record
        keys = ENTITY_SETS.get(obj, ((), ""))[0]
        pick = zlib.crc32(json.dumps([record.get(k) for k in keys]).encode()) % len(options)
        field_name, bad = options[pick]
        record[field_name] = bad
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        return dict(DRIFT.get(obj, {}))

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        s = conn.settings
        base = f"{self.ctx.base_url}/{s.get('environment', conn.name)}"
        tenant = s.get("tenant_id", "")
        return {
            "base_url": base,
            "token_url": f"{self.ctx.base_url}/{tenant}/oauth2/v2.0/token",
            "tenant_id": tenant,
            "client_id": s.get("client_id", ""),
            "client_secret": s.get("client_secret", ""),
            "scope": base + "/.default",
            "legal_entities": list(s.get("legal_entities", [])),
        }

    # -- routes -----------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        @app.post("/{tenant}/oauth2/v2.0/token")
        async def token_v2(tenant: str, request: Request) -> Response:
            return self.token(tenant, await request.body(), request, v1=False)

        @app.post("/{tenant}/oauth2/token")
        async def token_v1(tenant: str, request: Request) -> Response:
            return self.token(tenant, await request.body(), request, v1=True)

        @app.get("/{tenant}/v2.0/.well-known/openid-configuration")
        async def discovery_v2(tenant: str, request: Request) -> Response:
            return self.discovery(tenant, v2=True, request=request)

        @app.get("/{tenant}/.well-known/openid-configuration")
        async def discovery_v1(tenant: str, request: Request) -> Response:
            return self.discovery(tenant, v2=False, request=request)

        @app.get("/common/discovery/instance")
        async def instance_discovery(request: Request) -> Response:
            tenant = "common"
            host = self.ctx.base_url.split("://", 1)[-1]
            return json_response(
                {
                    "tenant_discovery_endpoint": (
                        f"{self.ctx.base_url}/{tenant}/v2.0/.well-known/openid-configuration"
                    ),
                    "api-version": "1.1",
                    "metadata": [
                        {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                    ],
                }
            )

        @app.api_route("/{env}/data", methods=["GET"])
        @app.api_route("/{env}/data/{rest:path}", methods=["GET", "POST", "PATCH", "PUT", "DELETE"])
        async def odata(env: str, request: Request, rest: str = "") -> Response:
            body = await request.body()
            try:
                return await run_in_threadpool(self.handle, env, rest, request, body)
            except ODataError as exc:
                return exc.response()

    # -- Entra ID ---------------------------------------------------------------------------
    def _entra_error(self, status: int, error: str, code: int, text: str) -> Response:
        trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = datetime.now(UTC)
        return json_response(
            {
                "error": error,
                "error_description": f"AADSTS{code}: {text}\r\nTrace ID: {trace}\r\n"
                f"Correlation ID: {corr}\r\n"
                f"Timestamp: {stamp.strftime('%Y-%m-%d %H:%M:%SZ')}",
                "error_codes": [code],
                "timestamp": stamp.strftime("%Y-%m-%d %H:%M:%SZ"),
                "trace_id": trace,
                "correlation_id": corr,
                "error_uri": f"{self.ctx.base_url}/error?code={code}",
            },
            status,
        )

    def _tenant_connections(self, tenant: str) -> list[Connection]:
        return [
            c
            for c in self.store.connections_of(self.system)
            if str(c.settings.get("tenant_id", "")).lower() == tenant.lower()
        ]

    def env_base(self, conn: Connection) -> str:
        return f"{self.ctx.base_url}/{conn.settings.get('environment', conn.name)}"

    def token(self, tenant: str, raw: bytes, request: Request, v1: bool) -> Response:
        form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):  # client_secret_basic
            try:
                user, _, pw = base64.b64decode(basic[6:]).decode().partition(":")
                client_id, secret = client_id or user, pw
            except (ValueError, UnicodeDecodeError):
                pass
        conns = self._tenant_connections(tenant)
        if not conns:
            return self._entra_error(
                400,
                "invalid_request",
                90002,
                f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant "
                "ID and are signing into the correct cloud.",
            )
        grant = form.get("grant_type")
        if not grant:
            return self._entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'grant_type'.",
            )
        if grant != "client_credentials":
            return self._entra_error(
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant}'.",
            )
        wanted = "resource" if v1 else "scope"
        target = form.get(wanted)
        if not target:
            return self._entra_error(
                400,
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{wanted}'.",
            )
        if not client_id:
            return self._entra_error(
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        apps = [c for c in conns if c.settings.get("client_id") == client_id]
        if not apps:
            return self._entra_error(
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory "
                f"'{tenant}'. This can happen if the application has not been installed by the "
                "administrator of the tenant or consented to by any user in the tenant. You may "
                "have sent your authentication request to the wrong tenant.",
            )
        apps = [c for c in apps if secret and c.settings.get("client_secret") == secret]
        if not apps:
            return self._entra_error(
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is "
                "the client secret value, not the client secret ID, for a secret added to app "
                f"'{client_id}'.",
            )
        resource = target[: -len("/.default")] if target.endswith("/.default") else target
        resource = resource.rstrip("/")
        conn = next((c for c in apps if self.env_base(c) == resource), None)
        if conn is None or (not v1 and not target.endswith("/.default")):
            return self._entra_error(
                400,
                "invalid_scope",
                70011,
                f"The provided request must include a '{wanted}' input parameter. The provided "
                f"value for the input parameter '{wanted}' is not valid. The {wanted} "
                f"{target} is not valid.",
            )
        now = int(time.time())
        claims = {
            "aud": self.env_base(conn),
            "iss": f"https://sts.windows.net/{tenant}/",
            "iat": now,
            "nbf": now,
            "exp": now + 3599,
            "appid": client_id,
            "appidacr": "1",
            "idp": f"https://sts.windows.net/{tenant}/",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, client_id)),
            "roles": [],
            "tid": tenant,
            "ver": "1.0",
            "uti": secrets.token_urlsafe(16),
        }
        # A decodable JWT: header and claims are real, the random signature part comes from the
        # shared token issuer so expiry faults apply.
        prefix = ".".join(
            _b64url(json.dumps(part, separators=(",", ":")).encode())
            for part in ({"typ": "JWT", "alg": "RS256", "x5t": "sim", "kid": "sim"}, claims)
        )
        token = self.ctx.tokens.issue(conn.name, prefix=prefix + ".", subject=client_id)
        if v1:
            return json_response(
                {
                    "token_type": "Bearer",
                    "expires_in": "3599",
                    "ext_expires_in": "3599",
                    "expires_on": str(now + 3599),
                    "not_before": str(now),
                    "resource": target,
                    "access_token": token.value,
                }
            )
        return json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token.value,
            }
        )

    def discovery(self, tenant: str, v2: bool, request: Request | None = None) -> Response:
        if tenant != "common" and not self._tenant_connections(tenant):
            return self._entra_error(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found.")
        base = self.ctx.base_url
        if request is not None and request.headers.get("x-forwarded-host"):
            # behind a proxy (or a client that rewrites the Entra host): answer with its URLs
            proto = request.headers.get("x-forwarded-proto", "https")
            base = f"{proto}://{request.headers['x-forwarded-host']}"
        root = f"{base}/{tenant}"
        suffix = "/v2.0" if v2 else ""
        return json_response(
            {
                "token_endpoint": f"{root}/oauth2{suffix}/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{root}/discovery{suffix}/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{root}/v2.0" if v2 else f"https://sts.windows.net/{tenant}/",
                "request_uri_parameter_supported": False,
                "authorization_endpoint": f"{root}/oauth2{suffix}/authorize",
                "device_authorization_endpoint": f"{root}/oauth2{suffix}/devicecode",
                "end_session_endpoint": f"{root}/oauth2{suffix}/logout",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
                "cloud_graph_host_name": "graph.windows.net",
                "msgraph_host": "graph.microsoft.com",
            }
        )

    # -- OData dispatch ---------------------------------------------------------------------
    def _connection_for(self, env: str) -> Connection | None:
        for conn in self.store.connections_of(self.system):
            if str(conn.settings.get("environment", conn.name)) == env:
                return conn
        return None

    def handle(self, env: str, rest: str, request: Request, body: bytes) -> Response:
        conn = self._connection_for(env)
        if conn is None:
            return Response(status_code=404)  # no such environment host
        if self.authorize(request, conn.name) is None:
            return self.unauthorized()
        if request.method == "GET":
            return self.dispatch(conn, rest, request, body)
        # Every write attempt that got past auth goes to the write log, with its outcome.
        try:
            response = self.dispatch(conn, rest, request, body)
        except ODataError as exc:
            response = exc.response()
        try:
            sent = json.loads(body) if body else None
        except ValueError:
            sent = body.decode("utf-8", "replace")
        answer = (
            json.loads(response.body)
            if response.body and response.media_type == "application/json"
            else None
        )
        self.log_write(
            request,
            conn.name,
            response.status_code,
            sent,
            answer,
            object=re.split(r"[(/]", rest, maxsplit=1)[0],
        )
        return response

    def dispatch(self, conn: Connection, rest: str, request: Request, body: bytes) -> Response:
        base = self.env_base(conn)
        method = request.method
        params = {k: v for k, v in request.query_params.multi_items()}
        for name in params:
            if name.startswith("$") and name not in _SYSTEM_OPTIONS:
                raise ODataError(400, f"The query parameter '{name}' is not supported.")
        for name in ("$search", "$apply", "$compute", "$levels"):
            if name in params:
                raise ODataError(400, f"The query parameter '{name}' is not supported.")
        if "$expand" in params:
            raise ODataError(400, "The query option $expand is not supported by this emulator.")
        if rest in ("", "/") and method == "GET":
            return self.service_document(conn, base)
        if rest == "$metadata" and method == "GET":
            return self.metadata(conn)
        if rest == "$batch":
            raise ODataError(400, "$batch is not supported by this emulator.")
        m = re.fullmatch(r"([A-Za-z_]\w*)(?:\((.*)\))?(/\$count)?", rest, re.DOTALL)
        if not m or m.group(1) not in self._set_names(conn):
            return odata_error(
                404, f"No HTTP resource was found that matches the request URI '{request.url}'."
            )
        set_name, key_text, count_only = m.group(1), m.group(2), m.group(3)
        cross = params.get("cross-company", "").lower() == "true"
        if key_text is None:
            if method == "GET":
                return self.query(
                    conn, base, set_name, params, cross, request, count_only=bool(count_only)
                )
            if method == "POST" and not count_only:
                return self.create(conn, base, set_name, body, request)
            return odata_error(
                405, f"The requested resource does not support http method '{method}'."
            )
        if count_only:
            raise ODataError(400, "$count is not supported on a single entity.")
        table = self._table(conn, set_name)
        key = self.parse_key(set_name, table.key, key_text)
        record = table.rows.get(key)
        # Without cross-company the session sees only its default company.
        if (
            record is not None
            and "dataAreaId" in table.key
            and not cross
            and str(record.get("dataAreaId", "")).lower() != self.default_company(conn)
        ):
            record = None
        if record is None:
            return odata_error(404, f"Resource not found for the segment '{set_name}'.")
        if method == "GET":
            return self.single(conn, base, set_name, key, record, params)
        if method in ("PATCH", "PUT"):
            return self.update(conn, base, set_name, table, key, record, body, request)
        if method == "DELETE":
            return self.delete(conn, set_name, table, key, record, request)
        return odata_error(405, f"The requested resource does not support http method '{method}'.")

    # -- schema -----------------------------------------------------------------------------
    def _set_names(self, conn: Connection) -> list[str]:
        return list(ENTITY_SETS) + [n for n in conn.tables if n not in ENTITY_SETS]

    def _table(self, conn: Connection, set_name: str, create: bool = False) -> Table:
        if set_name in conn.tables:
            return conn.tables[set_name]
        if not create:  # a known set with no rows: read it as empty, leave the store alone
            return Table(set_name, ENTITY_SETS[set_name][0])
        with self.store.lock:
            return conn.table(set_name, ENTITY_SETS[set_name][0])

    @staticmethod
    def entity_type(set_name: str) -> str:
        if set_name in ENTITY_SETS:
            return ENTITY_SETS[set_name][1]
        return set_name[:-1] if set_name.endswith("s") else set_name

    def schema(self, set_name: str, table: Table) -> dict[str, str]:
        """Property name -> Edm type, derived from the data (cached until the table changes)."""
        stamp = (len(table), self._version)
        with self._cache_lock:
            cached = self._schemas.get(id(table))
        # The cache holds the table itself, so a recycled id() can never match.
        if cached is not None and cached[0] is table and cached[1] == stamp:
            types = cached[2]
        else:
            names: dict[str, None] = dict.fromkeys(table.key)
            with self.store.lock:
                rows = list(table.rows.values())
            for record in rows:
                if record.keys() != names.keys():
                    names.update(dict.fromkeys(record))
            seen: dict[str, str] = {}
            missing = set(names)
            for record in rows[:10_000]:  # types from the first non-null value of each field
                for name in [n for n in missing if record.get(n) is not None]:
                    seen[name] = _edm_type(record[name]) or "Edm.String"
                    missing.discard(name)
                if not missing:
                    break
            # Always-null fields: F&O names its date fields *Date / *DateTime.
            types = {
                name: seen.get(name)
                or ("Edm.DateTimeOffset" if name.endswith(("Date", "DateTime")) else "Edm.String")
                for name in names
            }
            types["ModifiedDateTime"] = "Edm.DateTimeOffset"
            if rows:
                with self._cache_lock:
                    self._schemas[id(table)] = (table, stamp, types)
        if self.faults.config.drift:
            types = {
                **types,
                **{k: _edm_type(v) or "Edm.String" for k, v in DRIFT.get(set_name, {}).items()},
            }
        return types

    def default_company(self, conn: Connection) -> str:
        entities = conn.settings.get("legal_entities") or [""]
        return str(entities[0]).lower()

    def service_document(self, conn: Connection, base: str) -> Response:
        return json_response(
            {
                "@odata.context": f"{base}/data/$metadata",
                "value": [
                    {"name": n, "kind": "EntitySet", "url": n} for n in self._set_names(conn)
                ],
            }
        )

    def metadata(self, conn: Connection) -> Response:
        edmx = ET.Element(
            "edmx:Edmx",
            {"Version": "4.0", "xmlns:edmx": "http://docs.oasis-open.org/odata/ns/edmx"},
        )
        services = ET.SubElement(edmx, "edmx:DataServices")
        schema = ET.SubElement(
            services,
            "Schema",
            {"Namespace": NAMESPACE, "xmlns": "http://docs.oasis-open.org/odata/ns/edm"},
        )
        container = ET.Element("EntityContainer", {"Name": "Resources"})
        for set_name in self._set_names(conn):
            table = self._table(conn, set_name)
            type_name = self.entity_type(set_name)
            entity = ET.SubElement(schema, "EntityType", {"Name": type_name})
            key = ET.SubElement(entity, "Key")
            for k in table.key:
                ET.SubElement(key, "PropertyRef", {"Name": k})
            for name, edm in self.schema(set_name, table).items():
                attrs = {"Name": name, "Type": edm}
                if name in table.key:
                    attrs["Nullable"] = "false"
                ET.SubElement(entity, "Property", attrs)
            ET.SubElement(
                container, "EntitySet", {"Name": set_name, "EntityType": f"{NAMESPACE}.{type_name}"}
            )
        schema.append(container)
        xml = ET.tostring(edmx, encoding="unicode", xml_declaration=False)
        return Response(
            content='<?xml version="1.0" encoding="utf-8"?>' + xml,
            media_type="application/xml",
            headers={"OData-Version": "4.0"},
        )

    # -- reads ------------------------------------------------------------------------------
    def etag(self, record: Record) -> str:
        # Content-derived, so any change (through the API or straight in the store) moves it.
        digest = zlib.crc32(repr(sorted(record.items(), key=lambda kv: kv[0])).encode())
        return 'W/"' + base64.b64encode(f"'1,{5637144576 + digest}'".encode()).decode() + '"'

    def shape(self, set_name: str, key: Key, record: Record, select: list[str] | None) -> Record:
        etag = self.etag(record)
        rendered = self.render(set_name, record, key)
        if select is not None:
            rendered = {k: rendered.get(k) for k in select}
        return {"@odata.etag": etag, **rendered}

    def parse_select(
        self, text: str | None, types: dict[str, str], entity_type: str
    ) -> list[str] | None:
        if text is None or text.strip() in ("", "*"):
            return None
        names = [p.strip() for p in text.split(",") if p.strip()]
        for name in names:
            if name not in types:
                raise ODataError(
                    400,
                    f"Could not find a property named '{name}' on type "
                    f"'{NAMESPACE}.{entity_type}'.",
                )
        return names

    @staticmethod
    def parse_int(params: dict[str, str], name: str) -> int | None:
        text = params.get(name)
        if text is None:
            return None
        if not re.fullmatch(r"\d+", text.strip()):
            raise ODataError(
                400,
                f"Invalid value '{text}' for {name} query option found. The "
                f"{name} query option requires a non-negative integer value.",
            )
        return int(text)

    def page_size(self, conn: Connection, request: Request) -> tuple[int, int | None]:
        """Server page size, and the odata.maxpagesize preference when one was sent."""
        server = int(conn.settings.get("page_size") or DEFAULT_PAGE_SIZE)
        prefer = request.headers.get("prefer", "")
        m = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer)
        if m and int(m.group(1)) > 0:
            wanted = min(int(m.group(1)), server)
            return wanted, wanted
        return server, None

    def query(
        self,
        conn: Connection,
        base: str,
        set_name: str,
        params: dict[str, str],
        cross: bool,
        request: Request,
        count_only: bool = False,
    ) -> Response:
        table = self._table(conn, set_name)
        entity_type = self.entity_type(set_name)
        types = self.schema(set_name, table)
        select = self.parse_select(params.get("$select"), types, entity_type)
        top = self.parse_int(params, "$top")
        skip = self.parse_int(params, "$skip") or 0
        count_text = params.get("$count", "false").lower()
        if count_text not in ("true", "false"):
            raise ODataError(400, f"'{params['$count']}' is not a valid count option.")
        size, preferred = self.page_size(conn, request)
        signature = (
            conn.name,
            set_name,
            cross,
            params.get("$filter", ""),
            params.get("$orderby", ""),
        )
        token = params.get("$skiptoken")
        snapshot, offset = self._resume(token, signature)
        if snapshot is None:
            keys = self.matching_keys(conn, set_name, table, types, params, cross)
            snapshot = Snapshot(signature, keys, size)
            if not token:
                offset = skip
        if count_only:
            return Response(content=str(len(snapshot.keys)), media_type="text/plain")
        if preferred is None and token:
            size = snapshot.page_size  # client did not resend Prefer: keep the first page's size
        end = len(snapshot.keys) if top is None else min(len(snapshot.keys), skip + top)
        page_end = min(end, offset + size)
        with self.store.lock:
            rows = [(k, table.rows.get(k)) for k in snapshot.keys[offset:page_end]]
        value = [self.shape(set_name, k, r, select) for k, r in rows if r is not None]
        context = f"{base}/data/$metadata#{set_name}"
        if select is not None:
            context += "(" + ",".join(select) + ")"
        body: dict[str, Any] = {"@odata.context": context}
        if count_text == "true":
            body["@odata.count"] = len(snapshot.keys)  # ignores $top/$skip, per OData
        body["value"] = value
        if page_end < end:
            token = self._remember(snapshot, page_end)
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "$skiptoken"]
            kept.append(("$skiptoken", token))
            body["@odata.nextLink"] = f"{base}/data/{set_name}?" + urlencode(
                kept, quote_via=quote, safe="$'(),*:"
            )
        headers = {"OData-Version": "4.0"}
        if preferred is not None:
            headers["Preference-Applied"] = f"odata.maxpagesize={preferred}"
        return json_response(body, 200, headers)

    def _remember(self, snapshot: Snapshot, offset: int) -> str:
        with self._cache_lock:
            snap_id = next((i for i, s in self._snapshots.items() if s is snapshot), None)
            if snap_id is None:
                snap_id = secrets.token_hex(8)
                self._snapshots[snap_id] = snapshot
                while len(self._snapshots) > 8:  # each holds up to a table's keys
                    self._snapshots.popitem(last=False)
            else:
                self._snapshots.move_to_end(snap_id)
        return base64.urlsafe_b64encode(f"{snap_id}:{offset}".encode()).decode().rstrip("=")

    def _resume(self, token: str | None, signature: tuple) -> tuple[Snapshot | None, int]:
        if not token:
            return None, 0
        try:
            padded = token + "=" * (-len(token) % 4)
            snap_id, _, offset_text = base64.urlsafe_b64decode(padded).decode().partition(":")
            offset = int(offset_text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ODataError(400, f"The skip token value '{token}' is invalid.") from exc
        with self._cache_lock:
            snapshot = self._snapshots.get(snap_id)
        if snapshot is None or snapshot.signature != signature:
            # Evicted (or reused on another query): recompute by offset, as a stateless server.
            return None, offset
        return snapshot, offset

    def matching_keys(
        self,
        conn: Connection,
        set_name: str,
        table: Table,
        types: dict[str, str],
        params: dict[str, str],
        cross: bool,
    ) -> list[Key]:
        entity_type = self.entity_type(set_name)
        extra = DRIFT.get(set_name, {}) if self.faults.config.drift else {}
        predicate: Predicate | None = None
        if params.get("$filter", "").strip():
            tree = FilterParser(params["$filter"]).parse()
            predicate = FilterCompiler(entity_type, types, extra).compile(tree)
        company = None
        if "dataAreaId" in table.key and not cross:
            company = self.default_company(conn)
        order = self.parse_orderby(params.get("$orderby"), types, entity_type)
        with self.store.lock:
            rows = dict(table.rows)  # a consistent copy: cheap, allocates nothing per row
        # Keep only keys (existing objects): holding a million (key, row) tuples costs more
        # in allocation and GC than the filter itself.
        if company is None and predicate is None:
            keys = list(rows)
        else:
            keys = [
                k
                for k, r in rows.items()
                if (
                    company is None
                    or (v := r.get("dataAreaId")) == company
                    or (isinstance(v, str) and v.lower() == company)
                )
                and (predicate is None or predicate(r))
            ]
        # Default order is insertion order, standing in for F&O's RecId order. $orderby runs
        # stable sorts from the last key to the first; nulls sort first ascending (SQL Server).
        for name, desc in reversed(order):
            d = extra.get(name)
            nulls = [k for k in keys if rows[k].get(name, d) is None]
            present = [k for k in keys if rows[k].get(name, d) is not None] if nulls else keys
            try:
                present = sorted(
                    present, key=lambda k, n=name, d=d: _plain(rows[k].get(n, d)), reverse=desc
                )
            except TypeError:  # mixed types in one column
                present = sorted(
                    present, key=lambda k, n=name, d=d: _rank(rows[k].get(n, d)), reverse=desc
                )
            keys = present + nulls if desc else nulls + present
        return keys

    @staticmethod
    def parse_orderby(
        text: str | None, types: dict[str, str], entity_type: str
    ) -> list[tuple[str, bool]]:
        if not text or not text.strip():
            return []
        order = []
        for part in text.split(","):
            words = part.split()
            if (
                not words
                or len(words) > 2
                or (len(words) == 2 and words[1].lower() not in ("asc", "desc"))
            ):
                raise ODataError(400, f"Syntax error at position 0 in '{text}'.")
            if words[0] not in types:
                raise ODataError(
                    400,
                    f"Could not find a property named '{words[0]}' on type "
                    f"'{NAMESPACE}.{entity_type}'.",
                )
            order.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
        return order

    def parse_key(self, set_name: str, key_fields: tuple[str, ...], text: str) -> Key:
        parts: list[str] = []
        buf, in_str, i = "", False, 0
        while i < len(text):
            ch = text[i]
            if ch == "'":
                if in_str and i + 1 < len(text) and text[i + 1] == "'":
                    buf += "''"
                    i += 2
                    continue
                in_str = not in_str
            if ch == "," and not in_str:
                parts.append(buf)
                buf = ""
            else:
                buf += ch
            i += 1
        parts.append(buf)
        mismatch = ODataError(
            400,
            "The number of keys specified in the URI does not match number of key "
            f"properties for the resource '{NAMESPACE}.{self.entity_type(set_name)}'.",
        )
        values: dict[str, Any] = {}
        if len(parts) == 1 and "=" not in parts[0].split("'")[0] and len(key_fields) == 1:
            values[key_fields[0]] = self.key_literal(parts[0])
        else:
            for part in parts:
                name, eq, literal = part.partition("=")
                if not eq or name.strip() not in key_fields:
                    raise mismatch
                values[name.strip()] = self.key_literal(literal)
        if set(values) != set(key_fields):
            raise mismatch
        if "dataAreaId" in values and isinstance(values["dataAreaId"], str):
            values["dataAreaId"] = values["dataAreaId"].lower()
        return tuple(values[k] for k in key_fields)

    @staticmethod
    def key_literal(text: str) -> Any:
        text = text.strip()
        if len(text) >= 2 and text[0] == text[-1] == "'":
            return text[1:-1].replace("''", "'")
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        if re.fullmatch(r"-?\d+\.\d+", text):
            return float(text)
        value = parse_dt(text) if "T" in text else None
        if value is not None:
            return fmt_dt(value)
        raise ODataError(400, f"Bad Request - Error in query syntax: key literal '{text}'.")

    def key_predicate(self, key_fields: tuple[str, ...], key: Key) -> str:
        def lit(v: Any) -> str:
            if isinstance(v, str) and not _DT_RE.match(v):
                return "'" + v.replace("'", "''") + "'"
            return str(v)

        if len(key_fields) == 1:
            return f"({quote(lit(key[0]), safe=chr(39) + ':')})"
        return (
            "("
            + ",".join(
                f"{f}={quote(lit(v), safe=chr(39) + ':')}"
                for f, v in zip(key_fields, key, strict=True)
            )
            + ")"
        )

    def single(
        self,
        conn: Connection,
        base: str,
        set_name: str,
        key: Key,
        record: Record,
        params: dict[str, str],
    ) -> Response:
        table = self._table(conn, set_name)
        types = self.schema(set_name, table)
        select = self.parse_select(params.get("$select"), types, self.entity_type(set_name))
        context = f"{base}/data/$metadata#{set_name}"
        if select is not None:
            context += "(" + ",".join(select) + ")"
        entity = self.shape(set_name, key, record, select)
        return json_response(
            {"@odata.context": context + "/$entity", **entity},
            200,
            {"ETag": entity["@odata.etag"], "OData-Version": "4.0"},
        )

    # -- writes -----------------------------------------------------------------------------
    def _json_body(self, body: bytes) -> dict[str, Any]:
        try:
            data = json.loads(body or b"null")
        except ValueError as exc:
            raise ODataError(
                400,
                "The request body is not valid JSON.",
                f"Invalid JSON: {exc}",
                "Microsoft.OData.ODataException",
            ) from exc
        if not isinstance(data, dict):
            raise ODataError(400, "An entity was expected in the request body.")
        return {k: v for k, v in data.items() if not k.startswith("@odata.")}

    def _check_properties(self, set_name: str, types: dict[str, str], data: Record) -> None:
        for name in data:
            if name not in types:
                raise ODataError(
                    400,
                    f"The property '{name}' does not exist on type "
                    f"'{NAMESPACE}.{self.entity_type(set_name)}'. Make sure to only use "
                    "property names that are defined by the type or mark the type as open "
                    "type.",
                )

    def update(
        self,
        conn: Connection,
        base: str,
        set_name: str,
        table: Table,
        key: Key,
        record: Record,
        body: bytes,
        request: Request,
    ) -> Response:
        data = self._json_body(body)
        types = self.schema(set_name, table)
        self._check_properties(set_name, types, data)
        with self.store.lock:
            current = table.rows.get(key)
            if current is None:
                return odata_error(404, f"Resource not found for the segment '{set_name}'.")
            match = request.headers.get("if-match")
            if match and match.strip() != "*" and match.strip() != self.etag(current):
                return odata_error(
                    412,
                    "The etag value in the request header does not match with the current "
                    "etag value of the object.",
                    type_="Microsoft.Dynamics.Platform.Integration.Services.OData."
                    "AxODataConcurrencyException",
                )
            for k in table.key:
                if k in data and _rank(data[k]) != _rank(current.get(k)):
                    raise ODataError(
                        400,
                        "An error has occurred.",
                        f"Write failed for table row of type '{self.entity_type(set_name)}"
                        f"Entity'. Infolog: Error: The key field '{k}' cannot be changed.",
                        "Microsoft.Dynamics.Platform.Integration.Services.OData."
                        "AxODataWriteException",
                    )
            changes = {k: v for k, v in data.items() if k not in table.key}
            updated = {**current, **changes, "ModifiedDateTime": fmt_dt(self.store.now())}
            table.rows[key] = updated  # same dict slot: keeps the row's (RecId) position
            self._version += 1
            etag = self.etag(updated)
            if "return=representation" in request.headers.get("prefer", ""):
                entity = self.shape(set_name, key, updated, None)
                payload = {"@odata.context": f"{base}/data/$metadata#{set_name}/$entity", **entity}
                return json_response(payload, 200, {"ETag": etag, "OData-Version": "4.0"})
        return Response(status_code=204, headers={"ETag": etag, "OData-Version": "4.0"})

    def create(
        self, conn: Connection, base: str, set_name: str, body: bytes, request: Request
    ) -> Response:
        data = self._json_body(body)
        table = self._table(conn, set_name, create=True)
        if len(table):  # an empty set has no schema to check against yet
            self._check_properties(set_name, self.schema(set_name, table), data)
        if "dataAreaId" in table.key:
            data["dataAreaId"] = str(data.get("dataAreaId") or self.default_company(conn)).lower()
        missing = [k for k in table.key if data.get(k) in (None, "")]
        write_error = "Microsoft.Dynamics.Platform.Integration.Services.OData.AxODataWriteException"
        entity_table = f"{self.entity_type(set_name)}Entity"
        if missing:
            raise ODataError(
                400,
                "An error has occurred.",
                f"Write failed for table row of type '{entity_table}'. Infolog: "
                f"Error: Field '{missing[0]}' must be filled in.",
                write_error,
            )
        record = {**data, "ModifiedDateTime": fmt_dt(self.store.now())}
        key = table.key_of(record)
        with self.store.lock:
            if key in table.rows:
                raise ODataError(
                    400,
                    "An error has occurred.",
                    f"Write failed for table row of type '{entity_table}'. Infolog: Error: "
                    f"Cannot create a record in {self.entity_type(set_name)} "
                    f"({', '.join(str(v) for v in key)}). The record already exists.",
                    write_error,
                )
            table.upsert(record)
            self._version += 1
            entity = self.shape(set_name, key, record, None)
            payload = {"@odata.context": f"{base}/data/$metadata#{set_name}/$entity", **entity}
        location = f"{base}/data/{set_name}{self.key_predicate(table.key, key)}"
        return json_response(
            payload,
            201,
            {
                "Location": location,
                "OData-EntityId": location,
                "ETag": entity["@odata.etag"],
                "OData-Version": "4.0",
            },
        )

    def delete(
        self,
        conn: Connection,
        set_name: str,
        table: Table,
        key: Key,
        record: Record,
        request: Request,
    ) -> Response:
        with self.store.lock:
            match = request.headers.get("if-match")
            if match and match.strip() != "*" and match.strip() != self.etag(record):
                return odata_error(
                    412,
                    "The etag value in the request header does not match "
                    "with the current etag value of the object.",
                )
            table.delete(*key)
            self._version += 1
        return Response(status_code=204, headers={"OData-Version": "4.0"})


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


__all__ = ["ENTITY_SETS", "Emulator", "FilterParser", "fmt_dt"]
