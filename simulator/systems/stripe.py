"""Stripe API v1 emulator: lists, retrieve, search, form-encoded writes, idempotency, events.

Serves one Stripe account per ``stripe`` connection; the API key in the request picks the
connection. Records are stored exactly as Stripe returns them (unix seconds, integer minor
units, lower-case currency). Stripe objects carry no modification stamp: every write appends
an event (``customer.updated`` ...) whose ``created`` is the write time, which is how a
client reads changes incrementally (``GET /v1/events?created[gt]=...``).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import copy
import fnmatch
import heapq
import json
import re
import secrets
import string
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from simulator.emulator import EmulatorContext, SystemEmulator, json_response
from simulator.store import Connection, Record, Store, Table

DEFAULT_API_VERSION = "2024-06-20"
IDEMPOTENCY_TTL = 24 * 3600  # seconds of simulated time a saved idempotent response is kept
MAX_IDEMPOTENCY_KEY = 255
SUPPORT = "If you have any questions, we can help at https://support.stripe.com/."
_ALNUM = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """``cus_`` + 14 base-62 characters, the shape of Stripe's ids."""
    return f"{prefix}_" + "".join(secrets.choice(_ALNUM) for _ in range(14))


class StripeError(Exception):
    """An error answered in Stripe's ``{"error": {...}}`` shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        if request_id and self.status < 500:
            err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}"
        err["type"] = self.type
        return {"error": err}


def unknown_param(name: str) -> StripeError:
    return StripeError(400, f"Received unknown parameter: {name}", param=name)


def no_such(label: str, ident: str, param: str = "id", status: int = 404) -> StripeError:
    return StripeError(status, f"No such {label}: '{ident}'", code="resource_missing", param=param)


# -- form encoding --------------------------------------------------------------------------

_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Rails-style nested form keys: ``metadata[k]=v`` -> dict, ``types[]=a`` / ``types[0]=a``
    -> list (the SDK sends indexed arrays). A key that doesn't parse stays literal, so it is
    reported as an unknown parameter."""
    out: dict[str, Any] = {}
    for raw, value in pairs:
        head, _, rest = raw.partition("[")
        parts = [head]
        if rest:
            rest = "[" + rest
            found = _KEY_PART.findall(rest)
            if "".join(f"[{p}]" for p in found) == rest and head:
                parts += found
            else:
                parts = [raw]
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if last:
                    node.append(value)
                    break
                node.append({})
                node = node[-1]
                continue
            if last:
                node[part] = value
            else:
                nxt = parts[i + 1]
                want_list = nxt == ""
                existing = node.get(part)
                if want_list and not isinstance(existing, list):
                    node[part] = []
                elif not want_list and not isinstance(existing, dict):
                    node[part] = {}
                node = node[part]
    return out


def as_list(value: Any) -> list[Any]:
    """An array parameter sent as ``x[]=``, ``x[0]=`` or a single ``x=``."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        if not all(k.isdigit() for k in value):
            raise StripeError(400, "Invalid array")
        return [value[k] for k in sorted(value, key=int)]
    return [value]


def parse_int(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise StripeError(
        400, f"Invalid integer: {value if isinstance(value, str) else ''}", param=param
    )


# -- resources ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resource:
    path: str  # URL segment and table name
    object: str  # "object" value of a record
    label: str  # as in "No such <label>: 'id'"
    eq_filters: dict[str, str] = field(default_factory=dict)  # list param -> record field
    indexed: frozenset[str] = frozenset()  # immutable fields worth an index
    search_fields: dict[str, str] = field(default_factory=dict)  # field -> "str" | "num"


RESOURCES: dict[str, Resource] = {
    r.path: r
    for r in (
        Resource(
            "customers",
            "customer",
            "customer",
            {"email": "email"},
            search_fields={"created": "num", "email": "str", "name": "str", "phone": "str"},
        ),
        Resource(
            "invoices",
            "invoice",
            "invoice",
            {
                "customer": "customer",
                "status": "status",
                "collection_method": "collection_method",
                "subscription": "subscription",
            },
            frozenset({"customer"}),
            {
                "created": "num",
                "currency": "str",
                "customer": "str",
                "number": "str",
                "receipt_number": "str",
                "status": "str",
                "subscription": "str",
                "total": "num",
            },
        ),
        Resource(
            "payment_intents",
            "payment_intent",
            "payment_intent",
            {"customer": "customer"},
            frozenset({"customer"}),
            {
                "amount": "num",
                "created": "num",
                "currency": "str",
                "customer": "str",
                "status": "str",
            },
        ),
        Resource(
            "charges",
            "charge",
            "charge",
            {"customer": "customer", "payment_intent": "payment_intent"},
            frozenset({"customer", "payment_intent"}),
            {
                "amount": "num",
                "created": "num",
                "currency": "str",
                "customer": "str",
                "refunded": "bool",
                "status": "str",
            },
        ),
        Resource("events", "event", "event", {}, frozenset({"type"})),
    )
}
LIST_PARAMS = {"limit", "starting_after", "ending_before", "created", "expand"}
CUSTOMER_FIELDS = {
    "address",
    "balance",
    "description",
    "email",
    "metadata",
    "name",
    "phone",
    "tax_exempt",
    "expand",
}
ADDRESS_FIELDS = ("city", "country", "line1", "line2", "postal_code", "state")
INVOICE_ANY_STATUS = {"metadata", "description", "footer", "expand"}
INVOICE_DRAFT_ONLY = {"due_date", "collection_method", "days_until_due", "auto_advance"}
PI_OPEN_STATUSES = ("requires_payment_method", "requires_confirmation", "requires_action")


def _created(record: Record) -> int:
    value = record.get("created")
    return value if isinstance(value, int) else 0


def _signature(store: Store, table: Table) -> tuple[int, int, Any]:
    """Cheap change detector: a bulk change bumps ``store.generation``; records added by
    anyone else change the count or the last inserted key."""
    rows = table.rows
    return getattr(store, "generation", 0), len(rows), (next(reversed(rows)) if rows else None)


class _Order:
    """A table's records in ascending (created, id) order, the reverse of Stripe's list order,
    so that new records usually append. Built once per table change, not per request."""

    def __init__(self, store: Store, table: Table):
        pairs = sorted((_created(r), k[0]) for k, r in table.rows.items())
        self.created = [c for c, _ in pairs]
        self.ids = [i for _, i in pairs]
        self.pos = {ident: n for n, ident in enumerate(self.ids)}
        self.indexes: dict[str, dict[Any, list[str]]] = {}
        self.signature = _signature(store, table)

    def index(self, table: Table, fld: str) -> dict[Any, list[str]]:
        """Ids per value of an immutable field, each list in ascending position order."""
        if fld not in self.indexes:
            idx: dict[Any, list[str]] = {}
            rows = table.rows
            for ident in self.ids:
                value = rows[(ident,)].get(fld)
                if isinstance(value, str):
                    idx.setdefault(value, []).append(ident)
            self.indexes[fld] = idx
        return self.indexes[fld]

    def insert(self, store: Store, table: Table, record: Record) -> None:
        """Add a record just upserted into ``table`` without rebuilding (writes at 1M rows)."""
        created, ident = _created(record), record["id"]
        n = len(self.ids)
        i = bisect.bisect_right(
            range(n), (created, ident), key=lambda j: (self.created[j], self.ids[j])
        )
        self.created.insert(i, created)
        self.ids.insert(i, ident)
        for j in range(i, n + 1):
            self.pos[self.ids[j]] = j
        for fld, idx in self.indexes.items():
            value = record.get(fld)
            if isinstance(value, str):
                bisect.insort(idx.setdefault(value, []), ident, key=self.pos.__getitem__)
        self.signature = _signature(store, table)


# -- search query language -------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<and>AND\b) | (?P<or>OR\b)
    | (?P<clause>(?P<neg>-)?
        (?P<field>metadata\[(?P<mq>['"])(?P<mkey>[^'"]+)(?P=mq)\]|[a-z_][a-z0-9_.]*)
        (?P<op>:|~|>=|<=|>|<)
        (?:(?P<q>['"])(?P<sval>(?:\\.|(?!(?P=q)).)*)(?P=q)|(?P<nval>-?\d+(?:\.\d+)?|null)))
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    negate: bool
    field: str
    meta_key: str | None
    op: str
    value: Any


def parse_search(query: str, res: Resource) -> tuple[str, list[Clause]]:
    """Stripe's search query language (subset): clauses joined by AND or OR (not mixed),
    ``field:'v'`` exact (case-insensitive), ``~`` substring, ``> < >= <=`` on numbers,
    ``metadata['k']:'v'``, ``-`` negation, ``null`` for a missing value."""

    def invalid(detail: str) -> StripeError:
        return StripeError(
            400,
            f"Invalid query: {detail}. See https://stripe.com/docs/search"
            "#search-query-language for the query syntax.",
            param="query",
        )

    pos, clauses, joins = 0, [], set()
    expect_clause = True
    text = query.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise invalid(f"unexpected input at position {pos}: {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group("clause"):
            if not expect_clause:
                raise invalid("clauses must be joined with AND or OR")
            fld = m.group("field")
            meta = m.group("mkey")
            name = "metadata" if meta is not None else fld
            if meta is None and name not in res.search_fields:
                raise StripeError(
                    400,
                    f"Field `{name}` is an unsupported search field for resource "
                    f"`{res.path}`. See https://stripe.com/docs/search#query-fields-for-"
                    f"{res.path.replace('_', '-')} for a list of supported fields.",
                    param="query",
                )
            op = m.group("op")
            if m.group("q"):
                value: Any = re.sub(r"\\(.)", r"\1", m.group("sval"))
            elif m.group("nval") == "null":
                value = None
            else:
                value = float(m.group("nval"))
            kind = "str" if meta is not None else res.search_fields[name]
            if op in (">", "<", ">=", "<=") and (kind != "num" or not isinstance(value, float)):
                raise invalid(f"`{op}` needs a numeric field and value")
            if op == "~" and (not isinstance(value, str) or len(value) < 3):
                raise invalid("substring match `~` needs at least 3 characters")
            clauses.append(Clause(bool(m.group("neg")), name, meta, op, value))
            expect_clause = False
        else:
            if expect_clause:
                raise invalid("expected a clause")
            joins.add("AND" if m.group("and") else "OR")
            expect_clause = True
    if expect_clause:
        raise invalid("the query is empty or ends with AND/OR")
    if len(joins) > 1:
        raise invalid("AND and OR can't be combined in one query")
    return (joins.pop() if joins else "AND"), clauses


def _clause_matches(clause: Clause, record: Record) -> bool:
    if clause.meta_key is not None:
        actual = (record.get("metadata") or {}).get(clause.meta_key)
    else:
        actual = record
        for part in clause.field.split("."):
            actual = actual.get(part) if isinstance(actual, dict) else None
    want = clause.value
    if want is None:
        hit = actual is None
    elif clause.op == ":":
        if isinstance(actual, bool):
            hit = str(actual).lower() == str(want).lower()
        elif isinstance(actual, int | float) and isinstance(want, float):
            hit = actual == want
        else:
            hit = actual is not None and str(actual).lower() == str(want).lower()
    elif clause.op == "~":
        hit = actual is not None and str(want).lower() in str(actual).lower()
    else:
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return False
        hit = {">": actual > want, "<": actual < want, ">=": actual >= want, "<=": actual <= want}[
            clause.op
        ]
    return hit != clause.negate


# -- idempotency ----------------------------------------------------------------------------


@dataclass
class _Saved:
    method: str
    path: str
    params: tuple[tuple[str, str], ...]
    at: float  # simulated unix time of the first request
    request_id: str
    status: int | None = None  # None while the first request is executing
    body: Any = None


_Outcome = tuple[int, Any, dict[str, str], dict[str, Any]]  # status, body, headers, log extras


class Emulator(SystemEmulator):
    system = "stripe"

    def __init__(self, ctx: EmulatorContext):
        self._orders: dict[int, _Order] = {}
        self._idem: OrderedDict[tuple[str, str], _Saved] = OrderedDict()
        self._idem_lock = threading.Lock()
        super().__init__(ctx)

    # -- hooks ----------------------------------------------------------------------------
    def rate_limited(self) -> Response:
        err = StripeError(
            429,
            "Request rate limit exceeded. You can learn more about rate "
            "limits here https://stripe.com/docs/rate-limits.",
            code="rate_limit",
        )
        return json_response(err.body(), 429)

    def server_error(self) -> Response:
        err = StripeError(
            500,
            "Sorry, something went wrong. We've already been notified of "
            "the problem, but if you need any help, you can reach us at "
            "support.stripe.com/contact.",
            type="api_error",
        )
        return json_response(err.body(), 500)

    def unauthorized(self, key: str | None = None) -> Response:
        if key:
            message = f"Invalid API Key provided: {mask_key(key)}"
        else:
            message = (
                "You did not provide an API key. You need to provide your API key in "
                "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                "Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#"
                "authentication for details, or we can help at "
                "https://support.stripe.com/."
            )
        return json_response(
            StripeError(401, message).body(), 401, {"WWW-Authenticate": 'Basic realm="Stripe"'}
        )

    def malform(self, obj: str, record: Record) -> Record:
        if obj == "charges":
            record["currency"] = (
                "US$"
                if record.get("currency") == "usd"
                else str(record.get("currency", "")).upper() + "$"
            )
        elif obj == "invoices":
            due = record.get("amount_due")
            record["amount_due"] = f"{due / 100:.2f}" if isinstance(due, int) else "0.00"
        elif obj == "payment_intents":
            amount = record.get("amount")
            record["amount"] = f"{amount / 100:.2f}" if isinstance(amount, int) else "0.00"
        elif obj == "customers" and isinstance(record.get("address"), dict):
            record["address"] = {
                **record["address"],
                "country": "Singapore" if record["address"].get("country") == "SG" else "Unknown",
            }
        else:
            record["created"] = None
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        return {
            "customers": {"invoice_credit_balance": {}},
            "invoices": {"customer_tax_ids": []},
        }.get(obj, {})

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        return {
            "base_url": self.ctx.base_url,
            "api_key": conn.settings.get("api_key"),
            "account_id": conn.settings.get("account_id"),
        }

    # -- plumbing -------------------------------------------------------------------------
    def _conn_for_key(self, key: str) -> Connection | None:
        for conn in self.store.connections_of(self.system):
            expected = conn.settings.get("api_key")
            if expected and secrets.compare_digest(str(expected).encode(), key.encode()):
                return conn
        return None

    def _order(self, table: Table) -> _Order:
        order = self._orders.get(id(table))
        if order is None or order.signature != _signature(self.store, table):
            order = _Order(self.store, table)
            self._orders[id(table)] = order
        return order

    def _now(self) -> int:
        return int(self.store.now().timestamp())

    def _error(self, request: Request, err: StripeError) -> Response:
        return json_response(
            err.body(request.scope.get("stripe.request_id")), err.status, err.headers or None
        )

    def routes(self, app: FastAPI) -> None:
        @app.middleware("http")
        async def envelope(request: Request, call_next: Callable[..., Any]) -> Response:
            # Outermost (added after the fault middleware): every answer, faults included,
            # gets a Request-Id and the Stripe-Version in force.
            request_id = new_id("req")
            request.scope["stripe.request_id"] = request_id
            response = self._authenticate(request)
            if response is None:
                response = await call_next(request)
            response.headers["Request-Id"] = request_id
            response.headers["Stripe-Version"] = (
                request.headers.get("stripe-version") or DEFAULT_API_VERSION
            )
            return response

        for res in RESOURCES.values():
            self._add_resource_routes(app, res)

        @app.post("/v1/customers")
        async def create_customer(request: Request) -> Response:
            return await self._write(request, lambda p: self._create_customer(request, p))

        @app.post("/v1/customers/{ident}")
        async def update_customer(request: Request, ident: str) -> Response:
            return await self._write(request, lambda p: self._update_customer(request, ident, p))

        @app.delete("/v1/customers/{ident}")
        async def delete_customer(request: Request, ident: str) -> Response:
            return await self._write(
                request, lambda p: self._delete_customer(request, ident, p), idempotent=False
            )

        @app.post("/v1/invoices/{ident}")
        async def update_invoice(request: Request, ident: str) -> Response:
            return await self._write(request, lambda p: self._update_invoice(request, ident, p))

        @app.post("/v1/payment_intents/{ident}")
        async def update_payment_intent(request: Request, ident: str) -> Response:
            return await self._write(request, lambda p: self._update_pi(request, ident, p))

        @app.api_route("/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
        async def unrecognized(request: Request, rest: str) -> Response:
            return self._error(
                request,
                StripeError(
                    404,
                    f"Unrecognized request URL ({request.method}: {request.url.path}). "
                    "Please see https://stripe.com/docs or we can help at "
                    "https://support.stripe.com/.",
                ),
            )

    def _authenticate(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        scheme, _, cred = header.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = cred.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(cred.strip()).decode().partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                key = cred.strip() or "invalid"
        if not key:
            return self.unauthorized()
        conn = self._conn_for_key(key)
        if conn is None:
            return self.unauthorized(key)
        account = request.headers.get("stripe-account")
        if account and account != conn.settings.get("account_id"):
            return json_response(
                StripeError(
                    403,
                    f"The provided key '{mask_key(key)}' does not have access to account "
                    f"'{account}' (or that account does not exist). Application access may have "
                    "been revoked.",
                    code="account_invalid",
                ).body(),
                403,
            )
        request.scope["stripe.connection"] = conn
        return None

    # -- reads ----------------------------------------------------------------------------
    def _add_resource_routes(self, app: FastAPI, res: Resource) -> None:
        def list_route(request: Request) -> Response:
            return self._guard(request, lambda conn: self._list(request, conn, res))

        def search_route(request: Request) -> Response:
            return self._guard(request, lambda conn: self._search(request, conn, res))

        def retrieve_route(request: Request, ident: str) -> Response:
            return self._guard(request, lambda conn: self._retrieve(request, conn, res, ident))

        app.add_api_route(f"/v1/{res.path}", list_route, methods=["GET"])
        if res.search_fields:
            app.add_api_route(f"/v1/{res.path}/search", search_route, methods=["GET"])
        app.add_api_route(f"/v1/{res.path}/{{ident}}", retrieve_route, methods=["GET"])

    def _guard(self, request: Request, read: Callable[[Connection], Response]) -> Response:
        try:
            return read(request.scope["stripe.connection"])
        except StripeError as err:
            return self._error(request, err)

    def _query(self, request: Request) -> dict[str, Any]:
        return parse_form(parse_qsl(request.url.query, keep_blank_values=True))

    def _table(self, conn: Connection, res: Resource) -> Table:
        return conn.table(res.path)

    def _serve(self, res: Resource, record: Record) -> Record:
        if res.path == "customers" and record.get("deleted"):
            return {"id": record["id"], "object": "customer", "deleted": True}
        return self.render(res.path, record, record["id"])

    def _retrieve(self, request: Request, conn: Connection, res: Resource, ident: str) -> Response:
        for name in self._query(request):
            if name != "expand":
                raise unknown_param(name)
        with self.store.lock:
            record = self._table(conn, res).get(ident)
            if record is None:
                raise no_such(res.label, ident)
            return json_response(self._serve(res, record))

    def _list(self, request: Request, conn: Connection, res: Resource) -> Response:
        params = self._query(request)
        allowed = LIST_PARAMS | set(res.eq_filters)
        if res.path == "invoices":
            allowed |= {"due_date"}
        if res.path == "events":
            allowed |= {"type", "types", "delivery_success"}
        for name in params:
            if name not in allowed:
                raise unknown_param(name)
        limit = _limit(params)
        gte, lte = _range(params.get("created"), "created")
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise StripeError(
                400,
                "You may only specify one of these parameters: ending_before, starting_after.",
                param="ending_before",
            )
        checks: list[Callable[[Record], bool]] = []
        indexed: tuple[str, list[str]] | None = None
        for name, fld in res.eq_filters.items():
            if name in params:
                value = params[name]
                if not isinstance(value, str):
                    raise StripeError(400, f"Invalid string: {value}", param=name)
                if fld in res.indexed and indexed is None:
                    indexed = (fld, [value])
                else:
                    checks.append(lambda r, f=fld, v=value: r.get(f) == v)
        if res.path == "invoices" and "due_date" in params:
            dlo, dhi = _range(params["due_date"], "due_date")
            checks.append(
                lambda r: isinstance(r.get("due_date"), int) and dlo <= r["due_date"] <= dhi
            )
        if res.path == "events":
            if "type" in params and "types" in params:
                raise StripeError(400, "You cannot specify both type and types.", param="types")
            types = (
                as_list(params["types"])
                if "types" in params
                else ([params["type"]] if "type" in params else [])
            )
            if any("*" in t for t in types):
                checks.append(
                    lambda r: any(fnmatch.fnmatchcase(str(r.get("type")), t) for t in types)
                )
            elif types:
                indexed = ("type", types)
        if res.path == "customers":
            checks.append(lambda r: not r.get("deleted"))
        with self.store.lock:
            table = self._table(conn, res)
            order = self._order(table)
            lo = bisect.bisect_left(order.created, gte)
            hi = bisect.bisect_right(order.created, lte)
            cursor = after or before
            if cursor:
                if not isinstance(cursor, str) or cursor not in order.pos:
                    raise no_such(
                        res.label, str(cursor), "starting_after" if after else "ending_before", 400
                    )
                p = order.pos[cursor]
                lo, hi = (lo, min(hi, p)) if after else (max(lo, p + 1), hi)
            ids = self._candidates(table, order, lo, hi, indexed, descending=not before)
            rows = table.rows
            found: list[Record] = []
            for ident in ids:
                record = rows.get((ident,))
                if record is not None and all(check(record) for check in checks):
                    found.append(record)
                    if len(found) > limit:
                        break
            has_more = len(found) > limit
            found = found[:limit]
            if before:
                found.reverse()
            data = [self._serve(res, r) for r in found]
        return json_response(
            {"object": "list", "data": data, "has_more": has_more, "url": f"/v1/{res.path}"}
        )

    def _candidates(
        self,
        table: Table,
        order: _Order,
        lo: int,
        hi: int,
        indexed: tuple[str, list[str]] | None,
        descending: bool,
    ) -> Iterator[str]:
        """Ids at positions [lo, hi) in list order (descending) or its reverse; through the
        field index when an immutable field is filtered on."""
        if hi <= lo:
            return iter(())
        if indexed is None:
            span = range(hi - 1, lo - 1, -1) if descending else range(lo, hi)
            return (order.ids[i] for i in span)
        fld, values = indexed
        idx = order.index(table, fld)
        where = order.pos.__getitem__
        runs = []
        for value in dict.fromkeys(values):
            ids = idx.get(value, [])
            a = bisect.bisect_left(ids, lo, key=where)
            b = bisect.bisect_left(ids, hi, key=where)
            runs.append(reversed(ids[a:b]) if descending else iter(ids[a:b]))
        if len(runs) == 1:
            return runs[0]
        return heapq.merge(*runs, key=where, reverse=descending)

    def _search(self, request: Request, conn: Connection, res: Resource) -> Response:
        params = self._query(request)
        for name in params:
            if name not in ("query", "limit", "page", "expand"):
                raise unknown_param(name)
        query = params.get("query")
        if not isinstance(query, str) or not query.strip():
            raise StripeError(400, "Missing required param: query.", param="query")
        limit = _limit(params)
        join, clauses = parse_search(query, res)
        combine = all if join == "AND" else any
        start: str | None = None
        if params.get("page"):
            try:
                start = json.loads(base64.urlsafe_b64decode(params["page"]))["after"]
            except (ValueError, KeyError, TypeError, binascii.Error):
                raise StripeError(400, "Invalid page token.", param="page") from None
        with self.store.lock:
            table = self._table(conn, res)
            order = self._order(table)
            hi = order.pos.get(start, 0) if start else len(order.ids)
            found: list[Record] = []
            for ident in self._candidates(table, order, 0, hi, None, descending=True):
                record = table.rows.get((ident,))
                if record is None or (res.path == "customers" and record.get("deleted")):
                    continue
                if combine(_clause_matches(c, record) for c in clauses):
                    found.append(record)
                    if len(found) > limit:
                        break
            has_more = len(found) > limit
            found = found[:limit]
            data = [self._serve(res, r) for r in found]
        next_page = None
        if has_more:
            next_page = base64.urlsafe_b64encode(
                json.dumps({"after": found[-1]["id"]}).encode()
            ).decode()
        return json_response(
            {
                "object": "search_result",
                "data": data,
                "has_more": has_more,
                "next_page": next_page,
                "url": f"/v1/{res.path}/search",
            }
        )

    # -- writes ---------------------------------------------------------------------------
    async def _write(
        self,
        request: Request,
        run: Callable[[dict[str, Any]], Callable[[], tuple[int, Any]]],
        idempotent: bool = True,
    ) -> Response:
        """Validate, then execute under Stripe's idempotency rules. ``run`` validates (raising
        a 400 StripeError, never saved) and returns the step that executes the write. Every
        write request received is logged, failed and replayed ones included."""
        conn: Connection = request.scope["stripe.connection"]
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        pairs = parse_qsl(request.url.query, keep_blank_values=True)
        key = request.headers.get("idempotency-key") if idempotent else None
        outcome: _Outcome
        if raw.strip() and "json" in ctype.lower():
            # Stripe v1 only reads form encoding; a JSON body is rejected, not guessed at.
            params: dict[str, Any] = {"_raw": raw.decode("utf-8", "replace")}
            outcome = self._failed(
                request,
                StripeError(
                    400,
                    "Invalid request (check that your POST content type is "
                    "application/x-www-form-urlencoded). " + SUPPORT,
                ),
            )
        else:
            if raw:
                pairs += parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)
            params = parse_form(pairs)
            # in a worker thread, so that a concurrent retry can see the key in flight
            outcome = await run_in_threadpool(
                self._idempotent, request, conn, key, pairs, lambda: run(params)
            )
        status, body, headers, extra = outcome
        self.log_write(
            request,
            conn.name,
            status,
            params,
            body,
            request_id=request.scope["stripe.request_id"],
            idempotency_key=key,
            **extra,
        )
        if key:
            headers = {**headers, "Idempotency-Key": key}
        return json_response(body, status, headers or None)

    def _failed(self, request: Request, err: StripeError) -> _Outcome:
        return err.status, err.body(request.scope["stripe.request_id"]), err.headers, {}

    def _idempotent(
        self,
        request: Request,
        conn: Connection,
        key: str | None,
        pairs: list[tuple[str, str]],
        validate: Callable[[], Callable[[], tuple[int, Any]]],
    ) -> _Outcome:
        slot: tuple[str, str] | None = None
        if key:
            if len(key) > MAX_IDEMPOTENCY_KEY:
                return self._failed(
                    request,
                    StripeError(
                        400,
                        f"Invalid Idempotency-Key: must be at most {MAX_IDEMPOTENCY_KEY} "
                        "characters long.",
                        type="idempotency_error",
                    ),
                )
            slot = (conn.name, key)
            answered = self._claim(slot, request, tuple(sorted(pairs)))
            if answered is not None:
                return answered
        try:
            try:
                execute = validate()
            except StripeError as err:
                if err.status == 400:
                    self._release(slot)  # failed validation: nothing saved, key reusable
                    return self._failed(request, err)
                raise
            status, body = execute()
        except StripeError as err:
            status, body = err.status, err.body(request.scope["stripe.request_id"])
        except Exception:  # a bug mid-write still answers (and saves) a Stripe 500
            status = 500
            body = StripeError(500, "An unknown error occurred", type="api_error").body()
        if slot is not None:
            with self._idem_lock:
                saved = self._idem.get(slot)
                if saved is not None:
                    saved.status, saved.body = status, body
        return status, body, {}, {}

    def _claim(
        self, slot: tuple[str, str], request: Request, fingerprint: tuple[tuple[str, str], ...]
    ) -> _Outcome | None:
        """Reserve the key for this request (None), or answer from / about its first use."""
        now = self._now()
        with self._idem_lock:
            while self._idem:
                oldest = next(iter(self._idem.values()))
                if now - oldest.at < IDEMPOTENCY_TTL or oldest.status is None:
                    break
                self._idem.popitem(last=False)
            saved = self._idem.get(slot)
            if saved is None:
                self._idem[slot] = _Saved(
                    request.method,
                    request.url.path,
                    fingerprint,
                    now,
                    request.scope["stripe.request_id"],
                )
                return None
        key = slot[1]
        if saved.status is None:
            return self._failed(
                request,
                StripeError(
                    409,
                    "There is currently another in-progress request using this idempotent "
                    f"key (that probably means you submitted twice, and the other request is "
                    f"still going through): {key}. Please try again later.",
                    type="idempotency_error",
                    code="idempotency_key_in_use",
                ),
            )
        if (saved.method, saved.path) != (request.method, request.url.path):
            return self._failed(
                request,
                StripeError(
                    400,
                    "Keys for idempotent requests can only be used for the same endpoint "
                    f"they were first used for ('{saved.path}' vs '{request.url.path}'). Try "
                    f"using a key other than '{key}' if you meant to execute a different request.",
                    type="idempotency_error",
                ),
            )
        if saved.params != fingerprint:
            return self._failed(
                request,
                StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters "
                    f"they were first used with. Try using a key other than '{key}' if you meant "
                    "to execute a different request.",
                    type="idempotency_error",
                ),
            )
        return (
            saved.status,
            saved.body,
            {"Idempotent-Replayed": "true", "Original-Request": saved.request_id},
            {"replayed": True},
        )

    def _release(self, slot: tuple[str, str] | None) -> None:
        if slot is not None:
            with self._idem_lock:
                self._idem.pop(slot, None)

    def _event(
        self,
        request: Request,
        conn: Connection,
        type_: str,
        snapshot: Record,
        previous: dict[str, Any] | None = None,
    ) -> None:
        events = conn.table("events")
        ident = new_id("evt")
        while events.get(ident) is not None:
            ident = new_id("evt")
        data: dict[str, Any] = {"object": copy.deepcopy(snapshot)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": ident,
            "object": "event",
            "api_version": request.headers.get("stripe-version") or DEFAULT_API_VERSION,
            "created": self._now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": {
                "id": request.scope["stripe.request_id"],
                "idempotency_key": request.headers.get("idempotency-key"),
            },
            "type": type_,
        }
        self._insert(events, event)

    def _insert(self, table: Table, record: Record) -> None:
        order = self._orders.get(id(table))
        in_sync = order is not None and order.signature == _signature(self.store, table)
        table.upsert(record)
        if in_sync and order is not None:
            order.insert(self.store, table, record)

    def _create_customer(
        self, request: Request, params: dict[str, Any]
    ) -> Callable[[], tuple[int, Any]]:
        conn: Connection = request.scope["stripe.connection"]
        changes = _customer_changes(params, {})

        def execute() -> tuple[int, Any]:
            with self.store.lock:
                table = conn.table("customers")
                ident = new_id("cus")
                while table.get(ident) is not None:
                    ident = new_id("cus")
                record: Record = {
                    "id": ident,
                    "object": "customer",
                    "address": None,
                    "balance": 0,
                    "created": self._now(),
                    "currency": None,
                    "description": None,
                    "email": None,
                    "metadata": {},
                    "name": None,
                    "tax_exempt": "none",
                    "livemode": False,
                }
                record.update(changes)
                self._insert(table, record)
                self._event(request, conn, "customer.created", record)
                body = self.render("customers", record, ident)
            return 200, body

        return execute

    def _update_customer(
        self, request: Request, ident: str, params: dict[str, Any]
    ) -> Callable[[], tuple[int, Any]]:
        conn: Connection = request.scope["stripe.connection"]
        with self.store.lock:
            current = conn.table("customers").get(ident)
            if current is None or current.get("deleted"):
                raise no_such("customer", ident)
            changes = _customer_changes(params, current)
        return self._updater(request, conn, "customers", ident, changes, "customer.updated")

    def _delete_customer(
        self, request: Request, ident: str, params: dict[str, Any]
    ) -> Callable[[], tuple[int, Any]]:
        conn: Connection = request.scope["stripe.connection"]
        for name in params:
            raise unknown_param(name)

        def execute() -> tuple[int, Any]:
            with self.store.lock:
                table = conn.table("customers")
                record = table.get(ident)
                if record is None or record.get("deleted"):
                    raise no_such("customer", ident)
                snapshot = copy.deepcopy(record)
                record["deleted"] = True
                self._event(request, conn, "customer.deleted", snapshot)
                body = {"id": ident, "object": "customer", "deleted": True}
            return 200, body

        return execute

    def _update_invoice(
        self, request: Request, ident: str, params: dict[str, Any]
    ) -> Callable[[], tuple[int, Any]]:
        conn: Connection = request.scope["stripe.connection"]
        with self.store.lock:
            current = conn.table("invoices").get(ident)
            if current is None:
                raise no_such("invoice", ident)
            status = current.get("status")
        changes: dict[str, Any] = {}
        for name, value in params.items():
            if name in INVOICE_DRAFT_ONLY and status != "draft":
                raise StripeError(
                    400,
                    f"You can only update `{name}` on an invoice in `draft` status; "
                    f"this invoice is `{status}`.",
                    param=name,
                )
            if name == "metadata":
                changes["metadata"] = _metadata(value, current.get("metadata") or {})
            elif name in ("description", "footer", "collection_method"):
                changes[name] = _string(value, name) or None
                if name == "collection_method" and value not in (
                    "charge_automatically",
                    "send_invoice",
                ):
                    raise StripeError(
                        400,
                        "Invalid collection_method: must be one of "
                        "charge_automatically or send_invoice",
                        param=name,
                    )
            elif name in ("due_date", "days_until_due"):
                changes[name] = parse_int(value, name) if value != "" else None
            elif name == "auto_advance":
                if value not in ("true", "false"):
                    raise StripeError(400, f"Invalid boolean: {value}", param=name)
                changes[name] = value == "true"
            elif name != "expand":
                raise unknown_param(name)
        return self._updater(request, conn, "invoices", ident, changes, "invoice.updated")

    def _update_pi(
        self, request: Request, ident: str, params: dict[str, Any]
    ) -> Callable[[], tuple[int, Any]]:
        conn: Connection = request.scope["stripe.connection"]
        with self.store.lock:
            current = conn.table("payment_intents").get(ident)
            if current is None:
                raise no_such("payment_intent", ident)
            status = current.get("status")
        changes: dict[str, Any] = {}
        for name, value in params.items():
            if name == "metadata":
                changes["metadata"] = _metadata(value, current.get("metadata") or {})
            elif name == "description":
                changes[name] = _string(value, name) or None
            elif name in ("amount", "currency", "customer"):
                if status not in PI_OPEN_STATUSES:
                    raise StripeError(
                        400,
                        f"This PaymentIntent's {name} could not be updated because it "
                        f"has a status of {status}. You may only update the {name} of a "
                        "PaymentIntent with one of the following statuses: "
                        f"{', '.join(PI_OPEN_STATUSES)}.",
                        code="payment_intent_unexpected_state",
                        param=name,
                    )
                if name == "amount":
                    changes[name] = parse_int(value, name)
                elif name == "currency":
                    changes[name] = _string(value, name).lower()
                else:
                    changes[name] = _string(value, name) or None
            elif name != "expand":
                raise unknown_param(name)
        return self._updater(
            request, conn, "payment_intents", ident, changes, "payment_intent.updated"
        )

    def _updater(
        self,
        request: Request,
        conn: Connection,
        obj: str,
        ident: str,
        changes: dict[str, Any],
        event_type: str,
    ) -> Callable[[], tuple[int, Any]]:
        def execute() -> tuple[int, Any]:
            with self.store.lock:
                record = conn.table(obj).get(ident)
                if record is None or record.get("deleted"):
                    raise no_such(RESOURCES[obj].label, ident)
                previous = _previous(record, changes)
                record.update(copy.deepcopy(changes))
                if previous:  # Stripe emits an event only when something changed
                    self._event(request, conn, event_type, record, previous)
                body = self.render(obj, record, ident)
            return 200, body

        return execute


# -- parameter helpers ----------------------------------------------------------------------


def mask_key(key: str) -> str:
    """``sk_test_abcdef1234`` -> ``sk_test_******1234`` as Stripe shows a rejected key."""
    m = re.match(r"^((?:sk|rk|pk)_(?:test|live)_)?(.*)$", key)
    prefix, rest = (m.group(1) or "", m.group(2)) if m else ("", key)
    if len(rest) <= 4:
        return prefix + rest
    return prefix + "*" * (len(rest) - 4) + rest[-4:]


def _limit(params: dict[str, Any]) -> int:
    if "limit" not in params:
        return 10
    limit = parse_int(params["limit"], "limit")
    if limit < 1:
        raise StripeError(400, "This value must be greater than or equal to 1.", param="limit")
    if limit > 100:
        raise StripeError(
            400,
            f"This value must be less than or equal to 100 (it currently is '{limit}').",
            param="limit",
        )
    return limit


def _range(value: Any, name: str) -> tuple[int, int]:
    """``created=N`` or ``created[gt|gte|lt|lte]=N`` -> inclusive bounds."""
    lo, hi = -(2**63), 2**63
    if value is None:
        return lo, hi
    if isinstance(value, str):
        exact = parse_int(value, name)
        return exact, exact
    if not isinstance(value, dict):
        raise StripeError(400, f"Invalid {name}", param=name)
    for op, raw in value.items():
        param = f"{name}[{op}]"
        if op not in ("gt", "gte", "lt", "lte"):
            raise unknown_param(param)
        n = parse_int(raw, param)
        if op == "gt":
            lo = max(lo, n + 1)
        elif op == "gte":
            lo = max(lo, n)
        elif op == "lt":
            hi = min(hi, n - 1)
        else:
            hi = min(hi, n)
    return lo, hi


def _string(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise StripeError(
            400,
            f"Invalid string: {{{', '.join(value)}}}"
            if isinstance(value, dict)
            else "Invalid string",
            param=param,
        )
    return value


def _metadata(value: Any, current: dict[str, Any]) -> dict[str, str]:
    """Merge ``metadata[k]=v``; an empty value unsets a key, ``metadata=`` unsets them all."""
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", param="metadata")
    merged = dict(current)
    for k, v in value.items():
        param = f"metadata[{k}]"
        if not isinstance(v, str):
            raise StripeError(400, "Invalid value: metadata values must be strings.", param=param)
        if len(k) > 40:
            raise StripeError(
                400, "Metadata keys can have a maximum length of 40 characters.", param=param
            )
        if len(v) > 500:
            raise StripeError(
                400, "Metadata values can have a maximum length of 500 characters.", param=param
            )
        if v == "":
            merged.pop(k, None)
        else:
            merged[k] = v
    if len(merged) > 50:
        raise StripeError(400, "Metadata can have a maximum of 50 keys.", param="metadata")
    return merged


def _customer_changes(params: dict[str, Any], current: Record) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in params.items():
        if name not in CUSTOMER_FIELDS:
            raise unknown_param(name)
        if name == "expand":
            continue
        if name == "metadata":
            changes[name] = _metadata(value, current.get("metadata") or {})
        elif name == "address":
            if value == "":
                changes[name] = None
                continue
            if not isinstance(value, dict):
                raise StripeError(400, "Invalid object", param=name)
            for sub in value:
                if sub not in ADDRESS_FIELDS:
                    raise unknown_param(f"address[{sub}]")
            # the address hash is replaced as a whole
            changes[name] = {
                k: (_string(value[k], f"address[{k}]") or None) if k in value else None
                for k in ADDRESS_FIELDS
            }
        elif name == "balance":
            changes[name] = parse_int(value, name)
        elif name == "tax_exempt":
            if value not in ("none", "exempt", "reverse"):
                raise StripeError(
                    400, "Invalid tax_exempt: must be one of none, exempt, or reverse", param=name
                )
            changes[name] = value
        elif name == "email":
            email = _string(value, name)
            if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
                raise StripeError(
                    400, f"Invalid email address: {email}", code="email_invalid", param=name
                )
            changes[name] = email or None
        else:
            changes[name] = _string(value, name) or None
    return changes


def _previous(record: Record, changes: dict[str, Any]) -> dict[str, Any]:
    """``previous_attributes``: the old values of the changed fields; for hashes (metadata,
    address) only the changed sub-keys, with null for a key that didn't exist."""
    previous: dict[str, Any] = {}
    for name, new in changes.items():
        old = record.get(name)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            previous[name] = {
                k: old.get(k) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
            }
        else:
            previous[name] = copy.deepcopy(old)
    return previous
