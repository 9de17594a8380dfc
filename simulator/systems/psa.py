"""Kantata OX (formerly Mavenlink) API v1 emulator: the PSA on connection ``psa``.

Speaks the contract of shared/SOURCE_APIS.md section 7: bearer auth, the Brainstem envelope
(``count``, ``meta``, ``results`` and id-keyed object maps with side-loads), page/per_page and
limit/offset paging, the standard filters, singular/plural write wrappers in JSON or Rails form
encoding, the custom_field_values and external_references upserts, and the recorded error
bodies. Choices where the public contract is unconfirmed are listed in ``psa.md``.

Reads scale to a million rows per table: each table keeps a cached index (ids in order, stamps
sorted for bisecting ``updated_after`` and friends, reverse lookups for side-loads) that is
maintained in place by this module's own writes and rebuilt when the store changes under it;
the ordered key list of each distinct query is cached too, so paging is a slice.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import math
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import Response

from simulator.emulator import SystemEmulator, json_response
from simulator.store import Connection, Key, Record, Table

API_PREFIX = "/api/v1"
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 200
MAX_BULK = 100
QUERY_CACHE_SIZE = 32
MISSING_PARAMS = (
    "Missing required parameters. Please see our documentation at http://developer.mavenlink.com"
)

NOT_FOUND = {"errors": [{"type": "system", "message": "Not found"}]}
UNAUTHORIZED = {"errors": [{"type": "oauth", "message": "Invalid OAuth 2 Request"}]}

# -- field types, used to coerce JSON and form values and to validate them ------------------
INT_FIELDS = frozenset(
    {
        "time_in_minutes",
        "rate_in_cents",
        "cost_rate_in_cents",
        "price_in_cents",
        "amount_in_cents",
        "balance_in_cents",
        "budget_estimate_in_cents",
        "percentage_complete",
        "bill_rate_in_cents",
        "account_id",
        "subject_id",
    }
)
NUMBER_FIELDS = frozenset({"hours"})
BOOL_FIELDS = frozenset(
    {
        "archived",
        "budgeted",
        "billable",
        "fixed_fee",
        "approved",
        "is_invoiced",
        "is_billable",
        "reimbursable",
        "company",
        "disabled",
        "draft",
        "locked",
    }
)
DATE_FIELDS = frozenset(
    {"start_date", "due_date", "date_performed", "date", "invoice_date", "requested_date"}
)
# foreign keys that are numbers in the API but served as strings
NOT_ID_FIELDS = frozenset({"account_id", "subject_id"})

SUBJECT_TABLES = {
    "Workspace": "workspaces",
    "WorkspaceGroup": "workspace_groups",
    "User": "users",
    "TimeEntry": "time_entries",
    "Story": "stories",
    "Expense": "expenses",
    "Invoice": "invoices",
    "Role": "roles",
    "TimeOffEntry": "time_off_entries",
    "CustomField": "custom_fields",
    "CustomFieldValue": "custom_field_values",
}
CUSTOM_FIELD_SUBJECTS = ("Workspace", "Story", "User", "WorkspaceGroup", "Estimate", "Resource")
EXTERNAL_REFERENCE_STATUSES = ("pending", "successful", "failed")
STORY_TYPES = ("task", "milestone", "deliverable", "issue")


@dataclass(frozen=True)
class Assoc:
    """One ``include=`` association.

    kind: ``id`` (parent field holds the target id), ``ids`` (parent field holds a list),
    ``reverse`` (target rows whose ``field`` equals the parent id), ``subject`` (target rows
    whose subject_type/subject_id point at the parent), ``poly`` (the parent's own subject)."""

    target: str
    kind: str
    field: str = ""
    out: str = ""  # field set on the parent for reverse/subject kinds


def _subject_assocs() -> dict[str, Assoc]:
    return {
        "custom_field_values": Assoc(
            "custom_field_values", "subject", out="custom_field_value_ids"
        ),
        "external_references": Assoc(
            "external_references", "subject", out="external_reference_ids"
        ),
    }


@dataclass(frozen=True)
class Spec:
    """How one object is exposed: fields, wrapper keys, includes, filters and writes."""

    table: str
    singular: str
    fields: tuple[str, ...]
    subject_type: str | None = None
    includes: dict[str, Assoc] = field(default_factory=dict)
    eq_filters: dict[str, str] = field(default_factory=dict)  # param -> field (comma lists)
    bool_filters: dict[str, str] = field(default_factory=dict)
    contains_filters: dict[str, str] = field(default_factory=dict)  # param -> list field
    create: frozenset[str] | None = None  # None: no POST
    update: frozenset[str] | None = None  # None: no PUT
    required: tuple[str, ...] = ()
    deletable: bool = True
    required_filter: str | None = None


STAMPS = ("created_at", "updated_at")
_EXT = "external_reference"

SPECS: dict[str, Spec] = {
    s.table: s
    for s in [
        Spec(
            "workspace_groups",
            "workspace_group",
            (
                "id",
                "name",
                "company",
                "contact_name",
                "email",
                "phone_number",
                "address",
                "website",
                "notes",
                "workspace_ids",
                "custom_field_value_ids",
                "external_reference_ids",
                *STAMPS,
            ),
            subject_type="WorkspaceGroup",
            includes={
                "workspaces": Assoc("workspaces", "ids", "workspace_ids"),
                **_subject_assocs(),
            },
            bool_filters={"company": "company"},
            create=frozenset(
                {
                    "name",
                    "company",
                    "contact_name",
                    "email",
                    "phone_number",
                    "address",
                    "website",
                    "notes",
                    "add_workspace_ids",
                    _EXT,
                }
            ),
            update=frozenset(
                {
                    "name",
                    "company",
                    "contact_name",
                    "email",
                    "phone_number",
                    "address",
                    "website",
                    "notes",
                    "add_workspace_ids",
                    "remove_workspace_ids",
                    _EXT,
                }
            ),
            required=("name",),
        ),
        Spec(
            "workspaces",
            "workspace",
            (
                "id",
                "title",
                "description",
                "account_id",
                "archived",
                "start_date",
                "due_date",
                "budgeted",
                "currency",
                "price_in_cents",
                "status",
                "stage",
                "creator_id",
                "primary_maven_id",
                "workspace_group_ids",
                "participant_ids",
                "custom_field_value_ids",
                "external_reference_ids",
                *STAMPS,
            ),
            subject_type="Workspace",
            includes={
                "workspace_groups": Assoc("workspace_groups", "ids", "workspace_group_ids"),
                "participants": Assoc("users", "ids", "participant_ids"),
                "creator": Assoc("users", "id", "creator_id"),
                "primary_maven": Assoc("users", "id", "primary_maven_id"),
                **_subject_assocs(),
            },
            bool_filters={"budgeted": "budgeted"},
            create=frozenset(
                {
                    "title",
                    "creator_role",
                    "description",
                    "budgeted",
                    "currency",
                    "price",
                    "price_in_cents",
                    "start_date",
                    "due_date",
                    "status_key",
                    "stage",
                    "workspace_group_ids",
                    _EXT,
                }
            ),
            update=frozenset(
                {
                    "title",
                    "description",
                    "budgeted",
                    "currency",
                    "price",
                    "price_in_cents",
                    "start_date",
                    "due_date",
                    "status_key",
                    "stage",
                    "workspace_group_ids",
                    "archived",
                    _EXT,
                }
            ),
            required=("title",),
        ),
        Spec(
            "users",
            "user",
            (
                "id",
                "full_name",
                "email_address",
                "headline",
                "disabled",
                "account_id",
                "custom_field_value_ids",
                "external_reference_ids",
                *STAMPS,
            ),
            subject_type="User",
            includes={
                "account_membership": Assoc(
                    "account_memberships", "reverse", "user_id", "account_membership_id"
                ),
                **_subject_assocs(),
            },
            update=frozenset({"full_name", "headline", "email_address", _EXT}),
            deletable=False,
        ),
        Spec(
            "account_memberships",
            "account_membership",
            (
                "id",
                "user_id",
                "bill_rate_in_cents",
                "cost_rate_in_cents",
                "default_role_id",
                "manager_id",
                "permission",
                *STAMPS,
            ),
            includes={
                "user": Assoc("users", "id", "user_id"),
                "default_role": Assoc("roles", "id", "default_role_id"),
                "manager": Assoc("users", "id", "manager_id"),
            },
            eq_filters={"user_id": "user_id"},
            update=frozenset(
                {
                    "bill_rate_in_cents",
                    "cost_rate_in_cents",
                    "default_role_id",
                    "manager_id",
                    "permission",
                }
            ),
            deletable=False,
        ),
        Spec(
            "roles",
            "role",
            ("id", "name", *STAMPS),
            subject_type="Role",
            create=frozenset({"name", _EXT}),
            update=frozenset({"name", _EXT}),
            required=("name",),
        ),
        Spec(
            "stories",
            "story",
            (
                "id",
                "workspace_id",
                "parent_id",
                "title",
                "story_type",
                "state",
                "start_date",
                "due_date",
                "billable",
                "fixed_fee",
                "budget_estimate_in_cents",
                "percentage_complete",
                *STAMPS,
            ),
            subject_type="Story",
            includes={
                "workspace": Assoc("workspaces", "id", "workspace_id"),
                "parent": Assoc("stories", "id", "parent_id"),
                "sub_stories": Assoc("stories", "reverse", "parent_id", "sub_story_ids"),
                **_subject_assocs(),
            },
            eq_filters={"workspace_id": "workspace_id", "with_parent_id": "parent_id"},
            create=frozenset(
                {
                    "title",
                    "story_type",
                    "workspace_id",
                    "parent_id",
                    "state",
                    "start_date",
                    "due_date",
                    "billable",
                    "fixed_fee",
                    "budget_estimate_in_cents",
                    "percentage_complete",
                    _EXT,
                }
            ),
            update=frozenset(
                {
                    "title",
                    "story_type",
                    "parent_id",
                    "state",
                    "start_date",
                    "due_date",
                    "billable",
                    "fixed_fee",
                    "budget_estimate_in_cents",
                    "percentage_complete",
                    _EXT,
                }
            ),
            required=("title", "story_type", "workspace_id"),
        ),
        Spec(
            "time_entries",
            "time_entry",
            (
                "id",
                "workspace_id",
                "user_id",
                "story_id",
                "role_id",
                "date_performed",
                "time_in_minutes",
                "billable",
                "notes",
                "rate_in_cents",
                "cost_rate_in_cents",
                "currency",
                "approved",
                "is_invoiced",
                "invoice_id",
                "external_reference_ids",
                *STAMPS,
            ),
            subject_type="TimeEntry",
            includes={
                "user": Assoc("users", "id", "user_id"),
                "workspace": Assoc("workspaces", "id", "workspace_id"),
                "story": Assoc("stories", "id", "story_id"),
                "role": Assoc("roles", "id", "role_id"),
                "invoice": Assoc("invoices", "id", "invoice_id"),
                "external_references": _subject_assocs()["external_references"],
            },
            eq_filters={
                "workspace_id": "workspace_id",
                "user_id": "user_id",
                "story_id": "story_id",
                "invoice_id": "invoice_id",
            },
            bool_filters={"is_invoiced": "is_invoiced", "billable": "billable"},
            create=frozenset(
                {
                    "workspace_id",
                    "date_performed",
                    "time_in_minutes",
                    "billable",
                    "notes",
                    "rate_in_cents",
                    "cost_rate_in_cents",
                    "role_id",
                    "story_id",
                    "user_id",
                    _EXT,
                }
            ),
            update=frozenset(
                {
                    "workspace_id",
                    "date_performed",
                    "time_in_minutes",
                    "billable",
                    "notes",
                    "rate_in_cents",
                    "cost_rate_in_cents",
                    "role_id",
                    "story_id",
                    "user_id",
                    _EXT,
                }
            ),
            required=("workspace_id", "date_performed", "time_in_minutes"),
        ),
        Spec(
            "expenses",
            "expense",
            (
                "id",
                "workspace_id",
                "user_id",
                "date",
                "category",
                "notes",
                "amount_in_cents",
                "currency",
                "is_billable",
                "is_invoiced",
                "reimbursable",
                *STAMPS,
            ),
            subject_type="Expense",
            includes={
                "workspace": Assoc("workspaces", "id", "workspace_id"),
                "user": Assoc("users", "id", "user_id"),
                "external_references": _subject_assocs()["external_references"],
            },
            eq_filters={"workspace_id": "workspace_id", "user_id": "user_id"},
            bool_filters={"is_invoiced": "is_invoiced"},
            create=frozenset(
                {
                    "workspace_id",
                    "date",
                    "category",
                    "amount_in_cents",
                    "notes",
                    "billable",
                    "reimbursable",
                    "user_id",
                    "currency",
                    _EXT,
                }
            ),
            update=frozenset(
                {
                    "date",
                    "category",
                    "amount_in_cents",
                    "notes",
                    "billable",
                    "reimbursable",
                    "currency",
                    _EXT,
                }
            ),
            required=("workspace_id", "date", "category", "amount_in_cents"),
        ),
        Spec(
            "invoices",
            "invoice",
            (
                "id",
                "workspace_ids",
                "invoice_date",
                "due_date",
                "status",
                "draft",
                "balance_in_cents",
                "currency",
                "user_invoice_number",
                "time_entry_ids",
                "expense_ids",
                "external_reference_ids",
                *STAMPS,
            ),
            subject_type="Invoice",
            includes={
                "workspaces": Assoc("workspaces", "ids", "workspace_ids"),
                "time_entries": Assoc("time_entries", "ids", "time_entry_ids"),
                "expenses": Assoc("expenses", "ids", "expense_ids"),
                "external_references": _subject_assocs()["external_references"],
            },
            contains_filters={"workspace_id": "workspace_ids"},
            create=frozenset(
                {
                    "workspace_id",
                    "workspace_ids",
                    "time_entry_ids",
                    "expense_ids",
                    "invoice_date",
                    "due_date",
                    "draft",
                    "user_invoice_number",
                    _EXT,
                }
            ),
            update=frozenset(
                {"invoice_date", "due_date", "draft", "status", "user_invoice_number", _EXT}
            ),
            required=("workspace_ids",),
        ),
        Spec(
            "time_off_entries",
            "time_off_entry",
            ("id", "user_id", "requested_date", "hours", *STAMPS),
            subject_type="TimeOffEntry",
            includes={"user": Assoc("users", "id", "user_id")},
            eq_filters={"user_id": "user_id"},
            create=frozenset({"user_id", "requested_date", "hours"}),
            update=frozenset({"requested_date", "hours"}),
            required=("user_id", "requested_date", "hours"),
        ),
        Spec(
            "holiday_calendars",
            "holiday_calendar",
            ("id", "name", *STAMPS),
            includes={
                "holiday_calendar_entries": Assoc(
                    "holiday_calendar_entries",
                    "reverse",
                    "holiday_calendar_id",
                    "holiday_calendar_entry_ids",
                )
            },
            create=frozenset({"name"}),
            update=frozenset({"name"}),
            required=("name",),
        ),
        Spec(
            "holiday_calendar_entries",
            "holiday_calendar_entry",
            ("id", "holiday_calendar_id", "date", "name", "hours", *STAMPS),
            includes={"holiday_calendar": Assoc("holiday_calendars", "id", "holiday_calendar_id")},
            eq_filters={"holiday_calendar_id": "holiday_calendar_id"},
            create=frozenset({"holiday_calendar_id", "date", "name", "hours"}),
            update=frozenset({"date", "name", "hours"}),
            required=("holiday_calendar_id", "date", "name"),
        ),
        Spec(
            "holiday_calendar_memberships",
            "holiday_calendar_membership",
            ("id", "holiday_calendar_id", "user_id", *STAMPS),
            includes={
                "holiday_calendar": Assoc("holiday_calendars", "id", "holiday_calendar_id"),
                "user": Assoc("users", "id", "user_id"),
            },
            eq_filters={"holiday_calendar_id": "holiday_calendar_id", "user_id": "user_id"},
            create=frozenset({"holiday_calendar_id", "user_id"}),
            update=frozenset({"holiday_calendar_id", "user_id"}),
            required=("holiday_calendar_id", "user_id"),
        ),
        Spec(
            "custom_fields",
            "custom_field",
            ("id", "name", "subject_type", "value_type", *STAMPS),
            subject_type="CustomField",
            eq_filters={"subject_type": "subject_type"},
            create=frozenset({"name", "subject_type", "value_type"}),
            update=frozenset({"name"}),
            required=("name", "subject_type", "value_type"),
        ),
        Spec(
            "custom_field_values",
            "custom_field_value",
            (
                "id",
                "subject_type",
                "subject_id",
                "custom_field_id",
                "custom_field_name",
                "value",
                "display_value",
                "type",
                *STAMPS,
            ),
            includes={
                "custom_field": Assoc("custom_fields", "id", "custom_field_id"),
                "subject": Assoc("", "poly"),
            },
            eq_filters={
                "subject_type": "subject_type",
                "subject_id": "subject_id",
                "custom_field_id": "custom_field_id",
            },
            create=frozenset({"subject_type", "subject_id", "custom_field_id", "value"}),
            update=frozenset({"value"}),
            required_filter="subject_type",
        ),
        Spec(
            "external_references",
            "external_reference",
            (
                "id",
                "subject_type",
                "subject_id",
                "subject_ref",
                "service_name",
                "service_model",
                "service_model_ref",
                "status",
                "external_link",
                "external_message",
                "external_status",
                "locked",
                "last_synced_at",
                *STAMPS,
            ),
            includes={"subject": Assoc("", "poly")},
            eq_filters={
                "subject_type": "subject_type",
                "subject_id": "subject_id",
                "service_name": "service_name",
                "service_model": "service_model",
                "service_model_ref": "service_model_ref",
                "status": "status",
                "external_status": "external_status",
                "external_message": "external_message",
            },
            required_filter="subject_type",
        ),
    ]
}

# the external_reference_* filter family, param -> field of the reference
EXT_REF_FILTERS = {
    "external_reference_service_name": "service_name",
    "external_reference_service_model": "service_model",
    "external_reference_service_model_ref": "service_model_ref",
    "external_reference_status": "status",
    "external_reference_external_status": "external_status",
    "external_reference_external_message": "external_message",
}
# params that shape the page or the side-loads, not the matching set
PAGE_PARAMS = frozenset({"page", "per_page", "limit", "offset", "include", "optional_fields"})

MALFORMED = {
    "time_entries": (("time_in_minutes", "ninety"), ("date_performed", "2026-13-45")),
    "workspaces": (("currency", "Dollars"),),
    "expenses": (("amount_in_cents", "12.5.0"),),
    "invoices": (("balance_in_cents", "1,234.00"),),
    "stories": (("due_date", "31/12/2026"),),
    "users": (("email_address", "n/a"),),
    "workspace_groups": (("company", "yes"),),
}
DRIFT = {"workspaces": {"location_code": "REMOTE"}, "time_entries": {"location_code": "REMOTE"}}


class ApiError(Exception):
    """An error answer in Kantata's ``{"errors":[...]}`` shape."""

    def __init__(self, status: int, errors: list[dict[str, Any]]):
        super().__init__(errors[0].get("message", ""))
        self.status = status
        self.errors = errors

    def response(self) -> Response:
        return json_response({"errors": self.errors}, self.status)


def syntax_error(message: str = MISSING_PARAMS) -> ApiError:
    return ApiError(400, [{"type": "syntax", "message": message}])


def not_found() -> ApiError:
    return ApiError(404, NOT_FOUND["errors"])


def human(name: str) -> str:
    """Rails' ``humanize``: ``time_in_minutes`` -> ``Time in minutes``."""
    text = name.removesuffix("_id").replace("_", " ")
    return text[:1].upper() + text[1:]


# -- timestamps ---------------------------------------------------------------------------------
def fmt_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def canon_stamp(value: Any) -> str:
    """A string that sorts chronologically: the UTC ``isoformat()``. Stamps already in that form
    (the store's own) are returned as they are, so building an index allocates nothing."""
    if not value:
        return ""
    if (
        isinstance(value, str)
        and value.endswith("+00:00")
        and len(value) in (25, 32)
        and value[10] == "T"
    ):
        return value
    try:
        return parse_time(str(value)).isoformat()
    except ValueError:
        return ""


def parse_time(text: str) -> datetime:
    """ISO 8601 datetime or date; a naive value is UTC. A ``+`` decoded to a space by the query
    string (``...T10:00:00 00:00``) is put back."""
    text = text.strip()
    text = re.sub(r" (\d\d:?\d\d)$", r"+\1", text)
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def id_sort_key(key: Key) -> tuple[int, str]:
    """Numeric ids order numerically: by length, then text (ids have no leading zeros)."""
    value = str(key[0])
    return (len(value), value)


# -- Rails form parameters ----------------------------------------------------------------------
_PARAM_NAME = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PARAM_PART = re.compile(r"\[([^\[\]]*)\]")


def rails_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Nest ``workspace[title]=X``, ``ids[]=1`` and ``time_entries[][notes]=Y`` the Rails way."""
    root: dict[str, Any] = {}
    for name, value in pairs:
        match = _PARAM_NAME.match(name)
        if not match:
            root[name] = value
            continue
        _assign(root, [match.group(1), *_PARAM_PART.findall(match.group(2))], value)
    return root


def _has_path(node: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(node, dict) or part not in node or part == "":
            return False
        node = node[part]
    return True


def _assign(node: dict[str, Any], parts: list[str], value: str) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        node[head] = value
        return
    if rest[0] == "":
        items = node.get(head)
        if not isinstance(items, list):
            items = node[head] = []
        if len(rest) == 1:
            items.append(value)
            return
        # a new hash starts when the last one already has this key (Rails' rule)
        if not items or not isinstance(items[-1], dict) or _has_path(items[-1], rest[1:]):
            items.append({})
        _assign(items[-1], rest[1:], value)
        return
    child = node.get(head)
    if not isinstance(child, dict):
        child = node[head] = {}
    _assign(child, rest, value)


# -- the per-table index ------------------------------------------------------------------------
class TableIndex:
    """Cached orderings and lookups of one table, valid while ``sig`` matches the table."""

    def __init__(self, table: Table, sig: tuple[Any, ...]):
        self.table = table
        self.sig = sig
        self.by_id: list[Key] = sorted(table.rows, key=id_sort_key)
        # stamp field -> (keys ordered by stamp then id, their stamps, stamp per key)
        self.stamps: dict[str, tuple[list[Key], list[str], dict[Key, str]]] = {}
        # tuple of fields -> value tuple -> keys
        self.reverse: dict[tuple[str, ...], dict[tuple[str, ...], list[Key]]] = {}
        self.queries: OrderedDict[Any, list[Key]] = OrderedDict()

    def stamp_index(self, name: str) -> tuple[list[Key], list[str], dict[Key, str]]:
        if name not in self.stamps:
            rows = self.table.rows
            stamp_of = {k: canon_stamp(rows[k].get(name)) for k in self.by_id}
            order = sorted(self.by_id, key=stamp_of.__getitem__)  # stable: ties stay by id
            self.stamps[name] = (order, [stamp_of[k] for k in order], stamp_of)
        return self.stamps[name]

    def lookup(self, fields: tuple[str, ...]) -> dict[tuple[str, ...], list[Key]]:
        if fields not in self.reverse:
            out: dict[tuple[str, ...], list[Key]] = {}
            for key, rec in self.table.rows.items():
                out.setdefault(_values(rec, fields), []).append(key)
            self.reverse[fields] = out
        return self.reverse[fields]

    def apply(self, key: Key, old: Record | None, new: Record | None) -> None:
        """Keep the index right after one record of the table was inserted/changed/deleted."""
        self.queries.clear()
        ik = id_sort_key(key)
        if old is None and new is not None:
            bisect.insort(self.by_id, key, key=id_sort_key)
        elif new is None and old is not None:
            i = bisect.bisect_left(self.by_id, ik, key=id_sort_key)
            if i < len(self.by_id) and self.by_id[i] == key:
                del self.by_id[i]
        for name, (order, stamps, stamp_of) in self.stamps.items():
            if old is not None and key in stamp_of:
                stamp = stamp_of.pop(key)
                lo = bisect.bisect_left(stamps, stamp)
                hi = bisect.bisect_right(stamps, stamp, lo)
                i = bisect.bisect_left(order, ik, lo, hi, key=id_sort_key)
                if i < hi and order[i] == key:
                    del order[i]
                    del stamps[i]
            if new is not None:
                stamp = canon_stamp(new.get(name))
                lo = bisect.bisect_left(stamps, stamp)
                hi = bisect.bisect_right(stamps, stamp, lo)
                i = bisect.bisect_left(order, ik, lo, hi, key=id_sort_key)
                order.insert(i, key)
                stamps.insert(i, stamp)
                stamp_of[key] = stamp
        for fields, lookup in self.reverse.items():
            if old is not None:
                keys = lookup.get(_values(old, fields))
                if keys and key in keys:
                    keys.remove(key)
            if new is not None:
                lookup.setdefault(_values(new, fields), []).append(key)


def _values(rec: Record, fields: tuple[str, ...]) -> tuple[str, ...]:
    return tuple("" if rec.get(f) is None else str(rec.get(f)) for f in fields)


@dataclass
class Query:
    """A parsed list request."""

    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    limit: int | None = None
    offset: int | None = None
    includes: list[str] = field(default_factory=list)


# -- the emulator -------------------------------------------------------------------------------
class Emulator(SystemEmulator):
    system = "psa"
    open_paths = ("/oauth/token",)

    def __init__(self, ctx: Any):
        self._indexes: dict[tuple[str, str], TableIndex] = {}
        self._versions: dict[tuple[str, str], int] = {}
        self._next_ids: dict[tuple[str, str], int] = {}
        super().__init__(ctx)

    # -- hooks ----------------------------------------------------------------------------
    def routes(self, app: FastAPI) -> None:
        app.add_api_route("/oauth/token", self._token, methods=["POST"])
        app.add_api_route(
            API_PREFIX + "/{path:path}",
            self._dispatch,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        )

    def rate_limited(self) -> Response:
        return json_response(
            {"errors": [{"type": "system", "message": "Rate limit exceeded"}]},
            429,
            {"Retry-After": str(self.faults.config.retry_after)},
        )

    def server_error(self) -> Response:
        return json_response(
            {"errors": [{"type": "system", "message": "Service is unavailable"}]}, 503
        )

    def unauthorized(self) -> Response:
        return json_response(UNAUTHORIZED, 401, {"WWW-Authenticate": 'Bearer realm="api"'})

    def malform(self, obj: str, record: Record) -> Record:
        choices = MALFORMED.get(obj)
        if not choices:
            return record
        name, bad = choices[zlib.crc32(str(record.get("id")).encode()) % len(choices)]
        record[name] = bad
        return record

    def drift_fields(self, obj: str) -> dict[str, Any]:
        return dict(DRIFT.get(obj, {}))

    def connection_info(self, conn: Connection) -> dict[str, Any]:
        info: dict[str, Any] = {
            "base_url": self.ctx.base_url + API_PREFIX,
            "api_token": conn.settings.get("api_token"),
            "account_id": conn.settings.get("account_id"),
            "token_url": self.ctx.base_url + "/oauth/token",
        }
        for name in ("client_id", "client_secret"):
            if conn.settings.get(name):
                info[name] = conn.settings[name]
        return info

    def invalidate(self) -> None:
        """Drop every cached index: call after changing the store's records directly."""
        with self.store.lock:
            self._indexes.clear()

    # -- auth -----------------------------------------------------------------------------
    async def _token(self, request: Request) -> Response:
        """OAuth2 token endpoint (Doorkeeper shapes); only client_credentials is emulated."""
        params = await self._body_params(request, strict=False)
        client_id, secret = params.get("client_id"), params.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                client_id = secret = None
        if params.get("grant_type") != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported by the "
                    "authorization server.",
                },
                400,
            )
        for conn in self.store.connections_of(self.system):
            cid, csecret = conn.settings.get("client_id"), conn.settings.get("client_secret")
            if cid and csecret and cid == client_id and csecret == secret:
                token = self.ctx.tokens.issue(conn.name)
                body: dict[str, Any] = {
                    "access_token": token.value,
                    "token_type": "Bearer",
                    "created_at": int(self.store.now().timestamp()),
                }
                if self.faults.config.token_ttl:
                    body["expires_in"] = math.ceil(self.faults.config.token_ttl)
                return json_response(body)
        return json_response(
            {
                "error": "invalid_client",
                "error_description": "Client authentication failed due to unknown client, no client "  # noqa: E501
                "authentication included, or unsupported authentication method.",
            },
            401,
        )

    def _authenticate(self, request: Request) -> Connection | None:
        header = request.headers.get("authorization", "")
        value = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not value:
            return None
        for conn in self.store.connections_of(self.system):
            if conn.settings.get("api_token") and conn.settings["api_token"] == value:
                return conn
        token = self.authorize(request)
        return self.connection(token.connection) if token else None

    # -- dispatch -------------------------------------------------------------------------
    async def _dispatch(self, request: Request, path: str) -> Response:
        conn = self._authenticate(request)
        if conn is None:
            return self.unauthorized()
        parts = [p for p in path.removesuffix(".json").split("/") if p]
        method = request.method
        write = method != "GET"
        body: Any = None
        try:
            if write:
                body = await self._body_params(request, strict=True)
            with self.store.lock:
                response = self._route(conn, request, method, parts, body)
        except ApiError as err:
            response = err.response()
        if write:
            self.log_write(
                request,
                conn.name,
                response.status_code,
                body,
                json.loads(response.body) if response.body else None,
            )
        return response

    def _route(
        self, conn: Connection, request: Request, method: str, parts: list[str], body: Any
    ) -> Response:
        params = dict(request.query_params)
        if not parts or parts[0] not in SPECS or len(parts) > 2:
            raise not_found()
        spec = SPECS[parts[0]]
        if len(parts) == 1:
            if method == "GET":
                return self._list(conn, spec, params)
            if method == "POST":
                return self._create(conn, spec, params, body)
            if method == "DELETE" and spec.table == "time_entries":
                return self._bulk_delete(conn, spec, params, body)
            raise not_found()
        ident = parts[1]
        if spec.table == "users" and ident == "me" and method == "GET":
            me = self._me(conn)
            if me is None:
                raise not_found()
            return self._show(conn, spec, params, str(me["id"]))
        if spec.table == "external_references" and ident == "create_or_update":
            if method != "POST":
                raise not_found()
            return self._ext_ref_upsert(conn, params, body)
        if method == "GET":
            return self._show(conn, spec, params, ident)
        if method in ("PUT", "PATCH"):
            return self._update(conn, spec, params, ident, body)
        if method == "DELETE":
            return self._delete(conn, spec, ident)
        raise not_found()

    async def _body_params(self, request: Request, strict: bool) -> dict[str, Any]:
        """JSON or Rails-form body; Rails-style params in the query string count too."""
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        query = rails_params(request.query_params.multi_items())
        raw = await request.body()
        if not raw.strip():
            return query
        if ctype == "multipart/form-data":
            form = await request.form()
            return {**query, **rails_params((k, str(v)) for k, v in form.multi_items())}
        if ctype == "application/x-www-form-urlencoded":
            return {**query, **rails_params(parse_qsl(raw.decode(), keep_blank_values=True))}
        try:
            parsed = json.loads(raw)
        except ValueError as err:
            if not strict:
                return {**query, **rails_params(parse_qsl(raw.decode(), keep_blank_values=True))}
            raise syntax_error(f"Invalid JSON: {err}") from err
        if not isinstance(parsed, dict):
            raise syntax_error()
        return {**query, **parsed}

    # -- tables and the index -------------------------------------------------------------
    def _table(self, conn: Connection, name: str) -> Table | None:
        return conn.tables.get(name)

    def _sig(self, conn: Connection, table: Table) -> tuple[Any, ...]:
        # advance() bumps store.generation and moves the clock; other direct edits of stored
        # records must call invalidate()
        return (
            id(table),
            id(table.rows),
            len(table.rows),
            self._versions.get((conn.name, table.name), 0),
            getattr(self.store, "generation", 0),
            self.store.manifest.get("clock"),
        )

    def _index(self, conn: Connection, name: str) -> TableIndex | None:
        table = self._table(conn, name)
        if table is None:
            return None
        sig = self._sig(conn, table)
        idx = self._indexes.get((conn.name, name))
        if idx is None or idx.sig != sig:
            idx = self._indexes[(conn.name, name)] = TableIndex(table, sig)
        return idx

    def _put(self, conn: Connection, name: str, new: Record | None, key: Key) -> None:
        """Replace (or, with ``new=None``, delete) one record and keep its index current.
        Records are replaced, never edited in place, so the index can see the old values."""
        table = conn.table(name)
        idx = self._indexes.get((conn.name, name))
        valid = idx is not None and idx.sig == self._sig(conn, table)
        old = table.rows.get(key)
        if new is None:
            table.rows.pop(key, None)
        else:
            table.rows[key] = new
        ver = (conn.name, name)
        self._versions[ver] = self._versions.get(ver, 0) + 1
        if valid and idx is not None:
            idx.apply(key, old, new)
            idx.sig = self._sig(conn, table)
        else:
            self._indexes.pop((conn.name, name), None)

    def _get(self, conn: Connection, name: str, ident: Any) -> Record | None:
        table = self._table(conn, name)
        if table is None or ident is None:
            return None
        return table.rows.get((str(ident),))

    def _new_id(self, conn: Connection, name: str) -> str:
        table = conn.table(name)
        slot = (conn.name, name)
        if slot not in self._next_ids:
            numeric = [int(k[0]) for k in table.rows if str(k[0]).isdigit()]
            self._next_ids[slot] = max(numeric, default=0) + 1
        candidate = self._next_ids[slot]
        while (str(candidate),) in table.rows:
            candidate += 1
        self._next_ids[slot] = candidate + 1
        return str(candidate)

    def _now(self) -> str:
        return fmt_time(self.store.now())

    def _me(self, conn: Connection) -> Record | None:
        """The token's user: settings user_id, else the first administrator, else the first
        user."""
        if conn.settings.get("user_id"):
            return self._get(conn, "users", conn.settings["user_id"])
        users = self._table(conn, "users")
        if not users or not len(users):
            return None
        members = self._table(conn, "account_memberships")
        admins = sorted(
            (
                str(m.get("user_id"))
                for m in (members or [])
                if m.get("permission") in ("administrator", "account_administrator")
            ),
            key=lambda v: (len(v), v),
        )
        for uid in admins:
            if (uid,) in users.rows:
                return users.rows[(uid,)]
        return users.rows[min(users.rows, key=id_sort_key)]

    # -- reads ----------------------------------------------------------------------------
    def _parse_query(self, params: dict[str, str]) -> Query:
        q = Query()
        q.page = max(_int_param(params.get("page"), 1), 1)
        per_page = _int_param(params.get("per_page"), DEFAULT_PER_PAGE)
        q.per_page = DEFAULT_PER_PAGE if per_page < 1 else min(per_page, MAX_PER_PAGE)
        if "limit" in params and "offset" in params:
            q.limit = min(max(_int_param(params["limit"], DEFAULT_PER_PAGE), 1), MAX_PER_PAGE)
            q.offset = max(_int_param(params["offset"], 0), 0)
        q.includes = [i.strip() for i in params.get("include", "").split(",") if i.strip()]
        return q

    def _list(self, conn: Connection, spec: Spec, params: dict[str, str]) -> Response:
        if spec.required_filter and not params.get(spec.required_filter):
            raise syntax_error(f"You must provide a {spec.required_filter} filter.")
        q = self._parse_query(params)
        keys = self._matching(conn, spec, params)
        count = len(keys)
        if q.limit is not None and q.offset is not None:
            page = keys[q.offset : q.offset + q.limit]
        else:
            start = (q.page - 1) * q.per_page
            page = keys[start : start + q.per_page]
        table = conn.tables.get(spec.table)
        records = [table.rows[k] for k in page] if table is not None else []
        meta = {
            "count": count,
            "page_count": math.ceil(count / q.per_page) if count else 0,
            "page_number": q.page if count else 0,
            "page_size": q.per_page,
        }
        return json_response(self._envelope(conn, spec, records, q.includes, count, meta))

    def _show(self, conn: Connection, spec: Spec, params: dict[str, str], ident: str) -> Response:
        record = self._get(conn, spec.table, ident)
        if record is None or (
            spec.table == "workspaces" and record.get("archived") and not _archived_visible(params)
        ):
            raise not_found()
        return json_response(
            self._envelope(conn, spec, [record], self._parse_query(params).includes)
        )

    def _matching(self, conn: Connection, spec: Spec, params: dict[str, str]) -> list[Key]:
        """Keys of the records matching the filters, in the requested order (cached per query)."""
        idx = self._index(conn, spec.table)
        if idx is None:
            return []
        order_field, descending = self._order(spec, params.get("order"))
        qkey = (
            tuple(sorted((k, v) for k, v in params.items() if k not in PAGE_PARAMS)),
            self._depends(conn, spec, params),
        )
        cached = idx.queries.get(qkey)
        if cached is not None:
            idx.queries.move_to_end(qkey)
            return cached
        rows = idx.table.rows
        candidates: list[Key] | None = None  # None: the whole table
        ordered_by: str | None = None  # the ordering candidates already have
        if "only" in params:
            wanted = {(i.strip(),) for i in params["only"].split(",") if i.strip()}
            candidates = sorted((k for k in wanted if k in rows), key=id_sort_key)
            ordered_by = "id"
        for stamp in ("updated_at", "created_at"):
            after = params.get(stamp.replace("_at", "_after"))
            before = params.get(stamp.replace("_at", "_before"))
            if after is None and before is None:
                continue
            order, stamps, _ = idx.stamp_index(stamp)
            lo, hi = 0, len(stamps)
            if after is not None:  # strictly greater
                lo = bisect.bisect_right(stamps, _bound(stamp.replace("_at", "_after"), after))
            if before is not None:  # strictly less
                hi = bisect.bisect_left(stamps, _bound(stamp.replace("_at", "_before"), before))
            subset = order[lo : max(lo, hi)]
            if candidates is None:
                candidates, ordered_by = subset, stamp
            else:
                keep = set(subset)
                candidates = [k for k in candidates if k in keep]
        predicates = self._predicates(conn, spec, params)
        if candidates is None:
            if order_field in ("updated_at", "created_at"):
                candidates, ordered_by = idx.stamp_index(order_field)[0], order_field
            else:
                candidates, ordered_by = idx.by_id, "id"
        if predicates:
            candidates = [k for k in candidates if all(p(rows[k]) for p in predicates)]
        if ordered_by != order_field:
            candidates = self._sort(idx, candidates, order_field)
        if descending:
            candidates = candidates[::-1]
        idx.queries[qkey] = candidates
        if len(idx.queries) > QUERY_CACHE_SIZE:
            idx.queries.popitem(last=False)
        return candidates

    def _depends(self, conn: Connection, spec: Spec, params: dict[str, str]) -> tuple[Any, ...]:
        """Signatures of the other tables a query's filters read, so its cached result
        is not reused after those change."""
        deps: list[Any] = []
        if spec.subject_type and any(
            p.startswith(("external_reference_", "has_external")) for p in params
        ):
            table = conn.tables.get("external_references")
            deps.append(self._sig(conn, table) if table is not None else None)
        if spec.table == "time_entries" and "from_archived_workspaces" in params:
            table = conn.tables.get("workspaces")
            deps.append(self._sig(conn, table) if table is not None else None)
        return tuple(deps)

    def _order(self, spec: Spec, order: str | None) -> tuple[str, bool]:
        """``order=field:asc|desc``; an unknown field falls back to the default, id ascending
        (Brainstem's behaviour for an order it does not offer)."""
        if not order:
            return "id", False
        name, _, direction = order.partition(":")
        name = name.strip()
        if name not in spec.fields or name in ("status", "subject_ref") or name.endswith("_ids"):
            return "id", False
        return name, direction.strip().lower() == "desc"

    def _sort(self, idx: TableIndex, keys: list[Key], order_field: str) -> list[Key]:
        if order_field == "id":
            return sorted(keys, key=id_sort_key)
        if order_field in ("updated_at", "created_at"):
            stamp_of = idx.stamp_index(order_field)[2]
            return sorted(sorted(keys, key=id_sort_key), key=stamp_of.__getitem__)
        rows = idx.table.rows

        def value(k: Key) -> tuple[int, Any]:
            v = rows[k].get(order_field)
            if v is None:
                return (0, "")
            if isinstance(v, bool | int | float):
                return (1, v)
            return (2, str(v).lower())

        return sorted(sorted(keys, key=id_sort_key), key=value)

    def _predicates(
        self, conn: Connection, spec: Spec, params: dict[str, str]
    ) -> list[Callable[[Record], bool]]:
        preds: list[Callable[[Record], bool]] = []
        for param, name in spec.eq_filters.items():
            if params.get(param):
                wanted = {v.strip() for v in params[param].split(",")}
                preds.append(lambda r, n=name, w=wanted: str(r.get(n)) in w)
        for param, name in spec.bool_filters.items():
            if params.get(param):
                flag = _bool(params[param])
                preds.append(lambda r, n=name, f=flag: bool(r.get(n)) is f)
        for param, name in spec.contains_filters.items():
            if params.get(param):
                wanted = {v.strip() for v in params[param].split(",")}
                preds.append(lambda r, n=name, w=wanted: bool(w & {str(x) for x in r.get(n) or []}))
        if spec.table == "workspaces":
            mode = params.get("archived", "")
            if mode not in ("only", "exclude", "include"):
                mode = "include" if _archived_visible(params) else "exclude"
            if mode == "only":
                preds.append(lambda r: bool(r.get("archived")))
            elif mode == "exclude":
                preds.append(lambda r: not r.get("archived"))
        if spec.table == "time_entries":
            if "approved" in params:
                # documented quirk: the value given is ignored, the filter is always true
                preds.append(lambda r: bool(r.get("approved")))
            if params.get("date_performed_between"):
                first, last = _date_range(params["date_performed_between"])
                preds.append(lambda r: first <= str(r.get("date_performed") or "") <= last)
            if params.get("from_archived_workspaces", "").lower() == "false":
                archived = {
                    str(w["id"])
                    for w in conn.tables.get("workspaces", Table("", ()))
                    if w.get("archived")
                }
                preds.append(lambda r: str(r.get("workspace_id")) not in archived)
        ext = {f: params[p] for p, f in EXT_REF_FILTERS.items() if params.get(p)}
        refs_list = params.get("external_reference_service_model_refs")
        has_refs = params.get("has_external_references")
        if spec.subject_type and (ext or refs_list or has_refs):
            subject_ids = set()
            wanted_refs = {v.strip() for v in refs_list.split(",")} if refs_list else None
            for ref in conn.tables.get("external_references", Table("", ())):
                if ref.get("subject_type") != spec.subject_type:
                    continue
                if any(str(ref.get(f)) != v for f, v in ext.items()):
                    continue
                if wanted_refs is not None and str(ref.get("service_model_ref")) not in wanted_refs:
                    continue
                subject_ids.add(str(ref.get("subject_id")))
            if has_refs is not None and not (ext or refs_list):
                flag = _bool(has_refs)
                preds.append(lambda r, s=subject_ids, f=flag: (str(r.get("id")) in s) is f)
            else:
                preds.append(lambda r, s=subject_ids: str(r.get("id")) in s)
        return preds

    # -- the envelope ---------------------------------------------------------------------
    def _envelope(
        self,
        conn: Connection,
        spec: Spec,
        records: list[Record],
        includes: list[str],
        count: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        count = len(records) if count is None else count
        meta = meta or {
            "count": count,
            "page_count": 1 if count else 0,
            "page_number": 1 if count else 0,
            "page_size": DEFAULT_PER_PAGE,
        }
        primary: dict[str, Record] = {}
        side: dict[str, dict[str, Record]] = {}
        for name in includes:
            assoc = spec.includes.get(name)
            if assoc is not None and assoc.target and assoc.target != spec.table:
                side.setdefault(assoc.target, {})
        extra: dict[str, dict[str, Any]] = {}
        for record in records:
            rid = str(record.get("id"))
            out = self.render(spec.table, record, rid)
            for name in includes:
                assoc = spec.includes.get(name)
                if assoc is None:
                    continue  # unknown includes are ignored, as Brainstem does
                for target, rec in self._related(
                    conn, spec, assoc, record, extra.setdefault(rid, {})
                ):
                    bucket = primary if target == spec.table else side.setdefault(target, {})
                    tid = str(rec.get("id"))
                    if tid not in bucket:
                        bucket[tid] = self.render(target, rec, tid)
            if extra.get(rid):
                out = {**out, **extra[rid]}
            primary[rid] = out
        body: dict[str, Any] = {
            "count": count,
            "meta": meta,
            "results": [{"key": spec.table, "id": str(r.get("id"))} for r in records],
        }
        body[spec.table] = primary  # side-loads of the primary type share its map
        for target, bucket in side.items():
            body[target] = bucket
        return body

    def _related(
        self, conn: Connection, spec: Spec, assoc: Assoc, record: Record, extra: dict[str, Any]
    ) -> list[tuple[str, Record]]:
        """The records one include brings for one parent, and the ids set on the parent."""
        out: list[tuple[str, Record]] = []
        if assoc.kind == "id":
            rec = self._get(conn, assoc.target, record.get(assoc.field))
            if rec is not None:
                out.append((assoc.target, rec))
        elif assoc.kind == "ids":
            for ident in record.get(assoc.field) or []:
                rec = self._get(conn, assoc.target, ident)
                if rec is not None:
                    out.append((assoc.target, rec))
        elif assoc.kind in ("reverse", "subject"):
            idx = self._index(conn, assoc.target)
            keys: list[Key] = []
            if idx is not None:
                if assoc.kind == "reverse":
                    keys = idx.lookup((assoc.field,)).get((str(record.get("id")),), [])
                else:
                    keys = idx.lookup(("subject_type", "subject_id")).get(
                        (spec.subject_type or "", str(record.get("id"))), []
                    )
                keys = sorted(keys, key=id_sort_key)
                out.extend((assoc.target, idx.table.rows[k]) for k in keys)
            ids = [str(k[0]) for k in keys]
            if assoc.out.endswith("_ids"):
                extra[assoc.out] = ids
            else:
                extra[assoc.out] = ids[0] if ids else None
        elif assoc.kind == "poly":
            target = SUBJECT_TABLES.get(str(record.get("subject_type")))
            rec = self._get(conn, target, record.get("subject_id")) if target else None
            if target and rec is not None:
                out.append((target, rec))
        return out

    # -- writes ---------------------------------------------------------------------------
    def _wrapped(self, spec: Spec, body: Any) -> list[dict[str, Any]]:
        """The records of a create: the singular wrapper, or the plural key with an array."""
        body = body or {}
        if isinstance(body.get(spec.singular), dict):
            return [body[spec.singular]]
        items = body.get(spec.table)
        if isinstance(items, dict):  # form-encoded bulk may come as {"0": {...}, "1": {...}}
            items = list(items.values())
        if isinstance(items, list) and items and all(isinstance(i, dict) for i in items):
            if len(items) > MAX_BULK:
                raise ApiError(
                    422,
                    [
                        {
                            "type": "validation",
                            "message": f"Too many {spec.table}: at most {MAX_BULK} per request",
                            "field": spec.table,
                        }
                    ],
                )
            return items
        raise syntax_error()

    def _create(self, conn: Connection, spec: Spec, params: dict[str, str], body: Any) -> Response:
        if spec.table == "custom_field_values":
            return self._cfv_upsert(conn, spec, params, body)
        if spec.create is None:
            raise not_found()
        items = self._wrapped(spec, body)
        prepared = [self._prepare(conn, spec, item, None) for item in items]
        errors = [e for _, _, errs in prepared for e in errs]
        if errors:
            raise ApiError(422, errors)
        records = []
        for attrs, nested, _ in prepared:
            records.append(self._insert(conn, spec, attrs, nested))
        return json_response(
            self._envelope(conn, spec, records, self._parse_query(params).includes)
        )

    def _update(
        self, conn: Connection, spec: Spec, params: dict[str, str], ident: str, body: Any
    ) -> Response:
        current = self._get(conn, spec.table, ident)
        if current is None:
            raise not_found()
        if spec.update is None:
            raise not_found()
        attrs_in = (body or {}).get(spec.singular)
        if not isinstance(attrs_in, dict):
            raise syntax_error()
        attrs, nested, errors = self._prepare(conn, spec, attrs_in, current)
        if errors:
            raise ApiError(422, errors)
        record = self._apply_update(conn, spec, current, attrs, nested)
        return json_response(
            self._envelope(conn, spec, [record], self._parse_query(params).includes)
        )

    def _delete(self, conn: Connection, spec: Spec, ident: str) -> Response:
        record = self._get(conn, spec.table, ident)
        if record is None or not spec.deletable:
            raise not_found()
        self._remove(conn, spec, record)
        return Response(status_code=204)

    def _bulk_delete(
        self, conn: Connection, spec: Spec, params: dict[str, str], body: Any
    ) -> Response:
        raw = params.get("ids") or (body or {}).get("ids") or ""
        ids = raw if isinstance(raw, list) else str(raw).split(",")
        ids = [str(i).strip() for i in ids if str(i).strip()]
        if not ids:
            raise syntax_error()
        records = [self._get(conn, spec.table, i) for i in ids]
        if any(r is None for r in records):
            raise not_found()  # all or nothing
        for record in records:
            if record is not None:
                self._remove(conn, spec, record)
        return Response(status_code=204)

    def _remove(self, conn: Connection, spec: Spec, record: Record) -> None:
        rid = str(record["id"])
        self._put(conn, spec.table, None, (rid,))
        if spec.table == "workspaces":
            for gid in record.get("workspace_group_ids") or []:
                self._link(conn, "workspace_groups", gid, "workspace_ids", rid, add=False)
        if spec.table in ("custom_field_values", "external_references"):
            target = SUBJECT_TABLES.get(str(record.get("subject_type")))
            list_field = (
                "custom_field_value_ids"
                if spec.table == "custom_field_values"
                else "external_reference_ids"
            )
            if target:
                self._link(conn, target, record.get("subject_id"), list_field, rid, add=False)

    def _prepare(
        self, conn: Connection, spec: Spec, given: dict[str, Any], current: Record | None
    ) -> tuple[dict[str, Any], dict[str, Any] | None, list[dict[str, Any]]]:
        """Whitelist, coerce and validate one record's attributes (unknown ones are ignored)."""
        allowed = spec.create if current is None else spec.update
        errors: list[dict[str, Any]] = []
        attrs: dict[str, Any] = {}
        for name, value in given.items():
            if name not in (allowed or ()) or name == _EXT:
                continue
            try:
                attrs[name] = _coerce(name, value)
            except ValueError as err:
                errors.append(_invalid(name, str(err)))
        nested = given.get(_EXT) if _EXT in (allowed or ()) else None
        if nested is not None and not isinstance(nested, dict):
            errors.append(_invalid(_EXT, "is invalid"))
            nested = None
        if spec.table == "workspaces" and "price" in attrs:
            try:
                price = str(attrs.pop("price")).replace(",", "").lstrip("$")
                attrs["price_in_cents"] = round(float(price) * 100)
            except ValueError:
                errors.append(_invalid("price", "is not a number"))
        if spec.table == "expenses" and "billable" in attrs:
            attrs["is_billable"] = attrs.pop("billable")  # create takes billable, reads is_billable
        if spec.table == "invoices" and "workspace_id" in attrs:
            attrs["workspace_ids"] = [attrs.pop("workspace_id")]
        merged = {**(current or {}), **attrs}
        required = (
            spec.required if current is None else tuple(a for a in spec.required if a in attrs)
        )
        for name in required:
            if merged.get(name) in (None, "", []):
                errors.append(_invalid(name, "can't be blank"))
        if (
            spec.table == "workspaces"
            and current is None
            and attrs.get("creator_role") not in ("maven", "buyer")
        ):
            errors.append(_invalid("creator_role", "is not included in the list"))
        if spec.table == "stories" and merged.get("story_type") not in (None, "", *STORY_TYPES):
            errors.append(_invalid("story_type", "is not included in the list"))
        for name in ("workspace_id", "story_id", "user_id", "role_id", "holiday_calendar_id"):
            target = {
                "workspace_id": "workspaces",
                "story_id": "stories",
                "user_id": "users",
                "role_id": "roles",
                "holiday_calendar_id": "holiday_calendars",
            }[name]
            if attrs.get(name) and self._get(conn, target, attrs[name]) is None:
                errors.append(_invalid(name, "must exist"))
        for wid in attrs.get("workspace_ids") or []:
            if self._get(conn, "workspaces", wid) is None:
                errors.append(_invalid("workspace_ids", "must exist"))
        if nested is not None:
            missing = [
                f
                for f in ("service_name", "service_model", "service_model_ref")
                if nested.get(f) in (None, "")
            ]
            if missing:
                errors.append(_invalid(_EXT, "is missing " + ", ".join(missing)))
        return attrs, nested, errors

    def _insert(
        self, conn: Connection, spec: Spec, attrs: dict[str, Any], nested: dict[str, Any] | None
    ) -> Record:
        now = self._now()
        rid = self._new_id(conn, spec.table)
        record: Record = {f: None for f in spec.fields}
        for name in spec.fields:
            if name.endswith("_ids"):
                record[name] = []
        record.update({"id": rid, "created_at": now, "updated_at": now})
        me = self._me(conn)
        me_id = str(me["id"]) if me else None
        defaults = self._defaults(conn, spec, attrs, me_id)
        record.update(defaults)
        record.update({k: v for k, v in attrs.items() if k in spec.fields})
        self._put(conn, spec.table, record, (rid,))
        if spec.table == "workspace_groups":
            for wid in attrs.get("add_workspace_ids") or []:
                self._group_workspace(conn, rid, str(wid), add=True)
        if spec.table == "workspaces":
            for gid in record.get("workspace_group_ids") or []:
                self._link(conn, "workspace_groups", gid, "workspace_ids", rid, add=True)
        if spec.table == "invoices":
            self._invoice_items(conn, rid, record)
        if nested is not None and spec.subject_type:
            self._ext_ref_write(conn, spec.subject_type, rid, nested)
        return conn.tables[spec.table].rows[(rid,)]

    def _defaults(
        self, conn: Connection, spec: Spec, attrs: dict[str, Any], me_id: str | None
    ) -> dict[str, Any]:
        account_id = conn.settings.get("account_id")
        if spec.table == "workspaces":
            status = self._status(conn, attrs.get("status_key", 100))
            if status.get("message") is None and "status_key" not in attrs:
                status = {"color": "grey", "key": 100, "message": "Not Started"}
            return {
                "account_id": account_id,
                "archived": False,
                "budgeted": False,
                "currency": "USD",
                "status": status,
                "stage": "project",
                "creator_id": me_id,
                "primary_maven_id": me_id,
                "participant_ids": [me_id] if me_id else [],
            }
        if spec.table == "workspace_groups":
            return {"company": False}
        if spec.table == "stories":
            return {
                "state": "not started",
                "billable": True,
                "fixed_fee": False,
                "percentage_complete": 0,
            }
        workspace = self._get(conn, "workspaces", attrs.get("workspace_id"))
        currency = (workspace or {}).get("currency") or "USD"
        if spec.table == "time_entries":
            user_id = attrs.get("user_id") or me_id
            member = next(
                (
                    m
                    for m in conn.tables.get("account_memberships", Table("", ()))
                    if str(m.get("user_id")) == str(user_id)
                ),
                {},
            )
            return {
                "user_id": user_id,
                "billable": True,
                "currency": currency,
                "rate_in_cents": member.get("bill_rate_in_cents") or 0,
                "cost_rate_in_cents": member.get("cost_rate_in_cents") or 0,
                "role_id": member.get("default_role_id"),
                "approved": False,
                "is_invoiced": False,
            }
        if spec.table == "expenses":
            return {
                "user_id": attrs.get("user_id") or me_id,
                "currency": currency,
                "is_billable": True,
                "is_invoiced": False,
                "reimbursable": False,
            }
        if spec.table == "invoices":
            draft = attrs.get("draft", True)
            first = self._get(conn, "workspaces", (attrs.get("workspace_ids") or [None])[0])
            return {
                "draft": draft,
                "status": "draft" if draft else "new",
                "currency": (first or {}).get("currency") or "USD",
                "invoice_date": self._now()[:10],
                "balance_in_cents": 0,
            }
        if spec.table == "time_off_entries":
            return {"user_id": attrs.get("user_id") or me_id}
        return {}

    def _status(self, conn: Connection, key: Any) -> dict[str, Any]:
        """A workspace status object for ``status_key``, borrowed from a workspace using it."""
        for ws in conn.tables.get("workspaces", Table("", ())):
            status = ws.get("status")
            if isinstance(status, dict) and str(status.get("key")) == str(key):
                return dict(status)
        return {"color": None, "key": _to_int_or_str(key), "message": None}

    def _apply_update(
        self,
        conn: Connection,
        spec: Spec,
        current: Record,
        attrs: dict[str, Any],
        nested: dict[str, Any] | None,
    ) -> Record:
        rid = str(current["id"])
        changes = {k: v for k, v in attrs.items() if k in spec.fields}
        if spec.table == "custom_field_values" and "value" in changes:
            value = changes["value"]
            changes["display_value"] = value if isinstance(value, str) else json.dumps(value)
        if spec.table == "workspaces" and "status_key" in attrs:
            changes["status"] = self._status(conn, attrs["status_key"])
        record = {**current, **changes, "updated_at": self._now()}
        self._put(conn, spec.table, record, (rid,))
        if spec.table == "workspace_groups":
            for wid in attrs.get("add_workspace_ids") or []:
                self._group_workspace(conn, rid, str(wid), add=True)
            for wid in attrs.get("remove_workspace_ids") or []:
                self._group_workspace(conn, rid, str(wid), add=False)
        if spec.table == "workspaces" and "workspace_group_ids" in changes:
            before = {str(g) for g in current.get("workspace_group_ids") or []}
            after = {str(g) for g in changes["workspace_group_ids"] or []}
            for gid in after - before:
                self._link(conn, "workspace_groups", gid, "workspace_ids", rid, add=True)
            for gid in before - after:
                self._link(conn, "workspace_groups", gid, "workspace_ids", rid, add=False)
        if nested is not None and spec.subject_type:
            self._ext_ref_write(conn, spec.subject_type, rid, nested)
        return conn.tables[spec.table].rows[(rid,)]

    def _link(
        self, conn: Connection, table: str, ident: Any, list_field: str, value: str, add: bool
    ) -> None:
        """Add or remove one id in a record's id list; its updated_at moves if the list does."""
        record = self._get(conn, table, ident)
        if record is None:
            return
        ids = [str(i) for i in record.get(list_field) or []]
        if add == (value in ids):
            return
        ids = [*ids, value] if add else [i for i in ids if i != value]
        self._put(
            conn,
            table,
            {**record, list_field: ids, "updated_at": self._now()},
            (str(record["id"]),),
        )

    def _group_workspace(
        self, conn: Connection, group_id: str, workspace_id: str, add: bool
    ) -> None:
        if self._get(conn, "workspaces", workspace_id) is None:
            return
        self._link(conn, "workspace_groups", group_id, "workspace_ids", workspace_id, add)
        self._link(conn, "workspaces", workspace_id, "workspace_group_ids", group_id, add)

    def _invoice_items(self, conn: Connection, invoice_id: str, invoice: Record) -> None:
        """Invoicing marks the time entries and expenses and totals the balance."""
        total = 0.0
        now = self._now()
        for tid in invoice.get("time_entry_ids") or []:
            entry = self._get(conn, "time_entries", tid)
            if entry is None:
                continue
            total += (entry.get("time_in_minutes") or 0) * (entry.get("rate_in_cents") or 0) / 60
            self._put(
                conn,
                "time_entries",
                {**entry, "is_invoiced": True, "invoice_id": invoice_id, "updated_at": now},
                (str(entry["id"]),),
            )
        for eid in invoice.get("expense_ids") or []:
            expense = self._get(conn, "expenses", eid)
            if expense is None:
                continue
            total += expense.get("amount_in_cents") or 0
            self._put(
                conn,
                "expenses",
                {**expense, "is_invoiced": True, "updated_at": now},
                (str(expense["id"]),),
            )
        invoice = conn.tables["invoices"].rows[(invoice_id,)]
        self._put(conn, "invoices", {**invoice, "balance_in_cents": round(total)}, (invoice_id,))

    # -- custom field values --------------------------------------------------------------
    def _cfv_upsert(
        self, conn: Connection, spec: Spec, params: dict[str, str], body: Any
    ) -> Response:
        """POST /custom_field_values: an upsert per (subject_type, subject_id, custom_field_id)."""
        items = self._wrapped(spec, body)
        errors: list[dict[str, Any]] = []
        prepared = []
        for item in items:
            attrs, errs = self._cfv_validate(conn, item)
            errors.extend(errs)
            prepared.append(attrs)
        if errors:
            raise ApiError(422, errors)
        records = [self._cfv_write(conn, attrs) for attrs in prepared]
        return json_response(
            self._envelope(conn, spec, records, self._parse_query(params).includes)
        )

    def _cfv_validate(
        self, conn: Connection, item: dict[str, Any]
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        errors = []
        for name in ("subject_type", "subject_id", "custom_field_id", "value"):
            if item.get(name) in (None, ""):
                errors.append(_invalid(name, "can't be blank"))
        if errors:
            return {}, errors
        subject_type = str(item["subject_type"])
        target = SUBJECT_TABLES.get(subject_type)
        if subject_type not in CUSTOM_FIELD_SUBJECTS or target is None:
            return {}, [_invalid("subject_type", "is not included in the list")]
        if self._get(conn, target, item["subject_id"]) is None:
            errors.append(_invalid("subject", "must exist"))
        custom_field = self._get(conn, "custom_fields", item["custom_field_id"])
        if custom_field is None or custom_field.get("subject_type") not in (None, subject_type):
            errors.append(_invalid("custom_field_id", "is invalid"))
        value = item["value"]
        if custom_field is not None and custom_field.get("value_type") in ("number", "currency"):
            try:
                float(value)
            except (TypeError, ValueError):
                errors.append(_invalid("value", "is not a number"))
        if custom_field is not None and custom_field.get("value_type") == "date":
            try:
                date.fromisoformat(str(value))
            except ValueError:
                errors.append(_invalid("value", "is not a valid date"))
        try:
            subject_id = int(item["subject_id"])
        except (TypeError, ValueError):
            errors.append(_invalid("subject_id", "is not a number"))
            subject_id = 0
        return {
            "subject_type": subject_type,
            "subject_id": subject_id,
            "value": value,
            "custom_field": custom_field,
        }, errors

    def _cfv_write(self, conn: Connection, attrs: dict[str, Any]) -> Record:
        custom_field = attrs["custom_field"]
        subject_type, subject_id, value = attrs["subject_type"], attrs["subject_id"], attrs["value"]
        idx = self._index(conn, "custom_field_values")
        existing = None
        if idx is not None:
            for key in idx.lookup(("subject_type", "subject_id")).get(
                (subject_type, str(subject_id)), []
            ):
                rec = idx.table.rows[key]
                if str(rec.get("custom_field_id")) == str(custom_field["id"]):
                    existing = rec
                    break
        now = self._now()
        display = value if isinstance(value, str) else json.dumps(value)
        if existing is not None:
            record = {**existing, "value": value, "display_value": display, "updated_at": now}
            self._put(conn, "custom_field_values", record, (str(existing["id"]),))
            return record
        rid = self._new_id(conn, "custom_field_values")
        record = {
            "id": rid,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "custom_field_id": str(custom_field["id"]),
            "custom_field_name": custom_field.get("name"),
            "value": value,
            "display_value": display,
            "type": custom_field.get("value_type"),
            "created_at": now,
            "updated_at": now,
        }
        self._put(conn, "custom_field_values", record, (rid,))
        self._link(
            conn, SUBJECT_TABLES[subject_type], subject_id, "custom_field_value_ids", rid, add=True
        )
        return record

    # -- external references --------------------------------------------------------------
    def _ext_ref_upsert(self, conn: Connection, params: dict[str, str], body: Any) -> Response:
        item = (body or {}).get("external_reference")
        if not isinstance(item, dict):
            raise syntax_error()
        required = (
            "subject_type",
            "subject_id",
            "service_name",
            "service_model",
            "service_model_ref",
        )
        if any(item.get(name) in (None, "") for name in required):
            raise syntax_error()
        subject_type = str(item["subject_type"])
        target = SUBJECT_TABLES.get(subject_type)
        if target is None:
            raise ApiError(422, [_invalid("subject_type", "is not included in the list")])
        if (
            not str(item["subject_id"]).isdigit()
            or self._get(conn, target, str(item["subject_id"])) is None
        ):
            raise ApiError(422, [_invalid("subject", "must exist")])
        if item.get("status") not in (None, *EXTERNAL_REFERENCE_STATUSES):
            raise ApiError(422, [_invalid("status", "is not included in the list")])
        record = self._ext_ref_write(conn, subject_type, str(item["subject_id"]), item)
        return json_response(
            self._envelope(
                conn, SPECS["external_references"], [record], self._parse_query(params).includes
            )
        )

    def _ext_ref_write(
        self, conn: Connection, subject_type: str, subject_id: str, item: dict[str, Any]
    ) -> Record:
        """Upsert on (subject_type, subject_id, service_name, service_model)."""
        idx = self._index(conn, "external_references")
        existing = None
        if idx is not None:
            for key in idx.lookup(("subject_type", "subject_id")).get(
                (subject_type, str(int(subject_id))), []
            ):
                rec = idx.table.rows[key]
                if rec.get("service_name") == item.get("service_name") and rec.get(
                    "service_model"
                ) == item.get("service_model"):
                    existing = rec
                    break
        now = self._now()
        fields = {
            "service_name": item.get("service_name"),
            "service_model": item.get("service_model"),
            "service_model_ref": str(item.get("service_model_ref")),
        }
        for name in ("status", "external_link", "external_message", "external_status"):
            if name in item:
                fields[name] = item[name]
        if "locked" in item:
            fields["locked"] = _coerce("locked", item["locked"])
        if existing is not None:
            record = {**existing, **fields, "last_synced_at": now, "updated_at": now}
            self._put(conn, "external_references", record, (str(existing["id"]),))
            return record
        rid = self._new_id(conn, "external_references")
        target = SUBJECT_TABLES[subject_type]
        record = {
            "id": rid,
            "subject_type": subject_type,
            "subject_id": int(subject_id),
            "subject_ref": {"key": target, "id": str(subject_id)},
            "service_name": None,
            "service_model": None,
            "service_model_ref": None,
            "status": "pending",
            "external_link": None,
            "external_message": None,
            "external_status": None,
            "locked": False,
            **fields,
            "last_synced_at": now,
            "created_at": now,
            "updated_at": now,
        }
        self._put(conn, "external_references", record, (rid,))
        self._link(conn, target, subject_id, "external_reference_ids", rid, add=True)
        return record


# -- small helpers ------------------------------------------------------------------------------
def _int_param(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("true", "1", "t", "yes", "y", "on")


def _archived_visible(params: dict[str, str]) -> bool:
    return (
        _bool(params.get("include_archived", "false"))
        or params.get("apply_default_filters", "").lower() == "false"
    )


def _bound(name: str, value: str) -> str:
    try:
        return parse_time(value).isoformat()
    except ValueError as err:
        raise syntax_error(f"{name} must be an ISO 8601 datetime, got {value!r}") from err


def _date_range(value: str) -> tuple[str, str]:
    first, sep, last = value.partition(":")
    try:
        if not sep:
            raise ValueError(value)
        return date.fromisoformat(first).isoformat(), date.fromisoformat(last).isoformat()
    except ValueError as err:
        raise syntax_error(
            f"date_performed_between must be two dates as YYYY-MM-DD:YYYY-MM-DD, got {value!r}"
        ) from err


def _invalid(name: str, problem: str) -> dict[str, Any]:
    return {"type": "validation", "message": f"{human(name)} {problem}", "field": name}


def _to_int_or_str(value: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def _coerce(name: str, value: Any) -> Any:
    """JSON or form value -> the stored type; ValueError carries the Rails-style problem."""
    if value == "" and name not in ("notes", "description", "title", "name", "value"):
        value = None
    if value is None:
        return None
    if name in BOOL_FIELDS:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "t", "yes"):
            return True
        if text in ("false", "0", "f", "no"):
            return False
        raise ValueError("is not a boolean")
    if name in INT_FIELDS:
        if isinstance(value, bool):
            raise ValueError("is not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("is not a number") from None
        if not number.is_integer():
            raise ValueError("must be an integer")
        return int(number)
    if name in NUMBER_FIELDS:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("is not a number") from None
        return int(number) if number.is_integer() else number
    if name in DATE_FIELDS:
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError("is not a valid date") from None
    if name.endswith("_ids"):
        items = value if isinstance(value, list) else str(value).split(",")
        return [str(i).strip() for i in items if str(i).strip()]
    if name.endswith("_id") and name not in NOT_ID_FIELDS:
        return str(value)
    return value
