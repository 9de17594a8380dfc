"""Salesforce REST API emulator (connection ``crm``): OAuth token, SOQL query/queryAll with
query locators, sObject rows, upsert by external ID, sObject Collections, describe, limits.

The contract is shared/SOURCE_APIS.md section 1; the record shapes are simulator/README.md.
Error bodies are JSON arrays ``[{"message","errorCode"}]`` everywhere except the token endpoint
(OAuth ``{"error","error_description"}``) and collection results (``statusCode``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import operator
import re
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote

from fastapi import FastAPI, Request
from fastapi.responses import Response

from simulator.emulator import SystemEmulator, json_response
from simulator.sfid import is_valid, make_id, to18
from simulator.store import Connection, Record, Table

DATA_PREFIX = "/services/data"
TOKEN_PATH = "/services/oauth2/token"
MIN_VERSION = 20
MAX_BATCH = 2000
MIN_BATCH = 200
MAX_COLLECTION = 200
MAX_OFFSET = 2000
MAX_CURSORS = 200
NOT_FOUND_MSG = "The requested resource does not exist"
STRING_TYPES = frozenset({"string", "picklist", "url", "phone", "email", "textarea"})
NUMBER_TYPES = frozenset({"currency", "percent", "double", "int"})
READ_ONLY = frozenset({"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "IsDeleted"})


# -- schema -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SfField:
    name: str
    type: str
    custom: bool = False
    external_id: bool = False
    reference_to: str | None = None
    relationship: str | None = None

    @property
    def updateable(self) -> bool:
        return self.name not in READ_ONLY

    def describe(self) -> dict[str, Any]:
        label = self.name.removesuffix("__c").replace("_", " ")
        lengths = {
            "id": 18,
            "reference": 18,
            "string": 255,
            "picklist": 255,
            "url": 255,
            "phone": 40,
            "email": 80,
            "textarea": 255,
        }
        soap = {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "currency": "xsd:double",
            "percent": "xsd:double",
            "double": "xsd:double",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
        }
        return {
            "name": self.name,
            "label": label,
            "type": self.type,
            "soapType": soap.get(self.type, "xsd:string"),
            "length": lengths.get(self.type, 0),
            "custom": self.custom,
            "externalId": self.external_id,
            "idLookup": self.external_id or self.name == "Id",
            "unique": self.external_id,
            "nillable": self.name not in READ_ONLY and self.type != "boolean",
            "createable": self.updateable,
            "updateable": self.updateable,
            "filterable": True,
            "sortable": True,
            "calculated": False,
            "referenceTo": [self.reference_to] if self.reference_to else [],
            "relationshipName": self.relationship,
        }


@dataclass(frozen=True)
class SfObject:
    name: str
    label_plural: str
    key_prefix: str
    fields: tuple[SfField, ...]
    required: tuple[str, ...]

    @property
    def soft_delete(self) -> bool:
        return any(f.name == "IsDeleted" for f in self.fields)


def _f(spec: str) -> tuple[SfField, ...]:
    """Compact field list: ``Name:type`` items; ``ref>Object/Relationship``; ``!`` = external ID."""
    out = []
    for item in spec.split():
        name, typ = item.split(":")
        ext = typ.endswith("!")
        typ = typ.rstrip("!")
        ref = rel = None
        if ">" in typ:
            typ, target = typ.split(">")
            ref, rel = target.split("/")
        out.append(SfField(name, typ, name.endswith("__c"), ext, ref, rel))
    return tuple(out)


_AUDIT = "CreatedDate:datetime LastModifiedDate:datetime SystemModstamp:datetime"
OBJECTS: dict[str, SfObject] = {
    "Account": SfObject(
        "Account",
        "Accounts",
        "001",
        _f(
            "Id:id Name:string ParentId:reference>Account/Parent Type:picklist Industry:picklist "
            "Website:url Phone:phone BillingStreet:textarea BillingCity:string "
            "BillingPostalCode:string BillingCountry:string BillingCountryCode:picklist "
            "CurrencyIsoCode:picklist OwnerId:reference>User/Owner Tax_Id__c:string "
            "Conform_Id__c:string! ERP_Customer_Number__c:string Ultimate_Parent_Conform_Id__c:string "  # noqa: E501
            "Open_AR__c:currency Overdue_AR__c:currency Last_Payment_Date__c:date "
            f"{_AUDIT} IsDeleted:boolean"
        ),
        ("Name",),
    ),
    "Opportunity": SfObject(
        "Opportunity",
        "Opportunities",
        "006",
        _f(
            "Id:id Name:string AccountId:reference>Account/Account StageName:picklist "
            "CloseDate:date Amount:currency CurrencyIsoCode:picklist Probability:percent "
            "IsClosed:boolean IsWon:boolean Type:picklist OwnerId:reference>User/Owner "
            f"PSA_Project_Code__c:string {_AUDIT} IsDeleted:boolean"
        ),
        ("Name", "StageName", "CloseDate"),
    ),
    "User": SfObject(
        "User",
        "Users",
        "005",
        _f(
            "Id:id Username:string FirstName:string LastName:string Name:string Email:email "
            f"Title:string IsActive:boolean {_AUDIT}"
        ),
        ("Username", "LastName", "Email"),
    ),
}
PREFIX_TO_OBJECT = {o.key_prefix: o.name for o in OBJECTS.values()}
DRIFT_FIELD = SfField("Segment__c", "picklist", custom=True)
DRIFT_OBJECTS = ("Account", "Opportunity")


# -- value formats ------------------------------------------------------------------------------
def sf_datetime(value: datetime) -> str:
    """``2026-05-20T20:49:32.000+0000``: UTC, milliseconds, no colon in the offset."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """ISO 8601 with ``Z``, ``+hh:mm`` or ``+hhmm``; naive values are taken as UTC."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    m = re.search(r"([+-]\d{2})(\d{2})$", text)
    if m and text[m.start() - 1] != ":":
        text = text[: m.start()] + f"{m.group(1)}:{m.group(2)}"
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def canonical_datetime(value: Any) -> str | None:
    """Stored datetimes are compared as strings; fix up any not in the canonical UTC form."""
    if not isinstance(value, str):
        return None
    if len(value) == 28 and value.endswith("+0000"):
        return value
    try:
        return sf_datetime(parse_datetime(value))
    except ValueError:
        return None


def _version_label(n: int) -> str:
    season = ("Spring", "Summer", "Winter")[(n - 60) % 3]
    cycle = (n - 60) // 3
    year = 24 + cycle + (1 if season == "Winter" else 0)
    return f"{season} '{year:02d}"


# -- errors ---------------------------------------------------------------------------------------
class ApiError(Exception):
    """An answer in Salesforce's array error shape."""

    def __init__(self, status: int, code: str, message: str, fields: list[str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message, "errorCode": self.code}
        if self.fields is not None:
            body["fields"] = self.fields
        return json_response([body], self.status)


class WriteError(Exception):
    """A per-record failure: a collection result error, or a single-row 400."""

    def __init__(self, code: str, message: str, fields: list[str] | None = None, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.fields, self.status = code, message, fields or [], status

    def result(self) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": self.code, "message": self.message, "fields": self.fields}],
        }

    def api_error(self) -> ApiError:
        return ApiError(self.status, self.code, self.message, self.fields or None)


def not_found(message: str = NOT_FOUND_MSG) -> ApiError:
    return ApiError(404, "NOT_FOUND", message)


# -- SOQL: tokens and parser ----------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"""
 (?P<ws>\s+)
|(?P<str>'(?:[^'\\]|\\.)*')
|(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
|(?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
|(?P<num>[+-]?\d+(?:\.\d+)?)(?![\w.])
|(?P<op>!=|<>|<=|>=|=|<|>)
|(?P<lp>\()|(?P<rp>\))|(?P<comma>,)
|(?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
""",
    re.X,
)
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


@dataclass
class Tok:
    kind: str
    text: str
    pos: int

    def shown(self) -> str:
        return "<EOF>" if self.kind == "eof" else f"'{self.text}'"

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.upper() in words


class SoqlError(Exception):
    def __init__(self, code: str, text: str, pos: int, message: str):
        row = text.count("\n", 0, pos) + 1
        start = text.rfind("\n", 0, pos) + 1
        col = pos - start + 1
        line = text.split("\n")[row - 1]
        # Salesforce echoes the query line with a caret under the offending token
        super().__init__(
            f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{message}"
        )
        self.code = code


@dataclass
class Lit:
    kind: str  # str, num, date, datetime, bool, null
    value: Any
    tok: Tok


@dataclass
class Cond:
    path: Tok
    op: str  # = != < <= > >= LIKE IN NOTIN
    lits: list[Lit]


@dataclass
class BoolNode:
    op: str  # AND OR NOT
    parts: list[Any]


@dataclass
class OrderItem:
    path: Tok
    desc: bool
    nulls_first: bool


@dataclass
class Soql:
    text: str
    obj: Tok
    count: bool
    select: list[Tok]
    where: Any
    order: list[OrderItem]
    limit: int | None
    offset: int | None


def _tokenize(text: str) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos] == "'":
                raise SoqlError("MALFORMED_QUERY", text, pos, "unterminated string literal")
            raise SoqlError("MALFORMED_QUERY", text, pos, f"unexpected token: '{text[pos]}'")
        kind = m.lastgroup or ""
        if kind != "ws":
            toks.append(Tok(kind, m.group(), pos))
        pos = m.end()
    toks.append(Tok("eof", "", len(text)))
    return toks


def _decode_string(tok: Tok, text: str, like: bool) -> str:
    """Decode a quoted literal; in LIKE patterns ``\\%`` and ``\\_`` stay escaped."""
    out: list[str] = []
    body = tok.text[1:-1]
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            nxt = body[i + 1]
            if nxt.lower() in _ESCAPES:
                out.append(_ESCAPES[nxt.lower()])
            elif nxt in "%_" and like:
                out.append("\\" + nxt)
            elif nxt in "%_":
                out.append(nxt)
            else:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    text,
                    tok.pos,
                    f"Invalid string literal '{body}'. Illegal character sequence "
                    f"'\\{nxt}' in string literal.",
                )
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Tok:
        return self.toks[self.i]

    def take(self) -> Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def fail(self, tok: Tok | None = None, message: str | None = None) -> SoqlError:
        tok = tok or self.tok
        return SoqlError(
            "MALFORMED_QUERY", self.text, tok.pos, message or f"unexpected token: {tok.shown()}"
        )

    def expect_kw(self, word: str) -> Tok:
        if not self.tok.is_kw(word):
            raise self.fail()
        return self.take()

    def expect(self, kind: str) -> Tok:
        if self.tok.kind != kind:
            raise self.fail()
        return self.take()

    def parse(self) -> Soql:
        self.expect_kw("SELECT")
        count = False
        select: list[Tok] = []
        if (
            self.tok.is_kw("COUNT")
            and self.toks[self.i + 1].kind == "lp"
            and self.toks[self.i + 2].kind == "rp"
        ):
            self.i += 3
            count = True
        else:
            select = self._select_list()
        self.expect_kw("FROM")
        obj = self.expect("ident")
        where = None
        if self.tok.is_kw("WHERE"):
            self.take()
            where = self._or()
        order: list[OrderItem] = []
        if self.tok.is_kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            order.append(self._order_item())
            while self.tok.kind == "comma":
                self.take()
                order.append(self._order_item())
        limit = offset = None
        if self.tok.is_kw("LIMIT"):
            self.take()
            limit = self._int()
        if self.tok.is_kw("OFFSET"):
            self.take()
            offset = self._int()
        if self.tok.kind != "eof":
            raise self.fail()
        return Soql(self.text, obj, count, select, where, order, limit, offset)

    def _int(self) -> int:
        tok = self.expect("num")
        if not re.fullmatch(r"\d+", tok.text):
            raise self.fail(tok)
        return int(tok.text)

    def _select_list(self) -> list[Tok]:
        items = [self._select_item()]
        while self.tok.kind == "comma":
            self.take()
            items.append(self._select_item())
        return items

    def _select_item(self) -> Tok:
        tok = self.tok
        if tok.kind == "lp":
            raise self.fail(
                message="unexpected token: '(' (child relationship subqueries are "
                "not supported by the Conform simulator)"
            )
        tok = self.expect("ident")
        if self.tok.kind == "lp":
            if tok.text.upper() == "FIELDS":
                self.take()
                which = self.expect("ident")
                if which.text.upper() not in ("ALL", "STANDARD", "CUSTOM"):
                    raise self.fail(which)
                self.expect("rp")
                return Tok("fields", which.text.upper(), tok.pos)
            raise self.fail(
                message=f"unexpected token: '(' (aggregate function {tok.text} "
                "is not supported by the Conform simulator; only COUNT())"
            )
        return tok

    def _order_item(self) -> OrderItem:
        path = self.expect("ident")
        desc = False
        if self.tok.is_kw("ASC", "DESC"):
            desc = self.take().text.upper() == "DESC"
        nulls_first = not desc
        if self.tok.is_kw("NULLS"):
            self.take()
            if not self.tok.is_kw("FIRST", "LAST"):
                raise self.fail()
            nulls_first = self.take().text.upper() == "FIRST"
        return OrderItem(path, desc, nulls_first)

    def _or(self) -> Any:
        parts = [self._and()]
        while self.tok.is_kw("OR"):
            self.take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else BoolNode("OR", parts)

    def _and(self) -> Any:
        parts = [self._not()]
        while self.tok.is_kw("AND"):
            self.take()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else BoolNode("AND", parts)

    def _not(self) -> Any:
        if self.tok.is_kw("NOT"):
            self.take()
            return BoolNode("NOT", [self._not()])
        if self.tok.kind == "lp":
            self.take()
            node = self._or()
            self.expect("rp")
            return node
        return self._condition()

    def _condition(self) -> Cond:
        path = self.expect("ident")
        tok = self.tok
        if tok.kind == "op":
            self.take()
            op = "!=" if tok.text == "<>" else tok.text
            return Cond(path, op, [self._literal(False)])
        if tok.is_kw("LIKE"):
            self.take()
            return Cond(path, "LIKE", [self._literal(True)])
        negated = False
        if tok.is_kw("NOT"):
            self.take()
            negated = True
            if not self.tok.is_kw("IN"):
                raise self.fail()
        if self.tok.is_kw("IN"):
            self.take()
            self.expect("lp")
            lits = [self._literal(False)]
            while self.tok.kind == "comma":
                self.take()
                lits.append(self._literal(False))
            self.expect("rp")
            return Cond(path, "NOTIN" if negated else "IN", lits)
        raise self.fail()

    def _literal(self, like: bool) -> Lit:
        tok = self.take()
        if tok.kind == "str":
            return Lit("str", _decode_string(tok, self.text, like), tok)
        if tok.kind == "num":
            return Lit("num", float(tok.text), tok)
        if tok.kind == "date":
            try:
                date.fromisoformat(tok.text)
            except ValueError as exc:
                raise self.fail(tok, f"invalid date: {tok.text}") from exc
            return Lit("date", tok.text, tok)
        if tok.kind == "datetime":
            try:
                return Lit("datetime", sf_datetime(parse_datetime(tok.text)), tok)
            except ValueError as exc:
                raise self.fail(tok) from exc
        if tok.is_kw("TRUE", "FALSE"):
            return Lit("bool", tok.text.upper() == "TRUE", tok)
        if tok.is_kw("NULL"):
            return Lit("null", None, tok)
        raise self.fail(tok)


def parse_soql(text: str) -> Soql:
    return _Parser(text).parse()


# -- SOQL: compiling against the schema ---------------------------------------------------------
@dataclass
class Path:
    rels: list[tuple[str, str, str]]  # (relationship name, foreign key field, target object)
    field: SfField

    def names(self) -> list[str]:
        return [r[0] for r in self.rels] + [self.field.name]


Getter = Callable[[Record], Any]
Pred = Callable[[Record], bool]
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _casefold(v: Any) -> Any:
    if v is None:
        return None
    return v.casefold() if isinstance(v, str) else str(v).casefold()


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _converter(typ: str) -> Callable[[Any], Any]:
    """Stored value -> comparable value (None when null or unusable)."""
    if typ in STRING_TYPES:
        return _casefold
    if typ in NUMBER_TYPES:
        return _number
    if typ == "boolean":
        return lambda v: v if isinstance(v, bool) else None
    if typ == "datetime":
        return canonical_datetime
    return lambda v: v if isinstance(v, str) else None  # id, reference, date


_TYPE_WORD = {
    "id": "id",
    "reference": "id",
    "boolean": "boolean",
    "date": "date",
    "datetime": "dateTime",
    **{t: "double" for t in NUMBER_TYPES},
}


@dataclass
class Compiled:
    obj: SfObject
    proj: dict[str, Any]  # field name -> None, relationship name -> (fk, target, sub-proj)
    pred: Pred | None
    order: list[tuple[Getter, bool, bool]]
    count: bool
    limit: int | None
    offset: int


# -- the emulator -------------------------------------------------------------------------------
@dataclass
class Cursor:
    connection: str
    obj: str
    version: str
    proj: dict[str, Any]
    keys: list[Any]
    batch: int


@dataclass
class _Usage:
    day: str = ""
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Emulator(SystemEmulator):
    system = "salesforce"
    open_paths = (TOKEN_PATH,)

    def __init__(self, ctx: Any):
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._cursor_seq = 0
        self._usage: dict[str, _Usage] = {}
        self._id_seq: dict[str, int] = {}
        super().__init__(ctx)

    # -- hooks ----------------------------------------------------------------------------------
    def rate_limited(self) -> Response:
        return json_response(
            [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
            403,
            self._limit_headers(None),
        )

    def server_error(self) -> Response:
        return json_response(
            [
                {
                    "message": "Server temporarily unavailable. Please try again later.",
                    "errorCode": "SERVER_UNAVAILABLE",
                }
            ],
            503,
        )

    def unauthorized(self) -> Response:
        return json_response(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
        )

    def malform(self, obj: str, record: Record) -> Record:
        variant = zlib.crc32(str(record.get("Id")).encode()) % 2
        choices = {
            "Account": [("CurrencyIsoCode", "US Dollar"), ("CreatedDate", "not a date")],
            "Opportunity": [("Amount", "12,5O0.00"), ("CloseDate", "2026-02-31")],
            "User": [("Email", "not-an-email"), ("CreatedDate", "not a date")],
        }.get(obj)
        if choices:
            name, value = choices[variant]
            record[name] = value
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        return {DRIFT_FIELD.name: "Enterprise"} if obj in DRIFT_OBJECTS else {}

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        s = conn.settings
        base = self.ctx.base_url
        return {
            "login_url": base,
            "instance_url": base,
            "api_version": str(s.get("api_version", "60.0")),
            **{
                k: s.get(k)
                for k in ("client_id", "client_secret", "username", "password", "security_token")
            },
        }

    # -- schema helpers -------------------------------------------------------------------------
    def fields_of(self, obj: str) -> dict[str, SfField]:
        """Lower-cased name -> field; the drifted custom field appears while drift is on."""
        fields = {f.name.lower(): f for f in OBJECTS[obj].fields}
        if self.faults.config.drift and obj in DRIFT_OBJECTS:
            fields[DRIFT_FIELD.name.lower()] = DRIFT_FIELD
        return fields

    @staticmethod
    def sobject(name: str) -> SfObject | None:
        for obj in OBJECTS.values():
            if obj.name.lower() == name.lower():
                return obj
        return None

    # -- routes ---------------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        @app.post(TOKEN_PATH)
        async def token(request: Request) -> Response:
            form = await request.form()
            return self.token(request, {k: str(v) for k, v in form.items()})

        async def data(request: Request) -> Response:
            raw = request.scope.get("raw_path") or request.url.path.encode()
            path = raw.decode("latin-1").split("?", 1)[0]
            segs = [unquote(s) for s in path[len(DATA_PREFIX) :].split("/") if s]
            body = await request.body() if request.method in ("POST", "PATCH", "PUT") else b""
            return self.dispatch(request, segs, body)

        for route in (DATA_PREFIX, DATA_PREFIX + "/{rest:path}"):
            app.add_api_route(route, data, methods=["GET", "POST", "PATCH", "DELETE", "PUT"])

        @app.api_route("/{rest:path}", methods=["GET", "POST", "PATCH", "DELETE", "PUT"])
        async def other(rest: str) -> Response:
            return not_found().response()

    # -- OAuth ----------------------------------------------------------------------------------
    def token(self, request: Request, form: dict[str, str]) -> Response:
        def fail(error: str, description: str) -> Response:
            return json_response({"error": error, "error_description": description}, 400)

        grant = form.get("grant_type", "")
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(header[6:]).decode().partition(":")
            except ValueError:
                return fail("invalid_client", "invalid client credentials")
        if grant not in ("password", "client_credentials"):
            return fail("unsupported_grant_type", "grant type not supported")
        conns = [
            c
            for c in self.store.connections_of(self.system)
            if c.settings.get("client_id") == client_id
        ]
        if not client_id or not conns:
            return fail("invalid_client_id", "client identifier invalid")
        conns = [c for c in conns if c.settings.get("client_secret") == secret]
        if not conns:
            return fail("invalid_client", "invalid client credentials")
        conn = conns[0]
        s = conn.settings
        if grant == "password":
            expected = f"{s.get('password', '')}{s.get('security_token', '')}"
            if form.get("username") != s.get("username") or form.get("password") != expected:
                return fail("invalid_grant", "authentication failure")
        org_id = str(s.get("org_id") or make_id("00D", 1))
        user_id = self._login_user_id(conn)
        tok = self.ctx.tokens.issue(conn.name, prefix=org_id[:15] + "!", subject=user_id)
        base = self.ctx.base_url
        issued_at = str(int(self.store.now().timestamp() * 1000))
        id_url = f"{base}/id/{org_id}/{user_id}"
        signature = base64.b64encode(
            hmac.new(secret.encode(), (id_url + issued_at).encode(), hashlib.sha256).digest()
        ).decode()
        body: dict[str, Any] = {
            "access_token": tok.value,
            "instance_url": base,
            "id": id_url,
            "token_type": "Bearer",
            "issued_at": issued_at,
            "signature": signature,
        }
        if grant == "client_credentials":
            body = {**body, "scope": "api", "api_instance_url": base}
        return json_response(body)

    def _login_user_id(self, conn: Connection) -> str:
        users = conn.tables.get("User")
        if users is not None:
            for user in users:
                if user.get("Username") == conn.settings.get("username"):
                    return str(user["Id"])
        return make_id("005", 1)

    # -- usage and limits -----------------------------------------------------------------------
    def _limit(self, conn: Connection | None) -> int:
        return int((conn.settings if conn else {}).get("daily_api_limit", 100000))

    def _usage_of(self, name: str) -> _Usage:
        return self._usage.setdefault(name, _Usage())

    def _count_call(self, conn: Connection) -> int:
        usage = self._usage_of(conn.name)
        with usage.lock:
            today = self.store.now().date().isoformat()
            if usage.day != today:  # the daily allowance resets with the business day
                usage.day, usage.count = today, 0
            usage.count += 1
            return usage.count

    def _limit_headers(self, conn: Connection | None) -> dict[str, str]:
        if conn is None:
            conns = self.store.connections_of(self.system)
            conn = conns[0] if conns else None
        used = self._usage_of(conn.name).count if conn else 0
        return {"Sforce-Limit-Info": f"api-usage={used}/{self._limit(conn)}"}

    # -- dispatch -------------------------------------------------------------------------------
    def dispatch(self, request: Request, segs: list[str], body: bytes) -> Response:
        if not segs:
            if request.method != "GET":
                return self._method_not_allowed(request, "GET")
            return json_response(self._versions(None), headers=self._limit_headers(None))
        token = self.authorize(request)
        conn = self.connection(token.connection) if token else None
        if conn is None:
            return self.unauthorized()
        used = self._count_call(conn)
        headers = self._limit_headers(conn)
        if used > self._limit(conn):
            return json_response(
                [
                    {
                        "message": "TotalRequests Limit exceeded.",
                        "errorCode": "REQUEST_LIMIT_EXCEEDED",
                    }
                ],
                403,
                headers,
            )
        try:
            response = self._route(request, conn, segs, body)
        except ApiError as exc:
            response = exc.response()
        response.headers.update(headers)
        return response

    def _route(self, request: Request, conn: Connection, segs: list[str], body: bytes) -> Response:
        version = self._version(conn, segs[0])
        rest, method = segs[1:], request.method
        head = rest[0] if rest else ""

        def only(*allowed: str) -> None:
            if method not in allowed:
                raise ApiError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}",
                )

        if not rest:
            only("GET")
            return json_response(self._resources(version))
        if head == "limits" and len(rest) == 1:
            only("GET")
            return json_response(self._limits(conn))
        if head in ("query", "queryAll") and len(rest) <= 2:
            only("GET")
            if len(rest) == 2:
                return self._query_more(conn, rest[1])
            batch = self._batch_size(request.headers.get("sforce-query-options", ""))
            return self._query(
                conn, version, request.query_params.get("q"), head == "queryAll", batch
            )
        if head == "sobjects":
            return self._sobjects(request, conn, version, rest[1:], body, only)
        if head == "composite" and len(rest) >= 2 and rest[1] == "sobjects":
            return self._collections(request, conn, version, rest[2:], body, only)
        raise not_found()

    def _method_not_allowed(self, request: Request, allowed: str) -> Response:
        return ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}",
        ).response()

    def _max_version(self, conn: Connection | None) -> int:
        configured = str((conn.settings if conn else {}).get("api_version", "60.0"))
        return max(62, int(float(configured)))

    def _version(self, conn: Connection, seg: str) -> str:
        m = re.fullmatch(r"v(\d+)\.0", seg)
        if not m or not MIN_VERSION <= int(m.group(1)) <= self._max_version(conn):
            raise not_found()
        return seg[1:]

    def _versions(self, conn: Connection | None) -> list[dict[str, str]]:
        return [
            {"label": _version_label(n), "url": f"{DATA_PREFIX}/v{n}.0", "version": f"{n}.0"}
            for n in range(MIN_VERSION, self._max_version(conn) + 1)
        ]

    @staticmethod
    def _resources(version: str) -> dict[str, str]:
        base = f"{DATA_PREFIX}/v{version}"
        names = (
            "tooling",
            "metadata",
            "eclair",
            "folders",
            "prechatForms",
            "async-queries",
            "query",
            "serviceTemplates",
            "chatter",
            "tabs",
            "appMenu",
            "quickActions",
            "queryAll",
            "commerce",
            "wave",
            "analytics",
            "search",
            "identity",
            "composite",
            "parameterizedSearch",
            "theme",
            "nouns",
            "recent",
            "licensing",
            "limits",
            "process",
            "async",
            "jobs",
            "sobjects",
            "actions",
            "support",
        )
        return {n: f"{base}/{n}" for n in names}

    def _limits(self, conn: Connection) -> dict[str, Any]:
        limit = self._limit(conn)
        used = self._usage_of(conn.name).count
        return {
            "DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)},
            "DailyAsyncApexExecutions": {"Max": 250000, "Remaining": 250000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DataStorageMB": {"Max": 1024, "Remaining": 1000},
            "FileStorageMB": {"Max": 1024, "Remaining": 1024},
            "ConcurrentSyncLongRunningRequests": {"Max": 10, "Remaining": 10},
        }

    # -- query ----------------------------------------------------------------------------------
    @staticmethod
    def _batch_size(header: str) -> int:
        m = re.search(r"batchSize\s*=\s*(\d+)", header, re.I)
        if not m:
            return MAX_BATCH
        return max(MIN_BATCH, min(MAX_BATCH, int(m.group(1))))

    def _query(
        self, conn: Connection, version: str, q: str | None, include_deleted: bool, batch: int
    ) -> Response:
        if not q or not q.strip():
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            compiled = self._compile(parse_soql(q), conn)
        except SoqlError as exc:
            raise ApiError(400, exc.code, str(exc)) from exc
        with self.store.lock:
            keys = self._select_keys(conn, compiled, include_deleted)
            if compiled.count:
                return json_response({"totalSize": len(keys), "done": True, "records": []})
            cursor = Cursor(conn.name, compiled.obj.name, version, compiled.proj, keys, batch)
            return json_response(self._page(conn, cursor, None, 0))

    def _select_keys(self, conn: Connection, c: Compiled, include_deleted: bool) -> list[Any]:
        table = conn.tables.get(c.obj.name)
        if table is None:
            return []
        rows = table.rows
        skip_deleted = c.obj.soft_delete and not include_deleted
        pred = c.pred
        if pred is None and not skip_deleted:
            keys = list(rows)
        elif pred is None:
            keys = [k for k, r in rows.items() if not r.get("IsDeleted")]
        elif skip_deleted:
            keys = [k for k, r in rows.items() if not r.get("IsDeleted") and pred(r)]
        else:
            keys = [k for k, r in rows.items() if pred(r)]
        # stable sorts from the last ORDER BY item to the first; ties keep table order
        for getter, desc, nulls_first in reversed(c.order):
            null_group = 0 if nulls_first != desc else 2

            def sort_key(k: Any, g: Getter = getter, n: int = null_group) -> tuple[int, Any]:
                v = g(rows[k])
                return (n, None) if v is None else (1, v)

            keys.sort(key=sort_key, reverse=desc)
        end = None if c.limit is None else c.offset + c.limit
        return keys[c.offset : end] if c.offset or end is not None else keys

    def _page(
        self, conn: Connection, cursor: Cursor, locator: str | None, start: int
    ) -> dict[str, Any]:
        table = conn.tables.get(cursor.obj)
        chunk = cursor.keys[start : start + cursor.batch]
        records = []
        for key in chunk:
            rec = table.rows.get(key) if table is not None else None
            if rec is not None:
                records.append(self._project(conn, cursor.obj, rec, cursor.proj, cursor.version))
        end = start + len(chunk)
        out: dict[str, Any] = {"totalSize": len(cursor.keys), "done": end >= len(cursor.keys)}
        if not out["done"]:
            if locator is None:
                locator = self._new_cursor(cursor)
            out["nextRecordsUrl"] = f"{DATA_PREFIX}/v{cursor.version}/query/{locator}-{end}"
        out["records"] = records
        return out

    def _new_cursor(self, cursor: Cursor) -> str:
        self._cursor_seq += 1
        locator = make_id("01g", self._cursor_seq)
        self._cursors[locator] = cursor
        while len(self._cursors) > MAX_CURSORS:  # Salesforce also caps open cursors
            self._cursors.popitem(last=False)
        return locator

    def _query_more(self, conn: Connection, ident: str) -> Response:
        locator, _, offset = ident.rpartition("-")
        cursor = self._cursors.get(locator)
        if (
            cursor is None
            or cursor.connection != conn.name
            or not offset.isdigit()
            or int(offset) > len(cursor.keys)
        ):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        self._cursors.move_to_end(locator)
        with self.store.lock:
            return json_response(self._page(conn, cursor, locator, int(offset)))

    def _project(
        self, conn: Connection, obj: str, rec: Record, proj: dict[str, Any], version: str
    ) -> dict[str, Any]:
        rec_id = rec.get("Id")
        rec = self.render(obj, rec, rec_id)
        out: dict[str, Any] = {
            "attributes": {"type": obj, "url": f"{DATA_PREFIX}/v{version}/sobjects/{obj}/{rec_id}"}
        }
        for name, sub in proj.items():
            if sub is None:
                out[name] = rec.get(name)
                continue
            fk, target, child = sub
            table = conn.tables.get(target)
            related = table.get(rec.get(fk)) if table is not None and rec.get(fk) else None
            out[name] = (
                None if related is None else self._project(conn, target, related, child, version)
            )
        return out

    # -- SOQL compilation -----------------------------------------------------------------------
    def _compile(self, q: Soql, conn: Connection) -> Compiled:
        obj = self.sobject(q.obj.text)
        if obj is None:
            raise SoqlError(
                "INVALID_TYPE",
                q.text,
                q.obj.pos,
                f"sObject type '{q.obj.text}' is not supported. If you are "
                "attempting to use a custom object, be sure to append the '__c' "
                "after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        proj: dict[str, Any] = {}
        seen: set[str] = set()
        for tok in q.select:
            if tok.kind == "fields":
                if tok.text != "STANDARD" and (q.limit is None or q.limit > 200):
                    raise SoqlError(
                        "MALFORMED_QUERY",
                        q.text,
                        tok.pos,
                        "The SOQL FIELDS function must have a LIMIT of at most 200",
                    )
                for f in self.fields_of(obj.name).values():
                    if tok.text == "ALL" or f.custom == (tok.text == "CUSTOM"):
                        proj.setdefault(f.name, None)
                        seen.add(f.name.lower())
                continue
            path = self._resolve(q.text, obj.name, tok)
            dotted = ".".join(path.names()).lower()
            if dotted in seen:
                raise SoqlError(
                    "MALFORMED_QUERY",
                    q.text,
                    tok.pos,
                    f"duplicate field selected: {'.'.join(path.names())}",
                )
            seen.add(dotted)
            node = proj
            for rel, fk, target in path.rels:
                if node.get(rel) is None:
                    node[rel] = (fk, target, {})
                node = node[rel][2]
            node.setdefault(path.field.name, None)
        pred = self._compile_where(q.where, q.text, obj.name, conn) if q.where else None
        order = []
        for item in q.order:
            path = self._resolve(q.text, obj.name, item.path)
            conv = _converter(path.field.type)
            raw = self._getter(conn, path)
            order.append(((lambda r, g=raw, c=conv: c(g(r))), item.desc, item.nulls_first))
        if q.offset is not None and q.offset > MAX_OFFSET:
            raise ApiError(
                400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        return Compiled(obj, proj, pred, order, q.count, q.limit, q.offset or 0)

    def _resolve(self, text: str, obj: str, tok: Tok) -> Path:
        segs = tok.text.split(".")
        rels: list[tuple[str, str, str]] = []
        current = obj
        for seg in segs[:-1]:
            found = next(
                (
                    f
                    for f in self.fields_of(current).values()
                    if f.relationship and f.relationship.lower() == seg.lower()
                ),
                None,
            )
            if found is None or found.reference_to is None or found.relationship is None:
                raise SoqlError(
                    "INVALID_FIELD",
                    text,
                    tok.pos,
                    f"Didn't understand relationship '{seg}' in field path. If you "
                    "are attempting to use a custom relationship, be sure to append "
                    "the '__r' after the custom relationship name. Please reference "
                    "your WSDL or the describe call for the appropriate names.",
                )
            rels.append((found.relationship, found.name, found.reference_to))
            current = found.reference_to
        f = self.fields_of(current).get(segs[-1].lower())
        if f is None:
            raise SoqlError(
                "INVALID_FIELD",
                text,
                tok.pos,
                f"No such column '{segs[-1]}' on entity '{current}'. If you are "
                "attempting to use a custom field, be sure to append the '__c' after "
                "the custom field name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
        return Path(rels, f)

    @staticmethod
    def _getter(conn: Connection, path: Path) -> Getter:
        name = path.field.name
        if not path.rels:
            return lambda r: r.get(name)
        rels = path.rels

        def get(r: Record) -> Any:
            cur: Record | None = r
            for _, fk, target in rels:
                fkv = cur.get(fk) if cur else None
                table = conn.tables.get(target)
                cur = table.get(fkv) if fkv is not None and table is not None else None
                if cur is None:
                    return None
            return cur.get(name) if cur else None

        return get

    def _compile_where(self, node: Any, text: str, obj: str, conn: Connection) -> Pred:
        if isinstance(node, BoolNode):
            parts = [self._compile_where(p, text, obj, conn) for p in node.parts]
            if node.op == "NOT":
                inner = parts[0]
                return lambda r: not inner(r)
            if node.op == "AND":
                return lambda r: all(p(r) for p in parts)
            return lambda r: any(p(r) for p in parts)
        cond: Cond = node
        path = self._resolve(text, obj, cond.path)
        f = path.field
        raw = self._getter(conn, path)
        conv = _converter(f.type)

        def value(r: Record) -> Any:
            return conv(raw(r))

        lits = [self._literal_value(text, f, lit) for lit in cond.lits]
        op = cond.op
        if op == "LIKE":
            if f.type not in STRING_TYPES or cond.lits[0].kind != "str":
                raise SoqlError(
                    "INVALID_FIELD",
                    text,
                    cond.path.pos,
                    f"invalid operator on {f.type} field: LIKE",
                )
            pattern = self._like_regex(cond.lits[0].value)
            return lambda r: (v := raw(r)) is not None and pattern.fullmatch(str(v)) is not None
        if op in ("IN", "NOTIN"):
            members = frozenset(lits)
            has_null = None in members
            negate = op == "NOTIN"

            def member(r: Record) -> bool:
                v = value(r)
                return (has_null if v is None else v in members) != negate

            return member
        lit = lits[0]
        if op == "=":
            if lit is None:
                return lambda r: value(r) is None
            return lambda r: value(r) == lit
        if op == "!=":
            if lit is None:
                return lambda r: value(r) is not None
            return lambda r: value(r) != lit  # SOQL: a null field is != any value
        cmp = _OPS[op]
        if lit is None:
            return lambda r: False
        return lambda r: (v := value(r)) is not None and cmp(v, lit)

    @staticmethod
    def _like_regex(pattern: str) -> re.Pattern[str]:
        out, i = [], 0
        while i < len(pattern):
            ch = pattern[i]
            if ch == "\\" and i + 1 < len(pattern):
                out.append(re.escape(pattern[i + 1]))
                i += 2
                continue
            out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
            i += 1
        return re.compile("".join(out), re.I | re.S)

    @staticmethod
    def _literal_value(text: str, f: SfField, lit: Lit) -> Any:
        """Check the literal's type against the field (SOQL is strict) and convert it."""
        if lit.kind == "null":
            return None
        typ = f.type
        if typ in STRING_TYPES:
            ok, value = lit.kind == "str", _casefold(lit.value)
        elif typ in ("id", "reference"):
            ok, value = lit.kind == "str", lit.value
            if ok:
                if not is_valid(lit.value):
                    raise SoqlError(
                        "INVALID_QUERY_FILTER_OPERATOR",
                        text,
                        lit.tok.pos,
                        f"invalid ID field: {lit.value}",
                    )
                value = to18(lit.value)
        elif typ in NUMBER_TYPES:
            ok, value = lit.kind == "num", lit.value
        elif typ == "boolean":
            ok, value = lit.kind == "bool", lit.value
        elif typ == "date":
            ok, value = lit.kind == "date", lit.value
        else:
            ok, value = lit.kind == "datetime", lit.value
        if not ok:
            word = _TYPE_WORD.get(typ, "string")
            quoted = (
                "should be enclosed in quotes"
                if word in ("string", "id")
                else "should not be enclosed in quotes"
            )
            raise SoqlError(
                "INVALID_FIELD",
                text,
                lit.tok.pos,
                f"value of filter criterion for field '{f.name}' must be of type "
                f"{word} and {quoted}",
            )
        return value

    # -- sObject resources ----------------------------------------------------------------------
    def _sobjects(
        self,
        request: Request,
        conn: Connection,
        version: str,
        rest: list[str],
        body: bytes,
        only: Callable[..., None],
    ) -> Response:
        if not rest:
            only("GET")
            return json_response(
                {
                    "encoding": "UTF-8",
                    "maxBatchSize": MAX_COLLECTION,
                    "sobjects": [self._describe_global(o, version) for o in OBJECTS.values()],
                }
            )
        obj = self.sobject(rest[0])
        if obj is None:
            raise not_found()
        if len(rest) == 1:
            only("GET", "POST")
            if request.method == "GET":
                return json_response(
                    {"objectDescribe": self._describe_global(obj, version), "recentItems": []}
                )
            return self._create_one(request, conn, obj, self._json(body))
        if len(rest) == 2 and rest[1] == "describe":
            only("GET")
            return json_response(self._describe(obj, version))
        if len(rest) == 2:
            only("GET", "PATCH", "DELETE")
            if request.method == "GET":
                rec = self._live_record(conn, obj, rest[1])
                return json_response(self._full_record(conn, obj, rec, version, request))
            if request.method == "PATCH":
                return self._update_one(request, conn, obj, rest[1], self._json(body))
            return self._delete_one(request, conn, obj, rest[1])
        if len(rest) == 3:
            only("GET", "PATCH")
            ext = self._ext_field(obj, rest[1])
            if request.method == "GET":
                with self.store.lock:
                    ids = self._ext_index(conn, obj, ext).get(rest[2].casefold(), [])
                if len(ids) > 1:
                    return json_response([self._url(version, obj.name, i) for i in ids], 300)
                if not ids:
                    raise not_found()
                rec = self._live_record(conn, obj, ids[0])
                return json_response(self._full_record(conn, obj, rec, version, request))
            update_only = request.query_params.get("updateOnly", "").lower() == "true"
            return self._upsert_one(
                request, conn, obj, ext, rest[2], self._json(body), version, update_only
            )
        raise not_found()

    @staticmethod
    def _url(version: str, obj: str, rec_id: str) -> str:
        return f"{DATA_PREFIX}/v{version}/sobjects/{obj}/{rec_id}"

    def _describe_global(self, obj: SfObject, version: str) -> dict[str, Any]:
        base = f"{DATA_PREFIX}/v{version}/sobjects/{obj.name}"
        return {
            "name": obj.name,
            "label": obj.name,
            "labelPlural": obj.label_plural,
            "keyPrefix": obj.key_prefix,
            "custom": False,
            "queryable": True,
            "retrieveable": True,
            "searchable": True,
            "createable": True,
            "updateable": True,
            "deletable": obj.soft_delete,
            "replicateable": True,
            "urls": {
                "sobject": base,
                "describe": f"{base}/describe",
                "rowTemplate": f"{base}/{{ID}}",
            },
        }

    def _describe(self, obj: SfObject, version: str) -> dict[str, Any]:
        return {
            **self._describe_global(obj, version),
            "childRelationships": [],
            "fields": [f.describe() for f in self.fields_of(obj.name).values()],
        }

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except ValueError as exc:
            raise ApiError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc

    def _record_by_id(self, conn: Connection, obj: SfObject, rec_id: str) -> Record | None:
        if not is_valid(rec_id) or rec_id[:3] != obj.key_prefix:
            return None
        table = conn.tables.get(obj.name)
        return table.get(to18(rec_id)) if table is not None else None

    def _live_record(self, conn: Connection, obj: SfObject, rec_id: str) -> Record:
        if not is_valid(rec_id):
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {rec_id}"
            )
        rec = self._record_by_id(conn, obj, rec_id)
        if rec is None:
            raise not_found()
        if rec.get("IsDeleted"):
            raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return rec

    def _full_record(
        self, conn: Connection, obj: SfObject, rec: Record, version: str, request: Request
    ) -> dict[str, Any]:
        wanted = request.query_params.get("fields")
        fields = self.fields_of(obj.name)
        if wanted:
            names = []
            for name in (n.strip() for n in wanted.split(",") if n.strip()):
                if name.lower() not in fields:
                    raise ApiError(
                        400,
                        "INVALID_FIELD",
                        f"No such column '{name}' on entity "
                        f"'{obj.name}'. If you are attempting to use a custom field, "
                        "be sure to append the '__c' after the custom field name. "
                        "Please reference your WSDL or the describe call for the "
                        "appropriate names.",
                    )
                names.append(fields[name.lower()].name)
        else:
            names = [f.name for f in fields.values()]
        return self._project(conn, obj.name, rec, dict.fromkeys(names), version)

    def _ext_field(self, obj: SfObject, name: str) -> SfField:
        f = self.fields_of(obj.name).get(name.lower())
        if f is None:
            raise not_found(
                f"Provided external ID field does not exist or is not accessible: {name}"
            )
        if not f.external_id and f.name != "Id":
            raise ApiError(
                400,
                "INVALID_FIELD",
                f"Field name provided, {f.name} is not an "
                f"External ID or indexed field for {obj.name}",
            )
        return f

    def _ext_index(self, conn: Connection, obj: SfObject, ext: SfField) -> dict[str, list[str]]:
        """External ID value (case-insensitive) -> ids of live records, built per request."""
        index: dict[str, list[str]] = {}
        table = conn.tables.get(obj.name)
        for rec in table or ():
            v = rec.get(ext.name)
            if v is not None and not rec.get("IsDeleted"):
                index.setdefault(str(v).casefold(), []).append(rec["Id"])
        return index

    # -- writes ---------------------------------------------------------------------------------
    def _now(self) -> str:
        return sf_datetime(self.store.now())

    def _coerce(
        self, obj: SfObject, body: Any, inserting: bool, allow_id: str | None = None
    ) -> dict[str, Any]:
        """Validate a write body against the schema; returns canonical-name -> value."""
        if not isinstance(body, dict):
            raise WriteError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {obj.name} from a non-object JSON value",
            )
        fields = self.fields_of(obj.name)
        out: dict[str, Any] = {}
        for name, value in body.items():
            if name == "attributes":
                continue
            f = fields.get(name.lower())
            if f is None:
                raise WriteError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
                )
            if f.name == "Id" and allow_id is not None and value in (allow_id, allow_id[:15]):
                continue
            if not f.updateable:
                if f.name == "Id" and inserting:
                    raise WriteError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                        ["Id"],
                    )
                raise WriteError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {f.name}. Please check the "
                    "security settings of this field and verify that it is "
                    "read/write for your profile or permission set.",
                    [f.name],
                )
            out[f.name] = self._coerce_value(f, value)
        return out

    @staticmethod
    def _coerce_value(f: SfField, value: Any) -> Any:
        def bad() -> WriteError:
            kind = type(value).__name__.upper()
            return WriteError(
                "JSON_PARSER_ERROR",
                f"Cannot deserialize instance of {f.type} "
                f"from VALUE_{kind} value {value} or request may be missing a "
                f"required field",
                [f.name],
            )

        if value is None:
            return None
        typ = f.type
        if typ in ("id", "reference"):
            ok = (
                isinstance(value, str)
                and is_valid(value)
                and (f.reference_to is None or value[:3] == OBJECTS[f.reference_to].key_prefix)
            )
            if not ok:
                label = f.reference_to or "Record"
                raise WriteError(
                    "MALFORMED_ID", f"{label} ID: id value of incorrect type: {value}", [f.name]
                )
            return to18(value)
        if typ in NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                raise bad()
            if isinstance(value, str):  # Salesforce accepts numbers sent as JSON strings
                try:
                    return float(value.strip())
                except ValueError:
                    raise bad() from None
            return value
        if typ == "boolean":
            if not isinstance(value, bool):
                raise bad()
            return value
        if typ == "date":
            if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
                raise bad()
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:
                raise bad() from None
        if typ == "datetime":
            try:
                return sf_datetime(parse_datetime(str(value)))
            except ValueError:
                raise bad() from None
        if isinstance(value, dict | list):
            raise bad()
        return value if isinstance(value, str) else json.dumps(value)

    def _next_id(self, obj: SfObject, table: Table) -> str:
        n = self._id_seq.get(obj.key_prefix, 10_000_000 + len(table))
        while True:
            n += 1
            candidate = make_id(obj.key_prefix, n)
            if (candidate,) not in table.rows:
                self._id_seq[obj.key_prefix] = n
                return candidate

    def _new_record(
        self, conn: Connection, obj: SfObject, changes: dict[str, Any], rec_id: str | None = None
    ) -> Record:
        """Build (not store) a new record; raises REQUIRED_FIELD_MISSING."""
        missing = [n for n in obj.required if changes.get(n) in (None, "")]
        if missing:
            raise WriteError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        table = conn.table(obj.name, ("Id",))
        now = self._now()
        rec: Record = {f.name: None for f in OBJECTS[obj.name].fields}
        rec.update(changes)
        rec["Id"] = rec_id or self._next_id(obj, table)
        rec.update({"CreatedDate": now, "LastModifiedDate": now, "SystemModstamp": now})
        if obj.soft_delete:
            rec["IsDeleted"] = False
        if obj.name == "User":
            rec["Name"] = rec.get("Name") or " ".join(
                x for x in (rec.get("FirstName"), rec.get("LastName")) if x
            )
            if rec.get("IsActive") is None:
                rec["IsActive"] = True
        return rec

    def _store_update(
        self, conn: Connection, obj: SfObject, rec: Record, changes: dict[str, Any]
    ) -> None:
        now = self._now()
        conn.table(obj.name, ("Id",)).upsert(
            {**rec, **changes, "LastModifiedDate": now, "SystemModstamp": now}
        )

    def _target(self, conn: Connection, obj: SfObject, rec_id: Any) -> Record:
        """The record a collection item addresses, or the per-record error Salesforce gives."""
        if not isinstance(rec_id, str) or not rec_id:
            raise WriteError("MISSING_ARGUMENT", "Id not specified in an update call")
        if not is_valid(rec_id):
            raise WriteError("MALFORMED_ID", f"malformed id {rec_id}", ["Id"])
        if rec_id[:3] != obj.key_prefix:
            raise WriteError(
                "MALFORMED_ID", f"{obj.name} ID: id value of incorrect type: {rec_id}", ["Id"]
            )
        rec = self._record_by_id(conn, obj, rec_id)
        if rec is None:
            raise WriteError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
        if rec.get("IsDeleted"):
            raise WriteError("ENTITY_IS_DELETED", "entity is deleted")
        return rec

    def _write_response(
        self,
        request: Request,
        conn: Connection,
        obj: str,
        body: Any,
        status: int,
        response: Any,
        **extra: Any,
    ) -> Response:
        self.log_write(request, conn.name, status, body, response, object=obj, **extra)
        if status == 204:
            return Response(status_code=204)
        return json_response(response, status)

    def _create_one(self, request: Request, conn: Connection, obj: SfObject, body: Any) -> Response:
        with self.store.lock:
            try:
                rec = self._new_record(conn, obj, self._coerce(obj, body, inserting=True))
            except WriteError as exc:
                raise exc.api_error() from None
            conn.table(obj.name, ("Id",)).upsert(rec)
            result = {"id": rec["Id"], "success": True, "errors": []}
            return self._write_response(request, conn, obj.name, body, 201, result, id=rec["Id"])

    def _update_one(
        self, request: Request, conn: Connection, obj: SfObject, rec_id: str, body: Any
    ) -> Response:
        with self.store.lock:
            rec = self._live_record(conn, obj, rec_id)
            try:
                changes = self._coerce(obj, body, inserting=False, allow_id=rec["Id"])
            except WriteError as exc:
                raise exc.api_error() from None
            self._store_update(conn, obj, rec, changes)
            return self._write_response(request, conn, obj.name, body, 204, None, id=rec["Id"])

    def _delete_one(
        self, request: Request, conn: Connection, obj: SfObject, rec_id: str
    ) -> Response:
        with self.store.lock:
            rec = self._live_record(conn, obj, rec_id)
            if not obj.soft_delete:
                raise ApiError(
                    400,
                    "INVALID_TYPE_FOR_OPERATION",
                    f"entity type {obj.name} does not support delete",
                )
            self._store_update(conn, obj, rec, {"IsDeleted": True})
            return self._write_response(request, conn, obj.name, None, 204, None, id=rec["Id"])

    def _upsert_one(
        self,
        request: Request,
        conn: Connection,
        obj: SfObject,
        ext: SfField,
        value: str,
        body: Any,
        version: str,
        update_only: bool,
    ) -> Response:
        with self.store.lock:
            if ext.name == "Id":
                rec = self._record_by_id(conn, obj, value)
                ids = [rec["Id"]] if rec is not None and not rec.get("IsDeleted") else []
            else:
                ids = self._ext_index(conn, obj, ext).get(value.casefold(), [])
            if len(ids) > 1:
                return json_response([self._url(version, obj.name, i) for i in ids], 300)
            if not ids and (update_only or ext.name == "Id"):
                raise not_found()
            try:
                changes = self._coerce(
                    obj, body, inserting=not ids, allow_id=ids[0] if ids else None
                )
                if ext.name != "Id":
                    changes[ext.name] = value
                if ids:
                    rec = self._live_record(conn, obj, ids[0])
                    self._store_update(conn, obj, rec, changes)
                    status, rec_id = 200, ids[0]
                else:
                    new = self._new_record(conn, obj, changes)
                    conn.table(obj.name, ("Id",)).upsert(new)
                    status, rec_id = 201, new["Id"]
            except WriteError as exc:
                raise exc.api_error() from None
            result = {"id": rec_id, "success": True, "errors": [], "created": status == 201}
            return self._write_response(request, conn, obj.name, body, status, result, id=rec_id)

    # -- sObject Collections --------------------------------------------------------------------
    def _collections(
        self,
        request: Request,
        conn: Connection,
        version: str,
        rest: list[str],
        body: bytes,
        only: Callable[..., None],
    ) -> Response:
        if len(rest) == 2:
            only("PATCH")
            obj = self.sobject(rest[0])
            if obj is None:
                raise not_found()
            return self._collection_write(
                request, conn, body, "upsert", obj, self._ext_field(obj, rest[1])
            )
        if rest:
            raise not_found()
        only("PATCH", "POST", "DELETE")
        if request.method == "DELETE":
            return self._collection_delete(request, conn)
        return self._collection_write(
            request, conn, body, "update" if request.method == "PATCH" else "create"
        )

    @staticmethod
    def _rolled_back() -> dict[str, Any]:
        return {
            "success": False,
            "errors": [
                {
                    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                    "message": "Record rolled back because not all records were valid and the request "  # noqa: E501
                    "was using AllOrNone header",
                    "fields": [],
                }
            ],
        }

    def _collection_write(
        self,
        request: Request,
        conn: Connection,
        raw: bytes,
        mode: str,
        upsert_obj: SfObject | None = None,
        ext: SfField | None = None,
    ) -> Response:
        body = self._json(raw)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "The request body must be an object with a records array"
            )
        records = body["records"]
        if len(records) > MAX_COLLECTION:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more "
                f"than {MAX_COLLECTION} records into this call",
            )
        all_or_none = bool(body.get("allOrNone", False))
        with self.store.lock:
            # plan every record first, so allOrNone can refuse the lot before anything changes
            plans: list[tuple[str, SfObject, Record, dict[str, Any]] | WriteError] = []
            index: dict[str, list[str]] | None = None
            if upsert_obj is not None and ext is not None and ext.name != "Id":
                index = self._ext_index(conn, upsert_obj, ext)
            planned: dict[str, Record] = {}
            for item in records:
                try:
                    plans.append(self._plan(conn, mode, item, upsert_obj, ext, index, planned))
                except WriteError as exc:
                    plans.append(exc)
            failed = any(isinstance(p, WriteError) for p in plans)
            results: list[dict[str, Any]] = []
            for p in plans:
                if isinstance(p, WriteError):
                    results.append(p.result())
                elif all_or_none and failed:
                    results.append(self._rolled_back())
                else:
                    kind, obj, rec, changes = p
                    table = conn.table(obj.name, ("Id",))
                    if kind == "create":
                        table.upsert(rec)
                    elif kind == "update-planned":
                        pass  # already folded into a record this request creates
                    else:
                        self._store_update(conn, obj, table.rows[(rec["Id"],)], changes)
                    result: dict[str, Any] = {"id": rec["Id"], "success": True, "errors": []}
                    if mode == "upsert":
                        result["created"] = kind == "create"
                    results.append(result)
            return self._write_response(
                request, conn, upsert_obj.name if upsert_obj else "*", body, 200, results
            )

    def _plan(
        self,
        conn: Connection,
        mode: str,
        item: Any,
        upsert_obj: SfObject | None,
        ext: SfField | None,
        index: dict[str, list[str]] | None,
        planned: dict[str, Record],
    ) -> tuple[str, SfObject, Record, dict[str, Any]]:
        if not isinstance(item, dict):
            raise WriteError("JSON_PARSER_ERROR", "each record must be a JSON object")
        attrs = item.get("attributes")
        type_name = attrs.get("type") if isinstance(attrs, dict) else None
        if not type_name:
            raise WriteError("INVALID_TYPE", "sObject type is not specified in attributes")
        obj = self.sobject(str(type_name))
        if obj is None or (upsert_obj is not None and obj.name != upsert_obj.name):
            raise WriteError("INVALID_TYPE", f"sObject type '{type_name}' is not supported.")
        fields = {k: v for k, v in item.items() if k.lower() != "id"}
        rec_id = next((v for k, v in item.items() if k.lower() == "id"), None)
        if mode == "update":
            rec = self._target(conn, obj, rec_id)
            return "update", obj, rec, self._coerce(obj, fields, inserting=False)
        if mode == "create":
            if rec_id is not None:
                raise WriteError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                )
            rec = self._new_record(conn, obj, self._coerce(obj, fields, inserting=True))
            return "create", obj, rec, {}
        assert ext is not None
        if ext.name == "Id":
            rec = self._target(conn, obj, rec_id)
            return "update", obj, rec, self._coerce(obj, fields, inserting=False)
        value = next((v for k, v in item.items() if k.lower() == ext.name.lower()), None)
        if value in (None, ""):
            raise WriteError("MISSING_ARGUMENT", f"{ext.name} not specified", [ext.name])
        assert index is not None
        ids = index.get(str(value).casefold(), [])
        if len(ids) > 1:
            raise WriteError(
                "DUPLICATE_EXTERNAL_ID",
                f"{ext.name}: more than one record found for external id field: [{', '.join(ids)}]",
                [ext.name],
            )
        changes = self._coerce(obj, fields, inserting=not ids)
        if ids:
            rec = planned.get(ids[0]) or self._target(conn, obj, ids[0])
            if ids[0] in planned:  # created earlier in this request: fold into the create
                rec.update(changes)
                return "update-planned", obj, rec, {}
            return "update", obj, rec, changes
        rec = self._new_record(conn, obj, changes)
        planned[rec["Id"]] = rec
        index[str(value).casefold()] = [rec["Id"]]
        return "create", obj, rec, {}

    def _collection_delete(self, request: Request, conn: Connection) -> Response:
        ids = [i for i in request.query_params.get("ids", "").split(",") if i]
        if not ids:
            raise ApiError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > MAX_COLLECTION:
            raise ApiError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more "
                f"than {MAX_COLLECTION} records into this call",
            )
        all_or_none = request.query_params.get("allOrNone", "").lower() == "true"
        with self.store.lock:
            plans: list[tuple[SfObject, Record] | WriteError] = []
            for rec_id in ids:
                obj = (
                    self.sobject(PREFIX_TO_OBJECT.get(rec_id[:3], "")) if is_valid(rec_id) else None
                )
                try:
                    if obj is None:
                        raise WriteError("MALFORMED_ID", f"malformed id {rec_id}", ["Id"])
                    if not obj.soft_delete:
                        raise WriteError(
                            "INVALID_TYPE_FOR_OPERATION",
                            f"entity type {obj.name} does not support delete",
                        )
                    plans.append((obj, self._target(conn, obj, rec_id)))
                except WriteError as exc:
                    plans.append(exc)
            failed = any(isinstance(p, WriteError) for p in plans)
            results = []
            for p in plans:
                if isinstance(p, WriteError):
                    results.append(p.result())
                elif all_or_none and failed:
                    results.append(self._rolled_back())
                else:
                    obj, rec = p
                    self._store_update(conn, obj, rec, {"IsDeleted": True})
                    results.append({"id": rec["Id"], "success": True, "errors": []})
            return self._write_response(request, conn, "*", None, 200, results)
