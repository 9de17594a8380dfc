"""The Kantata OX (PSA) emulator against its contract, over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from simulator.emulator import EmulatorContext, FaultConfig, Faults
from simulator.server import ServerThread, free_port
from simulator.store import Store
from simulator.systems.psa import Emulator, rails_params

TOKEN = "psa-static-token"
BASE_STAMP = datetime(2026, 10, 1, tzinfo=UTC)
N_TIME_ENTRIES = 250


def stamp(minutes: int) -> str:
    return (BASE_STAMP + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def build_store() -> Store:
    """A small PSA account with every object, in the record shapes of simulator/README.md."""
    store = Store({"seed": 1, "scale": "test", "clock": "2026-10-31T18:00:00+00:00"})
    conn = store.connection("psa", "psa")
    conn.settings.update(
        {"api_token": TOKEN, "account_id": 4242, "client_id": "cid", "client_secret": "csecret"}
    )

    def table(name: str) -> Any:
        return conn.table(name, key=("id",))

    for i, name in enumerate(
        ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"]
    ):
        uid = str(101 + i)
        table("users").upsert(
            {
                "id": uid,
                "full_name": name,
                "email_address": f"u{uid}@firm.test",
                "headline": "Consultant",
                "disabled": False,
                "account_id": 4242,
                "custom_field_value_ids": [],
                "external_reference_ids": [],
                "created_at": stamp(i),
                "updated_at": stamp(i),
            }
        )
        table("account_memberships").upsert(
            {
                "id": str(501 + i),
                "user_id": uid,
                "bill_rate_in_cents": 20000 + 1000 * i,
                "cost_rate_in_cents": 9000,
                "default_role_id": "601",
                "manager_id": "101",
                "permission": "administrator" if i == 0 else "collaborator",
                "created_at": stamp(i),
                "updated_at": stamp(i),
            }
        )
    for i, name in enumerate(["Consultant", "Manager"]):
        table("roles").upsert(
            {"id": str(601 + i), "name": name, "created_at": stamp(0), "updated_at": stamp(0)}
        )
    for i, name in enumerate(["Acme Corp", "Globex GmbH", "Initech Pty"]):
        gid = str(201 + i)
        table("workspace_groups").upsert(
            {
                "id": gid,
                "name": name,
                "company": True,
                "contact_name": "AP",
                "email": "ap@x.test",
                "phone_number": None,
                "address": None,
                "website": None,
                "notes": None,
                "workspace_ids": [str(301 + 2 * i), str(302 + 2 * i)],
                "custom_field_value_ids": ["901"] if i == 0 else [],
                "external_reference_ids": [],
                "created_at": stamp(10 + i),
                "updated_at": stamp(10 + i),
            }
        )
    for i in range(6):
        wid = str(301 + i)
        table("workspaces").upsert(
            {
                "id": wid,
                "title": f"Project {i}",
                "description": "",
                "account_id": 4242,
                "archived": i == 5,
                "start_date": "2026-01-01",
                "due_date": "2026-12-31",
                "budgeted": True,
                "currency": "EUR" if i % 2 else "USD",
                "price_in_cents": 1000000,
                "status": {"color": "green", "key": 110, "message": "In Progress"},
                "stage": "project",
                "creator_id": "101",
                "primary_maven_id": "102",
                "workspace_group_ids": [str(201 + i // 2)],
                "participant_ids": ["101", "102"],
                "custom_field_value_ids": ["902"] if i == 0 else [],
                "external_reference_ids": ["951"] if i == 0 else [],
                "created_at": stamp(20 + i),
                "updated_at": stamp(20 + i),
            }
        )
    for i in range(4):
        table("stories").upsert(
            {
                "id": str(701 + i),
                "workspace_id": "301",
                "parent_id": None if i == 0 else "701",
                "title": f"Task {i}",
                "story_type": "milestone" if i == 0 else "task",
                "state": "started",
                "start_date": "2026-02-01",
                "due_date": "2026-03-01",
                "billable": True,
                "fixed_fee": False,
                "budget_estimate_in_cents": 50000,
                "percentage_complete": 10 * i,
                "created_at": stamp(30),
                "updated_at": stamp(30),
            }
        )
    for i in range(N_TIME_ENTRIES):
        table("time_entries").upsert(
            {
                "id": str(1001 + i),
                "workspace_id": str(301 + i % 5),
                "user_id": str(101 + i % 5),
                "story_id": "702" if i % 5 == 0 else None,
                "role_id": "601",
                "date_performed": (datetime(2026, 9, 1) + timedelta(days=i % 40)).strftime(
                    "%Y-%m-%d"
                ),
                "time_in_minutes": 60 + i % 4 * 15,
                "billable": i % 3 != 0,
                "notes": f"work {i}",
                "rate_in_cents": 20000,
                "cost_rate_in_cents": 9000,
                "currency": "USD",
                "approved": i % 2 == 0,
                "is_invoiced": i < 10,
                "invoice_id": "801" if i < 10 else None,
                "external_reference_ids": ["952"] if i == 0 else [],
                "created_at": stamp(100 + i),
                "updated_at": stamp(1000 + (i * 7) % N_TIME_ENTRIES),
            }
        )
    for i in range(5):
        table("expenses").upsert(
            {
                "id": str(1501 + i),
                "workspace_id": "301",
                "user_id": "103",
                "date": "2026-09-10",
                "category": "Travel",
                "notes": None,
                "amount_in_cents": 12345,
                "currency": "USD",
                "is_billable": True,
                "is_invoiced": False,
                "reimbursable": True,
                "created_at": stamp(40),
                "updated_at": stamp(40 + i),
            }
        )
    for i in range(2):
        table("invoices").upsert(
            {
                "id": str(801 + i),
                "workspace_ids": ["301"],
                "invoice_date": "2026-09-30",
                "due_date": "2026-10-30",
                "status": "new",
                "draft": False,
                "balance_in_cents": 2000000,
                "currency": "USD",
                "user_invoice_number": None,
                "time_entry_ids": [str(1001 + j) for j in range(10)] if i == 0 else [],
                "expense_ids": [],
                "external_reference_ids": [],
                "created_at": stamp(50),
                "updated_at": stamp(50 + i),
            }
        )
    for i in range(3):
        table("time_off_entries").upsert(
            {
                "id": str(1601 + i),
                "user_id": "104",
                "requested_date": f"2026-11-0{i + 2}",
                "hours": 8,
                "created_at": stamp(60),
                "updated_at": stamp(60),
            }
        )
    table("holiday_calendars").upsert(
        {"id": "1701", "name": "US", "created_at": stamp(0), "updated_at": stamp(0)}
    )
    for i, day in enumerate(["2026-11-26", "2026-12-25", "2027-01-01"]):
        table("holiday_calendar_entries").upsert(
            {
                "id": str(1711 + i),
                "holiday_calendar_id": "1701",
                "date": day,
                "name": f"H{i}",
                "hours": 8,
                "created_at": stamp(0),
                "updated_at": stamp(0),
            }
        )
    for i in range(2):
        table("holiday_calendar_memberships").upsert(
            {
                "id": str(1721 + i),
                "holiday_calendar_id": "1701",
                "user_id": str(101 + i),
                "created_at": stamp(0),
                "updated_at": stamp(0),
            }
        )
    for i, (name, subject, vtype) in enumerate(
        [
            ("Conform ID", "WorkspaceGroup", "string"),
            ("Project Code", "Workspace", "string"),
            ("Weekly Capacity Hours", "User", "number"),
        ]
    ):
        table("custom_fields").upsert(
            {
                "id": str(851 + i),
                "name": name,
                "subject_type": subject,
                "value_type": vtype,
                "created_at": stamp(0),
                "updated_at": stamp(0),
            }
        )
    table("custom_field_values").upsert(
        {
            "id": "901",
            "subject_type": "WorkspaceGroup",
            "subject_id": 201,
            "custom_field_id": "851",
            "custom_field_name": "Conform ID",
            "value": "C-0001",
            "display_value": "C-0001",
            "type": "string",
            "created_at": stamp(5),
            "updated_at": stamp(5),
        }
    )
    table("custom_field_values").upsert(
        {
            "id": "902",
            "subject_type": "Workspace",
            "subject_id": 301,
            "custom_field_id": "852",
            "custom_field_name": "Project Code",
            "value": "P-301",
            "display_value": "P-301",
            "type": "string",
            "created_at": stamp(6),
            "updated_at": stamp(6),
        }
    )
    for rid, subject_type, subject_id, model, ref in [
        ("951", "Workspace", 301, "Job", "J-1"),
        ("952", "TimeEntry", 1001, "TimeBill", "9"),
    ]:
        table("external_references").upsert(
            {
                "id": rid,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "subject_ref": {
                    "key": "workspaces" if subject_type == "Workspace" else "time_entries",
                    "id": str(subject_id),
                },
                "service_name": "Netsuite",
                "service_model": model,
                "service_model_ref": ref,
                "status": "successful",
                "external_link": None,
                "external_message": None,
                "external_status": None,
                "locked": False,
                "last_synced_at": stamp(7),
                "created_at": stamp(7),
                "updated_at": stamp(7),
            }
        )
    return store


class Client:
    """requests against one running emulator."""

    def __init__(self, url: str, emulator: Emulator, store: Store, server: ServerThread):
        self.url = url
        self.api = url + "/api/v1"
        self.emulator = emulator
        self.store = store
        self.server = server
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {TOKEN}"

    def get(self, path: str, **params: Any) -> requests.Response:
        return self.http.get(self.api + path, params=params)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        resp = self.get(path, **params)
        assert resp.status_code == 200, resp.text
        return resp.json()

    def send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, self.api + path, **kwargs)

    def walk(self, path: str, per_page: int, **params: Any) -> tuple[list[dict[str, Any]], int]:
        """Page through a list the way the Singer tap does (``page < meta.page_count``)."""
        page, out, count = 1, [], -1
        while True:
            body = self.ok(path, page=page, per_page=per_page, **params)
            count = body["count"]
            key = path.strip("/").split("/")[0].removesuffix(".json")
            out.extend(body[key][r["id"]] for r in body["results"])
            if page >= body["meta"]["page_count"]:
                return out, count
            page += 1


@pytest.fixture
def psa() -> Iterator[Callable[..., Client]]:
    started: list[ServerThread] = []

    def make(config: FaultConfig | None = None, store: Store | None = None) -> Client:
        store = store or build_store()
        port = free_port()
        ctx = EmulatorContext(
            store=store,
            faults=Faults("psa", config or FaultConfig(), 1),
            base_url=f"http://127.0.0.1:{port}",
        )
        emulator = Emulator(ctx)
        server = ServerThread(emulator.app, port=port).start()
        started.append(server)
        return Client(server.url, emulator, store, server)

    yield make
    for server in started:
        server.stop()


# -- auth ---------------------------------------------------------------------------------------
def test_auth_static_token_and_failures(psa: Callable[..., Client]) -> None:
    c = psa()
    assert c.get("/users/me").json()["users"]["101"]["full_name"] == "Ada Lovelace"
    bad = {"errors": [{"type": "oauth", "message": "Invalid OAuth 2 Request"}]}
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        resp = requests.get(c.api + "/workspaces", headers=headers)
        assert resp.status_code == 401
        assert resp.json() == bad


def test_oauth_client_credentials_and_expiry(psa: Callable[..., Client]) -> None:
    c = psa(FaultConfig(token_ttl=0.5))
    resp = requests.post(
        c.url + "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cid", "client_secret": "csecret"},
    )
    assert resp.status_code == 200
    token = resp.json()["access_token"]
    assert resp.json()["token_type"] == "Bearer" and resp.json()["expires_in"] == 1
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(c.api + "/workspaces.json", headers=headers).status_code == 200
    time.sleep(0.6)
    expired = requests.get(c.api + "/workspaces.json", headers=headers)
    assert expired.status_code == 401 and expired.json()["errors"][0]["type"] == "oauth"
    wrong = requests.post(
        c.url + "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "cid", "client_secret": "bad"},
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    grant = requests.post(c.url + "/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    # expire-tokens from the control API
    token2 = requests.post(
        c.url + "/oauth/token", auth=("cid", "csecret"), data={"grant_type": "client_credentials"}
    ).json()["access_token"]
    c.emulator.ctx.tokens.expire_all()
    assert (
        requests.get(c.api + "/users", headers={"Authorization": f"Bearer {token2}"}).status_code
        == 401
    )


# -- lists and the envelope ---------------------------------------------------------------------
EXPECTED_COUNTS = {
    "workspace_groups": 3,
    "workspaces": 5,
    "users": 5,
    "account_memberships": 5,
    "roles": 2,
    "stories": 4,
    "time_entries": N_TIME_ENTRIES,
    "expenses": 5,
    "invoices": 2,
    "time_off_entries": 3,
    "holiday_calendars": 1,
    "holiday_calendar_entries": 3,
    "holiday_calendar_memberships": 2,
    "custom_fields": 3,
}


def test_every_list_walks_to_the_end(psa: Callable[..., Client]) -> None:
    c = psa()
    for table, expected in EXPECTED_COUNTS.items():
        records, count = c.walk(f"/{table}.json", per_page=2 if expected < 50 else 40)
        assert count == expected, table
        ids = [r["id"] for r in records]
        assert len(set(ids)) == expected, table
        assert ids == sorted(ids, key=int), table  # default order: id ascending
    for subject_type, expected in (("Workspace", 1), ("WorkspaceGroup", 1)):
        records, count = c.walk("/custom_field_values", per_page=1, subject_type=subject_type)
        assert count == expected and records[0]["subject_type"] == subject_type
    records, count = c.walk("/external_references", per_page=1, subject_type="TimeEntry")
    assert count == 1 and records[0]["service_model"] == "TimeBill"


def test_envelope_shape_and_paging(psa: Callable[..., Client]) -> None:
    c = psa()
    body = c.ok("/time_entries", page=3, per_page=100)
    assert list(body)[:4] == ["count", "meta", "results", "time_entries"]
    assert body["count"] == N_TIME_ENTRIES
    assert body["meta"] == {
        "count": N_TIME_ENTRIES,
        "page_count": 3,
        "page_number": 3,
        "page_size": 100,
    }
    assert [r["key"] for r in body["results"]] == ["time_entries"] * 50
    assert body["results"][0]["id"] == "1201"
    entry = body["time_entries"]["1201"]
    assert entry["workspace_id"] == "301" and isinstance(entry["time_in_minutes"], int)
    # defaults and the clamp
    assert c.ok("/time_entries")["meta"]["page_size"] == 20
    clamped = c.ok("/time_entries", per_page=5000)
    assert clamped["meta"]["page_size"] == 200 and len(clamped["results"]) == 200
    # limit + offset only when both are given
    both = c.ok("/time_entries", limit=5, offset=10)
    assert [r["id"] for r in both["results"]] == [str(1011 + i) for i in range(5)]
    assert len(c.ok("/time_entries", limit=5)["results"]) == 20
    # empty: the primary map is still there, page_count and page_number are 0
    empty = c.ok("/time_entries", workspace_id="999")
    assert empty["count"] == 0 and empty["time_entries"] == {} and empty["results"] == []
    assert empty["meta"]["page_count"] == 0 and empty["meta"]["page_number"] == 0
    # only=, order=
    only = c.ok("/time_entries", only="1005,1003,99999")
    assert [r["id"] for r in only["results"]] == ["1003", "1005"]
    desc = c.ok("/time_entries", order="updated_at:desc", per_page=3)
    stamps = [desc["time_entries"][r["id"]]["updated_at"] for r in desc["results"]]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] == stamp(1000 + 249)
    by_date = c.ok("/time_entries", order="date_performed:asc", per_page=200)
    dates = [by_date["time_entries"][r["id"]]["date_performed"] for r in by_date["results"]]
    assert dates == sorted(dates)


def test_show_and_not_found(psa: Callable[..., Client]) -> None:
    c = psa()
    body = c.ok("/workspaces/301.json")
    assert body["count"] == 1 and body["results"] == [{"key": "workspaces", "id": "301"}]
    assert body["workspaces"]["301"]["status"]["key"] == 110
    missing = c.get("/workspaces/999")
    assert missing.status_code == 404
    assert missing.json() == {"errors": [{"type": "system", "message": "Not found"}]}
    assert c.get("/no_such_things").status_code == 404
    # archived workspaces: hidden and 404 unless include_archived=true
    assert c.get("/workspaces/306").status_code == 404
    assert c.ok("/workspaces/306", include_archived="true")["workspaces"]["306"]["archived"]
    assert c.ok("/workspaces", include_archived="true")["count"] == 6
    assert [r["id"] for r in c.ok("/workspaces", archived="only")["results"]] == ["306"]
    assert c.ok("/workspaces", archived="include")["count"] == 6
    assert c.ok("/workspaces", archived="exclude")["count"] == 5
    assert c.ok("/workspaces", only="306")["count"] == 0  # default filters still apply


def test_filters(psa: Callable[..., Client]) -> None:
    c = psa()
    rows = list(c.store.connection("psa", "psa").tables["time_entries"])

    def count(**params: Any) -> int:
        return c.ok("/time_entries", **params)["count"]

    assert count(workspace_id="301") == sum(r["workspace_id"] == "301" for r in rows)
    assert count(workspace_id="301,302") == sum(r["workspace_id"] in ("301", "302") for r in rows)
    assert count(user_id="102") == sum(r["user_id"] == "102" for r in rows)
    assert count(is_invoiced="true") == 10 and count(is_invoiced="false") == N_TIME_ENTRIES - 10
    approved = sum(r["approved"] for r in rows)
    assert count(approved="true") == approved
    assert count(approved="false") == approved  # documented: the value is ignored
    assert count(date_performed_between="2026-09-01:2026-09-02") == sum(
        r["date_performed"] in ("2026-09-01", "2026-09-02") for r in rows
    )
    assert count(from_archived_workspaces="true") == N_TIME_ENTRIES
    assert count(created_after=stamp(100 + 199)) == 50
    assert count(created_before=stamp(102)) == 2
    assert c.ok("/stories", workspace_id="301")["count"] == 4
    assert c.ok("/expenses", workspace_id="302")["count"] == 0
    assert c.ok("/invoices", workspace_id="301")["count"] == 2
    refs = c.ok("/external_references", subject_type="Workspace", subject_id="301")
    assert refs["count"] == 1 and refs["external_references"]["951"]["subject_id"] == 301
    cfv = c.ok("/custom_field_values", subject_type="WorkspaceGroup", subject_id="201")
    assert cfv["custom_field_values"]["901"]["value"] == "C-0001"
    # reverse lookups through external references
    assert [
        r["id"]
        for r in c.ok(
            "/workspaces",
            external_reference_service_name="Netsuite",
            external_reference_service_model_ref="J-1",
        )["results"]
    ] == ["301"]
    assert count(external_reference_service_model="TimeBill") == 1
    assert count(external_reference_service_model="Job") == 0


def test_malformed_queries(psa: Callable[..., Client]) -> None:
    c = psa()
    for path, params in [
        ("/custom_field_values", {}),
        ("/external_references", {}),
        ("/time_entries", {"updated_after": "yesterday"}),
        ("/time_entries", {"date_performed_between": "2026-09-01"}),
        ("/time_entries", {"created_before": "2026-13-01"}),
    ]:
        resp = c.get(path, **params)
        assert resp.status_code == 400, (path, params)
        assert resp.json()["errors"][0]["type"] == "syntax"


def test_includes(psa: Callable[..., Client]) -> None:
    c = psa()
    body = c.ok(
        "/workspaces",
        only="301",
        include="workspace_groups,participants,custom_field_values,external_references",
    )
    assert set(body["workspace_groups"]) == {"201"}
    assert set(body["users"]) == {"101", "102"}
    assert body["custom_field_values"]["902"]["value"] == "P-301"
    assert body["external_references"]["951"]["service_model_ref"] == "J-1"
    assert body["workspaces"]["301"]["external_reference_ids"] == ["951"]
    entries = c.ok(
        "/time_entries", only="1001,1007", include="user,workspace,story,external_references"
    )
    assert set(entries["users"]) == {"101", "102"} and set(entries["workspaces"]) == {"301", "302"}
    assert set(entries["stories"]) == {"702"} and set(entries["external_references"]) == {"952"}
    invoices = c.ok("/invoices", include="workspaces")
    assert set(invoices["workspaces"]) == {"301"}
    groups = c.ok("/workspace_groups", include="workspaces,custom_field_values,external_references")
    assert set(groups["workspaces"]) == {"301", "302", "303", "304", "305", "306"}
    assert groups["external_references"] == {}  # requested includes always get a key
    users = c.ok("/users", include="account_membership,custom_field_values")
    assert users["users"]["103"]["account_membership_id"] == "503"
    assert users["account_memberships"]["503"]["bill_rate_in_cents"] == 22000
    stories = c.ok("/stories", only="701", include="sub_stories")
    assert set(stories["stories"]) == {"701", "702", "703", "704"}  # same type shares the map
    assert [r["id"] for r in stories["results"]] == ["701"]
    assert c.ok("/time_entries", include="bogus", per_page=1)["count"] == N_TIME_ENTRIES


# -- incremental reads --------------------------------------------------------------------------
def test_updated_after_is_exact_after_writes(psa: Callable[..., Client]) -> None:
    c = psa()
    high = stamp(1000 + N_TIME_ENTRIES - 1)
    assert c.ok("/time_entries", updated_after=high)["count"] == 0
    assert c.ok("/time_entries", updated_after=stamp(1000 + N_TIME_ENTRIES - 2))["count"] == 1
    assert c.ok("/time_entries", updated_before=stamp(1001))["count"] == 1
    # a + decoded to a space by a sloppy client still parses
    assert c.get("/time_entries?updated_after=" + high).json()["count"] == 0
    resp = c.send(
        "PUT",
        "/time_entries/1100.json",
        json={"time_entry": {"time_in_minutes": 75, "bogus_attribute": 1}},
    )
    assert resp.status_code == 200, resp.text
    changed = c.ok("/time_entries", updated_after=high)
    assert [r["id"] for r in changed["results"]] == ["1100"]
    assert changed["time_entries"]["1100"]["time_in_minutes"] == 75
    assert changed["time_entries"]["1100"]["updated_at"] == "2026-10-31T18:00:00+00:00"
    # the same listing ordered by updated_at puts the changed entry last
    last = c.ok("/time_entries", order="updated_at:asc", page=13, per_page=20)
    assert last["results"][-1]["id"] == "1100"
    # records changed in the store directly are seen once the caches are invalidated
    conn = c.store.connection("psa", "psa")
    rec = conn.tables["time_entries"].get("1200")
    conn.tables["time_entries"].upsert({**rec, "updated_at": "2026-10-31T19:00:00+00:00"})
    c.emulator.invalidate()
    after = c.ok("/time_entries", updated_after="2026-10-31T18:00:00Z")
    assert [r["id"] for r in after["results"]] == ["1200"]
    # ... and after a new record is added (row count changes: no invalidate needed)
    conn.tables["time_entries"].upsert(
        {**rec, "id": "5000", "updated_at": "2026-10-31T19:30:00+00:00"}
    )
    after = c.ok("/time_entries", updated_after="2026-10-31T19:00:00+00:00")
    assert [r["id"] for r in after["results"]] == ["5000"]


def test_incremental_index_at_scale(psa: Callable[..., Client]) -> None:
    """A 200k-row table: the index is built once and kept current by writes, no re-sort."""
    store = build_store()
    conn = store.connection("psa", "psa")
    proto = conn.tables["time_entries"].get("1001")
    rows = conn.tables["time_entries"].rows
    for i in range(200_000):
        rid = str(10_000 + i)
        rows[(rid,)] = {**proto, "id": rid, "updated_at": stamp(i % 40_000)}
    c = psa(store=store)
    high = stamp(40_000)
    assert c.ok("/time_entries", updated_after=high)["count"] == 0  # builds the index
    ids = ["10005", "150000"]
    for rid in ids:
        assert c.send("PUT", f"/time_entries/{rid}", json={"time_entry": {"notes": "x"}}).ok
    started = time.perf_counter()
    for _ in range(5):
        body = c.ok("/time_entries", updated_after=high)
    assert [r["id"] for r in body["results"]] == ids
    assert time.perf_counter() - started < 1.0
    walked, count = c.walk("/time_entries", per_page=200, updated_after=stamp(39_990))
    assert count == len(walked) == 9 * 5 + 2


# -- writes -------------------------------------------------------------------------------------
def test_create_single_form_and_bulk(psa: Callable[..., Client]) -> None:
    c = psa()
    resp = c.send(
        "POST",
        "/time_entries.json",
        json={
            "time_entry": {
                "workspace_id": 302,
                "date_performed": "2026-10-30",
                "time_in_minutes": 90,
                "notes": "json",
                "unknown": "ignored",
            }
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    new_id = body["results"][0]["id"]
    entry = body["time_entries"][new_id]
    assert entry["workspace_id"] == "302" and entry["user_id"] == "101"
    assert entry["currency"] == "EUR" and entry["rate_in_cents"] == 20000
    assert "unknown" not in entry and entry["created_at"] == "2026-10-31T18:00:00+00:00"
    # Rails form encoding, as the 2013 recordings show
    form = c.send(
        "POST",
        "/time_entries",
        data={
            "time_entry[workspace_id]": "303",
            "time_entry[date_performed]": "2026-10-29",
            "time_entry[time_in_minutes]": "34",
            "time_entry[billable]": "false",
        },
    )
    assert form.status_code == 200, form.text
    fid = form.json()["results"][0]["id"]
    assert form.json()["time_entries"][fid]["time_in_minutes"] == 34
    assert form.json()["time_entries"][fid]["billable"] is False
    # bulk: plural key with an array
    bulk = c.send(
        "POST",
        "/time_entries",
        json={
            "time_entries": [
                {"workspace_id": "301", "date_performed": "2026-10-28", "time_in_minutes": 30},
                {"workspace_id": "301", "date_performed": "2026-10-28", "time_in_minutes": 45},
            ]
        },
    )
    assert bulk.status_code == 200 and bulk.json()["count"] == 2
    assert c.ok("/time_entries", per_page=1)["count"] == N_TIME_ENTRIES + 4
    too_many = c.send(
        "POST",
        "/time_entries",
        json={
            "time_entries": [
                {"workspace_id": "301", "date_performed": "2026-10-28", "time_in_minutes": 1}
            ]
            * 101
        },
    )
    assert too_many.status_code == 422
    assert too_many.json()["errors"][0]["type"] == "validation"
    # the write log
    writes = [w for w in c.store.writes if w["system"] == "psa"]
    assert [w["status"] for w in writes] == [200, 200, 200, 422]
    assert writes[0]["method"] == "POST" and writes[0]["connection"] == "psa"


def test_validation_and_syntax_errors(psa: Callable[..., Client]) -> None:
    c = psa()
    blank = c.send("POST", "/workspace_groups", json={"workspace_group": {"name": ""}})
    assert blank.status_code == 422
    assert blank.json() == {
        "errors": [{"type": "validation", "message": "Name can't be blank", "field": "name"}]
    }
    ws = c.send("POST", "/workspaces", json={"workspace": {"creator_role": "maven"}})
    assert ws.status_code == 422
    assert {"type": "validation", "message": "Title can't be blank", "field": "title"} in ws.json()[
        "errors"
    ]
    bad = c.send(
        "POST",
        "/time_entries",
        json={
            "time_entry": {
                "workspace_id": "301",
                "date_performed": "2026-13-45",
                "time_in_minutes": "ninety",
            }
        },
    )
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"date_performed", "time_in_minutes"}
    for payload in ({"title": "no wrapper"}, {"workspaces": []}, {}):
        resp = c.send("POST", "/workspaces", json=payload)
        assert resp.status_code == 400 and resp.json()["errors"][0]["type"] == "syntax"
    assert c.send("PUT", "/workspaces/301", json={"title": "x"}).status_code == 400
    assert c.send("POST", "/users", json={"user": {"full_name": "x"}}).status_code == 404
    assert c.send("PUT", "/workspaces/999", json={"workspace": {"title": "x"}}).status_code == 404
    assert c.ok("/workspace_groups")["count"] == 3  # nothing was written


def test_update_delete_and_archive(psa: Callable[..., Client]) -> None:
    c = psa()
    resp = c.send(
        "PUT",
        "/workspaces/302.json",
        json={"workspace": {"title": "Renamed", "archived": True, "creator_id": "105"}},
    )
    assert resp.status_code == 200
    ws = resp.json()["workspaces"]["302"]
    assert ws["title"] == "Renamed" and ws["archived"] is True and ws["creator_id"] == "101"
    assert ws["description"] == ""  # partial update
    assert c.get("/workspaces/302").status_code == 404
    assert c.ok("/workspaces")["count"] == 4
    # group membership stays consistent on both sides
    grp = c.send(
        "POST",
        "/workspace_groups",
        json={
            "workspace_group": {"name": "New Client", "company": True, "add_workspace_ids": [303]}
        },
    )
    gid = grp.json()["results"][0]["id"]
    assert grp.json()["workspace_groups"][gid]["workspace_ids"] == ["303"]
    assert gid in c.ok("/workspaces/303")["workspaces"]["303"]["workspace_group_ids"]
    # delete: 204 and empty, then 404
    gone = c.send("DELETE", "/expenses/1501.json")
    assert gone.status_code == 204 and gone.content == b""
    assert c.get("/expenses/1501").status_code == 404
    assert c.ok("/expenses")["count"] == 4
    bulk = c.send("DELETE", "/time_entries", params={"ids": "1001,1002"})
    assert bulk.status_code == 204
    assert c.send("DELETE", "/time_entries", params={"ids": "1003,99999"}).status_code == 404
    assert c.ok("/time_entries", only="1001,1002,1003")["count"] == 1


def test_custom_field_values_upsert(psa: Callable[..., Client]) -> None:
    c = psa()
    first = c.send(
        "POST",
        "/custom_field_values",
        json={
            "custom_field_value": {
                "subject_type": "Workspace",
                "subject_id": 302,
                "custom_field_id": 852,
                "value": "P-302",
            }
        },
    )
    assert first.status_code == 200, first.text
    cid = first.json()["results"][0]["id"]
    again = c.send(
        "POST",
        "/custom_field_values",
        json={
            "custom_field_values": [
                {
                    "subject_type": "Workspace",
                    "subject_id": 302,
                    "custom_field_id": 852,
                    "value": "P-302b",
                }
            ]
        },
    )
    assert again.json()["results"][0]["id"] == cid
    assert again.json()["custom_field_values"][cid]["value"] == "P-302b"
    ws = c.ok("/workspaces/302", include="custom_field_values")
    assert ws["workspaces"]["302"]["custom_field_value_ids"] == [cid]
    assert ws["custom_field_values"][cid]["custom_field_name"] == "Project Code"
    put = c.send(
        "PUT",
        f"/custom_field_values/{cid}",
        json={"custom_field_value": {"value": "P-302c", "subject_id": 1}},
    )
    assert put.json()["custom_field_values"][cid]["value"] == "P-302c"
    assert put.json()["custom_field_values"][cid]["subject_id"] == 302
    bad = c.send(
        "POST",
        "/custom_field_values",
        json={
            "custom_field_value": {
                "subject_type": "User",
                "subject_id": 101,
                "custom_field_id": 853,
                "value": "many",
            }
        },
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "value"
    assert c.ok("/custom_field_values", subject_type="Workspace")["count"] == 2


def test_external_references_create_or_update(psa: Callable[..., Client]) -> None:
    c = psa()
    payload = {
        "external_reference": {
            "subject_type": "TimeEntry",
            "subject_id": 1010,
            "service_name": "Netsuite",
            "service_model": "TimeBill",
            "service_model_ref": "77",
            "status": "successful",
        }
    }
    resp = c.send(
        "POST", "/external_references/create_or_update", json=payload, params={"include": "subject"}
    )
    assert resp.status_code == 200, resp.text
    rid = resp.json()["results"][0]["id"]
    ref = resp.json()["external_references"][rid]
    assert ref["subject_id"] == 1010 and ref["service_model_ref"] == "77"
    assert ref["last_synced_at"] == "2026-10-31T18:00:00+00:00"
    assert resp.json()["time_entries"]["1010"]["external_reference_ids"] == [rid]
    changed = c.ok("/time_entries", updated_after=stamp(1000 + N_TIME_ENTRIES - 1))
    assert [r["id"] for r in changed["results"]] == ["1010"]
    payload["external_reference"]["service_model_ref"] = "78"
    again = c.send("POST", "/external_references/create_or_update.json", json=payload)
    assert again.json()["results"][0]["id"] == rid
    assert again.json()["external_references"][rid]["service_model_ref"] == "78"
    assert c.ok("/external_references", subject_type="TimeEntry")["count"] == 2
    missing = c.send(
        "POST",
        "/external_references/create_or_update",
        json={"external_reference": {"subject_type": "TimeEntry", "subject_id": 1010}},
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["type"] == "syntax"
    assert c.send("POST", "/external_references", json=payload).status_code == 404
    # nested external_reference on a subject's create and update
    nested = c.send(
        "PUT",
        "/workspaces/303",
        json={
            "workspace": {
                "external_reference": {
                    "service_name": "Netsuite",
                    "service_model": "Job",
                    "service_model_ref": "J-3",
                }
            }
        },
    )
    assert nested.status_code == 200
    ids = nested.json()["workspaces"]["303"]["external_reference_ids"]
    assert len(ids) == 1
    found = c.ok("/workspaces", external_reference_service_model_ref="J-3")
    assert [r["id"] for r in found["results"]] == ["303"]
    made = c.send(
        "POST",
        "/workspace_groups",
        json={
            "workspace_group": {
                "name": "Umbrella",
                "external_reference": {
                    "service_name": "Salesforce",
                    "service_model": "Account",
                    "service_model_ref": "001A",
                },
            }
        },
    )
    gid = made.json()["results"][0]["id"]
    refs = c.ok("/external_references", subject_type="WorkspaceGroup", subject_id=gid)
    assert refs["count"] == 1


# -- faults -------------------------------------------------------------------------------------
def test_rate_limit_and_server_error(psa: Callable[..., Client]) -> None:
    c = psa(FaultConfig(rate_limit=1.0, retry_after=7))
    resp = c.get("/workspaces")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.json() == {"errors": [{"type": "system", "message": "Rate limit exceeded"}]}
    assert (
        requests.post(
            c.url + "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "cid",
                "client_secret": "csecret",
            },
        ).status_code
        == 200
    )  # token endpoint is never faulted
    c = psa(FaultConfig(server_error=1.0))
    resp = c.get("/workspaces")
    assert resp.status_code == 503
    assert resp.json() == {"errors": [{"type": "system", "message": "Service is unavailable"}]}


def test_malformed_and_drift(psa: Callable[..., Client]) -> None:
    c = psa(FaultConfig(malformed=1.0, drift=True))
    entries = c.ok("/time_entries", per_page=50)["time_entries"]
    broken = [
        e
        for e in entries.values()
        if e["time_in_minutes"] == "ninety" or e["date_performed"] == "2026-13-45"
    ]
    assert len(broken) == 50
    assert all(e["location_code"] == "REMOTE" for e in entries.values())
    ws = c.ok("/workspaces")["workspaces"]
    assert all(w["currency"] == "Dollars" and w["location_code"] == "REMOTE" for w in ws.values())
    assert all(e["amount_in_cents"] == "12.5.0" for e in c.ok("/expenses")["expenses"].values())
    assert "location_code" not in c.ok("/users")["users"]["101"]
    # the store itself is untouched
    stored = c.store.connection("psa", "psa").tables["workspaces"].get("301")
    assert stored["currency"] == "USD" and "location_code" not in stored
    assert any(f["kind"] == "malformed" for f in c.emulator.faults.injected)


def test_connection_info_and_rails_params(psa: Callable[..., Client]) -> None:
    c = psa()
    info = c.emulator.connection_info(c.store.connection("psa", "psa"))
    assert info["base_url"] == c.url + "/api/v1" and info["api_token"] == TOKEN
    assert info["account_id"] == 4242
    assert rails_params(
        [
            ("a[b]", "1"),
            ("a[c][]", "2"),
            ("a[c][]", "3"),
            ("l[][x]", "1"),
            ("l[][y]", "2"),
            ("l[][x]", "3"),
        ]
    ) == {"a": {"b": "1", "c": ["2", "3"]}, "l": [{"x": "1", "y": "2"}, {"x": "3"}]}
