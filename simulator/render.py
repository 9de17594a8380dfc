"""Project the plan onto the five systems as of a moment, in each system's native shape.

Every record's modification stamp is the latest of its own events at or before the moment, so
rendering the same plan at a later moment changes exactly the records that changed in between:
that is what ``conform simulator advance`` applies.
"""

from __future__ import annotations

import hashlib
import random
import string
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from simulator.business import (
    FX_BASE,
    FX_LOOKBACK_DAYS,
    LEGAL_ENTITIES,
    PRACTICES,
    ROLES,
    UNRATED_CURRENCY,
    Client,
    Invoice,
    Plan,
    Project,
    SourceClient,
    at,
)
from simulator.planner import primary_record, rate_card

Rows = dict[tuple[str, str, str], list[dict[str, Any]]]

# table keys, for the store
KEYS: dict[str, tuple[str, ...]] = {
    "transactionline": ("transaction", "id"),
    "previoustransactionlink": ("previousdoc", "nextdoc"),
    "deletedrecord": ("recordtype", "recordid"),
    "LegalEntities": ("LegalEntityId",),
    "CustomersV3": ("dataAreaId", "CustomerAccount"),
    "ProjectsV2": ("dataAreaId", "ProjectID"),
    "EmployeesV2": ("PersonnelNumber",),
    "ProjectHourTransactions": ("dataAreaId", "TransactionId"),
    "SalesInvoiceHeadersV2": ("dataAreaId", "InvoiceNumber"),
    "SalesInvoiceLines": ("dataAreaId", "InvoiceNumber", "LineNumber"),
    "CustomerPaymentJournalLines": ("dataAreaId", "JournalBatchNumber", "LineNumber"),
    "CustomerTransactions": ("dataAreaId", "Voucher"),
    "ExchangeRates": ("RateTypeName", "FromCurrency", "ToCurrency", "StartDate"),
    "Account": ("Id",),
    "Opportunity": ("Id",),
    "User": ("Id",),
}
# the stamp field(s) of each table: what advance moves when a record changes
STAMPS = {
    "salesforce": ("LastModifiedDate", "SystemModstamp"),
    "psa": ("updated_at",),
    "netsuite": ("lastmodifieddate", "linelastmodifieddate"),
    "dynamics": ("ModifiedDateTime",),
}
NS_CURRENCY_IDS = {
    "USD": "1",
    "CAD": "2",
    "GBP": "3",
    "EUR": "4",
    "SGD": "5",
    "AUD": "6",
    "SEK": "7",
    UNRATED_CURRENCY: "8",
}
PSA_ACCOUNT_ID = 482910
CUSTOM_FIELDS = (
    ("1", "Workspace", "Project Code", "string"),
    ("2", "Workspace", "Billing Method", "single"),
    ("3", "Workspace", "Practice", "single"),
    ("4", "Workspace", "Legal Entity", "string"),
    ("5", "Workspace", "ERP Project ID", "string"),
    ("6", "Workspace", "Cost Center", "string"),
    ("7", "WorkspaceGroup", "Conform ID", "string"),
    ("8", "WorkspaceGroup", "ERP Customer Number", "string"),
    ("9", "User", "Employee Number", "string"),
    ("10", "User", "Legal Entity", "string"),
    ("11", "User", "Practice", "string"),
    ("12", "User", "Weekly Capacity Hours", "number"),
)
# keyed by subject type too: "Legal Entity" and "Practice" exist on Workspace and on User
CF_ID = {(subject, name): fid for fid, subject, name, _ in CUSTOM_FIELDS}
ROLE_IDS = {role: str(1001 + i) for i, role in enumerate(ROLES)}


def _terms_days(c: Client) -> int:
    return 30 if c.pay_days <= 35 else c.pay_days // 15 * 15


def key_for(table: str) -> tuple[str, ...]:
    return KEYS.get(table, ("id",))


# -- value formats ---------------------------------------------------------------------------


def sf_dt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}+0000"


def kt_dt(t: datetime) -> str:
    return t.astimezone(UTC).replace(microsecond=0).isoformat()


def ns_date(d: date) -> str:
    return f"{d.month}/{d.day}/{d.year}"


def ns_dt(t: datetime) -> str:
    t = t.astimezone(UTC)
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year} {hour}:{t.minute:02d}:{t.second:02d} {half}"


def d365_dt(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def d365_date(d: date) -> str:
    return f"{d.isoformat()}T12:00:00Z"


def unix(t: datetime) -> int:
    return int(t.timestamp())


def num(x: float) -> str:
    """NetSuite's string numbers: no trailing zeros, no exponent."""
    text = f"{x:.6f}".rstrip("0").rstrip(".")
    return text if text not in ("-0", "") else "0"


def latest(*times: datetime | None, until: datetime) -> datetime:
    return max(t for t in times if t is not None and t <= until)


def hashed_id(prefix: str, *parts: object) -> str:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    alphabet = string.ascii_letters + string.digits
    return prefix + "".join(alphabet[b % 62] for b in digest[:14])


def edit_times(seed: int, rec: SourceClient, until: datetime) -> list[datetime]:
    """Deterministic edits of a client record by its users (phone changes), ~ one per 150 days."""
    rng = random.Random(f"{seed}/edits/{rec.system}/{rec.source_id}")
    out, t = [], rec.created
    while True:
        t = t + timedelta(days=rng.expovariate(1 / 150))
        if t > until:
            return out
        out.append(t.replace(microsecond=0))


def phone_after_edits(client: Client, edits: int) -> str:
    if edits == 0:
        return client.phone
    return f"{client.phone[:-4]}{(int(client.phone[-4:]) + 37 * edits) % 10000:04d}"


# --------------------------------------------------------------------------------------------


class Renderer:
    """Renders a plan as of ``until``; ``rows`` maps (system, connection, table) to records."""

    def __init__(self, plan: Plan, until: datetime):
        self.p = plan
        self.t = until
        self.rows: Rows = defaultdict(list)
        self.primary: dict[tuple[str, str], SourceClient] = {}
        for c in plan.clients:
            for rec in c.records:
                if not rec.is_duplicate:
                    self.primary[(c.id, rec.system)] = rec
        self.by_source: dict[tuple[str, str], SourceClient] = {
            (r.system, r.source_id): r for c in plan.clients for r in c.records
        }

    def add(self, system: str, connection: str, table: str, record: dict[str, Any]) -> None:
        self.rows[(system, connection, table)].append(record)

    def render(self) -> Rows:
        self.salesforce()
        self.psa()
        self.netsuite()
        self.dynamics()
        self.stripe()
        return self.rows

    def live(self, t: datetime | None) -> bool:
        return t is not None and t <= self.t

    # -- Salesforce --------------------------------------------------------------------------
    def salesforce(self) -> None:
        owners = [e for e in self.p.employees if e.sf_user_id]
        for e in owners:
            created = at(max(e.hired, self.p.start - timedelta(days=900)), 10)
            if not self.live(created):
                continue
            left = at(e.left, 18) if e.left else None
            stamp = sf_dt(latest(created, left, until=self.t))
            self.add(
                "salesforce",
                "crm",
                "User",
                {
                    "Id": e.sf_user_id,
                    "Username": e.email,
                    "FirstName": e.first,
                    "LastName": e.last,
                    "Name": f"{e.first} {e.last}",
                    "Email": e.email,
                    "Title": e.role,
                    "IsActive": not self.live(left),
                    "CreatedDate": sf_dt(created),
                    "LastModifiedDate": stamp,
                    "SystemModstamp": stamp,
                },
            )
        for c in self.p.clients:
            for rec in c.records:
                if rec.system != "salesforce" or not self.live(rec.created):
                    continue
                edits = edit_times(self.p.seed, rec, self.t)
                deleted = self.live(rec.deleted_at)
                stamp = sf_dt(latest(rec.created, rec.deleted_at, *edits[-1:], until=self.t))
                parent = rec.parent_source_id
                if parent and not self.live(self.by_source[("salesforce", parent)].created):
                    parent = None
                owner = owners[c.n % len(owners)].sf_user_id if owners else None
                self.add(
                    "salesforce",
                    "crm",
                    "Account",
                    {
                        "Id": rec.source_id,
                        "Name": rec.name,
                        "ParentId": parent,
                        "Type": "Prospect" if c.is_prospect else "Customer",
                        "Industry": c.industry,
                        "Website": rec.website,
                        "Phone": phone_after_edits(c, len(edits)),
                        "BillingStreet": c.street,
                        "BillingCity": c.city,
                        "BillingPostalCode": c.postal_code,
                        "BillingCountry": rec.country_value,
                        "BillingCountryCode": c.country if c.n % 3 else None,
                        "CurrencyIsoCode": c.le.currency,
                        "OwnerId": owner,
                        "Tax_Id__c": rec.tax_id,
                        "Conform_Id__c": None,
                        "ERP_Customer_Number__c": rec.erp_number_hint,
                        "Ultimate_Parent_Conform_Id__c": None,
                        "Open_AR__c": None,
                        "Overdue_AR__c": None,
                        "Last_Payment_Date__c": None,
                        "CreatedDate": sf_dt(rec.created),
                        "LastModifiedDate": stamp,
                        "SystemModstamp": stamp,
                        "IsDeleted": deleted,
                    },
                )
        for o in self.p.opportunities:
            if not self.live(o["created"]):
                continue
            closed_at = at(o["close"], 15)
            is_closed = o["closed"] and self.live(closed_at)
            stage = o["stage"] if (is_closed or not o["closed"]) else "Negotiation/Review"
            pr: Project | None = o["project"]
            code = (
                pr.psa_code
                if (pr is not None and pr.opportunity_has_code and self.live(pr.created))
                else None
            )
            stamp = sf_dt(
                latest(
                    o["created"],
                    closed_at if o["closed"] else None,
                    pr.created if code else None,
                    until=self.t,
                )
            )
            self.add(
                "salesforce",
                "crm",
                "Opportunity",
                {
                    "Id": o["id"],
                    "Name": o["name"],
                    "AccountId": o["account"],
                    "StageName": stage,
                    "CloseDate": o["close"].isoformat(),
                    "Amount": o["amount"],
                    "CurrencyIsoCode": o["currency"],
                    "Probability": 100 if (is_closed and o["won"]) else (0 if is_closed else 50),
                    "IsClosed": is_closed,
                    "IsWon": is_closed and o["won"],
                    "Type": "New Business",
                    "OwnerId": o["owner"],
                    "PSA_Project_Code__c": code,
                    "CreatedDate": sf_dt(o["created"]),
                    "LastModifiedDate": stamp,
                    "SystemModstamp": stamp,
                    "IsDeleted": False,
                },
            )

    # -- PSA (Kantata OX) --------------------------------------------------------------------
    def psa(self) -> None:
        p, add = self.p, lambda table, rec: self.add("psa", "psa", table, rec)
        epoch = at(p.start - timedelta(days=1200), 9)
        for role, rid in ROLE_IDS.items():
            add(
                "roles",
                {"id": rid, "name": role, "created_at": kt_dt(epoch), "updated_at": kt_dt(epoch)},
            )
        for fid, subject, name, vtype in CUSTOM_FIELDS:
            add(
                "custom_fields",
                {
                    "id": fid,
                    "name": name,
                    "subject_type": subject,
                    "value_type": vtype,
                    "created_at": kt_dt(epoch),
                    "updated_at": kt_dt(epoch),
                },
            )
        cfv: list[dict[str, Any]] = []

        def value(subject: str, subject_id: str, name: str, val: Any, when: datetime) -> str:
            fid = CF_ID[(subject, name)]
            vid = str(int(fid) * 100_000_000 + int(subject_id) % 100_000_000)
            cfv.append(
                {
                    "id": vid,
                    "subject_type": subject,
                    "subject_id": int(subject_id),
                    "custom_field_id": fid,
                    "custom_field_name": name,
                    "value": val,
                    "display_value": str(val),
                    "type": CUSTOM_FIELDS[int(fid) - 1][3],
                    "created_at": kt_dt(when),
                    "updated_at": kt_dt(when),
                }
            )
            return vid

        # holiday calendars, one per legal entity
        for i, le in enumerate(LEGAL_ENTITIES, start=1):
            add(
                "holiday_calendars",
                {
                    "id": str(300 + i),
                    "name": f"{le.name} holidays",
                    "created_at": kt_dt(epoch),
                    "updated_at": kt_dt(epoch),
                },
            )
            for j, day in enumerate(sorted(p.holidays[le.code])):
                created = at(date(day.year - 1, 12, 1), 9)
                if self.live(created):
                    add(
                        "holiday_calendar_entries",
                        {
                            "id": str(310000 + i * 1000 + j),
                            "holiday_calendar_id": str(300 + i),
                            "date": day.isoformat(),
                            "name": "Public holiday",
                            "hours": le.weekly_hours / 5,
                            "created_at": kt_dt(created),
                            "updated_at": kt_dt(created),
                        },
                    )
        le_calendar = {le.code: str(300 + i) for i, le in enumerate(LEGAL_ENTITIES, start=1)}
        time_off_id = 400000
        for e in p.employees:
            created = at(e.hired, 8) - timedelta(days=7)
            if not self.live(created):
                continue
            left = at(e.left, 18) if e.left else None
            ids = []
            if e.n % 20:  # a few users never got their employee number keyed in
                ids.append(
                    value(
                        "User",
                        e.psa_user_id,
                        "Employee Number",
                        f"EMP-{e.erp_id}" if e.le.system == "netsuite" else e.erp_id,
                        created,
                    )
                )
            ids.append(value("User", e.psa_user_id, "Legal Entity", e.le.code.upper(), created))
            ids.append(value("User", e.psa_user_id, "Practice", e.practice[1], created))
            ids.append(
                value("User", e.psa_user_id, "Weekly Capacity Hours", e.weekly_hours, created)
            )
            stamp = kt_dt(latest(created, left, until=self.t))
            add(
                "users",
                {
                    "id": e.psa_user_id,
                    "full_name": f"{e.first} {e.last}",
                    "email_address": e.email,
                    "headline": e.role,
                    "disabled": self.live(left),
                    "account_id": PSA_ACCOUNT_ID,
                    "custom_field_value_ids": ids,
                    "external_reference_ids": [],
                    "created_at": kt_dt(created),
                    "updated_at": stamp,
                },
            )
            add(
                "account_memberships",
                {
                    "id": e.psa_membership_id,
                    "user_id": e.psa_user_id,
                    "bill_rate_in_cents": rate_card(e.role, e.le.currency) * 100,
                    "cost_rate_in_cents": rate_card(e.role, e.le.currency, 1) * 100,
                    "default_role_id": ROLE_IDS[e.role],
                    "manager_id": None,
                    "permission": "user",
                    "created_at": kt_dt(created),
                    "updated_at": kt_dt(created),
                },
            )
            add(
                "holiday_calendar_memberships",
                {
                    "id": str(350000 + e.n),
                    "holiday_calendar_id": le_calendar[e.le.code],
                    "user_id": e.psa_user_id,
                    "created_at": kt_dt(created),
                    "updated_at": kt_dt(created),
                },
            )
            for day in sorted(e.leave_days):
                requested = at(day, 9) - timedelta(days=14)
                time_off_id += 1
                if self.live(requested):
                    add(
                        "time_off_entries",
                        {
                            "id": str(time_off_id),
                            "user_id": e.psa_user_id,
                            "requested_date": day.isoformat(),
                            "hours": e.weekly_hours / 5,
                            "created_at": kt_dt(requested),
                            "updated_at": kt_dt(requested),
                        },
                    )
        # workspace groups (clients) and workspaces (projects)
        groups: dict[str, list[SourceClient]] = defaultdict(list)
        for c in p.clients:
            for rec in c.records:
                if rec.system == "psa":
                    groups[c.id].append(rec)
        group_workspaces: dict[str, list[tuple[str, datetime]]] = defaultdict(list)
        project_group: dict[str, str] = {}
        for pr in p.projects:
            if pr.client is None or pr.erp_only or not pr.psa_id:
                continue
            recs = [r for r in groups[pr.client.id] if r.created <= pr.created] or groups[
                pr.client.id
            ][:1]
            rec = recs[-1] if (len(recs) > 1 and pr.n % 2) else recs[0]
            project_group[pr.id] = rec.source_id
            group_workspaces[rec.source_id].append((pr.psa_id, pr.created))
        for c in p.clients:
            for rec in groups[c.id]:
                if not self.live(rec.created):
                    continue
                attached = [(w, t) for w, t in group_workspaces[rec.source_id] if self.live(t)]
                ids = []
                erp = self.primary.get((c.id, c.le.system))
                if (
                    erp is not None
                    and not rec.is_duplicate
                    and c.n % 10 < 3
                    and self.live(erp.created)
                ):
                    ids.append(
                        value(
                            "WorkspaceGroup",
                            rec.source_id,
                            "ERP Customer Number",
                            erp.extra["number"],
                            erp.created + timedelta(days=1),
                        )
                    )
                stamp = kt_dt(latest(rec.created, *(t for _, t in attached), until=self.t))
                add(
                    "workspace_groups",
                    {
                        "id": rec.source_id,
                        "name": rec.name,
                        "company": True,
                        "contact_name": None,
                        "email": f"ap@{c.domain}",
                        "phone_number": c.phone,
                        "address": f"{c.street}, {c.city}",
                        "website": rec.website,
                        "notes": None,
                        "workspace_ids": [w for w, _ in attached],
                        "custom_field_value_ids": ids,
                        "external_reference_ids": [],
                        "created_at": kt_dt(rec.created),
                        "updated_at": stamp,
                    },
                )
        managers = [e for e in p.employees if e.role in ("Manager", "Senior Manager", "Partner")]
        for pr in p.projects:
            if pr.erp_only or not self.live(pr.created):
                continue
            start_at = at(pr.start, 6)
            done = pr.completed_at
            archived_at = done + timedelta(days=30) if done else None
            if self.live(done):
                status = {"color": "blue", "key": 400, "message": "Completed"}
            elif self.live(start_at):
                status = {"color": "green", "key": 310, "message": "In Progress"}
            else:
                status = {"color": "grey", "key": 100, "message": "Not Started"}
            ids = [
                value("Workspace", pr.psa_id, "Project Code", pr.psa_code, pr.created),
                value("Workspace", pr.psa_id, "Practice", pr.practice[1], pr.created),
                value("Workspace", pr.psa_id, "Legal Entity", pr.le.code.upper(), pr.created),
            ]
            if pr.psa_billing_method:
                ids.append(
                    value(
                        "Workspace", pr.psa_id, "Billing Method", pr.psa_billing_method, pr.created
                    )
                )
            synced = pr.erp_created + timedelta(days=1) if pr.erp_created else None
            if pr.psa_erp_id_value and self.live(synced):
                ids.append(
                    value("Workspace", pr.psa_id, "ERP Project ID", pr.psa_erp_id_value, synced)
                )
                if pr.cost_center:
                    ids.append(value("Workspace", pr.psa_id, "Cost Center", pr.cost_center, synced))
            else:
                synced = None
            stamp = kt_dt(latest(pr.created, start_at, done, archived_at, synced, until=self.t))
            maven = managers[pr.n % len(managers)].psa_user_id if managers else None
            add(
                "workspaces",
                {
                    "id": pr.psa_id,
                    "title": pr.title,
                    "description": "",
                    "account_id": PSA_ACCOUNT_ID,
                    "archived": self.live(archived_at),
                    "start_date": pr.start.isoformat(),
                    "due_date": pr.end.isoformat(),
                    "budgeted": pr.kind != "internal",
                    "currency": pr.currency,
                    "price_in_cents": pr.fee_cents or None,
                    "status": status,
                    "stage": "project",
                    "creator_id": maven,
                    "primary_maven_id": maven,
                    "workspace_group_ids": [project_group[pr.id]] if pr.id in project_group else [],
                    "participant_ids": [],
                    "custom_field_value_ids": ids,
                    "external_reference_ids": [],
                    "created_at": kt_dt(pr.created),
                    "updated_at": stamp,
                },
            )
            add(
                "stories",
                {
                    "id": pr.phase_story_id,
                    "workspace_id": pr.psa_id,
                    "parent_id": None,
                    "title": "Delivery",
                    "story_type": "task",
                    "state": "completed"
                    if self.live(done)
                    else ("started" if self.live(start_at) else "not started"),
                    "start_date": pr.start.isoformat(),
                    "due_date": pr.end.isoformat(),
                    "billable": pr.kind != "internal",
                    "fixed_fee": pr.kind == "ff",
                    "budget_estimate_in_cents": None,
                    "percentage_complete": 100 if self.live(done) else 0,
                    "created_at": kt_dt(pr.created),
                    "updated_at": kt_dt(latest(pr.created, start_at, done, until=self.t)),
                },
            )
            for ms in pr.milestones:
                completed = self.live(ms.completed_at)
                add(
                    "stories",
                    {
                        "id": ms.story_id,
                        "workspace_id": pr.psa_id,
                        "parent_id": pr.phase_story_id,
                        "title": ms.title,
                        "story_type": "milestone",
                        "state": "completed" if completed else "not started",
                        "start_date": pr.start.isoformat(),
                        "due_date": ms.due.isoformat(),
                        "billable": True,
                        "fixed_fee": True,
                        "budget_estimate_in_cents": ms.amount_cents,
                        "percentage_complete": 100 if completed else 0,
                        "created_at": kt_dt(pr.created),
                        "updated_at": kt_dt(latest(pr.created, ms.completed_at, until=self.t)),
                    },
                )
        for e in p.entries:
            if e.created > self.t:
                continue
            approved = e.approved_at is not None and e.approved_at <= self.t
            invoiced = e.invoiced_at is not None and e.invoiced_at <= self.t
            add(
                "time_entries",
                {
                    "id": e.id,
                    "workspace_id": e.project.psa_id,
                    "user_id": e.employee.psa_user_id,
                    "story_id": e.story_id,
                    "role_id": ROLE_IDS[e.employee.role],
                    "date_performed": e.day.isoformat(),
                    "time_in_minutes": e.minutes,
                    "billable": e.billable,
                    "notes": e.notes,
                    "rate_in_cents": e.rate_cents,
                    "cost_rate_in_cents": e.cost_cents,
                    "currency": e.project.currency,
                    "approved": approved,
                    "is_invoiced": invoiced,
                    "invoice_id": e.invoice.psa_invoice_id if invoiced else None,
                    "external_reference_ids": [],
                    "created_at": kt_dt(e.created),
                    "updated_at": kt_dt(
                        latest(e.created, e.approved_at, e.invoiced_at, until=self.t)
                    ),
                },
            )
        for x in p.expenses:
            if not self.live(x.created):
                continue
            invoiced = self.live(x.invoiced_at)
            add(
                "expenses",
                {
                    "id": x.id,
                    "workspace_id": x.project.psa_id,
                    "user_id": x.employee.psa_user_id,
                    "date": x.day.isoformat(),
                    "category": x.category,
                    "notes": x.category,
                    "amount_in_cents": x.amount_cents,
                    "currency": x.project.currency,
                    "is_billable": x.billable,
                    "is_invoiced": invoiced,
                    "reimbursable": True,
                    "created_at": kt_dt(x.created),
                    "updated_at": kt_dt(latest(x.created, x.invoiced_at, until=self.t)),
                },
            )
        for inv in p.invoices:
            drafted = inv.issued - timedelta(hours=20)
            if not self.live(drafted):
                continue
            issued = self.live(inv.issued)
            add(
                "invoices",
                {
                    "id": inv.psa_invoice_id,
                    "workspace_ids": [inv.project.psa_id],
                    "invoice_date": inv.issued.date().isoformat(),
                    "due_date": inv.due.isoformat(),
                    "status": "submitted" if issued else "new",
                    "draft": not issued,
                    "balance_in_cents": int(round(inv.total * 100)),
                    "currency": inv.currency,
                    "user_invoice_number": inv.number if issued else None,
                    "time_entry_ids": [e.id for e in inv.entries],
                    "expense_ids": [x.id for x in inv.expenses],
                    "external_reference_ids": [],
                    "created_at": kt_dt(drafted),
                    "updated_at": kt_dt(latest(drafted, inv.issued, until=self.t)),
                },
            )
        for rec in cfv:
            add("custom_field_values", rec)

    # -- NetSuite ----------------------------------------------------------------------------
    def netsuite(self) -> None:
        p = self.p
        for conn in ("apac", "europe"):
            les = [le for le in LEGAL_ENTITIES if le.system == "netsuite" and le.connection == conn]
            add = lambda table, rec, conn=conn: self.add("netsuite", conn, table, rec)  # noqa: E731
            epoch = at(p.start - timedelta(days=1500), 8)
            base = les[0].currency
            sub_ids = {le.code: str(i) for i, le in enumerate(les, start=1)}
            for ccy, cid in NS_CURRENCY_IDS.items():
                add(
                    "currency",
                    {
                        "id": cid,
                        "symbol": ccy,
                        "name": ccy,
                        "isbasecurrency": "T" if ccy == base else "F",
                        "lastmodifieddate": ns_dt(epoch),
                    },
                )
            for le in les:
                add(
                    "subsidiary",
                    {
                        "id": sub_ids[le.code],
                        "name": le.name,
                        "country": le.country,
                        "currency": NS_CURRENCY_IDS[le.currency],
                        "isinactive": "F",
                        "lastmodifieddate": ns_dt(epoch),
                    },
                )
            for status_id, name in (("1", "Closed"), ("2", "In Progress"), ("4", "Pending")):
                add("jobstatus", {"id": status_id, "name": name})
            dept_ids = {}
            for le in les:
                for j, (code, name) in enumerate(PRACTICES, start=1):
                    did = f"{sub_ids[le.code]}{j:02d}"
                    dept_ids[f"CC-{le.code.upper()}-{code}"] = did
                    add(
                        "department",
                        {
                            "id": did,
                            "name": f"CC-{le.code.upper()}-{code} {name}",
                            "subsidiary": sub_ids[le.code],
                            "isinactive": "F",
                            "lastmodifieddate": ns_dt(epoch),
                        },
                    )
            # daily rates, business days: base units per one transaction-currency unit
            rate_id = 0
            pairs = [
                (le.currency, other) for le in les for other in FX_BASE if other != le.currency
            ]
            pairs = sorted(set(pairs))
            d = p.start - timedelta(days=FX_LOOKBACK_DAYS)
            while d <= self.t.date():
                if d.weekday() < 5:
                    stamp = at(d, 0.1)
                    for pair_i, (bccy, tccy) in enumerate(pairs):
                        rate_id = (d - p.start).days * 100 + pair_i + 10000
                        if stamp <= self.t:
                            add(
                                "currencyrate",
                                {
                                    "id": str(rate_id),
                                    "basecurrency": NS_CURRENCY_IDS[bccy],
                                    "transactioncurrency": NS_CURRENCY_IDS[tccy],
                                    "exchangerate": num(round(p.fx[bccy][d] / p.fx[tccy][d], 6)),
                                    "effectivedate": ns_date(d),
                                    "lastmodifieddate": ns_dt(stamp),
                                },
                            )
                d += timedelta(days=1)
            for e in p.employees:
                if e.le.connection != conn or e.le.system != "netsuite":
                    continue
                created = at(e.hired, 8) - timedelta(days=10)
                if not self.live(created):
                    continue
                left = at(e.left, 18) if e.left else None
                add(
                    "employee",
                    {
                        "id": e.erp_id,
                        "entityid": f"EMP-{e.erp_id}",
                        "firstname": e.first,
                        "lastname": e.last,
                        "email": e.email,
                        "subsidiary": sub_ids[e.le.code],
                        "department": dept_ids[f"CC-{e.le.code.upper()}-{e.practice[0]}"],
                        "title": e.role,
                        "isinactive": "T" if self.live(left) else "F",
                        "lastmodifieddate": ns_dt(latest(created, left, until=self.t)),
                    },
                )
            for c in p.clients:
                for rec in c.records:
                    if (
                        rec.system != "netsuite"
                        or rec.connection != conn
                        or not self.live(rec.created)
                    ):
                        continue
                    if self.live(rec.deleted_at):
                        add(
                            "deletedrecord",
                            {
                                "recordtype": "customer",
                                "recordid": rec.source_id,
                                "deleteddate": ns_dt(rec.deleted_at),
                            },
                        )
                        continue
                    edits = edit_times(p.seed, rec, self.t)
                    row = {
                        "id": rec.source_id,
                        "entityid": rec.extra["number"],
                        "companyname": rec.name,
                        "email": f"accounts@{c.domain}",
                        "phone": phone_after_edits(c, len(edits)),
                        "url": rec.website,
                        "billcountry": c.country,
                        "billcity": c.city,
                        "subsidiary": sub_ids[rec.extra["le"]],
                        "currency": NS_CURRENCY_IDS[c.le.currency],
                        "parent": rec.parent_source_id,
                        "isperson": "F",
                        "isinactive": "F",
                        "terms": f"Net {30 if c.pay_days <= 35 else c.pay_days // 15 * 15}",
                        "custentity_tax_id": rec.tax_id,
                        "datecreated": ns_dt(rec.created),
                        "lastmodifieddate": ns_dt(latest(rec.created, *edits[-1:], until=self.t)),
                    }
                    add("customer", {k: v for k, v in row.items() if v is not None})
            for pr in p.projects:
                if (
                    pr.le.system != "netsuite"
                    or pr.le.connection != conn
                    or not self.live(pr.erp_created)
                ):
                    continue
                start_at = at(pr.start, 6)
                closed = self.live(pr.erp_closed_at)
                status = "1" if closed else ("2" if self.live(start_at) else "4")
                row = {
                    "id": pr.erp_id,
                    "entityid": pr.erp_code,
                    "companyname": pr.title,
                    "parent": self.primary[(pr.client.id, "netsuite")].source_id,
                    "subsidiary": sub_ids[pr.le.code],
                    "currency": NS_CURRENCY_IDS[pr.currency],
                    "department": dept_ids.get(pr.cost_center or ""),
                    "entitystatus": status,
                    "startdate": ns_date(pr.start),
                    "projectedenddate": ns_date(pr.end),
                    "enddate": ns_date(pr.erp_closed_at.date()) if closed else None,
                    "custentity_billing_method": "Fixed Fee"
                    if pr.kind == "ff"
                    else "Time and Materials",
                    "isinactive": "F",
                    "datecreated": ns_dt(pr.erp_created),
                    "lastmodifieddate": ns_dt(
                        latest(pr.erp_created, start_at, pr.erp_closed_at, until=self.t)
                    ),
                }
                add("job", {k: v for k, v in row.items() if v is not None})
            for e in p.entries:
                pr = e.project
                if (
                    e.posted_at is None
                    or e.posted_at > self.t
                    or pr.le.system != "netsuite"
                    or pr.le.connection != conn
                ):
                    continue
                emp = e.employee
                same_books = emp.le.system == "netsuite" and emp.le.connection == conn
                row = {
                    "id": e.erp_id,
                    "employee": emp.erp_id if same_books else None,
                    "customer": pr.erp_id,
                    "item": "Professional Services",
                    "hours": num(e.minutes / 60),
                    "trandate": ns_date(e.day),
                    "isbillable": "T" if e.billable else "F",
                    "rate": num(e.rate_cents / 100),
                    "posted": "T",
                    "memo": e.notes if same_books else f"Intercompany: {emp.email}",
                    "custcol_psa_time_entry_id": e.id,
                    "subsidiary": sub_ids[pr.le.code],
                    "datecreated": ns_dt(e.posted_at),
                    "lastmodifieddate": ns_dt(e.posted_at),
                }
                add("timebill", {k: v for k, v in row.items() if v not in (None, "")})
            for inv in p.invoices:
                if (
                    inv.le.system == "netsuite"
                    and inv.le.connection == conn
                    and self.live(inv.issued)
                ):
                    self._ns_invoice(inv, add, sub_ids, dept_ids)

    def _ns_invoice(self, inv: Invoice, add: Any, sub_ids: dict, dept_ids: dict) -> None:
        p = self.p
        credits = [c for c in inv.credits if self.live(c.at)]
        payments = [x for x in inv.payments if self.live(x.erp_at)]
        remaining = round(
            inv.total - sum(c.amount for c in credits) - sum(x.amount for x in payments), 2
        )
        stamp = latest(
            inv.issued,
            inv.disputed_at,
            *(c.at for c in credits),
            *(x.erp_at for x in payments),
            until=self.t,
        )
        sub = sub_ids[inv.le.code]
        dept = dept_ids.get(inv.project.cost_center or "")
        base = [le for le in LEGAL_ENTITIES if le.code == inv.le.code][0].currency
        rate = None
        if inv.currency in p.fx:
            rate = num(
                round(p.fx[base][inv.issued.date()] / p.fx[inv.currency][inv.issued.date()], 6)
            )
        row = {
            "id": inv.erp_id,
            "tranid": inv.number,
            "type": "CustInvc",
            "entity": inv.customer_source_id,
            "trandate": ns_date(inv.issued.date()),
            "duedate": ns_date(inv.due),
            "currency": NS_CURRENCY_IDS[inv.currency],
            "exchangerate": rate,
            "foreigntotal": num(inv.total),
            "taxtotal": num(inv.tax),
            "foreignamountremaining": num(max(remaining, 0)),
            "status": "A" if remaining > 0 else "B",
            "memo": inv.lines[0].description if inv.lines else None,
            "custbody_project": inv.project.erp_id,
            "custbody_disputed": "T" if self.live(inv.disputed_at) else "F",
            "custbody_psa_invoice_id": inv.psa_invoice_id,
            "createddate": ns_dt(inv.issued),
            "lastmodifieddate": ns_dt(stamp),
        }
        add("transaction", {k: v for k, v in row.items() if v is not None})
        common = {"entity": inv.customer_source_id, "subsidiary": sub}
        line_stamp = ns_dt(inv.issued)
        add(
            "transactionline",
            {
                "transaction": inv.erp_id,
                "id": "0",
                "linesequencenumber": "0",
                "mainline": "T",
                "taxline": "F",
                "foreignamount": num(inv.total),
                **common,
                "linelastmodifieddate": line_stamp,
            },
        )
        for i, line in enumerate(inv.lines, start=1):
            row = {
                "transaction": inv.erp_id,
                "id": str(i),
                "linesequencenumber": str(i),
                "mainline": "F",
                "taxline": "F",
                "item": line.item,
                "memo": line.description,
                "quantity": num(line.quantity),
                "rate": num(line.rate),
                "foreignamount": num(line.amount),
                **common,
                "department": dept,
                "linelastmodifieddate": line_stamp,
            }
            add("transactionline", {k: v for k, v in row.items() if v is not None})
        if inv.tax:
            n = len(inv.lines) + 1
            add(
                "transactionline",
                {
                    "transaction": inv.erp_id,
                    "id": str(n),
                    "linesequencenumber": str(n),
                    "mainline": "F",
                    "taxline": "T",
                    "item": "Tax",
                    "foreignamount": num(inv.tax),
                    **common,
                    "linelastmodifieddate": line_stamp,
                },
            )
        for c in credits:
            add(
                "transaction",
                {
                    "id": c.erp_id,
                    "tranid": c.number,
                    "type": "CustCred",
                    "entity": inv.customer_source_id,
                    "trandate": ns_date(c.at.date()),
                    "currency": NS_CURRENCY_IDS[inv.currency],
                    "foreigntotal": num(c.amount),
                    "taxtotal": "0",
                    "foreignamountremaining": "0",
                    "status": "B",
                    "memo": f"Credit for {inv.number}",
                    "custbody_project": inv.project.erp_id,
                    "custbody_disputed": "F",
                    "createddate": ns_dt(c.at),
                    "lastmodifieddate": ns_dt(c.at),
                },
            )
            add(
                "transactionline",
                {
                    "transaction": c.erp_id,
                    "id": "0",
                    "linesequencenumber": "0",
                    "mainline": "T",
                    "taxline": "F",
                    "foreignamount": num(c.amount),
                    **common,
                    "linelastmodifieddate": ns_dt(c.at),
                },
            )
            add(
                "previoustransactionlink",
                {
                    "previousdoc": inv.erp_id,
                    "nextdoc": c.erp_id,
                    "linktype": "Credit Memo",
                    "foreignamount": num(c.amount),
                    "lastmodifieddate": ns_dt(c.at),
                },
            )
        for x in payments:
            row = {
                "id": x.erp_id,
                "tranid": f"PYMT{x.erp_id}",
                "type": "CustPymt",
                "entity": inv.customer_source_id,
                "trandate": ns_date(x.erp_at.date()),
                "currency": NS_CURRENCY_IDS[inv.currency],
                "foreigntotal": num(x.amount),
                "taxtotal": "0",
                "foreignamountremaining": "0",
                "status": "B",
                "memo": f"Payment for {inv.number}",
                "custbody_stripe_charge_id": x.stripe_charge,
                "custbody_disputed": "F",
                "createddate": ns_dt(x.erp_at),
                "lastmodifieddate": ns_dt(x.erp_at),
            }
            add("transaction", {k: v for k, v in row.items() if v is not None})
            add(
                "transactionline",
                {
                    "transaction": x.erp_id,
                    "id": "0",
                    "linesequencenumber": "0",
                    "mainline": "T",
                    "taxline": "F",
                    "foreignamount": num(x.amount),
                    **common,
                    "linelastmodifieddate": ns_dt(x.erp_at),
                },
            )
            add(
                "previoustransactionlink",
                {
                    "previousdoc": inv.erp_id,
                    "nextdoc": x.erp_id,
                    "linktype": "Payment",
                    "foreignamount": num(x.amount),
                    "lastmodifieddate": ns_dt(x.erp_at),
                },
            )

    # -- Dynamics 365 F&O --------------------------------------------------------------------
    def dynamics(self) -> None:
        p = self.p
        for conn in ("na", "emea"):
            les = [le for le in LEGAL_ENTITIES if le.system == "dynamics" and le.connection == conn]
            add = lambda table, rec, conn=conn: self.add("dynamics", conn, table, rec)  # noqa: E731
            epoch = at(p.start - timedelta(days=1500), 8)
            for le in les:
                add(
                    "LegalEntities",
                    {
                        "LegalEntityId": le.code.upper(),
                        "Name": le.name,
                        "AddressCountryRegionId": le.country3,
                        "AccountingCurrency": le.currency,
                        "ModifiedDateTime": d365_dt(epoch),
                    },
                )
            to_ccys = sorted({le.currency for le in les})
            d = p.start - timedelta(days=FX_LOOKBACK_DAYS)
            while d <= self.t.date():
                stamp = at(d, 0.2)
                if d.weekday() < 5 and stamp <= self.t:
                    for to in to_ccys:
                        for frm in FX_BASE:
                            if frm == to:
                                continue
                            add(
                                "ExchangeRates",
                                {
                                    "RateTypeName": "Default",
                                    "FromCurrency": frm,
                                    "ToCurrency": to,
                                    "StartDate": d365_date(d),
                                    "Rate": round(p.fx[to][d] / p.fx[frm][d], 6),
                                    "ConversionFactor": "One",
                                    "ModifiedDateTime": d365_dt(stamp),
                                },
                            )
                d += timedelta(days=1)
            for e in p.employees:
                if e.le.system != "dynamics" or e.le.connection != conn:
                    continue
                created = at(e.hired, 8) - timedelta(days=10)
                if not self.live(created):
                    continue
                add(
                    "EmployeesV2",
                    {
                        "PersonnelNumber": e.erp_id,
                        "FirstName": e.first,
                        "LastName": e.last,
                        "Name": f"{e.first} {e.last}",
                        "PrimaryContactEmail": e.email,
                        "EmploymentLegalEntityId": e.le.code.upper(),
                        "ModifiedDateTime": d365_dt(created),
                    },
                )
            for c in p.clients:
                for rec in c.records:
                    if (
                        rec.system != "dynamics"
                        or rec.connection != conn
                        or not self.live(rec.created)
                    ):
                        continue
                    edits = edit_times(p.seed, rec, self.t)
                    parent = ""
                    if rec.parent_source_id and self.live(
                        self.by_source[("dynamics", rec.parent_source_id)].created
                    ):
                        parent = rec.parent_source_id.split("|")[1]
                    add(
                        "CustomersV3",
                        {
                            "dataAreaId": rec.extra["le"],
                            "CustomerAccount": rec.extra["number"],
                            "OrganizationName": rec.name,
                            "NameAlias": rec.name.split()[0].upper()[:20],
                            "CustomerGroupId": "10",
                            "PartyNumber": f"{int(rec.extra['number'].split('C')[-1]) + 10**8:09d}",
                            "AddressCountryRegionId": [
                                x.country3 for x in LEGAL_ENTITIES if x.country == c.country
                            ][0],
                            "AddressCountryRegionISOCode": c.country,
                            "AddressCity": c.city,
                            "AddressZipCode": c.postal_code,
                            "AddressStreet": c.street,
                            "PrimaryContactEmail": f"accounts@{c.domain}",
                            "PrimaryContactURL": rec.website or "",
                            "PrimaryContactPhone": phone_after_edits(c, len(edits)),
                            "SalesCurrencyCode": c.le.currency,
                            "CreditLimit": 100000.0,
                            "PaymentTerms": f"Net{_terms_days(c)}",
                            "InvoiceAccount": parent,
                            "TaxExemptNumber": rec.tax_id or "",
                            "SalesTaxGroup": c.country,
                            "OnHoldStatus": "No",
                            "ConformCustomerId": "",
                            "CrmAccountId": "",
                            "ModifiedDateTime": d365_dt(
                                latest(rec.created, *edits[-1:], until=self.t)
                            ),
                        },
                    )
            for pr in p.projects:
                if (
                    pr.le.system != "dynamics"
                    or pr.le.connection != conn
                    or not self.live(pr.erp_created)
                ):
                    continue
                start_at = at(pr.start, 6)
                closed = self.live(pr.erp_closed_at)
                dims = f"{pr.cost_center}-{pr.practice[0]}" if pr.cost_center else ""
                add(
                    "ProjectsV2",
                    {
                        "dataAreaId": pr.le.code,
                        "ProjectID": pr.erp_code,
                        "ProjectName": pr.title,
                        "CustomerAccount": self.primary[(pr.client.id, "dynamics")].extra["number"],
                        "ProjectContractID": f"PC-{pr.erp_code}",
                        "ProjectType": "FixedPrice" if pr.kind == "ff" else "TimeMaterial",
                        "ProjectStage": "Finished"
                        if closed
                        else ("InProcess" if self.live(start_at) else "Created"),
                        "ProjectGroup": pr.practice[0],
                        "StartDate": d365_date(pr.start),
                        "EndDate": d365_date(pr.end),
                        "DefaultDimensionDisplayValue": dims,
                        "PSAProjectCode": "",
                        "ModifiedDateTime": d365_dt(
                            latest(pr.erp_created, start_at, pr.erp_closed_at, until=self.t)
                        ),
                    },
                )
            for e in p.entries:
                pr = e.project
                if (
                    e.posted_at is None
                    or e.posted_at > self.t
                    or pr.le.system != "dynamics"
                    or pr.le.connection != conn
                ):
                    continue
                worker = e.employee.erp_id if e.employee.le.system == "dynamics" else ""
                add(
                    "ProjectHourTransactions",
                    {
                        "dataAreaId": pr.le.code,
                        "TransactionId": e.erp_id,
                        "ProjectID": pr.erp_code,
                        "Worker": worker,
                        "ProjectDate": d365_date(e.day),
                        "Hours": e.minutes / 60,
                        "SalesPrice": e.rate_cents / 100,
                        "CostPrice": e.cost_cents / 100,
                        "CurrencyCode": pr.currency,
                        "LineProperty": "Billable" if e.billable else "NonBillable",
                        "PSATimeEntryId": e.id,
                        "ModifiedDateTime": d365_dt(e.posted_at),
                    },
                )
            batch_lines: dict[str, int] = defaultdict(int)
            for inv in p.invoices:
                if (
                    inv.le.system == "dynamics"
                    and inv.le.connection == conn
                    and self.live(inv.issued)
                ):
                    self._d365_invoice(inv, add, batch_lines)

    def _d365_invoice(self, inv: Invoice, add: Any, batch_lines: dict[str, int]) -> None:
        area = inv.le.code
        account = inv.customer_source_id.split("|")[1]
        credits = [c for c in inv.credits if self.live(c.at)]
        payments = [x for x in inv.payments if self.live(x.erp_at)]
        settled = round(sum(c.amount for c in credits) + sum(x.amount for x in payments), 2)
        stamp = latest(
            inv.issued,
            inv.disputed_at,
            *(c.at for c in credits),
            *(x.erp_at for x in payments),
            until=self.t,
        )
        add(
            "SalesInvoiceHeadersV2",
            {
                "dataAreaId": area,
                "InvoiceNumber": inv.number,
                "InvoiceDate": d365_date(inv.issued.date()),
                "DueDate": d365_date(inv.due),
                "InvoiceCustomerAccountNumber": account,
                "CurrencyCode": inv.currency,
                "TotalInvoiceAmount": inv.total,
                "TotalTaxAmount": inv.tax,
                "TotalDiscountAmount": 0.0,
                "TotalChargeAmount": 0.0,
                "ProjectID": inv.project.erp_code,
                "PaymentTermsName": f"Net{(inv.due - inv.issued.date()).days}",
                "DisputeStatus": "Disputed" if self.live(inv.disputed_at) else "None",
                "PSAInvoiceId": inv.psa_invoice_id,
                "ModifiedDateTime": d365_dt(latest(inv.issued, inv.disputed_at, until=self.t)),
            },
        )
        taxes = [round(line.amount * inv.le.vat_rate, 2) for line in inv.lines]
        if taxes:
            taxes[-1] = round(inv.tax - sum(taxes[:-1]), 2)
        for i, (line, tax) in enumerate(zip(inv.lines, taxes, strict=True), start=1):
            add(
                "SalesInvoiceLines",
                {
                    "dataAreaId": area,
                    "InvoiceNumber": inv.number,
                    "LineNumber": i,
                    "ItemNumber": line.item,
                    "LineDescription": line.description,
                    "InvoicedQuantity": line.quantity,
                    "SalesPrice": line.rate,
                    "LineAmount": line.amount,
                    "LineTotalTaxAmount": tax,
                    "CurrencyCode": inv.currency,
                    "ProjectID": inv.project.erp_code,
                    "ModifiedDateTime": d365_dt(inv.issued),
                },
            )
        closed = settled >= inv.total - 0.005
        add(
            "CustomerTransactions",
            {
                "dataAreaId": area,
                "Voucher": inv.voucher,
                "CustomerAccount": account,
                "TransactionType": "Invoice",
                "InvoiceNumber": inv.number,
                "TransactionDate": d365_date(inv.issued.date()),
                "DueDate": d365_date(inv.due),
                "CurrencyCode": inv.currency,
                "AmountCur": inv.total,
                "SettledAmountCur": min(settled, inv.total),
                "ClosedDate": d365_date(stamp.date()) if closed else None,
                "ModifiedDateTime": d365_dt(stamp),
            },
        )
        for c in credits:
            add(
                "SalesInvoiceHeadersV2",
                {
                    "dataAreaId": area,
                    "InvoiceNumber": c.number,
                    "InvoiceDate": d365_date(c.at.date()),
                    "DueDate": d365_date(c.at.date()),
                    "InvoiceCustomerAccountNumber": account,
                    "CurrencyCode": inv.currency,
                    "TotalInvoiceAmount": -c.amount,
                    "TotalTaxAmount": 0.0,
                    "TotalDiscountAmount": 0.0,
                    "TotalChargeAmount": 0.0,
                    "ProjectID": inv.project.erp_code,
                    "PaymentTermsName": "",
                    "DisputeStatus": "None",
                    "PSAInvoiceId": "",
                    "ModifiedDateTime": d365_dt(c.at),
                },
            )
            add(
                "SalesInvoiceLines",
                {
                    "dataAreaId": area,
                    "InvoiceNumber": c.number,
                    "LineNumber": 1,
                    "ItemNumber": "Credit",
                    "LineDescription": f"Credit for {inv.number}",
                    "InvoicedQuantity": 1.0,
                    "SalesPrice": -c.amount,
                    "LineAmount": -c.amount,
                    "LineTotalTaxAmount": 0.0,
                    "CurrencyCode": inv.currency,
                    "ProjectID": inv.project.erp_code,
                    "ModifiedDateTime": d365_dt(c.at),
                },
            )
            add(
                "CustomerTransactions",
                {
                    "dataAreaId": area,
                    "Voucher": c.voucher,
                    "CustomerAccount": account,
                    "TransactionType": "CreditNote",
                    "InvoiceNumber": inv.number,
                    "TransactionDate": d365_date(c.at.date()),
                    "DueDate": None,
                    "CurrencyCode": inv.currency,
                    "AmountCur": -c.amount,
                    "SettledAmountCur": -c.amount,
                    "ClosedDate": d365_date(c.at.date()),
                    "ModifiedDateTime": d365_dt(c.at),
                },
            )
        for x in payments:
            batch_lines[x.journal_batch] += 1
            add(
                "CustomerPaymentJournalLines",
                {
                    "dataAreaId": area,
                    "JournalBatchNumber": x.journal_batch,
                    "LineNumber": float(batch_lines[x.journal_batch]),
                    "AccountDisplayValue": account,
                    "CreditAmount": x.amount,
                    "CurrencyCode": inv.currency,
                    "TransactionDate": d365_date(x.erp_at.date()),
                    "MarkedInvoice": inv.number,
                    "PaymentReference": x.stripe_charge or f"BANK-{x.erp_id}",
                    "IsPosted": "Yes",
                    "ModifiedDateTime": d365_dt(x.erp_at),
                },
            )
            add(
                "CustomerTransactions",
                {
                    "dataAreaId": area,
                    "Voucher": x.voucher,
                    "CustomerAccount": account,
                    "TransactionType": "Payment",
                    "InvoiceNumber": inv.number,
                    "TransactionDate": d365_date(x.erp_at.date()),
                    "DueDate": None,
                    "CurrencyCode": inv.currency,
                    "AmountCur": -x.amount,
                    "SettledAmountCur": -x.amount,
                    "ClosedDate": d365_date(x.erp_at.date()),
                    "ModifiedDateTime": d365_dt(x.erp_at),
                },
            )

    # -- Stripe ------------------------------------------------------------------------------
    def stripe(self) -> None:
        p = self.p
        add = lambda table, rec: self.add("stripe", "stripe", table, rec)  # noqa: E731
        events: list[dict[str, Any]] = []

        def event(kind: str, when: datetime, obj: dict[str, Any]) -> None:
            if when <= self.t:
                events.append(
                    {
                        "id": hashed_id("evt_", p.seed, obj["id"], kind, unix(when)),
                        "object": "event",
                        "type": kind,
                        "created": unix(when),
                        "data": {"object": obj},
                        "api_version": "2024-06-20",
                        "pending_webhooks": 0,
                        "request": {"id": None, "idempotency_key": None},
                        "livemode": False,
                    }
                )

        customers: dict[str, dict[str, Any]] = {}
        for c in p.clients:
            for rec in c.records:
                if rec.system != "stripe" or not self.live(rec.created):
                    continue
                obj = {
                    "id": rec.source_id,
                    "object": "customer",
                    "name": rec.name,
                    "email": f"billing@{c.domain}",
                    "address": {
                        "city": c.city,
                        "country": c.country,
                        "line1": c.street,
                        "line2": None,
                        "postal_code": c.postal_code,
                        "state": None,
                    },
                    "currency": c.le.currency.lower(),
                    "balance": 0,
                    "created": unix(rec.created),
                    "description": None,
                    "metadata": {"erp_customer_id": rec.erp_number_hint}
                    if rec.erp_number_hint
                    else {},
                    "tax_exempt": "none",
                    "livemode": False,
                }
                customers[rec.source_id] = obj
                add("customers", obj)
                event("customer.created", rec.created, obj)
        for inv in p.invoices:
            if not inv.stripe_invoice_id or inv.stripe_customer_id not in customers:
                continue
            created = inv.issued + timedelta(hours=1)
            if not self.live(created):
                continue
            total = int(round(inv.total * 100))
            tax = int(round(inv.tax * 100))
            card = [x for x in inv.payments if x.channel == "card"]
            meta = {}
            if int(inv.psa_invoice_id) % 7:  # the billing integration set it on most
                meta = {"erp_invoice_number": inv.number, "erp_system": inv.le.system}

            def invoice_obj(
                when: datetime, inv=inv, card=card, meta=meta, created=created, total=total, tax=tax
            ) -> dict[str, Any]:
                return _stripe_invoice(inv, card, meta, created, total, tax, when)

            current = invoice_obj(self.t)
            add("invoices", current)
            event("invoice.created", created, invoice_obj(created))
            event("invoice.finalized", created, invoice_obj(created))
            for c in inv.credits:  # a credit note changes the invoice: Stripe says so
                if self.live(c.at):
                    event("invoice.updated", c.at, invoice_obj(c.at))
            for x in card:
                if not self.live(x.at):
                    continue
                amount = int(round(x.amount * 100))
                pi = {
                    "id": x.stripe_pi,
                    "object": "payment_intent",
                    "amount": amount,
                    "amount_received": amount,
                    "currency": inv.currency.lower(),
                    "customer": inv.stripe_customer_id,
                    "invoice": inv.stripe_invoice_id,
                    "latest_charge": x.stripe_charge,
                    "status": "succeeded",
                    "created": unix(x.at),
                    "metadata": {},
                    "livemode": False,
                }
                ch = {
                    "id": x.stripe_charge,
                    "object": "charge",
                    "amount": amount,
                    "amount_captured": amount,
                    "amount_refunded": 0,
                    "currency": inv.currency.lower(),
                    "customer": inv.stripe_customer_id,
                    "invoice": inv.stripe_invoice_id,
                    "payment_intent": x.stripe_pi,
                    "paid": True,
                    "captured": True,
                    "refunded": False,
                    "status": "succeeded",
                    "created": unix(x.at),
                    "livemode": False,
                }
                add("payment_intents", pi)
                add("charges", ch)
                event("payment_intent.succeeded", x.at, pi)
                event("charge.succeeded", x.at, ch)
                snapshot = invoice_obj(x.at)
                event(
                    "invoice.paid" if snapshot["status"] == "paid" else "invoice.updated",
                    x.at,
                    snapshot,
                )
        events.sort(key=lambda e: (e["created"], e["id"]))
        for e in events:
            add("events", e)


def _stripe_invoice(
    inv: Invoice, card: list, meta: dict, created: datetime, total: int, tax: int, when: datetime
) -> dict[str, Any]:
    """A Stripe invoice object as it stood at ``when``."""
    paid = sum(int(round(x.amount * 100)) for x in card if x.at <= when)
    credited = sum(int(round(c.amount * 100)) for c in inv.credits if c.at <= when)
    remaining = max(0, total - credited - paid)
    paid_at = max((x.at for x in card if x.at <= when), default=None)
    status = "paid" if remaining == 0 and paid > 0 else "open"
    first_pi = next((x.stripe_pi for x in card if x.at <= when), None)
    return {
        "id": inv.stripe_invoice_id,
        "object": "invoice",
        "customer": inv.stripe_customer_id,
        "status": status,
        "currency": inv.currency.lower(),
        "subtotal": total - tax,
        "tax": tax,
        "total": total,
        "amount_due": total - credited,
        "amount_paid": paid,
        "amount_remaining": remaining,
        "number": f"{inv.stripe_customer_id[4:12].upper()}-{inv.psa_invoice_id[-4:]}",
        "created": unix(created),
        "due_date": unix(datetime.combine(inv.due, datetime.min.time(), UTC)),
        "collection_method": "send_invoice",
        "payment_intent": first_pi,
        "status_transitions": {
            "finalized_at": unix(created),
            "paid_at": unix(paid_at) if status == "paid" else None,
        },
        "metadata": dict(meta),
        "livemode": False,
    }


def render(plan: Plan, until: datetime) -> Rows:
    return Renderer(plan, until).render()


def iter_tables(rows: Rows) -> Iterator[tuple[str, str, str, list[dict[str, Any]]]]:
    for (system, conn, table), records in sorted(rows.items()):
        yield system, conn, table, records


__all__ = ["KEYS", "STAMPS", "Renderer", "key_for", "render", "primary_record"]
