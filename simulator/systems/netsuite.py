"""NetSuite SuiteTalk REST emulator: OAuth 2.0 M2M tokens, SuiteQL, the Record API.

Several NetSuite accounts (connections ``apac``, ``europe``) share one server; each lives under
a path prefix of its account id, standing in for ``https://<accountid>.suitetalk.api.netsuite.com``.
Rows are stored exactly as SuiteQL returns them (lower-case columns, string values, null columns
omitted); the Record API converts them to its camelCase, typed shape on the way out.

SuiteQL is parsed with sqlglot (Oracle dialect, which SuiteQL follows) and compiled into Python
closures over the stored rows. A query's full result is cached while a client pages through it
(``offset > 0``), so walking a million rows costs one scan, not one per page.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import sqlglot
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlglot import exp
from sqlglot.dialects.oracle import Oracle
from sqlglot.time import format_time
from starlette.concurrency import run_in_threadpool

from simulator.emulator import SystemEmulator, json_response
from simulator.store import Connection, Record, Table

logging.getLogger("sqlglot").setLevel(logging.ERROR)  # it warns on unsupported statements

KEY_DIR = Path(__file__).resolve().parent.parent / "keys"
TOKEN_PATH = "/services/rest/auth/oauth2/v1/token"
MAX_LIMIT = 1000
MAX_REST_ROWS = 100_000  # SuiteQL through REST stops at 100k rows
JWT_ALGORITHMS = ["PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512"]
RFC_400 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1"
RFC_401 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2"
RFC_404 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.5"
RFC_429 = "https://www.rfc-editor.org/rfc/rfc6585.html#section-4"
RFC_500 = "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.6.1"
BAD_QUERY = "Invalid search query. Detailed unprocessed description follows. "

# -- schema: the SuiteQL columns of each table (simulator/README.md) -------------------------
SCHEMA: dict[str, tuple[str, ...]] = {
    "subsidiary": ("id", "name", "country", "currency", "isinactive", "lastmodifieddate"),
    "currency": ("id", "symbol", "name", "isbasecurrency", "lastmodifieddate"),
    "currencyrate": (
        "id",
        "basecurrency",
        "transactioncurrency",
        "exchangerate",
        "effectivedate",
        "lastmodifieddate",
    ),
    "department": ("id", "name", "subsidiary", "isinactive", "lastmodifieddate"),
    "customer": (
        "id",
        "entityid",
        "companyname",
        "email",
        "phone",
        "url",
        "billcountry",
        "billcity",
        "subsidiary",
        "currency",
        "parent",
        "isperson",
        "isinactive",
        "terms",
        "custentity_tax_id",
        "custentity_conform_id",
        "custentity_crm_account_id",
        "datecreated",
        "lastmodifieddate",
    ),
    "job": (
        "id",
        "entityid",
        "companyname",
        "parent",
        "subsidiary",
        "currency",
        "department",
        "entitystatus",
        "startdate",
        "projectedenddate",
        "enddate",
        "custentity_billing_method",
        "custentity_psa_project_code",
        "isinactive",
        "datecreated",
        "lastmodifieddate",
    ),
    "jobstatus": ("id", "name"),
    "employee": (
        "id",
        "entityid",
        "firstname",
        "lastname",
        "email",
        "subsidiary",
        "department",
        "title",
        "isinactive",
        "lastmodifieddate",
    ),
    "transaction": (
        "id",
        "tranid",
        "type",
        "entity",
        "trandate",
        "duedate",
        "currency",
        "exchangerate",
        "foreigntotal",
        "taxtotal",
        "foreignamountremaining",
        "status",
        "memo",
        "custbody_project",
        "custbody_disputed",
        "custbody_psa_invoice_id",
        "custbody_stripe_charge_id",
        "createddate",
        "lastmodifieddate",
    ),
    "transactionline": (
        "transaction",
        "id",
        "linesequencenumber",
        "mainline",
        "taxline",
        "item",
        "memo",
        "quantity",
        "rate",
        "foreignamount",
        "entity",
        "subsidiary",
        "department",
        "linelastmodifieddate",
    ),
    "previoustransactionlink": (
        "previousdoc",
        "nextdoc",
        "linktype",
        "foreignamount",
        "lastmodifieddate",
    ),
    "timebill": (
        "id",
        "employee",
        "customer",
        "item",
        "hours",
        "trandate",
        "isbillable",
        "rate",
        "posted",
        "memo",
        "custcol_psa_time_entry_id",
        "subsidiary",
        "datecreated",
        "lastmodifieddate",
    ),
    "deletedrecord": ("recordtype", "recordid", "deleteddate"),
}
DATETIME_COLS = {
    "lastmodifieddate",
    "datecreated",
    "createddate",
    "linelastmodifieddate",
    "deleteddate",
}
DATE_COLS = {"trandate", "duedate", "startdate", "projectedenddate", "enddate", "effectivedate"}
NUM_COLS = {
    "id",
    "subsidiary",
    "currency",
    "basecurrency",
    "transactioncurrency",
    "exchangerate",
    "parent",
    "department",
    "entitystatus",
    "entity",
    "foreigntotal",
    "taxtotal",
    "foreignamountremaining",
    "custbody_project",
    "transaction",
    "linesequencenumber",
    "quantity",
    "rate",
    "foreignamount",
    "previousdoc",
    "nextdoc",
    "employee",
    "customer",
    "hours",
    "recordid",
}
# reference columns -> the table they point at ((table, column) overrides the column default)
REFS: dict[Any, str] = {
    "subsidiary": "subsidiary",
    "currency": "currency",
    "basecurrency": "currency",
    "transactioncurrency": "currency",
    "department": "department",
    "entitystatus": "jobstatus",
    "parent": "customer",
    "entity": "customer",
    "employee": "employee",
    "custbody_project": "job",
    "transaction": "transaction",
    "previousdoc": "transaction",
    "nextdoc": "transaction",
    ("timebill", "customer"): "job",
}
TYPE_NAMES = {"CustInvc": "Invoice", "CustCred": "Credit Memo", "CustPymt": "Payment"}
STATUS_NAMES = {
    ("CustInvc", "A"): "Open",
    ("CustInvc", "B"): "Paid In Full",
    ("CustCred", "A"): "Open",
    ("CustCred", "B"): "Fully Applied",
    ("CustPymt", "B"): "Deposited",
}

# -- Record API: record type -> (table, transaction type), and column -> camelCase field ------
RECORD_TYPES: dict[str, tuple[str, str | None]] = {
    "customer": ("customer", None),
    "job": ("job", None),
    "employee": ("employee", None),
    "invoice": ("transaction", "CustInvc"),
    "creditmemo": ("transaction", "CustCred"),
    "customerpayment": ("transaction", "CustPymt"),
    "timebill": ("timebill", None),
    "subsidiary": ("subsidiary", None),
    "currency": ("currency", None),
    "department": ("department", None),
}
TABLE_RECORD_TYPE = {
    "customer": "customer",
    "job": "job",
    "employee": "employee",
    "transaction": "invoice",
    "timebill": "timeBill",
    "subsidiary": "subsidiary",
    "currency": "currency",
    "department": "department",
    "jobstatus": "jobStatus",
}
CAMEL: dict[str, str] = {
    "entityid": "entityId",
    "companyname": "companyName",
    "isperson": "isPerson",
    "isinactive": "isInactive",
    "datecreated": "dateCreated",
    "createddate": "createdDate",
    "lastmodifieddate": "lastModifiedDate",
    "entitystatus": "entityStatus",
    "startdate": "startDate",
    "projectedenddate": "projectedEndDate",
    "enddate": "endDate",
    "firstname": "firstName",
    "lastname": "lastName",
    "tranid": "tranId",
    "trandate": "tranDate",
    "duedate": "dueDate",
    "exchangerate": "exchangeRate",
    "foreigntotal": "total",
    "taxtotal": "taxTotal",
    "foreignamountremaining": "amountRemaining",
    "isbillable": "isBillable",
    "isbasecurrency": "isBaseCurrency",
}
BOOL_COLS = {
    "isinactive",
    "isperson",
    "isbillable",
    "posted",
    "isbasecurrency",
    "mainline",
    "taxline",
    "custbody_disputed",
}
READ_ONLY = {"id", "datecreated", "createddate", "lastmodifieddate", "type"}
_EMPTY: Record = {}


def _fmt_datetime(value: datetime) -> str:
    """NetSuite's default account format: ``5/20/2026 8:49:32 PM``."""
    hour = value.hour % 12 or 12
    ampm = "AM" if value.hour < 12 else "PM"
    return (
        f"{value.month}/{value.day}/{value.year} {hour}:{value.minute:02d}:"
        f"{value.second:02d} {ampm}"
    )


def _parse_ns(value: str) -> int | None:
    """``M/D/YYYY[ h:mm:ss AM]`` -> a sortable int ``YYYYMMDDhhmmss``; None if it isn't one."""
    try:
        date, _, time = value.partition(" ")
        month, day, year = date.split("/")
        hour = minute = second = 0
        if time:
            hms, _, ampm = time.partition(" ")
            parts = hms.split(":")
            hour, minute = int(parts[0]), int(parts[1])
            second = int(parts[2]) if len(parts) > 2 else 0
            if ampm:
                hour = hour % 12 + (12 if ampm.upper() == "PM" else 0)
        m, d = int(month), int(day)
        if not (1 <= m <= 12 and 1 <= d <= 31 and 0 <= hour < 24):
            return None
        return ((((int(year) * 100 + m) * 100 + d) * 100 + hour) * 100 + minute) * 100 + second
    except (ValueError, IndexError, AttributeError):
        return None


def _key_of_dt(value: datetime) -> int:
    return int(value.strftime("%Y%m%d%H%M%S"))


def _dt_of_key(key: int) -> datetime:
    return datetime.strptime(str(key).zfill(14), "%Y%m%d%H%M%S")


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _num_str(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


def _oracle_format(fmt: str) -> str:
    py = format_time(fmt, Oracle.TIME_MAPPING, Oracle.TIME_TRIE) or fmt
    return py.replace('"', "").replace("AM", "%p").replace("PM", "%p")


def _column_kind(name: str) -> str:
    if name in DATETIME_COLS or name in DATE_COLS:
        return "date"
    return "num" if name in NUM_COLS else "text"


def problem(status: int, code: str, detail: str, **extra: str) -> Response:
    """NetSuite's RFC 7807-like error body."""
    types = {
        400: (RFC_400, "Bad Request"),
        401: (RFC_401, "Unauthorized"),
        404: (RFC_404, "Not Found"),
        429: (RFC_429, "Too Many Requests"),
        500: (RFC_500, "Internal Server Error"),
    }
    rtype, title = types[status]
    error = {"detail": detail, "o:errorCode": code, **extra}
    return json_response(
        {"type": rtype, "title": title, "status": status, "o:errorDetails": [error]}, status
    )


class QueryError(Exception):
    """Anything wrong with a SuiteQL query: answered 400 INVALID_PARAMETER on ``q``."""


# -- SuiteQL compilation ---------------------------------------------------------------------

Fn = Callable[[Any], Any]  # of a row: a record, or a tuple of records when joining
_NOCONST = object()


class _Compiled:
    """One compiled SQL expression: a function of a row tuple, its kind, maybe a constant."""

    __slots__ = ("fn", "kind", "const", "column")

    def __init__(self, fn: Fn, kind: str, const: Any = _NOCONST, column: str | None = None):
        self.fn, self.kind, self.const, self.column = fn, kind, const, column


class Plan:
    """A parsed SuiteQL SELECT over one table plus optional joins."""

    def __init__(self, engine: SuiteQL, sql: str):
        self.engine = engine
        try:
            statements = [s for s in sqlglot.parse(sql, read="oracle") if s is not None]
        except sqlglot.errors.SqlglotError as exc:
            raise QueryError("Invalid or unsupported search.") from exc
        if len(statements) != 1 or not isinstance(statements[0], exp.Select):
            raise QueryError("Invalid or unsupported search.")
        select: exp.Select = statements[0]
        for unsupported in (
            "group",
            "having",
            "distinct",
            "limit",
            "offset",
            "fetch",
            "with",
            "with_",
        ):
            if select.args.get(unsupported):
                raise QueryError(
                    f"Invalid or unsupported search: {unsupported.upper()} "
                    "is not supported by this emulator."
                )
        source = select.args.get("from_") or select.args.get("from")
        if source is None or not isinstance(source.this, exp.Table):
            raise QueryError("Invalid or unsupported search.")
        # slots: (alias, table name); row tuples hold one record per slot
        self.slots: list[tuple[str, str]] = [self._table(source.this)]
        self.joins: list[tuple[bool, exp.Expression]] = []
        for join in select.args.get("joins") or []:
            if not isinstance(join.this, exp.Table) or join.args.get("on") is None:
                raise QueryError("Invalid or unsupported search: only JOIN ... ON is supported.")
            side = (join.args.get("side") or "").upper()
            if side not in ("", "LEFT") or (join.args.get("kind") or "INNER").upper() not in (
                "INNER",
                "OUTER",
            ):
                raise QueryError("Invalid or unsupported search: only INNER and LEFT joins.")
            self.slots.append(self._table(join.this))
            self.joins.append((side == "LEFT", join.args["on"]))
        self.nullable = {i for i, (left, _) in enumerate(self.joins, 1) if left}
        self.single = not self.joins
        self.aliases: dict[str, exp.Expression] = {}
        self.select: list[tuple[str | None, exp.Expression]] = []  # (name, expr); name None = *
        unnamed = 0
        for item in select.expressions:
            if isinstance(item, exp.Star) or (
                isinstance(item, exp.Column) and isinstance(item.this, exp.Star)
            ):
                self.select.append((None, item))
                continue
            if isinstance(item, exp.Alias):
                name, expr = item.alias.lower(), item.this
            elif isinstance(item, exp.Column):
                name, expr = item.name.lower(), item
            else:
                unnamed += 1
                name, expr = f"expr{unnamed}", item
            self.aliases[name] = expr
            self.select.append((name, expr))
        self.aggregate = any(isinstance(e, exp.AggFunc) for _, e in self.select)
        if self.aggregate and any(
            n is None or not isinstance(e, exp.AggFunc) for n, e in self.select
        ):
            raise QueryError(
                "Invalid or unsupported search: mix of aggregates and columns "
                "needs GROUP BY, which is not supported."
            )
        where = select.args.get("where")
        self.rownum: int | None = None
        condition = self._take_rownum(where.this) if where is not None else None
        self.where = self.compile(condition).fn if condition is not None else None
        self.join_fns = [self._compile_join(i, on) for i, (_, on) in enumerate(self.joins, 1)]
        self.order: list[tuple[Fn, bool, bool]] = []
        order = select.args.get("order")
        for ordered in order.expressions if order else []:
            desc = bool(ordered.args.get("desc"))
            nulls_first = ordered.args.get("nulls_first")
            nulls_first = desc if nulls_first is None else bool(nulls_first)
            self.order.append((self._order_key(ordered.this), desc, nulls_first))
        self.projection = (
            []
            if self.aggregate
            else [(n, self.display(e)) for n, e in self.select if n is not None]
        )
        self.select_all = [i for i, (n, e) in enumerate(self.select) if n is None]
        self.aggregates = (
            [(n, self._aggregate(e)) for n, e in self.select] if self.aggregate else []
        )

    def _take_rownum(self, condition: exp.Expression) -> exp.Expression | None:
        """``ROWNUM <= n`` (a top-level AND term) caps the rows before ORDER BY, as in Oracle."""
        terms = list(condition.flatten()) if isinstance(condition, exp.And) else [condition]
        kept = []
        for term in terms:
            if (
                isinstance(term, exp.LTE | exp.LT)
                and isinstance(term.this, exp.Column)
                and term.this.name.lower() == "rownum"
                and isinstance(term.expression, exp.Literal)
            ):
                cap = int(float(term.expression.this)) - (1 if isinstance(term, exp.LT) else 0)
                self.rownum = max(0, cap if self.rownum is None else min(cap, self.rownum))
            else:
                kept.append(term)
        if not kept:
            return None
        combined = kept[0]
        for term in kept[1:]:
            combined = exp.And(this=combined, expression=term)
        return combined

    # -- tables and columns ------------------------------------------------------------------
    def _table(self, table: exp.Table) -> tuple[str, str]:
        name = table.name.lower()
        if name not in SCHEMA:
            raise QueryError(f"Search error occurred: Record '{name}' was not found.")
        return (table.alias_or_name.lower(), name)

    def _resolve(self, column: exp.Column) -> tuple[int, str]:
        name = column.name.lower()
        qualifier = column.table.lower()
        for i, (alias, table) in enumerate(self.slots):
            if qualifier and qualifier != alias:
                continue
            if name in SCHEMA[table] or name.startswith("cust"):
                return i, name
        owner = self.slots[0][1]
        if qualifier:
            owner = next((t for a, t in self.slots if a == qualifier), qualifier)
        raise QueryError(
            f"Search error occurred: Field '{name}' for record '{owner}' was "
            "not found. Reason: NOT_EXPOSED - Not available for channel SEARCH"
        )

    def _raw(self, slot: int, name: str) -> Fn:
        if self.single:  # one table: rows are the records themselves (no per-row tuples)
            return lambda r: r.get(name)
        if slot in self.nullable:
            return lambda r: (r[slot] or _EMPTY).get(name)
        return lambda r: r[slot].get(name)

    # -- typed expressions (WHERE, ORDER BY, ON) -----------------------------------------------
    def compile(self, node: exp.Expression) -> _Compiled:
        if isinstance(node, exp.Paren):
            return self.compile(node.this)
        if node.args.get("negate") and isinstance(
            node, exp.Like | exp.ILike | exp.In | exp.Between | exp.Is
        ):
            plain = node.copy()
            plain.set("negate", None)  # sqlglot marks "x NOT LIKE y" this way
            return self.compile(exp.Not(this=plain))
        if isinstance(node, exp.Column):
            alias = self.aliases.get(node.name.lower())
            if alias is not None and alias is not node and not node.table and not self._has(node):
                return self.compile(self.aliases[node.name.lower()])
            slot, name = self._resolve(node)
            raw = self._raw(slot, name)
            kind = _column_kind(name)
            if kind == "num":
                if self.single:  # the hot path of a big scan: one closure per value
                    return _Compiled(lambda r: _num(r.get(name)), kind, column=name)
                return _Compiled(lambda r: _num(raw(r)), kind, column=name)
            if kind == "date":
                memo = self.engine.memo
                if self.single:
                    return _Compiled(
                        lambda r: None if (v := r.get(name)) is None else memo[v], kind, column=name
                    )
                return _Compiled(
                    lambda r: None if (v := raw(r)) is None else memo[v], kind, column=name
                )
            return _Compiled(raw, kind, column=name)
        if isinstance(node, exp.Literal):
            value: Any = node.this if node.is_string else float(node.this)
            return _Compiled(lambda r: value, "text" if node.is_string else "num", value)
        if isinstance(node, exp.Null):
            return _Compiled(lambda r: None, "text", None)
        if isinstance(node, exp.Neg):
            inner = self.compile(node.this)
            if inner.const is _NOCONST or inner.kind != "num":
                raise QueryError("Invalid or unsupported search.")
            return _Compiled(lambda r: -inner.const, "num", -inner.const)
        if isinstance(node, exp.StrToDate | exp.StrToTime):
            text, fmt = node.this, node.args.get("format")
            if not isinstance(text, exp.Literal) or not isinstance(fmt, exp.Literal):
                raise QueryError("Invalid or unsupported search.")
            try:
                key = _key_of_dt(datetime.strptime(text.this, fmt.this.replace('"', "")))
            except ValueError as exc:
                raise QueryError(
                    f"Search error occurred: invalid date {text.this!r} for format."
                ) from exc
            return _Compiled(lambda r: key, "date", key)
        if isinstance(node, exp.And | exp.Or):
            a, b = self.compile(node.this).fn, self.compile(node.expression).fn
            if isinstance(node, exp.And):
                return _Compiled(lambda r: _and(a(r), b(r)), "bool")
            return _Compiled(lambda r: _or(a(r), b(r)), "bool")
        if isinstance(node, exp.Not):
            inner_fn = self.compile(node.this).fn
            return _Compiled(lambda r: None if (v := inner_fn(r)) is None else not v, "bool")
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise QueryError("Invalid or unsupported search.")
            target = node.this
            if isinstance(target, exp.Column):
                raw = self._raw(*self._resolve(target))
                return _Compiled(lambda r: raw(r) is None, "bool")
            fn = self.compile(target).fn
            return _Compiled(lambda r: fn(r) is None, "bool")
        if isinstance(node, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE):
            return self._compare(node)
        if isinstance(node, exp.Between):
            low = exp.GTE(this=node.this, expression=node.args["low"])
            high = exp.LTE(this=node.this, expression=node.args["high"])
            return self.compile(exp.And(this=low, expression=high))
        if isinstance(node, exp.In):
            return self._in(node)
        if isinstance(node, exp.Like | exp.ILike):
            return self._like(node)
        if isinstance(node, exp.Upper | exp.Lower):
            inner_fn = self.compile(node.this).fn
            up = isinstance(node, exp.Upper)
            return _Compiled(
                lambda r: (
                    None
                    if (v := inner_fn(r)) is None
                    else (str(v).upper() if up else str(v).lower())
                ),
                "text",
            )
        if isinstance(node, exp.Coalesce):
            parts = [self.compile(node.this), *(self.compile(e) for e in node.expressions)]
            fns = [p.fn for p in parts]
            return _Compiled(
                lambda r: next((v for f in fns if (v := f(r)) is not None), None), parts[0].kind
            )
        if isinstance(node, exp.ToChar | exp.Dot):
            display = self.display(node)
            return _Compiled(lambda r: display(r), "text")
        raise QueryError(f"Invalid or unsupported search: {node.sql('oracle')[:80]}")

    def _has(self, column: exp.Column) -> bool:
        name = column.name.lower()
        return any(name in SCHEMA[t] for _, t in self.slots)

    def _coerce(self, side: _Compiled, kind: str) -> _Compiled:
        """Implicit conversion of a text operand to the other operand's kind (as Oracle does,
        with the account's date format for strings compared with dates)."""
        if side.kind == kind or kind in ("text", "bool"):
            return side
        if side.kind not in ("text",):
            raise QueryError("Invalid or unsupported search: inconsistent datatypes.")
        convert: Callable[[Any], Any]
        if kind == "num":
            convert = _num
        else:
            memo = self.engine.parse_memo

            def convert(v: Any) -> int | None:
                key = memo(v)
                if key is None and isinstance(v, str):
                    try:
                        key = _key_of_dt(datetime.fromisoformat(v))
                    except ValueError:
                        return None
                return key

        if side.const is not _NOCONST:
            value = convert(side.const) if side.const is not None else None
            if side.const is not None and value is None:
                raise QueryError(f"Search error occurred: cannot convert {side.const!r}.")
            return _Compiled(lambda r: value, kind, value)
        fn = side.fn
        return _Compiled(lambda r: convert(fn(r)), kind)

    def _pair(self, left: exp.Expression, right: exp.Expression) -> tuple[_Compiled, _Compiled]:
        a, b = self.compile(left), self.compile(right)
        if a.kind != b.kind:
            if a.kind == "text":
                a = self._coerce(a, b.kind)
            else:
                b = self._coerce(b, a.kind)
        return a, b

    def _compare(self, node: exp.Expression) -> _Compiled:
        a, b = self._pair(node.this, node.expression)
        fa, fb = a.fn, b.fn
        op = {
            exp.EQ: "__eq__",
            exp.NEQ: "__ne__",
            exp.LT: "__lt__",
            exp.LTE: "__le__",
            exp.GT: "__gt__",
            exp.GTE: "__ge__",
        }[type(node)]
        if b.const is not _NOCONST:  # the common case: column OP literal
            const = b.const
            if const is None:
                return _Compiled(lambda r: None, "bool")
            bound = getattr(
                const,
                {
                    "__lt__": "__gt__",
                    "__gt__": "__lt__",
                    "__le__": "__ge__",
                    "__ge__": "__le__",
                }.get(op, op),
            )

            def cmp_const(r: tuple[Record | None, ...]) -> bool | None:
                v = fa(r)
                if v is None:
                    return None
                result = bound(v)
                return None if result is NotImplemented else result

            return _Compiled(cmp_const, "bool")

        def cmp(r: tuple[Record | None, ...]) -> bool | None:
            x, y = fa(r), fb(r)
            if x is None or y is None:
                return None
            return getattr(x, op)(y)

        return _Compiled(cmp, "bool")

    def _in(self, node: exp.In) -> _Compiled:
        left = self.compile(node.this)
        if node.args.get("query") or not node.expressions:
            raise QueryError("Invalid or unsupported search: IN needs a list of values.")
        values = [
            self._coerce(self.compile(e), left.kind) if left.kind != "text" else self.compile(e)
            for e in node.expressions
        ]
        if any(v.const is _NOCONST for v in values):
            raise QueryError("Invalid or unsupported search: IN takes literals only.")
        if left.kind == "text":
            consts = {
                str(_num_str(v.const)) if isinstance(v.const, float) else v.const for v in values
            }
        else:
            consts = {v.const for v in values}
        fa = left.fn
        return _Compiled(lambda r: None if (v := fa(r)) is None else v in consts, "bool")

    def _like(self, node: exp.Like | exp.ILike) -> _Compiled:
        pattern = node.expression
        if not isinstance(pattern, exp.Literal) or not pattern.is_string:
            raise QueryError("Invalid or unsupported search: LIKE takes a string literal.")
        regex = re.compile(
            "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern.this)
            + r"\Z",
            re.DOTALL | (re.IGNORECASE if isinstance(node, exp.ILike) else 0),
        )
        fa = self.compile(node.this).fn
        return _Compiled(
            lambda r: (
                None
                if (v := fa(r)) is None
                else regex.match(v if isinstance(v, str) else _num_str(v)) is not None
            ),
            "bool",
        )

    def _compile_join(self, slot: int, on: exp.Expression) -> tuple[Fn, Fn, Fn | None]:
        """Hash join on the first equality between the new table and the ones before it; any
        further ON conditions are checked per pair."""
        conds = list(on.flatten()) if isinstance(on, exp.And) else [on]
        for i, cond in enumerate(conds):
            if isinstance(cond, exp.EQ) and all(
                isinstance(s, exp.Column) for s in (cond.this, cond.expression)
            ):
                sa, _ = self._resolve(cond.this)
                sb, _ = self._resolve(cond.expression)
                if slot in (sa, sb) and max(sa, sb) == slot and sa != sb:
                    inner, outer = (
                        (cond.this, cond.expression) if sa == slot else (cond.expression, cond.this)
                    )
                    rest = conds[:i] + conds[i + 1 :]
                    extra = None
                    if rest:
                        combined = rest[0]
                        for more in rest[1:]:
                            combined = exp.And(this=combined, expression=more)
                        extra = self.compile(combined).fn
                    return self._raw(*self._resolve(inner)), self._raw(*self._resolve(outer)), extra
        raise QueryError("Invalid or unsupported search: JOIN ... ON needs a.col = b.col.")

    def _order_key(self, node: exp.Expression) -> Fn:
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this)
            named: list[exp.Expression] = []
            for name, expr in self.select:  # "*" counts as the table's columns, in order
                if name is not None:
                    named.append(expr)
                    continue
                qualifier = expr.table.lower() if isinstance(expr, exp.Column) else ""
                named += [
                    exp.column(c, table=alias)
                    for alias, table in self.slots
                    if not qualifier or qualifier == alias
                    for c in SCHEMA[table]
                ]
            if not 1 <= position <= len(named):
                raise QueryError("Invalid or unsupported search: ORDER BY position.")
            node = named[position - 1]
        return self.compile(node).fn

    # -- display values (SELECT list) ----------------------------------------------------------
    def display(self, node: exp.Expression) -> Fn:
        """A SELECT item as SuiteQL returns it: a string, or None (omitted)."""
        if isinstance(node, exp.Paren):
            return self.display(node.this)
        if isinstance(node, exp.Column):
            return self._raw(*self._resolve(node))
        if isinstance(node, exp.ToChar):
            fmt = node.args.get("format")
            inner = self.compile(node.this)
            if inner.kind == "num" or fmt is None:
                raw_fn = self.display(node.this)
                return raw_fn
            if not isinstance(fmt, exp.Literal):
                raise QueryError("Invalid or unsupported search: TO_CHAR format.")
            pyfmt = _oracle_format(fmt.this)
            fn = inner.fn
            raw_fn = self.display(node.this)

            def to_char(r: tuple[Record | None, ...]) -> str | None:
                key = fn(r)
                if key is None:
                    return raw_fn(r)  # not a date (e.g. malformed data): pass it through
                return _dt_of_key(key).strftime(pyfmt)

            return to_char
        if (
            isinstance(node, exp.Dot)
            and isinstance(node.this, exp.Identifier)
            and node.this.name.upper() == "BUILTIN"
            and isinstance(node.expression, exp.Anonymous)
            and node.expression.name.upper() == "DF"
        ):
            args = node.expression.expressions
            if len(args) != 1 or not isinstance(args[0], exp.Column):
                raise QueryError("Invalid or unsupported search: BUILTIN.DF takes a column.")
            slot, name = self._resolve(args[0])
            table = self.slots[slot][1]
            raw = self._raw(slot, name)
            df = self.engine.display_value
            if name == "status":
                type_fn = self._raw(slot, "type")
                return lambda r: df(table, name, raw(r), type_fn(r))
            return lambda r: df(table, name, raw(r))
        compiled = self.compile(node)
        if compiled.kind == "bool":
            raise QueryError("Invalid or unsupported search.")
        fn = compiled.fn
        if compiled.kind == "num":
            return lambda r: None if (v := fn(r)) is None else _num_str(v)
        if compiled.kind == "date":
            return lambda r: None if (v := fn(r)) is None else _fmt_datetime(_dt_of_key(v))
        return fn

    def _aggregate(self, node: exp.Expression) -> Callable[[list[tuple[Any, ...]]], Any]:
        if isinstance(node, exp.Count):
            if isinstance(node.this, exp.Star):
                return lambda rows: str(len(rows))
            fn = self.compile(node.this).fn
            return lambda rows: str(sum(1 for r in rows if fn(r) is not None))
        if isinstance(node, exp.Max | exp.Min | exp.Sum):
            compiled = self.compile(node.this)
            raw = self.display(node.this)
            fn = compiled.fn
            if isinstance(node, exp.Sum):
                if compiled.kind != "num":
                    raise QueryError("Invalid or unsupported search: SUM of a non-number.")
                return lambda rows: _num_str(sum(v for r in rows if (v := fn(r)) is not None))
            pick = max if isinstance(node, exp.Max) else min

            def extreme(rows: list[tuple[Any, ...]]) -> Any:
                best = pick(
                    ((v, i) for i, r in enumerate(rows) if (v := fn(r)) is not None),
                    default=None,
                    key=lambda x: x[0],
                )
                return None if best is None else raw(rows[best[1]])

            return extreme
        raise QueryError(f"Invalid or unsupported search: {node.sql('oracle')[:80]}")


def _and(a: bool | None, b: bool | None) -> bool | None:
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def _or(a: bool | None, b: bool | None) -> bool | None:
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


class _DateMemo(dict[Any, int | None]):
    """Parsed date/datetime keys by stored string (self-validating: a changed row carries a
    different string), so a million-row scan parses each stamp once across queries."""

    def __missing__(self, value: Any) -> int | None:
        if len(self) > 2_000_000:
            self.clear()
        parsed = self[value] = _parse_ns(value) if isinstance(value, str) else None
        return parsed


class SuiteQL:
    """Runs plans against one connection's tables."""

    def __init__(self, conn: Connection, lock: threading.RLock):
        self.conn = conn
        self.lock = lock
        self.memo = _DateMemo()

    def parse_memo(self, value: Any) -> int | None:
        return None if value is None else self.memo[value]

    def display_value(self, table: str, column: str, value: Any, type_: Any = None) -> Any:
        """BUILTIN.DF: the referenced record's name instead of its id."""
        if value is None:
            return None
        if table == "transaction" and column == "type":
            return TYPE_NAMES.get(value, value)
        if table == "transaction" and column == "status":
            name = STATUS_NAMES.get((type_, value))
            return f"{TYPE_NAMES.get(type_, type_)} : {name}" if name else value
        target = REFS.get((table, column)) or REFS.get(column)
        if target is None:
            return value
        return ref_name(self.conn, target, value)

    def execute(self, plan: Plan) -> list[Any]:
        """All matching rows (as record tuples, one per table slot), in result order."""
        with self.lock:  # snapshot the rows; writers replace records, never edit them
            base = list(self._table(plan.slots[0][1]).rows.values())
            others = [list(self._table(t).rows.values()) for _, t in plan.slots[1:]]
        rows: Iterable[Any] = base
        if not plan.single:
            rows = ((r,) for r in base)
        for slot, ((left, _), (inner, outer, extra), records) in enumerate(
            zip(plan.joins, plan.join_fns, others, strict=True), 1
        ):
            index: dict[Any, list[Record]] = {}
            probe_shape: tuple[Record | None, ...] = (None,) * slot
            for rec in records:
                key = inner((*probe_shape, rec))
                if key is not None:
                    index.setdefault(key, []).append(rec)
            rows = _join(rows, index, outer, extra, left)
        where = plan.where
        if where:
            rows = (r for r in rows if where(r) is True)
        result = list(rows if plan.rownum is None else itertools.islice(rows, plan.rownum))
        for key_fn, desc, nulls_first in reversed(plan.order):
            flag_null = nulls_first == desc  # the null flag that sorts nulls as asked

            def sort_key(
                r: tuple[Record | None, ...], f: Fn = key_fn, fl: bool = flag_null
            ) -> tuple[bool, Any]:
                v = f(r)
                return ((v is None) == fl, v if v is not None else 0)

            result.sort(key=sort_key, reverse=desc)
        return result

    def _table(self, name: str) -> Table:
        return self.conn.tables.get(name) or Table(name=name, key=("id",))


def _join(
    rows: Iterable[tuple[Record | None, ...]],
    index: dict[Any, list[Record]],
    outer: Fn,
    extra: Fn | None,
    left: bool,
) -> Iterable[tuple[Record | None, ...]]:
    for row in rows:
        matched = False
        for rec in index.get(outer(row), ()):
            joined = (*row, rec)
            if extra is None or extra(joined) is True:
                matched = True
                yield joined
        if left and not matched:
            yield (*row, None)


def ref_name(conn: Connection, table: str, value: Any) -> Any:
    rec = conn.tables[table].get(value) if table in conn.tables else None
    if rec is None:
        return value
    if table in ("customer", "job"):
        return " ".join(x for x in (rec.get("entityid"), rec.get("companyname")) if x)
    if table == "employee":
        return rec.get("entityid") or value
    if table == "transaction":
        return f"{TYPE_NAMES.get(rec.get('type'), rec.get('type'))} #{rec.get('tranid', value)}"
    return rec.get("name", value)


# -- the emulator ----------------------------------------------------------------------------


class _ConcurrencyGate:
    """Counts in-flight requests per account and answers NetSuite's 429 over the account's
    ``concurrency_limit`` (a pure ASGI middleware, outermost, so the count spans the whole
    request including any injected slowness)."""

    def __init__(self, app: Any, emulator: Emulator):
        self.app = app
        self.emulator = emulator
        self.inflight: dict[str, int] = {}
        self.lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        account = path.split("/")[1] if path.count("/") > 1 else ""
        conn = self.emulator.account(account) if account else None
        if conn is None or path.endswith(TOKEN_PATH):
            await self.app(scope, receive, send)
            return
        limit = int(conn.settings.get("concurrency_limit") or 5)
        with self.lock:
            busy = self.inflight.get(account, 0)
            if busy >= limit:
                blocked = True
            else:
                blocked = False
                self.inflight[account] = busy + 1
        if blocked:
            self.emulator.faults.log("concurrency_limit", path=path, limit=limit)
            await self.emulator.rate_limited()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            with self.lock:
                self.inflight[account] -= 1


class Emulator(SystemEmulator):
    system = "netsuite"
    open_paths = (TOKEN_PATH,)

    def __init__(self, ctx: Any):
        self._engines: dict[str, SuiteQL] = {}
        self._results: OrderedDict[tuple[str, str], tuple[Any, Plan, list[Any]]] = OrderedDict()
        self._version = 0
        self._cache_lock = threading.Lock()
        super().__init__(ctx)

    # -- hooks -------------------------------------------------------------------------------
    def rate_limited(self) -> Response:
        return problem(
            429, "CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded. Request blocked."
        )

    def server_error(self) -> Response:
        return problem(
            500,
            "UNEXPECTED_ERROR",
            "An unexpected error occurred. Error ID: "
            f"{self.faults.seed:x}{len(self.faults.injected):06x}",
        )

    def unauthorized(self) -> Response:
        return problem(
            401,
            "INVALID_LOGIN",
            "Invalid login attempt. For more details, see the Login Audit Trail in "
            "the NetSuite UI at Setup > Users/Roles > User Management > View Login "
            "Audit Trail.",
        )

    def malform(self, obj: str, record: Record) -> Record:
        breaks = {
            "transaction": ("foreigntotal", "1,234.5O"),
            "timebill": ("hours", "seven"),
            "customer": ("datecreated", "31/31/2026"),
            "job": ("startdate", "2026-13-45"),
            "employee": ("email", "first.last(at)example"),
            "transactionline": ("foreignamount", "1,234.5O"),
            "currencyrate": ("exchangerate", "N/A"),
        }
        if obj in breaks:
            column, value = breaks[obj]
            record[column] = value
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        if obj in ("customer", "job"):
            return {"custentity_new_segment": "Mid-market"}
        return {}

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        s = conn.settings
        base = f"{self.ctx.base_url}/{s.get('account_id')}"
        return {
            "base_url": base,
            "account_id": s.get("account_id"),
            "client_id": s.get("client_id"),
            "certificate_id": s.get("certificate_id"),
            "token_url": base + TOKEN_PATH,
            "private_key_path": str(KEY_DIR / "netsuite_m2m_test_key.pem"),
        }

    def invalidate(self) -> None:
        """Drop cached query results; call after editing stored rows in place."""
        with self._cache_lock:
            self._version += 1
            self._results.clear()

    # -- helpers -----------------------------------------------------------------------------
    def account(self, account_id: str) -> Connection | None:
        for conn in self.store.connections_of(self.system):
            if str(conn.settings.get("account_id")) == account_id:
                return conn
        return None

    def base(self, request: Request, account_id: str) -> str:
        root = self.ctx.base_url or str(request.base_url).rstrip("/")
        return f"{root}/{account_id}"

    def engine(self, conn: Connection) -> SuiteQL:
        engine = self._engines.get(conn.name)
        if engine is None or engine.conn is not conn:
            engine = self._engines[conn.name] = SuiteQL(conn, self.store.lock)
        return engine

    def _fingerprint(self, conn: Connection, plan: Plan) -> tuple[Any, ...]:
        sizes = tuple(len(conn.tables[t]) if t in conn.tables else -1 for _, t in plan.slots)
        return (self._version, sizes, self.store.manifest.get("clock"))

    def _gate(self, request: Request, account_id: str) -> tuple[Connection | None, Response | None]:
        conn = self.account(account_id)
        if conn is None:
            return None, problem(404, "INVALID_URL", f"Account {account_id} does not exist.")
        if self.authorize(request, conn.name) is None:
            return None, self.unauthorized()
        return conn, None

    @staticmethod
    def _page_links(url: str, limit: int, offset: int, total: int) -> list[dict[str, str]]:
        last = max(0, (min(total, MAX_REST_ROWS) - 1) // limit * limit)
        links = []
        if offset > 0:
            links.append(("previous", max(0, offset - limit)))
        links.append(("first", 0))
        if offset + limit < min(total, MAX_REST_ROWS):
            links.append(("next", offset + limit))
        links += [("last", last), ("self", offset)]
        sep = "&" if "?" in url else "?"
        return [{"rel": rel, "href": f"{url}{sep}limit={limit}&offset={off}"} for rel, off in links]

    @staticmethod
    def _paging(request: Request) -> tuple[int, int] | Response:
        params = request.query_params
        try:
            limit = int(params.get("limit", MAX_LIMIT))
            if not 1 <= limit <= MAX_LIMIT:
                raise ValueError
        except ValueError:
            return problem(
                400,
                "INVALID_PARAMETER",
                f"Invalid value for the limit parameter. It must be an integer "
                f"between 1 and {MAX_LIMIT}.",
                **{"o:errorQueryParam": "limit"},
            )
        try:
            offset = int(params.get("offset", 0))
            if offset < 0 or offset % limit:
                raise ValueError
        except ValueError:
            return problem(
                400,
                "INVALID_PARAMETER",
                "Invalid value for the offset parameter. The offset must be a "
                "non-negative multiple of the limit.",
                **{"o:errorQueryParam": "offset"},
            )
        return limit, offset

    # -- routes ------------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        app.add_middleware(_ConcurrencyGate, emulator=self)
        prefix = "/{account_id}/services/rest"

        @app.post(prefix + "/auth/oauth2/v1/token")
        async def token(account_id: str, request: Request) -> Response:
            return self.issue_token(account_id, request, dict(await request.form()))

        @app.post(prefix + "/query/v1/suiteql")
        async def suiteql(account_id: str, request: Request) -> Response:
            conn, error = self._gate(request, account_id)
            if conn is None:
                return error  # type: ignore[return-value]
            if "transient" not in request.headers.get("prefer", "").lower():
                return problem(
                    400,
                    "INVALID_HEADER",
                    "The request is missing the required header 'Prefer: transient'.",
                    **{"o:errorHeader": "Prefer"},
                )
            paging = self._paging(request)
            if isinstance(paging, Response):
                return paging
            try:
                body = await request.json()
                q = body["q"] if isinstance(body, dict) else None
                if not isinstance(q, str) or not q.strip():
                    raise ValueError
            except (ValueError, KeyError):
                return problem(
                    400,
                    "INVALID_PARAMETER",
                    BAD_QUERY + 'The request body must be a JSON object with the query in "q".',
                    **{"o:errorQueryParam": "q"},
                )
            url = f"{self.base(request, account_id)}/services/rest/query/v1/suiteql"
            return await run_in_threadpool(self.run_query, conn, q, *paging, url)

        @app.get(prefix + "/record/v1/{record_type}")
        async def record_list(account_id: str, record_type: str, request: Request) -> Response:
            conn, error = self._gate(request, account_id)
            if conn is None:
                return error  # type: ignore[return-value]
            return await run_in_threadpool(
                self.list_records, request, conn, account_id, record_type
            )

        @app.get(prefix + "/record/v1/{record_type}/{record_id}")
        async def record_get(
            account_id: str, record_type: str, record_id: str, request: Request
        ) -> Response:
            conn, error = self._gate(request, account_id)
            if conn is None:
                return error  # type: ignore[return-value]
            found = self.find_record(conn, record_type, record_id)
            if isinstance(found, Response):
                return found
            table, record = found
            return json_response(
                self.record_body(request, conn, account_id, record_type, table, record)
            )

        @app.patch(prefix + "/record/v1/{record_type}/{record_id}")
        async def record_patch(
            account_id: str, record_type: str, record_id: str, request: Request
        ) -> Response:
            conn, error = self._gate(request, account_id)
            if conn is None:
                return error  # type: ignore[return-value]
            try:
                body = await request.json()
                if not isinstance(body, dict):
                    raise ValueError
            except ValueError:
                return problem(400, "USER_ERROR", "Invalid request body: expected a JSON object.")
            return self.patch_record(request, conn, account_id, record_type, record_id, body)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
        async def not_found(path: str) -> Response:
            return problem(404, "INVALID_URL", f"The requested URL /{path} was not found.")

    # -- OAuth 2.0 client credentials with a JWT assertion -----------------------------------
    def issue_token(self, account_id: str, request: Request, form: dict[str, Any]) -> Response:
        conn = self.account(account_id)
        if conn is None:
            return problem(404, "INVALID_URL", f"Account {account_id} does not exist.")
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_assertion_type")
            != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        ):
            return json_response({"error": "invalid_grant"}, 400)
        assertion = str(form.get("client_assertion") or "")
        settings = conn.settings
        try:
            header = jwt.get_unverified_header(assertion)
        except jwt.PyJWTError:
            return json_response({"error": "invalid_client"}, 400)
        if (
            header.get("kid") != settings.get("certificate_id")
            or header.get("alg") not in JWT_ALGORITHMS
        ):
            return json_response({"error": "invalid_client"}, 400)
        path = f"/{account_id}{TOKEN_PATH}"
        audiences = {
            f"{self.base(request, account_id)}{TOKEN_PATH}",
            f"{str(request.base_url).rstrip('/')}{path}",
            f"https://{account_id.lower().replace('_', '-')}.suitetalk.api.netsuite.com"
            f"{TOKEN_PATH}",
        }
        try:
            claims = jwt.decode(
                assertion,
                settings.get("public_key_pem", ""),
                algorithms=JWT_ALGORITHMS,
                audience=sorted(audiences),
                issuer=settings.get("client_id"),
                leeway=60,
                options={"require": ["exp", "iat", "iss", "aud"]},
            )
        except (
            jwt.InvalidSignatureError,
            jwt.InvalidIssuerError,
            jwt.InvalidKeyError,
            jwt.InvalidAlgorithmError,
            jwt.DecodeError,
            ValueError,
            TypeError,
        ):
            return json_response({"error": "invalid_client"}, 400)
        except jwt.PyJWTError:
            return json_response({"error": "invalid_grant"}, 400)
        scope = claims.get("scope")
        scopes = set(scope if isinstance(scope, list) else re.split(r"[ ,]+", str(scope or "")))
        if int(claims["exp"]) - int(claims["iat"]) > 3600 or "rest_webservices" not in scopes:
            return json_response({"error": "invalid_grant"}, 400)
        token = self.ctx.tokens.issue(conn.name, prefix="eyJ", subject=str(claims["iss"]))
        return json_response(
            {"access_token": token.value, "expires_in": "3600", "token_type": "Bearer"}
        )

    # -- SuiteQL -----------------------------------------------------------------------------
    def run_query(self, conn: Connection, q: str, limit: int, offset: int, url: str) -> Response:
        engine = self.engine(conn)
        cache_key = (conn.name, q)
        cached = self._results.get(cache_key)
        try:
            plan = cached[1] if cached else Plan(engine, q)
            fingerprint = self._fingerprint(conn, plan)
            if offset > 0 and cached and cached[0] == fingerprint:
                rows = cached[2]
            else:  # a new walk (offset 0) always re-runs the query
                rows = engine.execute(plan)
                with self._cache_lock:
                    self._results[cache_key] = (fingerprint, plan, rows)
                    self._results.move_to_end(cache_key)
                    while len(self._results) > 16:
                        self._results.popitem(last=False)
            if offset >= MAX_REST_ROWS:
                return problem(
                    400,
                    "INVALID_PARAMETER",
                    "The maximum number of results "
                    f"returned through REST is {MAX_REST_ROWS}. Use a more "
                    "selective query.",
                    **{"o:errorQueryParam": "offset"},
                )
            if plan.aggregate:
                item = {n: v for n, agg in plan.aggregates if (v := agg(rows)) is not None}
                page_items = [{"links": [], **item}] if offset == 0 else []
                total = 1
            else:
                total = len(rows)
                page = rows[offset : min(offset + limit, MAX_REST_ROWS)]
                page_items = [self._item(plan, conn, r) for r in page]
        except QueryError as exc:
            return problem(
                400, "INVALID_PARAMETER", BAD_QUERY + str(exc), **{"o:errorQueryParam": "q"}
            )
        has_more = offset + len(page_items) < min(total, MAX_REST_ROWS)
        return json_response(
            {
                "links": self._page_links(url, limit, offset, total),
                "count": len(page_items),
                "hasMore": has_more,
                "items": page_items,
                "offset": offset,
                "totalResults": total,
            }
        )

    def _item(self, plan: Plan, conn: Connection, row: Any) -> Record:
        rendered: Any
        if plan.single:
            table = plan.slots[0][1]
            rendered = self.render(table, row, _record_key(conn, table, row))
            records = (rendered,)
        else:
            rendered = records = tuple(
                None if rec is None else self.render(table, rec, _record_key(conn, table, rec))
                for (_, table), rec in zip(plan.slots, row, strict=True)
            )
        item: Record = {"links": []}
        if plan.select_all:
            for rec in records:
                if rec is not None:
                    item.update(rec)
            for name, fn in plan.projection:
                if (value := fn(rendered)) is not None:
                    item[name] = value
            return item
        for name, fn in plan.projection:
            value = fn(rendered)
            if value is not None:
                item[name] = value
        return item

    # -- Record API --------------------------------------------------------------------------
    def find_record(
        self, conn: Connection, record_type: str, record_id: str
    ) -> tuple[str, Record] | Response:
        spec = RECORD_TYPES.get(record_type.lower())
        if spec is None:
            return problem(404, "NONEXISTENT_ID", f"Record type '{record_type}' does not exist.")
        table, tran_type = spec
        rec = conn.tables[table].get(record_id) if table in conn.tables else None
        if rec is None or (tran_type and rec.get("type") != tran_type):
            return problem(
                404,
                "NONEXISTENT_ID",
                "The record instance does not exist. Provide a valid record instance ID.",
            )
        return table, rec

    def list_records(
        self, request: Request, conn: Connection, account_id: str, record_type: str
    ) -> Response:
        spec = RECORD_TYPES.get(record_type.lower())
        if spec is None:
            return problem(404, "NONEXISTENT_ID", f"Record type '{record_type}' does not exist.")
        if request.query_params.get("q"):
            return problem(
                400,
                "INVALID_PARAMETER",
                "The q filter of the record list is not supported by this emulator; use SuiteQL.",
                **{"o:errorQueryParam": "q"},
            )
        paging = self._paging(request)
        if isinstance(paging, Response):
            return paging
        limit, offset = paging
        table, tran_type = spec
        with self.store.lock:
            rows = list(conn.tables[table].rows.values()) if table in conn.tables else []
        ids = [r["id"] for r in rows if tran_type is None or r.get("type") == tran_type]
        url = f"{self.base(request, account_id)}/services/rest/record/v1/{record_type}"
        items = [
            {"links": [{"rel": "self", "href": f"{url}/{i}"}], "id": i}
            for i in ids[offset : offset + limit]
        ]
        return json_response(
            {
                "links": self._page_links(url, limit, offset, len(ids)),
                "count": len(items),
                "hasMore": offset + len(items) < len(ids),
                "items": items,
                "offset": offset,
                "totalResults": len(ids),
            }
        )

    def record_body(
        self,
        request: Request,
        conn: Connection,
        account_id: str,
        record_type: str,
        table: str,
        stored: Record,
    ) -> Record:
        """The Record API shape: camelCase, typed values, references as link objects."""
        record = self.render(table, stored, stored.get("id"))
        root = f"{self.base(request, account_id)}/services/rest/record/v1"
        body: Record = {"links": [{"rel": "self", "href": f"{root}/{record_type}/{record['id']}"}]}
        for column, value in record.items():
            if column in ("type", "billcountry", "billcity"):
                continue
            target = REFS.get((table, column)) or REFS.get(column)
            if column == "id":
                body["id"] = value
            elif target and target != table or column == "parent":
                ref_type = TABLE_RECORD_TYPE.get(target or table, target)
                body[CAMEL.get(column, column)] = {
                    "links": [{"rel": "self", "href": f"{root}/{ref_type}/{value}"}],
                    "id": value,
                    "refName": ref_name(conn, target or table, value),
                }
            elif column == "status" and table == "transaction":
                body["status"] = {
                    "id": value,
                    "refName": STATUS_NAMES.get((record.get("type"), value), value),
                }
            else:
                body[CAMEL.get(column, column)] = _typed(column, value)
        if table == "customer" and (record.get("billcity") or record.get("billcountry")):
            body["defaultAddress"] = "\n".join(
                x
                for x in (
                    record.get("companyname"),
                    record.get("billcity"),
                    record.get("billcountry"),
                )
                if x
            )
        return body

    def patch_record(
        self,
        request: Request,
        conn: Connection,
        account_id: str,
        record_type: str,
        record_id: str,
        body: Record,
    ) -> Response:
        found = self.find_record(conn, record_type, record_id)
        if isinstance(found, Response):
            return found
        table, current = found
        columns = {CAMEL.get(c, c): c for c in SCHEMA[table]}
        columns.update({c: c for c in SCHEMA[table]})
        columns.update({c: c for c in current if c.startswith("cust")})
        changes: Record = {}
        for field, value in body.items():
            column = columns.get(field)
            if column is None or column in READ_ONLY:
                reason = "is read-only" if column else "does not exist"
                return problem(
                    400,
                    "USER_ERROR",
                    f"Invalid field '{field}': the field {reason} on record type {record_type}.",
                    **{"o:errorPath": field},
                )
            try:
                changes[column] = _stored(column, value)
            except ValueError:
                return problem(
                    400,
                    "USER_ERROR",
                    f"Invalid value for field '{field}'.",
                    **{"o:errorPath": field},
                )
        with self.store.lock:
            updated = {k: v for k, v in {**current, **changes}.items() if v is not None}
            stamp = self.store.now().astimezone(UTC)
            updated["lastmodifieddate"] = _fmt_datetime(stamp)
            conn.tables[table].upsert(updated)  # a new dict: running scans keep their snapshot
            self._version += 1
        location = (
            f"{self.base(request, account_id)}/services/rest/record/v1/{record_type}/{record_id}"
        )
        self.log_write(
            request,
            conn.name,
            204,
            body,
            None,
            record_type=record_type,
            record_id=record_id,
            table=table,
        )
        return Response(status_code=204, headers={"Location": location})


def _record_key(conn: Connection, table: str, record: Record) -> Any:
    tbl = conn.tables.get(table)
    if tbl is None or tbl.key == ("id",):
        return record.get("id")
    return tbl.key_of(record)


def _typed(column: str, value: Any) -> Any:
    """A stored SuiteQL string as the Record API types it; malformed values pass through."""
    if not isinstance(value, str):
        return value
    if column in BOOL_COLS or value in ("T", "F") and column.startswith("cust"):
        return value == "T" if value in ("T", "F") else value
    if column in DATETIME_COLS or column in DATE_COLS:
        key = _parse_ns(value)
        if key is None:
            return value
        moment = _dt_of_key(key)
        if column in DATE_COLS:
            return moment.date().isoformat()
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if column in NUM_COLS and column != "id":
        number = _num(value)
        if number is None:
            return value
        return int(number) if number.is_integer() and "." not in value else number
    return value


def _stored(column: str, value: Any) -> str | None:
    """A Record API value as SuiteQL stores it."""
    if value is None:
        return None
    if isinstance(value, dict):
        if "id" not in value:
            raise ValueError(column)
        return str(value["id"])
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, int | float):
        return _num_str(float(value)) if isinstance(value, float) else str(value)
    if not isinstance(value, str):
        raise ValueError(column)
    if column in DATE_COLS or column in DATETIME_COLS:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise ValueError(column) from exc
        if column in DATE_COLS:
            return f"{moment.month}/{moment.day}/{moment.year}"
        return _fmt_datetime(moment)
    return value
