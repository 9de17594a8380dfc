"""The Salesforce emulator speaks the REST contract of shared/SOURCE_APIS.md section 1, over a
real port, to plain HTTP and to the simple-salesforce SDK."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
)

from simulator.emulator import EmulatorContext, FaultConfig, Faults
from simulator.server import ServerThread, free_port
from simulator.sfid import is_valid, make_id, to18
from simulator.store import Store
from simulator.systems.salesforce import Emulator

V = "/services/data/v60.0"
ORG_ID = make_id("00D", 7)
SETTINGS = {
    "client_id": "3MVG9sim.clientid",
    "client_secret": "sim-secret",
    "username": "integration@acme.example",
    "password": "pa55word",
    "security_token": "TOKEN123",
    "org_id": ORG_ID,
    "api_version": "60.0",
    "daily_api_limit": 100000,
}
N_ACCOUNTS = 450  # > 2 batches of the minimum batch size (200)
OLD = "2026-05-20T20:49:32.000+0000"


def sf_ts(day: int, second: int = 0) -> str:
    return (
        f"2026-{5 + day // 28:02d}-{1 + day % 28:02d}T10:{second // 60 % 60:02d}:"
        f"{second % 60:02d}.000+0000"
    )


def build_store(n_accounts: int = N_ACCOUNTS) -> Store:
    """A small CRM: users, accounts (some parented, one soft-deleted), opportunities."""
    store = Store({"seed": 1, "scale": "test", "clock": "2026-10-31T18:00:00+00:00"})
    conn = store.connection("salesforce", "crm")
    conn.settings.update(SETTINGS)
    users = conn.table("User", key=("Id",))
    for i in range(3):
        first, last = ("Ada", "Lovelace") if i == 0 else (f"Rep{i}", "Seller")
        users.upsert(
            {
                "Id": make_id("005", i + 1),
                "Username": SETTINGS["username"] if i == 0 else f"rep{i}@acme.example",
                "FirstName": first,
                "LastName": last,
                "Name": f"{first} {last}",
                "Email": f"user{i}@acme.example",
                "Title": "AE",
                "IsActive": True,
                "CreatedDate": OLD,
                "LastModifiedDate": OLD,
                "SystemModstamp": OLD,
            }
        )
    accounts = conn.table("Account", key=("Id",))
    for i in range(n_accounts):
        stamp = sf_ts(i % 100, i)
        accounts.upsert(
            {
                "Id": make_id("001", i + 1),
                "Name": f"Client {i:04d} GmbH",
                "ParentId": make_id("001", 1) if i in (5, 6) else None,
                "Type": "Customer",
                "Industry": "Consulting" if i % 2 else "Technology",
                "Website": f"https://client{i}.example",
                "Phone": "+49 30 1234",
                "BillingStreet": "Hauptstr. 1",
                "BillingCity": "Berlin" if i % 3 else "Munich",
                "BillingPostalCode": "10115",
                "BillingCountry": "Germany",
                "BillingCountryCode": "DE",
                "CurrencyIsoCode": "EUR",
                "OwnerId": make_id("005", 1 + i % 3),
                "Tax_Id__c": f"DE{100000000 + i}",
                "Conform_Id__c": f"C-{i:05d}" if i % 10 else None,
                "ERP_Customer_Number__c": None,
                "Ultimate_Parent_Conform_Id__c": None,
                "Open_AR__c": float(i * 10),
                "Overdue_AR__c": 0.0,
                "Last_Payment_Date__c": "2026-04-01" if i % 4 == 0 else None,
                "CreatedDate": stamp,
                "LastModifiedDate": stamp,
                "SystemModstamp": stamp,
                "IsDeleted": i == 449,
            }
        )
    # a duplicated external id, as real orgs with a non-unique External ID field have
    accounts.rows[(make_id("001", 12),)]["Conform_Id__c"] = "C-DUP"
    accounts.rows[(make_id("001", 13),)]["Conform_Id__c"] = "C-DUP"
    opps = conn.table("Opportunity", key=("Id",))
    for i in range(30):
        opps.upsert(
            {
                "Id": make_id("006", i + 1),
                "Name": f"Deal {i}",
                "AccountId": make_id("001", 1 + i % 5) if i != 29 else None,
                "StageName": "Closed Won" if i % 3 == 0 else "Prospecting",
                "CloseDate": f"2026-{1 + i % 12:02d}-15",
                "Amount": 1000.0 * i if i % 7 else None,
                "CurrencyIsoCode": "EUR",
                "Probability": 100.0 if i % 3 == 0 else 10.0,
                "IsClosed": i % 3 == 0,
                "IsWon": i % 3 == 0,
                "Type": "New Business",
                "OwnerId": make_id("005", 1),
                "PSA_Project_Code__c": f"P-{i:04d}",
                "CreatedDate": OLD,
                "LastModifiedDate": OLD,
                "SystemModstamp": OLD,
                "IsDeleted": False,
            }
        )
    return store


class Sim:
    def __init__(self, url: str, emulator: Emulator, store: Store):
        self.url, self.emulator, self.store = url, emulator, store
        self._token: str | None = None

    def token(self) -> str:
        if self._token is None:
            r = requests.post(
                self.url + "/services/oauth2/token",
                data={
                    "grant_type": "password",
                    "client_id": SETTINGS["client_id"],
                    "client_secret": SETTINGS["client_secret"],
                    "username": SETTINGS["username"],
                    "password": SETTINGS["password"] + SETTINGS["security_token"],
                },
                timeout=5,
            )
            assert r.status_code == 200, r.text
            self._token = r.json()["access_token"]
        return self._token

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}", **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def query(self, soql: str, all_rows: bool = False, **kw: Any) -> requests.Response:
        return self.call(
            "GET", f"{V}/{'queryAll' if all_rows else 'query'}", params={"q": soql}, **kw
        )

    def records(self, soql: str, batch: int = 200, all_rows: bool = False) -> list[dict]:
        """Walk nextRecordsUrl to the end, checking each page's shape."""
        r = self.query(soql, all_rows, headers={"Sforce-Query-Options": f"batchSize={batch}"})
        assert r.status_code == 200, r.text
        page = r.json()
        out = list(page["records"])
        while not page["done"]:
            assert len(page["records"]) == batch
            r = self.call("GET", page["nextRecordsUrl"])
            assert r.status_code == 200, r.text
            page = r.json()
            out += page["records"]
        assert "nextRecordsUrl" not in page
        assert len(out) == page["totalSize"]
        return out


@pytest.fixture
def serve() -> Iterator[Callable[..., Sim]]:
    threads: list[ServerThread] = []

    def start(
        faults: FaultConfig | None = None, store: Store | None = None, **settings: Any
    ) -> Sim:
        store = store or build_store()
        store.connection("salesforce", "crm").settings.update(settings)
        port = free_port()
        ctx = EmulatorContext(
            store=store,
            faults=Faults("salesforce", faults or FaultConfig(), 1),
            base_url=f"http://127.0.0.1:{port}",
        )
        emulator = Emulator(ctx)
        thread = ServerThread(emulator.app, port=port).start()
        threads.append(thread)
        return Sim(thread.url, emulator, store)

    yield start
    for thread in threads:
        thread.stop()


def error_of(r: requests.Response) -> dict[str, Any]:
    body = r.json()
    assert isinstance(body, list) and len(body) == 1, body
    return body[0]


# -- ids -----------------------------------------------------------------------------------------
def test_ids() -> None:
    assert to18("a0D30000001n7Pi") == "a0D30000001n7PiEAI"
    assert make_id("001", 42) == make_id("001", 42)
    ids = [make_id("001", n) for n in (0, 1, 61, 62, 10**6)]
    assert all(len(i) == 18 and i.startswith("001") and is_valid(i) for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert is_valid("001xx000003DGb2AAG") and not is_valid("001xx000003DGb2AAA")


# -- auth ----------------------------------------------------------------------------------------
def test_token_grants_and_failures(serve: Callable[..., Sim]) -> None:
    sim = serve()
    url = sim.url + "/services/oauth2/token"
    form = {
        "grant_type": "password",
        "client_id": SETTINGS["client_id"],
        "client_secret": SETTINGS["client_secret"],
        "username": SETTINGS["username"],
        "password": SETTINGS["password"] + SETTINGS["security_token"],
    }
    body = requests.post(url, data=form, timeout=5).json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
    }
    assert body["instance_url"] == sim.url and body["token_type"] == "Bearer"
    assert body["access_token"].startswith(ORG_ID[:15] + "!")
    assert body["issued_at"].isdigit() and len(body["issued_at"]) == 13
    assert body["id"] == f"{sim.url}/id/{ORG_ID}/{make_id('005', 1)}"

    basic = base64.b64encode(f"{SETTINGS['client_id']}:{SETTINGS['client_secret']}".encode())
    r = requests.post(
        url,
        data={"grant_type": "client_credentials"},
        timeout=5,
        headers={"Authorization": "Basic " + basic.decode()},
    )
    assert r.status_code == 200 and r.json()["api_instance_url"] == sim.url

    cases = [
        ({**form, "password": SETTINGS["password"]}, "invalid_grant", "authentication failure"),
        ({**form, "client_id": "nope"}, "invalid_client_id", "client identifier invalid"),
        ({**form, "client_secret": "nope"}, "invalid_client", "invalid client credentials"),
        ({**form, "grant_type": "authorization_code"}, "unsupported_grant_type", None),
    ]
    for data, error, description in cases:
        r = requests.post(url, data=data, timeout=5)
        assert r.status_code == 400
        assert r.json()["error"] == error
        if description:
            assert r.json()["error_description"] == description

    for headers in ({}, {"Authorization": "Bearer forged"}):
        r = requests.get(sim.url + f"{V}/limits", headers=headers, timeout=5)
        assert r.status_code == 401
        assert r.json() == [
            {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
        ]


def test_token_ttl_expires_sessions(serve: Callable[..., Sim]) -> None:
    sim = serve(FaultConfig(token_ttl=0.3))
    assert sim.call("GET", f"{V}/limits").status_code == 200
    time.sleep(0.4)
    r = sim.call("GET", f"{V}/limits")
    assert r.status_code == 401 and error_of(r)["errorCode"] == "INVALID_SESSION_ID"


# -- discovery, limits ---------------------------------------------------------------------------
def test_versions_resources_limits(serve: Callable[..., Sim]) -> None:
    sim = serve(daily_api_limit=5)
    versions = requests.get(sim.url + "/services/data/", timeout=5).json()
    assert {"label": "Spring '24", "url": "/services/data/v60.0", "version": "60.0"} in versions
    r = sim.call("GET", f"{V}/")
    assert r.json()["query"] == f"{V}/query"
    assert r.headers["Sforce-Limit-Info"] == "api-usage=1/5"
    limits = sim.call("GET", f"{V}/limits").json()
    assert limits["DailyApiRequests"] == {"Max": 5, "Remaining": 3}
    for _ in range(3):
        assert sim.call("GET", f"{V}/limits").status_code == 200
    r = sim.call("GET", f"{V}/limits")
    assert r.status_code == 403 and r.headers["Sforce-Limit-Info"] == "api-usage=6/5"
    assert r.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    sim = serve()
    r = sim.call("GET", "/services/data/v99.0/limits")
    assert r.status_code == 404 and error_of(r)["errorCode"] == "NOT_FOUND"
    r = sim.call("PUT", f"{V}/limits")
    assert r.status_code == 405 and error_of(r)["errorCode"] == "METHOD_NOT_ALLOWED"


# -- query ---------------------------------------------------------------------------------------
def test_query_pages_to_the_end(serve: Callable[..., Sim]) -> None:
    sim = serve()
    live = sim.records("SELECT Id, Name, SystemModstamp FROM Account")
    assert len(live) == N_ACCOUNTS - 1
    assert live[0]["attributes"] == {
        "type": "Account",
        "url": f"{V}/sobjects/Account/{live[0]['Id']}",
    }
    assert list(live[0]) == ["attributes", "Id", "Name", "SystemModstamp"]
    every = sim.records("SELECT Id, IsDeleted FROM Account", all_rows=True)
    assert len(every) == N_ACCOUNTS and sum(r["IsDeleted"] for r in every) == 1
    # default batch is 2000; an out-of-range batchSize is clamped to 200..2000
    page = sim.query(
        "SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=5"}
    ).json()
    assert len(page["records"]) == 200 and page["nextRecordsUrl"].startswith(f"{V}/query/01g")
    assert sim.query("SELECT Id FROM Account").json()["done"] is True
    r = sim.call("GET", f"{V}/query/01gBOGUS-200")
    assert r.status_code == 400 and error_of(r)["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_incremental_by_systemmodstamp(serve: Callable[..., Sim]) -> None:
    sim = serve()
    soql = (
        "SELECT Id, SystemModstamp FROM Account WHERE SystemModstamp > {} ORDER BY "
        "SystemModstamp, Id"
    )
    rows = sim.records(soql.format("2026-05-01T00:00:00Z"))
    stamps = [r["SystemModstamp"] for r in rows]
    assert stamps == sorted(stamps) and len(rows) == N_ACCOUNTS - 1
    high = stamps[-1]
    # an offset literal means the same instant as its UTC form; > is strict
    assert sim.records(soql.format(high.replace(".000+0000", "Z"))) == []
    assert len(
        sim.records(soql.replace(">", ">=").format(high.replace(".000+0000", "Z")))
    ) == stamps.count(high)

    target = rows[3]["Id"]
    assert (
        sim.call("PATCH", f"{V}/sobjects/Account/{target}", json={"Tax_Id__c": "DE999"}).status_code
        == 204
    )
    changed = sim.records(soql.format(high.replace(".000+0000", "Z")))
    assert [r["Id"] for r in changed] == [target]
    assert changed[0]["SystemModstamp"] == "2026-10-31T18:00:00.000+0000"

    # a change made behind the API (the generator advancing the business) is seen the same way
    table = sim.store.connection("salesforce", "crm").tables["Account"]
    rec = table.rows[(rows[7]["Id"],)]
    rec["SystemModstamp"] = "2026-11-01T09:00:00.000+0000"
    later = sim.records(soql.format("2026-10-31T18:00:00.000+00:00"))
    assert [r["Id"] for r in later] == [rows[7]["Id"]]


def test_soql_subset(serve: Callable[..., Sim]) -> None:
    sim = serve()

    def rows(soql: str) -> list[dict]:
        return sim.records(soql, batch=2000)

    opp = rows(
        "SELECT Id, Name, Account.Name, Account.Owner.Name FROM Opportunity WHERE Name = 'Deal 1'"
    )[0]
    assert opp["Account"]["attributes"]["type"] == "Account"
    assert opp["Account"]["Name"] == "Client 0001 GmbH"
    assert opp["Account"]["Owner"]["Name"] == "Rep1 Seller"
    assert rows("SELECT Account.Name FROM Opportunity WHERE AccountId = null")[0]["Account"] is None
    kids = rows("SELECT Id, Parent.Name FROM Account WHERE Parent.Name = 'client 0000 gmbh'")
    assert len(kids) == 2 and kids[0]["Parent"]["Name"] == "Client 0000 GmbH"
    # lower-case keywords and field names; canonical names in the response
    assert list(rows("select id, name from account where name = 'Client 0002 GmbH'")[0]) == [
        "attributes",
        "Id",
        "Name",
    ]
    assert (
        len(
            rows(
                "SELECT Id FROM Opportunity WHERE (StageName = 'Closed Won' OR Amount > "
                "25000) AND NOT Name LIKE 'Deal 2%'"
            )
        )
        == 7
    )
    assert len(rows("SELECT Id FROM Opportunity WHERE Name IN ('Deal 1', 'Deal 2', 'x')")) == 2
    assert len(rows("SELECT Id FROM Opportunity WHERE Name NOT IN ('Deal 1', 'Deal 2')")) == 28
    assert len(rows("SELECT Id FROM Opportunity WHERE CloseDate >= 2026-11-01")) == 4
    assert len(rows("SELECT Id FROM Opportunity WHERE Amount != null AND IsWon = true")) == 8
    assert len(rows("SELECT Id FROM Account WHERE Name LIKE 'client 00\\_0%'")) == 0
    assert len(rows("SELECT Id FROM Account WHERE Name LIKE 'client 000_ %'")) == 10
    ids = [make_id("001", 3)[:15], make_id("001", 4)]  # 15-char ids match too
    assert len(rows(f"SELECT Id FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}')")) == 2
    amounts = [
        r["Amount"]
        for r in rows(
            "SELECT Amount FROM Opportunity ORDER BY Amount DESC NULLS LAST LIMIT 10 OFFSET 1"
        )
    ]
    assert amounts == [
        27000.0,
        26000.0,
        25000.0,
        24000.0,
        23000.0,
        22000.0,
        20000.0,
        19000.0,
        18000.0,
        17000.0,
    ]
    assert rows("SELECT Amount FROM Opportunity ORDER BY Amount ASC")[0]["Amount"] is None
    count = sim.query("SELECT COUNT() FROM Account WHERE BillingCity = 'Munich'").json()
    assert count == {"totalSize": 150, "done": True, "records": []}
    std = rows("SELECT FIELDS(STANDARD) FROM User WHERE IsActive = true")
    assert len(std) == 3 and "Email" in std[0]
    assert "Conform_Id__c" in rows("SELECT FIELDS(ALL) FROM Account LIMIT 200")[0]
    esc = rows("SELECT Id FROM Account WHERE Name = 'O\\'Brien' OR Name = 'Client 0009 GmbH'")
    assert len(esc) == 1


@pytest.mark.parametrize(
    ("soql", "code", "text"),
    [
        (
            "SELECT Id, Foo__c FROM Account",
            "INVALID_FIELD",
            "No such column 'Foo__c' on entity 'Account'. If you are attempting to use a custom field",  # noqa: E501
        ),
        ("SELECT Id FROM Acount", "INVALID_TYPE", "sObject type 'Acount' is not supported."),
        (
            "SELECT Id, Foo.Name FROM Account",
            "INVALID_FIELD",
            "Didn't understand relationship 'Foo'",
        ),
        ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
        (
            "SELECT Id FROM Account WHERE Name = 'x' ORDER Name",
            "MALFORMED_QUERY",
            "unexpected token: 'Name'",
        ),
        (
            "SELECT Id FROM Account WHERE SystemModstamp > '2024-05-01T00:00:00Z'",
            "INVALID_FIELD",
            "must be of type dateTime and should not be enclosed in quotes",
        ),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD", "must be of type string"),
        (
            "SELECT Id FROM Account WHERE Id = 'nope'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: nope",
        ),
        ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
        ("SELECT FIELDS(ALL) FROM Account", "MALFORMED_QUERY", "must have a LIMIT"),
        ("SELECT Id FROM User WHERE IsDeleted = false", "INVALID_FIELD", "No such column"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "offset"),
    ],
)
def test_query_errors(serve: Callable[..., Sim], soql: str, code: str, text: str) -> None:
    r = serve().query(soql)
    assert r.status_code == 400
    err = error_of(r)
    assert err["errorCode"] == code and text in err["message"]
    if code in ("MALFORMED_QUERY", "INVALID_FIELD", "INVALID_TYPE") and "offset" not in text:
        assert "ERROR at Row:1:Column:" in err["message"]


# -- sObject rows --------------------------------------------------------------------------------
def test_sobject_rows(serve: Callable[..., Sim]) -> None:
    sim = serve()
    acc = make_id("001", 2)
    r = sim.call("GET", f"{V}/sobjects/Account/{acc}")
    assert r.status_code == 200 and r.json()["Conform_Id__c"] == "C-00001"
    assert r.json()["attributes"]["url"] == f"{V}/sobjects/Account/{acc}"
    assert sim.call(
        "GET", f"{V}/sobjects/Account/{acc}", params={"fields": "Name,Tax_Id__c"}
    ).json() == {
        "attributes": {"type": "Account", "url": f"{V}/sobjects/Account/{acc}"},
        "Name": "Client 0001 GmbH",
        "Tax_Id__c": "DE100000001",
    }

    r = sim.call("PATCH", f"{V}/sobjects/Account/{acc}", json={"ERP_Customer_Number__c": "C1"})
    assert r.status_code == 204 and r.content == b""
    got = sim.call("GET", f"{V}/sobjects/Account/{acc}").json()
    assert got["ERP_Customer_Number__c"] == "C1"
    assert got["LastModifiedDate"] == got["SystemModstamp"] == "2026-10-31T18:00:00.000+0000"

    r = sim.call("PATCH", f"{V}/sobjects/Account/{acc}", json={"Nope__c": 1})
    assert r.status_code == 400 and error_of(r) == {
        "message": "No such column 'Nope__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD",
    }
    r = sim.call("PATCH", f"{V}/sobjects/Account/{acc}", data="{not json")
    assert r.status_code == 400 and error_of(r)["errorCode"] == "JSON_PARSER_ERROR"
    r = sim.call("PATCH", f"{V}/sobjects/Account/{acc}", json={"CreatedDate": OLD})
    assert error_of(r)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    r = sim.call("PATCH", f"{V}/sobjects/Account/{acc}", json={"OwnerId": "bad"})
    assert error_of(r)["errorCode"] == "MALFORMED_ID"
    r = sim.call("PATCH", f"{V}/sobjects/Account/{make_id('001', 99999)}", json={"Name": "x"})
    assert r.status_code == 404 and error_of(r) == {
        "message": "The requested resource does not exist",
        "errorCode": "NOT_FOUND",
    }

    r = sim.call("POST", f"{V}/sobjects/Account/", json={"Name": "New Co", "Open_AR__c": 5})
    assert r.status_code == 201
    new_id = r.json()["id"]
    assert r.json() == {"id": new_id, "success": True, "errors": []} and is_valid(new_id)
    assert sim.call("GET", f"{V}/sobjects/Account/{new_id}").json()["IsDeleted"] is False
    r = sim.call("POST", f"{V}/sobjects/Account", json={"Phone": "1"})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "REQUIRED_FIELD_MISSING"

    assert sim.call("DELETE", f"{V}/sobjects/Account/{new_id}").status_code == 204
    r = sim.call("GET", f"{V}/sobjects/Account/{new_id}")
    assert r.status_code == 404 and error_of(r)["errorCode"] == "ENTITY_IS_DELETED"
    q = f"SELECT Id, IsDeleted FROM Account WHERE Id = '{new_id}'"
    assert sim.query(q).json()["totalSize"] == 0
    assert sim.query(q, all_rows=True).json()["records"][0]["IsDeleted"] is True

    methods = [w["method"] for w in sim.store.writes]
    assert methods == ["PATCH", "POST", "DELETE"]  # failed writes change nothing, log nothing


def test_upsert_by_external_id_and_describe(serve: Callable[..., Sim]) -> None:
    sim = serve()
    base = f"{V}/sobjects/Account/Conform_Id__c"
    r = sim.call("PATCH", f"{base}/C-00001", json={"Tax_Id__c": "DE1"})
    assert r.status_code == 200
    assert r.json() == {"id": make_id("001", 2), "success": True, "errors": [], "created": False}
    r = sim.call("PATCH", f"{base}/C-NEW", json={"Name": "Newco"})
    assert r.status_code == 201 and r.json()["created"] is True
    assert sim.call("GET", f"{base}/C-NEW").json()["Name"] == "Newco"
    r = sim.call("PATCH", f"{base}/C-DUP", json={"Name": "x"})
    assert r.status_code == 300
    assert r.json() == [
        f"{V}/sobjects/Account/{make_id('001', 12)}",
        f"{V}/sobjects/Account/{make_id('001', 13)}",
    ]
    r = sim.call("PATCH", f"{base}/C-NONE", params={"updateOnly": "true"}, json={"Name": "x"})
    assert r.status_code == 404
    r = sim.call("PATCH", f"{V}/sobjects/Account/Nope__c/1", json={"Name": "x"})
    assert r.status_code == 404 and error_of(r)["errorCode"] == "NOT_FOUND"
    r = sim.call("PATCH", f"{V}/sobjects/Account/Name/x", json={"Name": "x"})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "INVALID_FIELD"

    fields = {
        f["name"]: f for f in sim.call("GET", f"{V}/sobjects/Account/describe").json()["fields"]
    }
    assert fields["Conform_Id__c"]["externalId"] is True and fields["Conform_Id__c"]["custom"]
    assert fields["Name"]["externalId"] is False and fields["Name"]["updateable"] is True
    assert fields["SystemModstamp"]["updateable"] is False
    assert fields["ParentId"]["referenceTo"] == ["Account"]
    assert "Segment__c" not in fields


# -- sObject Collections -------------------------------------------------------------------------
def test_collections(serve: Callable[..., Sim]) -> None:
    sim = serve()
    a1, a2, deleted = make_id("001", 1), make_id("001", 2), make_id("001", 450)
    records = [
        {"attributes": {"type": "Account"}, "id": a1, "Tax_Id__c": "X1"},
        {"attributes": {"type": "Account"}, "id": "001bad", "Tax_Id__c": "X"},
        {"attributes": {"type": "Account"}, "id": deleted, "Tax_Id__c": "X"},
        {"attributes": {"type": "Account"}, "id": a2, "Bogus__c": "X"},
        {"attributes": {"type": "Account"}, "id": a2, "Tax_Id__c": "X2"},
    ]
    r = sim.call("PATCH", f"{V}/composite/sobjects", json={"allOrNone": False, "records": records})
    assert r.status_code == 200
    res = r.json()
    assert res[0] == {"id": a1, "success": True, "errors": []}
    assert res[1]["errors"][0]["statusCode"] == "MALFORMED_ID"
    assert res[2]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"
    assert res[3]["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert res[4]["success"] is True
    assert sim.call("GET", f"{V}/sobjects/Account/{a2}").json()["Tax_Id__c"] == "X2"

    r = sim.call(
        "PATCH",
        f"{V}/composite/sobjects",
        json={
            "allOrNone": True,
            "records": [
                {"attributes": {"type": "Account"}, "id": a1, "Tax_Id__c": "ROLLED"},
                records[1],
            ],
        },
    )
    res = r.json()
    assert res[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert sim.call("GET", f"{V}/sobjects/Account/{a1}").json()["Tax_Id__c"] == "X1"

    too_many = [{"attributes": {"type": "Account"}, "id": a1}] * 201
    r = sim.call("PATCH", f"{V}/composite/sobjects", json={"records": too_many})
    assert r.status_code == 400 and error_of(r)["errorCode"] == "EXCEEDED_ID_LIMIT"

    r = sim.call(
        "POST",
        f"{V}/composite/sobjects",
        json={
            "records": [
                {
                    "attributes": {"type": "Opportunity"},
                    "Name": "D",
                    "StageName": "Prospecting",
                    "CloseDate": "2026-12-01",
                    "AccountId": a1,
                },
                {"attributes": {"type": "Opportunity"}, "Name": "D2"},
            ]
        },
    )
    res = r.json()
    assert res[0]["success"] and res[0]["id"].startswith("006")
    assert res[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"

    r = sim.call(
        "PATCH",
        f"{V}/composite/sobjects/Account/Conform_Id__c",
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Conform_Id__c": "C-00003", "Tax_Id__c": "U"},
                {"attributes": {"type": "Account"}, "Conform_Id__c": "C-ZZZ", "Name": "Fresh"},
                {"attributes": {"type": "Account"}, "Conform_Id__c": "C-DUP", "Name": "x"},
            ]
        },
    )
    res = r.json()
    assert res[0] == {"id": make_id("001", 4), "success": True, "errors": [], "created": False}
    assert res[1]["created"] is True
    assert res[2]["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"

    r = sim.call("DELETE", f"{V}/composite/sobjects", params={"ids": f"{a1},{deleted}"})
    assert [x["success"] for x in r.json()] == [True, False]


# -- faults --------------------------------------------------------------------------------------
def test_injected_rate_limit_and_server_error(serve: Callable[..., Sim]) -> None:
    sim = serve(FaultConfig(rate_limit=1.0))
    r = sim.query("SELECT Id FROM Account")
    assert r.status_code == 403 and r.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert r.headers["Sforce-Limit-Info"].startswith("api-usage=")
    sim = serve(FaultConfig(server_error=1.0))
    r = sim.query("SELECT Id FROM Account")
    assert r.status_code in (500, 503) and error_of(r)["errorCode"] == "SERVER_UNAVAILABLE"


def test_malformed_and_drift(serve: Callable[..., Sim]) -> None:
    sim = serve(FaultConfig(malformed=1.0, drift=True))
    accounts = sim.records("SELECT Id, CurrencyIsoCode, CreatedDate, Segment__c FROM Account")
    assert all(
        a["CurrencyIsoCode"] == "US Dollar" or a["CreatedDate"] == "not a date" for a in accounts
    )
    assert all(a["Segment__c"] == "Enterprise" for a in accounts)
    opps = sim.records("SELECT Id, Amount, CloseDate FROM Opportunity")
    assert all(o["Amount"] == "12,5O0.00" or o["CloseDate"] == "2026-02-31" for o in opps)
    names = [
        f["name"] for f in sim.call("GET", f"{V}/sobjects/Opportunity/describe").json()["fields"]
    ]
    assert "Segment__c" in names
    assert sim.emulator.faults.injected and sim.emulator.faults.injected[0]["kind"] == "malformed"


# -- the simple-salesforce SDK -------------------------------------------------------------------
class _ToHttp(HTTPAdapter):
    """simple-salesforce forces https://; send its requests to the local http port."""

    def send(self, request: requests.PreparedRequest, **kw: Any) -> requests.Response:
        request.url = "http://" + str(request.url).removeprefix("https://")
        return super().send(request, **kw)


def test_simple_salesforce_sdk(serve: Callable[..., Sim]) -> None:
    sim = serve()
    session = requests.Session()
    session.mount("https://", _ToHttp())
    host = urlsplit(sim.url).netloc
    sf = Salesforce(
        instance_url=f"https://{host}", session_id=sim.token(), version="60.0", session=session
    )
    result = sf.query_all(
        "SELECT Id, Name FROM Account ORDER BY Name",
        headers={"Sforce-Query-Options": "batchSize=200"},
    )
    assert result["totalSize"] == N_ACCOUNTS - 1 and len(result["records"]) == N_ACCOUNTS - 1
    assert sim.store.writes == []
    used = sf.api_usage["api-usage"]
    assert used.used == 3 and used.total == 100000  # 3 batches of 200

    acc = make_id("001", 2)
    assert sf.Account.update(acc, {"Tax_Id__c": "SDK"}) == 204
    assert sf.Account.get(acc)["Tax_Id__c"] == "SDK"
    assert sf.Account.upsert("Conform_Id__c/C-00001", {"Name": "Renamed"}) == 200
    assert sf.Account.upsert("Conform_Id__c/C-SDK", {"Name": "Made by SDK"}) == 201
    assert sf.Account.get_by_custom_id("Conform_Id__c", "C-SDK")["Name"] == "Made by SDK"
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.upsert("Conform_Id__c/C-DUP", {"Name": "x"})

    res = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [{"attributes": {"type": "Account"}, "id": acc, "Open_AR__c": 12.5}],
        },
    )
    assert res == [{"id": acc, "success": True, "errors": []}]
    assert sf.Account.get(acc)["Open_AR__c"] == 12.5

    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, NoSuchField__c FROM Account")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.update(acc, {"NoSuchField__c": 1})
    assert sf.api_usage["api-usage"].used > used.used


def test_simple_salesforce_request_limit(serve: Callable[..., Sim]) -> None:
    sim = serve(daily_api_limit=1)
    session = requests.Session()
    session.mount("https://", _ToHttp())
    sf = Salesforce(
        instance_url=f"https://{urlsplit(sim.url).netloc}",
        session_id=sim.token(),
        version="60.0",
        session=session,
    )
    sf.query("SELECT Id FROM User")
    with pytest.raises(SalesforceRefusedRequest):
        sf.query("SELECT Id FROM User")
