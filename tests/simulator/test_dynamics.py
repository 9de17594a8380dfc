"""The Dynamics 365 F&O emulator, spoken to over real HTTP the way a connector would."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import jwt
import pytest
import requests

from simulator.emulator import EmulatorContext, FaultConfig, Faults
from simulator.server import ServerThread, free_port
from simulator.store import Store
from simulator.systems.dynamics import ENTITY_SETS, Emulator

TENANT = "6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
CREDS = {
    "na": {
        "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": "na~secret",
        "legal_entities": ["us01", "ca01"],
    },
    "emea": {
        "client_id": "66666666-7777-8888-9999-000000000000",
        "client_secret": "emea~secret",
        "legal_entities": ["gb01", "de01"],
    },
}
OLD = "2026-05-20T20:49:32Z"
HOURS = {"us01": 23, "ca01": 9}


def build_store() -> Store:
    """Two environments with every entity set, in the README's record shapes."""
    store = Store({"seed": 1, "scale": "test", "clock": "2026-10-31T18:00:00+00:00"})
    for env, creds in CREDS.items():
        conn = store.connection("dynamics", env)
        conn.settings.update({"environment": env, "tenant_id": TENANT, "page_size": 5, **creds})
        t = {name: conn.table(name, key) for name, (key, _) in ENTITY_SETS.items()}
        currency = {"us01": "USD", "ca01": "CAD", "gb01": "GBP", "de01": "EUR"}
        for n, le in enumerate(creds["legal_entities"]):
            t["LegalEntities"].upsert(
                {
                    "LegalEntityId": le,
                    "Name": f"Conform {le.upper()}",
                    "AddressCountryRegionId": {"us": "USA", "ca": "CAN", "gb": "GBR", "de": "DEU"}[
                        le[:2]
                    ],
                    "AccountingCurrency": currency[le],
                    "ModifiedDateTime": OLD,
                }
            )
            for i in range(1, 4):
                acct = f"{le[:2].upper()}-{i:04d}"
                t["CustomersV3"].upsert(
                    {
                        "dataAreaId": le,
                        "CustomerAccount": acct,
                        "OrganizationName": f"O'Brien & Partners {le} {i}"
                        if i == 1
                        else f"Contoso {le} {i}",
                        "NameAlias": f"contoso{i}",
                        "CustomerGroupId": "30",
                        "PartyNumber": f"0000{n}{i}",
                        "AddressCountryRegionId": "USA",
                        "AddressCountryRegionISOCode": "US",
                        "AddressCity": "Seattle",
                        "AddressZipCode": "98052",
                        "AddressStreet": "1 Main St",
                        "PrimaryContactEmail": f"ap{i}@contoso.example",
                        "PrimaryContactURL": "https://contoso.example",
                        "SalesCurrencyCode": currency[le],
                        "CreditLimit": 50000.0 * i,
                        "PaymentTerms": "Net30",
                        "InvoiceAccount": "",
                        "TaxExemptNumber": f"VAT{i}",
                        "SalesTaxGroup": "CA",
                        "OnHoldStatus": "No",
                        "ConformCustomerId": f"C{n}{i}",
                        "CrmAccountId": None,
                        "ModifiedDateTime": f"2026-0{i}-15T08:00:00Z",
                    }
                )
                t["ProjectsV2"].upsert(
                    {
                        "dataAreaId": le,
                        "ProjectID": f"PRJ-{le}-{i}",
                        "ProjectName": f"Project {i}",
                        "CustomerAccount": acct,
                        "ProjectContractID": f"PC-{i}",
                        "ProjectType": ["TimeMaterial", "FixedPrice", "Internal"][i - 1],
                        "ProjectStage": "InProcess",
                        "ProjectGroup": "TM",
                        "StartDate": "2026-01-01T12:00:00Z",
                        "EndDate": "2026-12-31T12:00:00Z",
                        "DefaultDimensionDisplayValue": "CC100-Advisory",
                        "PSAProjectCode": f"P{i}",
                        "ModifiedDateTime": OLD,
                    }
                )
                t["SalesInvoiceHeadersV2"].upsert(
                    {
                        "dataAreaId": le,
                        "InvoiceNumber": f"INV-{le}-{i}",
                        "InvoiceDate": "2026-06-01T12:00:00Z",
                        "DueDate": "2026-07-01T12:00:00Z",
                        "InvoiceCustomerAccountNumber": acct,
                        "CurrencyCode": currency[le],
                        "TotalInvoiceAmount": 1200.5 * i,
                        "TotalTaxAmount": 0.0,
                        "TotalDiscountAmount": 0.0,
                        "TotalChargeAmount": 0.0,
                        "ProjectID": f"PRJ-{le}-{i}",
                        "PaymentTermsName": "Net30",
                        "DisputeStatus": "None",
                        "PSAInvoiceId": str(900 + i),
                        "ModifiedDateTime": OLD,
                    }
                )
                t["SalesInvoiceLines"].upsert(
                    {
                        "dataAreaId": le,
                        "InvoiceNumber": f"INV-{le}-{i}",
                        "LineNumber": 1,
                        "ItemNumber": "CONSULTING",
                        "LineDescription": "Consulting",
                        "InvoicedQuantity": 8.0,
                        "SalesPrice": 150.0,
                        "LineAmount": 1200.0,
                        "LineTotalTaxAmount": 0.0,
                        "CurrencyCode": currency[le],
                        "ProjectID": f"PRJ-{le}-{i}",
                        "ModifiedDateTime": OLD,
                    }
                )
                t["CustomerPaymentJournalLines"].upsert(
                    {
                        "dataAreaId": le,
                        "JournalBatchNumber": "PAY-001",
                        "LineNumber": float(i),
                        "AccountDisplayValue": acct,
                        "CreditAmount": 100.0 * i,
                        "CurrencyCode": currency[le],
                        "TransactionDate": "2026-07-02T12:00:00Z",
                        "MarkedInvoice": f"INV-{le}-{i}",
                        "PaymentReference": f"ch_{le}{i}",
                        "IsPosted": "Yes" if i < 3 else "No",
                        "ModifiedDateTime": OLD,
                    }
                )
                t["CustomerTransactions"].upsert(
                    {
                        "dataAreaId": le,
                        "Voucher": f"V-{le}-{i}",
                        "CustomerAccount": acct,
                        "TransactionType": "Invoice",
                        "InvoiceNumber": f"INV-{le}-{i}",
                        "TransactionDate": "2026-06-01T12:00:00Z",
                        "DueDate": "2026-07-01T12:00:00Z",
                        "CurrencyCode": currency[le],
                        "AmountCur": 1200.5 * i,
                        "SettledAmountCur": 0.0,
                        "ClosedDate": None,
                        "ModifiedDateTime": OLD,
                    }
                )
            for i in range(HOURS.get(le, 4)):
                t["ProjectHourTransactions"].upsert(
                    {
                        "dataAreaId": le,
                        "TransactionId": f"{le}-HT-{i:05d}",
                        "ProjectID": f"PRJ-{le}-{i % 3 + 1}",
                        "Worker": f"{n}{i % 4:05d}",
                        "ProjectDate": f"2026-09-{i % 28 + 1:02d}T12:00:00Z",
                        "Hours": 1.5 + i % 6,
                        "SalesPrice": 150.0,
                        "CostPrice": 80.0,
                        "CurrencyCode": currency[le],
                        "LineProperty": "Billable" if i % 4 else "NonBillable",
                        "PSATimeEntryId": str(5000 + i),
                        "ModifiedDateTime": f"2026-10-{i % 28 + 1:02d}T09:30:00Z",
                    }
                )
        for i in range(4):
            t["EmployeesV2"].upsert(
                {
                    "PersonnelNumber": f"{env[:1]}{i:05d}",
                    "FirstName": "Ana",
                    "LastName": f"Li{i}",
                    "Name": f"Ana Li{i}",
                    "PrimaryContactEmail": f"ana{i}@conform.example",
                    "EmploymentLegalEntityId": creds["legal_entities"][i % 2],
                    "ModifiedDateTime": OLD,
                }
            )
        t["ExchangeRates"].upsert(
            {
                "RateTypeName": "Default",
                "FromCurrency": "EUR",
                "ToCurrency": "USD",
                "StartDate": "2026-10-01T12:00:00Z",
                "Rate": 1.0842,
                "ConversionFactor": "One",
                "ModifiedDateTime": OLD,
            }
        )
    return store


@dataclass
class Env:
    url: str
    store: Store
    emulator: Emulator
    session: requests.Session

    def token(self, env: str = "na", **overrides: str) -> requests.Response:
        form = {
            "grant_type": "client_credentials",
            "client_id": CREDS[env]["client_id"],
            "client_secret": CREDS[env]["client_secret"],
            "scope": f"{self.url}/{env}/.default",
            **overrides,
        }
        return self.session.post(f"{self.url}/{TENANT}/oauth2/v2.0/token", data=form)

    def auth(self, env: str = "na") -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(env).json()["access_token"]}

    def get(self, path: str, env: str = "na", **kw: Any) -> requests.Response:
        headers = {**self.auth(env), **kw.pop("headers", {})}
        return self.session.get(f"{self.url}/{env}/data/{path}", headers=headers, **kw)

    def walk(self, path: str, env: str = "na", **kw: Any) -> tuple[list[dict], int]:
        """Follow @odata.nextLink to the end; returns rows and the number of pages."""
        headers = {**self.auth(env), **kw.pop("headers", {})}
        url: str | None = f"{self.url}/{env}/data/{path}"
        rows, pages = [], 0
        while url:
            resp = self.session.get(url, headers=headers, **kw)
            assert resp.status_code == 200, resp.text
            body = resp.json()
            rows += body["value"]
            pages += 1
            url = body.get("@odata.nextLink")
            kw.pop("params", None)  # the nextLink carries the query
        return rows, pages


@pytest.fixture
def env() -> Iterator[Env]:
    store = build_store()
    port = free_port()
    ctx = EmulatorContext(
        store=store,
        faults=Faults("dynamics", FaultConfig(), 1),
        base_url=f"http://127.0.0.1:{port}",
    )
    emulator = Emulator(ctx)
    server = ServerThread(emulator.app, port=port).start()
    with requests.Session() as session:
        yield Env(server.url, store, emulator, session)
    server.stop()


def odata_message(resp: requests.Response) -> str:
    body = resp.json()
    assert set(body["error"]) == {"code", "message", "innererror"}
    assert set(body["error"]["innererror"]) == {"message", "type", "stacktrace"}
    return body["error"]["message"] + " | " + body["error"]["innererror"]["message"]


# -- auth -------------------------------------------------------------------------------------


def test_token_is_a_jwt_for_the_environment(env: Env) -> None:
    resp = env.token()
    assert resp.status_code == 200
    body = resp.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["ext_expires_in"] == 3599
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == f"{env.url}/na" and claims["tid"] == TENANT
    assert claims["appid"] == CREDS["na"]["client_id"]
    # client_secret_basic works too
    basic = base64.b64encode(
        f"{CREDS['emea']['client_id']}:{CREDS['emea']['client_secret']}".encode()
    ).decode()
    resp = env.session.post(
        f"{env.url}/{TENANT}/oauth2/v2.0/token",
        headers={"Authorization": f"Basic {basic}"},
        data={"grant_type": "client_credentials", "scope": f"{env.url}/emea/.default"},
    )
    assert resp.status_code == 200


def test_token_errors_in_entra_shape(env: Env) -> None:
    resp = env.token(client_secret="wrong")
    assert resp.status_code == 401
    body = resp.json()
    assert body["error"] == "invalid_client" and body["error_codes"] == [7000215]
    assert body["error_description"].startswith("AADSTS7000215: Invalid client secret provided.")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(body)
    resp = env.token(scope=f"{env.url}/emea/.default")  # na's app asking for emea
    assert resp.status_code == 400 and resp.json()["error"] == "invalid_scope"
    assert resp.json()["error_codes"] == [70011]
    resp = env.token(client_id="00000000-0000-0000-0000-000000000000")
    assert resp.status_code == 400 and resp.json()["error_codes"] == [700016]
    resp = env.token(grant_type="password")
    assert resp.json()["error"] == "unsupported_grant_type"
    resp = env.session.post(f"{env.url}/not-a-tenant/oauth2/v2.0/token", data={})
    assert resp.status_code == 400 and resp.json()["error_codes"] == [90002]


def test_openid_discovery_and_v1_token(env: Env) -> None:
    doc = env.session.get(f"{env.url}/{TENANT}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{env.url}/{TENANT}/oauth2/v2.0/token"
    assert doc["issuer"] == f"{env.url}/{TENANT}/v2.0"
    assert doc["authorization_endpoint"].endswith("/oauth2/v2.0/authorize")
    resp = env.session.post(
        f"{env.url}/{TENANT}/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CREDS["na"]["client_id"],
            "client_secret": CREDS["na"]["client_secret"],
            "resource": f"{env.url}/na",
        },
    )
    assert resp.status_code == 200 and resp.json()["expires_in"] == "3599"
    token = resp.json()["access_token"]
    assert (
        env.session.get(
            f"{env.url}/na/data/LegalEntities", headers={"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )


def test_unauthorized_and_token_bound_to_environment(env: Env) -> None:
    resp = env.session.get(f"{env.url}/na/data/CustomersV3")
    assert resp.status_code == 401 and resp.content == b""
    assert resp.headers["WWW-Authenticate"] == "Bearer"
    na = env.auth("na")
    assert env.session.get(f"{env.url}/emea/data/CustomersV3", headers=na).status_code == 401
    assert env.session.get(f"{env.url}/na/data/CustomersV3", headers=na).status_code == 200
    env.emulator.ctx.tokens.expire_all()
    assert env.session.get(f"{env.url}/na/data/CustomersV3", headers=na).status_code == 401


def test_token_ttl_expires_tokens(env: Env) -> None:
    env.emulator.faults.config = FaultConfig(token_ttl=0.3)
    headers = env.auth()
    assert env.session.get(f"{env.url}/na/data/LegalEntities", headers=headers).ok
    time.sleep(0.4)
    assert env.session.get(f"{env.url}/na/data/LegalEntities", headers=headers).status_code == 401


def test_msal_obtains_a_token(env: Env) -> None:
    """The official Entra client, pointed at the emulator by rewriting its https host."""
    import msal
    import requests

    local = env.url

    class ToLocal(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            request.url = local + request.url.split("login.microsoftonline.com", 1)[1]
            request.headers["X-Forwarded-Host"] = "login.microsoftonline.com"
            request.headers["X-Forwarded-Proto"] = "https"
            return super().send(request, **kwargs)

    http = requests.Session()
    http.mount("https://login.microsoftonline.com", ToLocal())
    app = msal.ConfidentialClientApplication(
        CREDS["na"]["client_id"],
        client_credential=CREDS["na"]["client_secret"],
        authority=f"https://login.microsoftonline.com/{TENANT}",
        validate_authority=False,
        instance_discovery=False,
        http_client=http,
    )
    result = app.acquire_token_for_client(scopes=[f"{env.url}/na/.default"])
    assert "access_token" in result, result
    headers = {"Authorization": f"Bearer {result['access_token']}"}
    assert env.session.get(f"{env.url}/na/data/LegalEntities", headers=headers).ok


# -- discovery --------------------------------------------------------------------------------


def test_service_document_and_metadata(env: Env) -> None:
    doc = env.get("").json()
    assert {v["name"] for v in doc["value"]} >= set(ENTITY_SETS)
    assert doc["@odata.context"] == f"{env.url}/na/data/$metadata"
    resp = env.get("$metadata")
    assert resp.headers["content-type"].startswith("application/xml")
    ns = {
        "edmx": "http://docs.oasis-open.org/odata/ns/edmx",
        "edm": "http://docs.oasis-open.org/odata/ns/edm",
    }
    root = ET.fromstring(resp.content)
    sets = {
        s.get("Name"): s.get("EntityType")
        for s in root.iterfind(".//edm:EntityContainer/edm:EntitySet", ns)
    }
    assert sets["CustomersV3"] == "Microsoft.Dynamics.DataEntities.CustomerV3"
    cust = root.find(".//edm:EntityType[@Name='CustomerV3']", ns)
    assert cust is not None
    assert [p.get("Name") for p in cust.iterfind("edm:Key/edm:PropertyRef", ns)] == [
        "dataAreaId",
        "CustomerAccount",
    ]
    props = {p.get("Name"): p.get("Type") for p in cust.iterfind("edm:Property", ns)}
    assert props["ModifiedDateTime"] == "Edm.DateTimeOffset"
    assert props["CreditLimit"] == "Edm.Decimal" and props["CrmAccountId"] == "Edm.String"


# -- reads ------------------------------------------------------------------------------------


def test_paging_walks_to_the_end(env: Env) -> None:
    rows, pages = env.walk("ProjectHourTransactions")
    assert len(rows) == HOURS["us01"] and pages == 5  # page_size 5, default company only
    assert {r["dataAreaId"] for r in rows} == {"us01"}
    assert len({r["TransactionId"] for r in rows}) == len(rows)
    assert all(r["@odata.etag"].startswith('W/"') for r in rows)
    rows, pages = env.walk("ProjectHourTransactions", params={"cross-company": "true"})
    assert len(rows) == sum(HOURS.values()) and pages == 7
    assert len({(r["dataAreaId"], r["TransactionId"]) for r in rows}) == len(rows)
    # a filtered, ordered query keeps its options across pages
    table = env.store.connection("dynamics", "na").tables["ProjectHourTransactions"]
    want = sorted(
        (r["Hours"], r["TransactionId"])
        for r in table
        if r["Hours"] >= 3 and r["LineProperty"] == "Billable"
    )
    rows, pages = env.walk(
        "ProjectHourTransactions",
        params={
            "cross-company": "true",
            "$filter": "Hours ge 3 and LineProperty eq 'Billable'",
            "$orderby": "Hours,TransactionId",
            "$select": "TransactionId,Hours",
        },
    )
    assert [(r["Hours"], r["TransactionId"]) for r in rows] == want and pages > 2
    # non-company sets are not filtered by company
    assert len(env.walk("EmployeesV2")[0]) == 4


def test_next_link_shape_and_maxpagesize(env: Env) -> None:
    resp = env.get(
        "ProjectHourTransactions",
        params={"cross-company": "true"},
        headers={"Prefer": "odata.maxpagesize=3"},
    )
    body = resp.json()
    assert resp.headers["Preference-Applied"] == "odata.maxpagesize=3"
    assert len(body["value"]) == 3
    assert body["@odata.context"] == f"{env.url}/na/data/$metadata#ProjectHourTransactions"
    link = body["@odata.nextLink"]
    assert link.startswith(f"{env.url}/na/data/ProjectHourTransactions?cross-company=true&")
    assert "$skiptoken=" in link
    rows, pages = env.walk(
        "ProjectHourTransactions",
        params={"cross-company": "true"},
        headers={"Prefer": "odata.maxpagesize=4"},
    )
    assert len(rows) == 32 and pages == 8
    # the preference cannot raise the server's page size
    resp = env.get("ProjectHourTransactions", headers={"Prefer": "odata.maxpagesize=50"})
    assert len(resp.json()["value"]) == 5
    assert resp.headers["Preference-Applied"] == "odata.maxpagesize=5"
    # $top spanning pages, $skip, $count
    rows, pages = env.walk(
        "ProjectHourTransactions", params={"cross-company": "true", "$top": "12", "$skip": "3"}
    )
    assert len(rows) == 12 and pages == 3
    first = env.get(
        "ProjectHourTransactions",
        params={"$count": "true", "$top": "2", "$orderby": "TransactionId"},
    ).json()
    assert first["@odata.count"] == HOURS["us01"] and len(first["value"]) == 2
    assert "@odata.nextLink" not in first
    assert env.get("ProjectHourTransactions/$count").text == str(HOURS["us01"])


def test_stale_skiptoken_falls_back_to_offset(env: Env) -> None:
    body = env.get("ProjectHourTransactions").json()
    env.emulator._snapshots.clear()  # as if the snapshot was evicted
    rows, _ = env.walk(body["@odata.nextLink"].split("/na/data/", 1)[1])
    assert len(body["value"]) + len(rows) == HOURS["us01"]


def test_filters(env: Env) -> None:
    def ids(flt: str, path: str = "CustomersV3", key: str = "CustomerAccount") -> list[str]:
        resp = env.get(path, params={"cross-company": "true", "$filter": flt})
        assert resp.status_code == 200, resp.text
        return sorted(r[key] for r in resp.json()["value"])

    assert ids("dataAreaId eq 'CA01'") == ["CA-0001", "CA-0002", "CA-0003"]
    assert ids("dataAreaId eq 'us01' and CreditLimit ge 100000") == ["US-0002", "US-0003"]
    assert ids(
        "(CreditLimit lt 60000 or CreditLimit gt 140000) and not (dataAreaId eq 'us01')"
    ) == ["CA-0001", "CA-0003"]
    assert ids("OrganizationName eq 'O''Brien & Partners us01 1'") == ["US-0001"]
    assert ids("contains(OrganizationName,'brien') and startswith(CustomerAccount,'CA')") == [
        "CA-0001"
    ]
    assert ids("endswith(OrganizationName,'ca01 3')") == ["CA-0003"]
    assert ids("OrganizationName eq '*ca01 2*'") == ["CA-0002"]
    assert ids("CrmAccountId eq null and CustomerAccount ne 'US-0001'") == [
        "CA-0001",
        "CA-0002",
        "CA-0003",
        "US-0002",
        "US-0003",
    ]
    assert ids(
        "ModifiedDateTime ge 2026-02-15T08:00:00Z and ModifiedDateTime lt 2026-03-15T08:00:00Z"
    ) == ["CA-0002", "US-0002"]
    assert ids("ModifiedDateTime gt 2026-03-15T07:59:59.5Z") == ["CA-0003", "US-0003"]
    assert ids(
        "IsPosted eq Microsoft.Dynamics.DataEntities.NoYes'No'",
        "CustomerPaymentJournalLines",
        "MarkedInvoice",
    ) == ["INV-ca01-3", "INV-us01-3"]
    assert ids(
        "ProjectType eq Microsoft.Dynamics.DataEntities.ProjType'FixedPrice'",
        "ProjectsV2",
        "ProjectID",
    ) == ["PRJ-ca01-2", "PRJ-us01-2"]


def test_select_and_orderby(env: Env) -> None:
    body = env.get(
        "CustomersV3",
        params={
            "cross-company": "true",
            "$select": "CustomerAccount,dataAreaId",
            "$orderby": "dataAreaId desc,CreditLimit desc",
        },
    ).json()
    assert body["@odata.context"].endswith("#CustomersV3(CustomerAccount,dataAreaId)")
    assert [set(r) for r in body["value"]][0] == {"@odata.etag", "CustomerAccount", "dataAreaId"}
    assert [r["CustomerAccount"] for r in body["value"]][:4] == [
        "US-0003",
        "US-0002",
        "US-0001",
        "CA-0003",
    ]
    body = env.get("CustomersV3", params={"$orderby": "CrmAccountId,CustomerAccount desc"}).json()
    assert [r["CustomerAccount"] for r in body["value"]] == ["US-0003", "US-0002", "US-0001"]


def test_incremental_filter_sees_only_changes(env: Env) -> None:
    since = "2026-10-28T09:30:00Z"
    flt = {"cross-company": "true", "$filter": f"ModifiedDateTime gt {since}"}
    before, _ = env.walk("ProjectHourTransactions", params=flt)
    assert before == []
    # a write through the API stamps ModifiedDateTime = store.now()
    key = "dataAreaId='ca01',TransactionId='ca01-HT-00002'"
    resp = env.session.patch(
        f"{env.url}/na/data/ProjectHourTransactions({key})",
        params={"cross-company": "true"},
        json={"Hours": 4.25},
        headers=env.auth(),
    )
    assert resp.status_code == 204
    # and a change made straight in the store (as the generator's advance does)
    table = env.store.connection("dynamics", "na").tables["ProjectHourTransactions"]
    row = table.get("us01", "us01-HT-00007")
    table.upsert({**row, "Hours": 9.0, "ModifiedDateTime": "2026-10-30T10:00:00Z"})
    after, _ = env.walk("ProjectHourTransactions", params=flt)
    assert sorted(r["TransactionId"] for r in after) == ["ca01-HT-00002", "us01-HT-00007"]
    changed = next(r for r in after if r["TransactionId"] == "ca01-HT-00002")
    assert changed["Hours"] == 4.25 and changed["ModifiedDateTime"] == "2026-10-31T18:00:00Z"
    # gt is strict at second precision
    again, _ = env.walk(
        "ProjectHourTransactions",
        params={"cross-company": "true", "$filter": "ModifiedDateTime gt 2026-10-30T10:00:00Z"},
    )
    assert [r["TransactionId"] for r in again] == ["ca01-HT-00002"]


# -- single entity and writes ----------------------------------------------------------------


def test_single_entity_by_key(env: Env) -> None:
    resp = env.get("CustomersV3(dataAreaId='us01',CustomerAccount='US-0002')")
    assert resp.status_code == 200
    body = resp.json()
    assert body["@odata.context"].endswith("$metadata#CustomersV3/$entity")
    assert body["CustomerAccount"] == "US-0002" and resp.headers["ETag"] == body["@odata.etag"]
    # URL-encoded key values, and the single-key positional form
    encoded = quote("CustomersV3(dataAreaId='us01',CustomerAccount='US-0003')")
    assert env.get(encoded).json()["CustomerAccount"] == "US-0003"
    assert env.get("EmployeesV2('n00002')").json()["LastName"] == "Li2"
    assert (
        env.get(
            "ExchangeRates(RateTypeName='Default',FromCurrency='EUR',ToCurrency='USD',"
            "StartDate=2026-10-01T12:00:00Z)"
        ).json()["Rate"]
        == 1.0842
    )
    # another company needs cross-company
    path = "CustomersV3(dataAreaId='ca01',CustomerAccount='CA-0001')"
    resp = env.get(path)
    assert resp.status_code == 404 and "Resource not found" in odata_message(resp)
    assert env.get(path, params={"cross-company": "true"}).status_code == 200
    assert env.get("CustomersV3(dataAreaId='us01',CustomerAccount='NOPE')").status_code == 404
    resp = env.get("CustomersV3(CustomerAccount='US-0001')")
    assert resp.status_code == 400 and "number of keys" in odata_message(resp)


def test_patch_composite_key_persists(env: Env) -> None:
    path = f"{env.url}/na/data/CustomersV3(dataAreaId='ca01',CustomerAccount='CA-0002')"
    params = {"cross-company": "true"}
    etag = env.session.get(path, params=params, headers=env.auth()).json()["@odata.etag"]
    resp = env.session.patch(
        path, params=params, json={"SalesTaxGroup": "EU"}, headers={**env.auth(), "If-Match": etag}
    )
    assert resp.status_code == 204 and resp.content == b""
    body = env.session.get(path, params=params, headers=env.auth()).json()
    assert body["SalesTaxGroup"] == "EU" and body["ModifiedDateTime"] == "2026-10-31T18:00:00Z"
    assert body["@odata.etag"] != etag
    stored = env.store.connection("dynamics", "na").tables["CustomersV3"].get("ca01", "CA-0002")
    assert stored["SalesTaxGroup"] == "EU"
    write = env.store.writes[-1]
    assert write["method"] == "PATCH" and write["status"] == 204
    assert write["body"] == {"SalesTaxGroup": "EU"} and write["connection"] == "na"
    # stale etag
    resp = env.session.patch(
        path, params=params, json={"SalesTaxGroup": "X"}, headers={**env.auth(), "If-Match": etag}
    )
    assert resp.status_code == 412 and "etag" in odata_message(resp)
    # unknown property, key change, missing entity
    resp = env.session.patch(path, params=params, json={"Nope": 1}, headers=env.auth())
    assert resp.status_code == 400 and "The property 'Nope' does not exist" in odata_message(resp)
    resp = env.session.patch(
        path, params=params, json={"CustomerAccount": "CA-9"}, headers=env.auth()
    )
    assert resp.status_code == 400
    resp = env.session.patch(
        path.replace("CA-0002", "CA-0009"),
        params=params,
        json={"SalesTaxGroup": "EU"},
        headers=env.auth(),
    )
    assert resp.status_code == 404


def test_post_and_delete(env: Env) -> None:
    record = {
        "CustomerAccount": "US-0100",
        "OrganizationName": "Fabrikam",
        "SalesCurrencyCode": "USD",
    }
    resp = env.session.post(f"{env.url}/na/data/CustomersV3", json=record, headers=env.auth())
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["dataAreaId"] == "us01" and body["ModifiedDateTime"] == "2026-10-31T18:00:00Z"
    location = resp.headers["Location"]
    assert location == (
        f"{env.url}/na/data/CustomersV3(dataAreaId='us01',CustomerAccount='US-0100')"
    )
    assert env.session.get(location, headers=env.auth()).json()["OrganizationName"] == "Fabrikam"
    resp = env.session.post(f"{env.url}/na/data/CustomersV3", json=record, headers=env.auth())
    assert resp.status_code == 400 and "already exists" in odata_message(resp)
    assert env.session.delete(location, headers=env.auth()).status_code == 204
    assert env.session.get(location, headers=env.auth()).status_code == 404
    assert [w["status"] for w in env.store.writes] == [201, 400, 204]
    assert env.store.writes[0]["body"] == record and env.store.writes[0]["object"] == "CustomersV3"


# -- faults and errors -----------------------------------------------------------------------


def test_rate_limit_and_server_error(env: Env) -> None:
    headers = env.auth()
    env.emulator.faults.config = FaultConfig(rate_limit=1.0, retry_after=7)
    resp = env.session.get(f"{env.url}/na/data/CustomersV3", headers=headers)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert "Service protection limits" in odata_message(resp)
    assert env.token().status_code == 200  # token endpoint is not throttled here
    env.emulator.faults.config = FaultConfig(server_error=1.0)
    resp = env.session.get(f"{env.url}/na/data/CustomersV3", headers=headers)
    assert resp.status_code == 500 and "An error has occurred." in odata_message(resp)
    kinds = [x["kind"] for x in env.emulator.faults.injected]
    assert kinds == ["rate_limit", "server_error"]


def test_malformed_and_drift(env: Env) -> None:
    env.emulator.faults.config = FaultConfig(malformed=1.0, drift=True)
    rows, _ = env.walk("SalesInvoiceHeadersV2", params={"cross-company": "true"})
    assert all(r["CurrencyCode"] == "Euro" or r["TotalInvoiceAmount"] == "n/a" for r in rows)
    again, _ = env.walk("SalesInvoiceHeadersV2", params={"cross-company": "true"})
    assert again == rows  # the same records break the same way each read
    hours, _ = env.walk("ProjectHourTransactions")
    assert all(r["Hours"] == "-" or r["ProjectDate"] == "2026-02-30T12:00:00Z" for r in hours)
    customers, _ = env.walk("CustomersV3")
    assert all(r["CustomerSegment"] == "Enterprise" for r in customers)
    projects = env.get("ProjectsV2", params={"$filter": "ProjectSegment eq 'Enterprise'"})
    assert projects.status_code == 200 and len(projects.json()["value"]) == 3
    # the stored data is untouched
    stored = env.store.connection("dynamics", "na").tables["SalesInvoiceHeadersV2"]
    assert all(r["CurrencyCode"] in ("USD", "CAD") for r in stored)


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"$filter": "CustomerAccount eq"}, "Syntax error"),
        ({"$filter": "CustomerAccount eq 'x' andd"}, "Syntax error"),
        ({"$filter": "Nope eq 1"}, "Could not find a property named 'Nope'"),
        ({"$filter": "ModifiedDateTime gt '2026-01-01'"}, "incompatible types"),
        ({"$filter": "CustomerAccount in ('a')"}, "not supported"),
        ({"$filter": "tolower(CustomerAccount) eq 'a'"}, "unknown function"),
        ({"$select": "Nope"}, "Could not find a property named 'Nope'"),
        ({"$orderby": "Nope desc"}, "Could not find a property named 'Nope'"),
        ({"$top": "-1"}, "$top query option requires a non-negative integer"),
        ({"$expand": "Projects"}, "$expand is not supported"),
        ({"$foo": "1"}, "The query parameter '$foo' is not supported."),
    ],
)
def test_malformed_queries(env: Env, params: dict[str, str], needle: str) -> None:
    resp = env.get("CustomersV3", params=params)
    assert resp.status_code == 400
    assert needle in odata_message(resp)


def test_unknown_entity_set_and_connection_info(env: Env) -> None:
    resp = env.get("CustomerV3")  # the entity name, not the set name
    assert resp.status_code == 404 and "No HTTP resource" in odata_message(resp)
    info = env.emulator.connection_info(env.store.connection("dynamics", "emea"))
    assert info == {
        "base_url": f"{env.url}/emea",
        "token_url": f"{env.url}/{TENANT}/oauth2/v2.0/token",
        "tenant_id": TENANT,
        "client_id": CREDS["emea"]["client_id"],
        "client_secret": CREDS["emea"]["client_secret"],
        "scope": f"{env.url}/emea/.default",
        "legal_entities": ["gb01", "de01"],
    }
    assert json.loads(json.dumps(info)) == info


def test_empty_set_and_null_date_field(env: Env) -> None:
    conn = env.store.connection("dynamics", "na")
    del conn.tables["ExchangeRates"]
    assert env.get("ExchangeRates").json()["value"] == []
    assert "ExchangeRates" not in conn.tables  # reading does not create the table
    resp = env.get("CustomerTransactions", params={"$filter": "ClosedDate gt 2026-01-01T00:00:00Z"})
    assert resp.status_code == 200 and resp.json()["value"] == []
    rate = {
        "RateTypeName": "Default",
        "FromCurrency": "GBP",
        "ToCurrency": "USD",
        "StartDate": "2026-10-01T12:00:00Z",
        "Rate": 1.27,
        "ConversionFactor": "One",
    }
    resp = env.session.post(f"{env.url}/na/data/ExchangeRates", json=rate, headers=env.auth())
    assert resp.status_code == 201
    assert resp.headers["Location"].endswith(
        "(RateTypeName='Default',FromCurrency='GBP',"
        "ToCurrency='USD',StartDate=2026-10-01T12:00:00Z)"
    )
    assert env.session.get(resp.headers["Location"], headers=env.auth()).json()["Rate"] == 1.27
    # Prefer: return=representation turns PATCH's 204 into 200 with the entity
    resp = env.session.patch(
        resp.headers["Location"],
        json={"Rate": 1.28},
        headers={**env.auth(), "Prefer": "return=representation"},
    )
    assert resp.status_code == 200 and resp.json()["Rate"] == 1.28
