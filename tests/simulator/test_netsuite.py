"""The NetSuite emulator over real HTTP: M2M tokens, SuiteQL, the Record API, faults."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from simulator.emulator import EmulatorContext, FaultConfig, Faults
from simulator.server import ServerThread, free_port
from simulator.store import Store
from simulator.systems.netsuite import Emulator

KEYS = Path(__file__).resolve().parents[2] / "simulator" / "keys"
PRIVATE_KEY = (KEYS / "netsuite_m2m_test_key.pem").read_text()
PUBLIC_KEY = (KEYS / "netsuite_m2m_test_cert_pub.pem").read_text()
ACCOUNTS = {"apac": "5123001", "europe": "5123002"}
T0 = "10/1/2026 9:15:00 AM"


def build_store() -> Store:
    """Two accounts with small, realistic SuiteQL rows (simulator/README.md shapes)."""
    store = Store({"seed": 1, "scale": "test", "clock": "2026-10-31T18:00:00+00:00"})
    for n, (name, account_id) in enumerate(ACCOUNTS.items()):
        conn = store.connection("netsuite", name)
        conn.settings.update(
            {
                "account_id": account_id,
                "client_id": f"client-{name}",
                "certificate_id": f"cert-{name}",
                "public_key_pem": PUBLIC_KEY,
                "concurrency_limit": 5,
            }
        )
        base = 100 * n
        subs = (
            [("1", "Singapore", "SG", "1"), ("2", "Australia", "AU", "2")]
            if n == 0
            else [("1", "Netherlands", "NL", "1"), ("2", "Sweden", "SE", "2")]
        )
        for sid, sname, country, cur in subs:
            conn.table("subsidiary").upsert(
                {
                    "id": sid,
                    "name": sname,
                    "country": country,
                    "currency": cur,
                    "isinactive": "F",
                    "lastmodifieddate": "1/5/2026 10:00:00 AM",
                }
            )
        currencies = (
            [("1", "SGD", "Singapore Dollar"), ("2", "AUD", "Australian Dollar")]
            if n == 0
            else [("1", "EUR", "Euro"), ("2", "SEK", "Swedish Krona")]
        )
        for cid, symbol, cname in currencies:
            conn.table("currency").upsert(
                {
                    "id": cid,
                    "symbol": symbol,
                    "name": cname,
                    "isbasecurrency": "T" if cid == "1" else "F",
                    "lastmodifieddate": "1/5/2026 10:00:00 AM",
                }
            )
        conn.table("department").upsert(
            {
                "id": "3",
                "name": "Consulting",
                "subsidiary": "1",
                "isinactive": "F",
                "lastmodifieddate": "1/5/2026 10:00:00 AM",
            }
        )
        for sid, sname in (("1", "In Progress"), ("2", "Closed")):
            conn.table("jobstatus").upsert({"id": sid, "name": sname})
        for i in range(1, 8):
            cid = str(base + i)
            row = {
                "id": cid,
                "entityid": f"C{cid}",
                "companyname": f"Client {cid} Pte Ltd",
                "email": f"ap{i}@client{cid}.example",
                "billcountry": subs[i % 2][2],
                "billcity": "Singapore" if n == 0 else "Amsterdam",
                "subsidiary": subs[i % 2][0],
                "currency": subs[i % 2][3],
                "isperson": "F",
                "isinactive": "T" if i == 7 else "F",
                "terms": "2",
                "custentity_conform_id": f"CF-{cid}",
                "datecreated": f"{i}/3/2025 2:0{i}:00 PM",
                "lastmodifieddate": f"9/{i + 1}/2026 {i}:30:00 PM",
            }
            if i == 2:
                row["parent"] = str(base + 1)
                del row["email"]  # null columns are omitted
            conn.table("customer").upsert(row)
        for i in range(1, 5):
            jid = str(base + 50 + i)
            conn.table("job").upsert(
                {
                    "id": jid,
                    "entityid": f"PRJ-{jid}",
                    "companyname": f"Project {jid}",
                    "parent": str(base + i),
                    "subsidiary": "1",
                    "currency": "1",
                    "department": "3",
                    "entitystatus": "1" if i < 4 else "2",
                    "startdate": f"{i}/1/2026",
                    "custentity_billing_method": "T&M",
                    "isinactive": "F",
                    "datecreated": "1/2/2026 9:00:00 AM",
                    "lastmodifieddate": T0,
                }
            )
        conn.table("employee").upsert(
            {
                "id": str(base + 90),
                "entityid": "Ada Lovelace",
                "firstname": "Ada",
                "lastname": "Lovelace",
                "email": "ada@firm.example",
                "subsidiary": "1",
                "department": "3",
                "title": "Principal",
                "isinactive": "F",
                "lastmodifieddate": T0,
            }
        )
        for i in range(1, 7):
            tid = str(base + 200 + i)
            kind = "CustInvc" if i <= 4 else "CustPymt"
            conn.table("transaction").upsert(
                {
                    "id": tid,
                    "tranid": f"INV{tid}" if kind == "CustInvc" else f"PYMT{tid}",
                    "type": kind,
                    "entity": str(base + i),
                    "trandate": f"8/{i * 4}/2026",
                    "duedate": f"9/{i * 4}/2026",
                    "currency": "1",
                    "exchangerate": "1",
                    "foreigntotal": f"{i * 1000}.50",
                    "taxtotal": "0",
                    "foreignamountremaining": "0" if i in (2, 5, 6) else f"{i * 1000}.50",
                    "status": "B" if i in (2, 5, 6) else "A",
                    "custbody_project": str(base + 51),
                    "custbody_disputed": "F",
                    "createddate": f"8/{i * 4}/2026 8:00:00 AM",
                    "lastmodifieddate": f"8/{i * 4}/2026 11:59:59 PM",
                }
            )
        for i in range(1, 26):  # 25 time entries: several pages at limit 4
            conn.table("timebill").upsert(
                {
                    "id": str(base + 1000 + i),
                    "employee": str(base + 90),
                    "customer": str(base + 51 + i % 4),
                    "item": "7",
                    "hours": str(1 + i % 8),
                    "trandate": f"10/{i}/2026",
                    "isbillable": "T" if i % 3 else "F",
                    "rate": "150",
                    "posted": "F",
                    "memo": f"Work {i}",
                    "subsidiary": "1",
                    "datecreated": f"10/{i}/2026 5:00:00 PM",
                    "lastmodifieddate": f"10/{i}/2026 5:00:00 PM",
                }
            )
    return store


class Sim:
    """One emulator on a real port."""

    def __init__(self, store: Store, config: FaultConfig):
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        ctx = EmulatorContext(store=store, faults=Faults("netsuite", config, 1), base_url=self.url)
        self.store = store
        self.emulator = Emulator(ctx)
        self.thread = ServerThread(self.emulator.app, port=port).start()

    def info(self, name: str) -> dict[str, Any]:
        return self.emulator.connection_info(self.store.connection("netsuite", name))

    def assertion(self, name: str, **overrides: Any) -> str:
        info = self.info(name)
        now = int(time.time())
        claims = {
            "iss": info["client_id"],
            "scope": ["rest_webservices"],
            "aud": info["token_url"],
            "iat": now,
            "exp": now + 3600,
        }
        headers = {"kid": info["certificate_id"], "typ": "JWT"}
        key = overrides.pop("_key", PRIVATE_KEY)
        alg = overrides.pop("_alg", "PS256")
        headers.update(overrides.pop("_headers", {}))
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key, algorithm=alg, headers=headers)

    def token_request(self, name: str, assertion: str, **form: str) -> requests.Response:
        body = {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
            **form,
        }
        return requests.post(self.info(name)["token_url"], data=body, timeout=10)

    def session(self, name: str) -> requests.Session:
        response = self.token_request(name, self.assertion(name))
        assert response.status_code == 200, response.text
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        return session

    def suiteql(
        self,
        session: requests.Session,
        name: str,
        q: str,
        limit: int = 1000,
        offset: int = 0,
        prefer: bool = True,
    ) -> requests.Response:
        headers = {"Prefer": "transient"} if prefer else {}
        return session.post(
            f"{self.info(name)['base_url']}/services/rest/query/v1/suiteql",
            params={"limit": limit, "offset": offset},
            json={"q": q},
            headers=headers,
            timeout=30,
        )

    def walk(
        self, session: requests.Session, name: str, q: str, limit: int = 4
    ) -> tuple[list[dict[str, Any]], int]:
        """Follow the next links to the end, as a client would; returns (items, pages)."""
        items: list[dict[str, Any]] = []
        url = f"{self.info(name)['base_url']}/services/rest/query/v1/suiteql?limit={limit}"
        pages = 0
        while url:
            response = session.post(url, json={"q": q}, headers={"Prefer": "transient"}, timeout=30)
            assert response.status_code == 200, response.text
            body = response.json()
            pages += 1
            assert body["count"] == len(body["items"])
            items += body["items"]
            links = {link["rel"]: link["href"] for link in body["links"]}
            assert body["hasMore"] == ("next" in links)
            url = links.get("next", "")
        assert len(items) == body["totalResults"]
        return items, pages


@pytest.fixture
def sim() -> Iterator[Sim]:
    s = Sim(build_store(), FaultConfig())
    yield s
    s.thread.stop()


def make_sim(**faults: Any) -> Sim:
    return Sim(build_store(), FaultConfig(**faults))


def assert_problem(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status and body["type"].startswith("https://www.rfc-editor.org/")
    assert body["title"]
    assert body["o:errorDetails"][0]["o:errorCode"] == code
    assert body["o:errorDetails"][0]["detail"]
    return body


# -- auth ------------------------------------------------------------------------------------


def test_token_success_and_info(sim: Sim) -> None:
    info = sim.info("apac")
    assert info["base_url"] == f"{sim.url}/5123001"
    assert info["token_url"] == f"{sim.url}/5123001/services/rest/auth/oauth2/v1/token"
    assert Path(info["private_key_path"]).read_text() == PRIVATE_KEY
    for alg in ("PS256", "RS256"):
        response = sim.token_request("apac", sim.assertion("apac", _alg=alg))
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == "3600"
        assert body["access_token"]


def test_token_failures(sim: Sim) -> None:
    other = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    now = int(time.time())
    cases = {
        "invalid_client": [
            sim.assertion("apac", _headers={"kid": "wrong"}),
            sim.assertion("apac", iss="someone-else"),
            sim.assertion("apac", _key=other),
            sim.assertion("europe"),  # europe's kid on apac's URL
            "not-a-jwt",
        ],
        "invalid_grant": [
            sim.assertion("apac", iat=now - 7200, exp=now - 3600),
            sim.assertion("apac", aud="https://elsewhere.example/token"),
            sim.assertion("apac", exp=now + 7200),
            sim.assertion("apac", scope=["restlets"]),
        ],
    }
    for error, assertions in cases.items():
        for assertion in assertions:
            response = sim.token_request("apac", assertion)
            assert response.status_code == 400, (error, response.text)
            assert response.json() == {"error": error}
    bad_grant = sim.token_request("apac", sim.assertion("apac"), grant_type="password")
    assert bad_grant.status_code == 400 and bad_grant.json() == {"error": "invalid_grant"}


def test_unauthorized_and_accounts_kept_apart(sim: Sim) -> None:
    apac, europe = sim.session("apac"), sim.session("europe")
    q = "SELECT id, companyname FROM customer"
    anonymous = sim.suiteql(requests.Session(), "apac", q)
    assert_problem(anonymous, 401, "INVALID_LOGIN")
    assert_problem(sim.suiteql(apac, "europe", q), 401, "INVALID_LOGIN")
    ids_apac = {i["id"] for i in sim.suiteql(apac, "apac", q).json()["items"]}
    ids_europe = {i["id"] for i in sim.suiteql(europe, "europe", q).json()["items"]}
    assert ids_apac == {str(i) for i in range(1, 8)}
    assert ids_europe == {str(100 + i) for i in range(1, 8)}
    missing = apac.post(
        f"{sim.url}/999/services/rest/query/v1/suiteql",
        json={"q": q},
        headers={"Prefer": "transient"},
        timeout=10,
    )
    assert missing.status_code == 404
    no_account = requests.post(
        f"{sim.url}/999/services/rest/auth/oauth2/v1/token",
        data={"grant_type": "client_credentials"},
        timeout=10,
    )
    assert no_account.status_code == 404


def test_token_ttl_expires() -> None:
    s = make_sim(token_ttl=0.3)
    try:
        session = s.session("apac")
        assert s.suiteql(session, "apac", "SELECT id FROM currency").status_code == 200
        time.sleep(0.5)
        assert_problem(s.suiteql(session, "apac", "SELECT id FROM currency"), 401, "INVALID_LOGIN")
    finally:
        s.thread.stop()


# -- SuiteQL ---------------------------------------------------------------------------------


def test_suiteql_walks_all_pages(sim: Sim) -> None:
    session = sim.session("apac")
    items, pages = sim.walk(session, "apac", "SELECT * FROM timebill")
    assert len(items) == 25 and pages == 7
    assert [i["id"] for i in items] == [str(1000 + i) for i in range(1, 26)]  # key order
    assert all(i["links"] == [] for i in items)
    first = sim.suiteql(session, "apac", "SELECT id FROM timebill", limit=4, offset=8).json()
    assert first["offset"] == 8 and first["count"] == 4 and first["totalResults"] == 25
    rels = [link["rel"] for link in first["links"]]
    assert rels == ["previous", "first", "next", "last", "self"]
    last = next(x["href"] for x in first["links"] if x["rel"] == "last")
    assert last.endswith("/5123001/services/rest/query/v1/suiteql?limit=4&offset=24")
    # ordered walk, descending by a numeric column then id
    items, _ = sim.walk(
        session, "apac", "SELECT id, hours FROM timebill t ORDER BY t.hours DESC, id ASC", limit=5
    )
    hours = [float(i["hours"]) for i in items]
    assert hours == sorted(hours, reverse=True) and len(items) == 25


def test_suiteql_request_errors(sim: Sim) -> None:
    session = sim.session("apac")
    no_prefer = sim.suiteql(session, "apac", "SELECT id FROM customer", prefer=False)
    assert_problem(no_prefer, 400, "INVALID_HEADER")
    for limit, offset in ((0, 0), (1001, 0), (5, 3)):
        bad = sim.suiteql(session, "apac", "SELECT id FROM customer", limit, offset)
        assert_problem(bad, 400, "INVALID_PARAMETER")
    for q in (
        "SELECT id FROM nosuchtable",
        "SELECT nosuchcolumn FROM customer",
        "SELEC id FROM customer",
        "SELECT id FROM customer WHERE",
        "SELECT id FROM customer; DELETE FROM customer",
        "SELECT id FROM customer WHERE lastmodifieddate > 'soon'",
    ):
        body = assert_problem(sim.suiteql(session, "apac", q), 400, "INVALID_PARAMETER")
        detail = body["o:errorDetails"][0]
        assert detail["o:errorQueryParam"] == "q"
        assert detail["detail"].startswith("Invalid search query.")


def test_suiteql_filters_and_functions(sim: Sim) -> None:
    session = sim.session("apac")

    def ids(q: str) -> list[str]:
        response = sim.suiteql(session, "apac", q)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids("SELECT id FROM customer WHERE parent IS NOT NULL") == ["2"]
    assert ids("SELECT id FROM customer WHERE email IS NULL") == ["2"]
    assert ids("SELECT id FROM customer WHERE id IN (1, '3', 5) AND isinactive = 'F'") == [
        "1",
        "3",
        "5",
    ]
    assert ids(
        "SELECT c.id FROM customer c WHERE NOT (c.subsidiary = 2 OR c.id > 5) ORDER BY c.id DESC"
    ) == ["4", "2"]
    assert ids("SELECT id FROM customer WHERE companyname LIKE 'Client 1%'") == ["1"]
    assert ids("SELECT id FROM customer WHERE id BETWEEN 3 AND 4") == ["3", "4"]
    assert ids(
        "SELECT id FROM customer WHERE id NOT IN (1, 2, 3) AND companyname NOT LIKE '%7%'"
    ) == ["4", "5", "6"]
    assert ids("SELECT id FROM customer WHERE ROWNUM <= 2") == ["1", "2"]
    # numeric, not string, comparison: '10' > '9' only as numbers
    assert ids("SELECT id FROM timebill WHERE id >= 1010 AND id < 1012") == ["1010", "1011"]
    assert ids("SELECT id FROM transaction WHERE foreigntotal > 3000 AND type = 'CustInvc'") == [
        "203",
        "204",
    ]
    # dates compare as dates, not strings ("8/12/2026" < "8/4/2026" as text)
    assert ids(
        "SELECT id FROM transaction WHERE trandate >= TO_DATE('2026-08-12', "
        "'YYYY-MM-DD') ORDER BY trandate DESC"
    ) == ["206", "205", "204", "203"]
    assert ids("SELECT id FROM transaction WHERE trandate < '8/12/2026'") == ["201", "202"]
    assert ids(
        "SELECT id FROM customer WHERE datecreated > TO_TIMESTAMP('2025-06-03 "
        "14:06:00', 'YYYY-MM-DD HH24:MI:SS')"
    ) == ["7"]
    row = sim.suiteql(
        session,
        "apac",
        "SELECT id, BUILTIN.DF(currency) AS currencyname, "
        "BUILTIN.DF(subsidiary) AS sub, TO_CHAR(lastmodifieddate, "
        "'YYYY-MM-DD HH24:MI:SS') AS modified, BUILTIN.DF(parent) AS parentname "
        "FROM customer WHERE id = 2",
    ).json()["items"][0]
    assert row == {
        "links": [],
        "id": "2",
        "currencyname": "Singapore Dollar",
        "sub": "Singapore",
        "modified": "2026-09-03 14:30:00",
        "parentname": "C1 Client 1 Pte Ltd",
    }
    job = sim.suiteql(
        session,
        "apac",
        "SELECT j.entityid AS project, BUILTIN.DF(j.entitystatus)"
        " AS status, c.companyname AS client FROM job j JOIN customer c ON "
        "j.parent = c.id WHERE j.id = 54",
    ).json()["items"]
    assert job == [
        {"links": [], "project": "PRJ-54", "status": "Closed", "client": "Client 4 Pte Ltd"}
    ]
    agg = sim.suiteql(
        session, "apac", "SELECT COUNT(*) AS n, MAX(lastmodifieddate) AS latest FROM customer"
    ).json()
    assert agg["items"] == [{"links": [], "n": "7", "latest": "9/8/2026 7:30:00 PM"}]


def test_incremental_after_patch_and_store_change(sim: Sim) -> None:
    session = sim.session("apac")
    base = sim.info("apac")["base_url"]
    incremental = (
        "SELECT id, custentity_conform_id, lastmodifieddate FROM customer WHERE "
        "lastmodifieddate > TO_TIMESTAMP('2026-09-08 19:30:00', "
        "'YYYY-MM-DD HH24:MI:SS') ORDER BY lastmodifieddate, id"
    )
    assert sim.suiteql(session, "apac", incremental).json()["items"] == []
    # the boundary itself is excluded (strictly greater), included with >=
    at_or_after = incremental.replace(">", ">=")
    assert [i["id"] for i in sim.suiteql(session, "apac", at_or_after).json()["items"]] == ["7"]
    patched = session.patch(
        f"{base}/services/rest/record/v1/customer/3",
        json={"custentity_conform_id": "CF-NEW", "companyName": "Renamed"},
        timeout=10,
    )
    assert patched.status_code == 204
    assert patched.headers["Location"] == f"{base}/services/rest/record/v1/customer/3"
    items = sim.suiteql(session, "apac", incremental).json()["items"]
    assert items == [
        {
            "links": [],
            "id": "3",
            "custentity_conform_id": "CF-NEW",
            "lastmodifieddate": "10/31/2026 6:00:00 PM",
        }
    ]
    assert sim.store.writes[-1]["method"] == "PATCH"
    # a change made in the store (e.g. by the generator) is seen by the next walk
    conn = sim.store.connection("netsuite", "apac")
    with sim.store.lock:
        conn.table("customer").upsert(
            {**conn.table("customer").get("5"), "lastmodifieddate": "10/31/2026 5:00:00 PM"}
        )
    items = sim.suiteql(session, "apac", incremental).json()["items"]
    assert [i["id"] for i in items] == ["5", "3"]


# -- Record API ------------------------------------------------------------------------------


def test_record_api_get_patch_list(sim: Sim) -> None:
    session = sim.session("apac")
    root = f"{sim.info('apac')['base_url']}/services/rest/record/v1"
    customer = session.get(f"{root}/customer/2", timeout=10).json()
    assert customer["links"] == [{"rel": "self", "href": f"{root}/customer/2"}]
    assert customer["companyName"] == "Client 2 Pte Ltd" and customer["entityId"] == "C2"
    assert customer["isInactive"] is False
    assert customer["dateCreated"] == "2025-02-03T14:02:00Z"
    assert customer["lastModifiedDate"] == "2026-09-03T14:30:00Z"
    assert customer["subsidiary"] == {
        "links": [{"rel": "self", "href": f"{root}/subsidiary/1"}],
        "id": "1",
        "refName": "Singapore",
    }
    assert customer["parent"]["id"] == "1" and customer["custentity_conform_id"] == "CF-2"
    invoice = session.get(f"{root}/invoice/201", timeout=10).json()
    assert invoice["tranId"] == "INV201" and invoice["total"] == 1000.5
    assert invoice["status"] == {"id": "A", "refName": "Open"}
    assert invoice["tranDate"] == "2026-08-04"
    job = session.get(f"{root}/job/51", timeout=10).json()
    assert job["entityStatus"]["refName"] == "In Progress"
    assert job["parent"]["refName"] == "C1 Client 1 Pte Ltd"
    assert session.get(f"{root}/employee/90", timeout=10).json()["firstName"] == "Ada"
    assert_problem(session.get(f"{root}/invoice/205", timeout=10), 404, "NONEXISTENT_ID")
    assert_problem(session.get(f"{root}/customer/999", timeout=10), 404, "NONEXISTENT_ID")
    assert_problem(
        session.patch(f"{root}/customer/999", json={"email": "x@y.z"}, timeout=10),
        404,
        "NONEXISTENT_ID",
    )
    bad = session.patch(f"{root}/customer/2", json={"noSuchField": 1}, timeout=10)
    assert_problem(bad, 400, "USER_ERROR")
    ok = session.patch(
        f"{root}/job/51",
        json={"isInactive": True, "endDate": "2026-12-31", "entityStatus": {"id": "2"}},
        timeout=10,
    )
    assert ok.status_code == 204
    row = sim.store.connection("netsuite", "apac").table("job").get("51")
    assert row["isinactive"] == "T" and row["enddate"] == "12/31/2026"
    assert row["entitystatus"] == "2" and row["lastmodifieddate"] == "10/31/2026 6:00:00 PM"
    again = session.get(f"{root}/job/51", timeout=10).json()
    assert again["isInactive"] is True and again["endDate"] == "2026-12-31"
    # list: ids only, paged
    seen: list[str] = []
    url: str | None = f"{root}/invoice?limit=3"
    while url:
        body = session.get(url, timeout=10).json()
        seen += [i["id"] for i in body["items"]]
        assert all(i["links"][0]["href"] == f"{root}/invoice/{i['id']}" for i in body["items"])
        url = next((x["href"] for x in body["links"] if x["rel"] == "next"), None)
    assert seen == ["201", "202", "203", "204"] and body["totalResults"] == 4


# -- faults ----------------------------------------------------------------------------------


def test_rate_limit_and_server_error_shapes() -> None:
    s = make_sim(rate_limit=1.0)
    try:
        session = s.session("apac")  # the token endpoint is never faulted
        response = s.suiteql(session, "apac", "SELECT id FROM customer")
        body = assert_problem(response, 429, "CONCURRENCY_LIMIT_EXCEEDED")
        assert body["title"] == "Too Many Requests" and "Retry-After" not in response.headers
        assert body["o:errorDetails"][0]["detail"] == (
            "Concurrent request limit exceeded. Request blocked."
        )
    finally:
        s.thread.stop()
    s = make_sim(server_error=1.0)
    try:
        session = s.session("apac")
        assert_problem(
            s.suiteql(session, "apac", "SELECT id FROM customer"), 500, "UNEXPECTED_ERROR"
        )
    finally:
        s.thread.stop()


def test_concurrency_limit_enforced() -> None:
    s = make_sim(slow=1.0, slow_seconds=0.6)
    s.store.connection("netsuite", "apac").settings["concurrency_limit"] = 2
    try:
        token = s.session("apac").headers["Authorization"]
        statuses: list[int] = []

        def call() -> None:
            session = requests.Session()
            session.headers["Authorization"] = token
            statuses.append(s.suiteql(session, "apac", "SELECT id FROM currency").status_code)

        threads = [threading.Thread(target=call) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert statuses.count(200) == 2 and statuses.count(429) == 3
        # europe has its own budget
        europe = s.session("europe")
        assert s.suiteql(europe, "europe", "SELECT id FROM currency").status_code == 200
    finally:
        s.thread.stop()


def test_malformed_and_drift() -> None:
    s = make_sim(malformed=1.0, drift=True)
    try:
        session = s.session("apac")
        tx = s.suiteql(session, "apac", "SELECT id, foreigntotal FROM transaction").json()
        assert {i["foreigntotal"] for i in tx["items"]} == {"1,234.5O"}
        tb = s.suiteql(session, "apac", "SELECT * FROM timebill").json()
        assert {i["hours"] for i in tb["items"]} == {"seven"}
        customers = s.suiteql(session, "apac", "SELECT * FROM customer").json()["items"]
        assert all(c["datecreated"] == "31/31/2026" for c in customers)
        assert all(c["custentity_new_segment"] == "Mid-market" for c in customers)
        root = f"{s.info('apac')['base_url']}/services/rest/record/v1"
        record = session.get(f"{root}/customer/1", timeout=10).json()
        assert record["dateCreated"] == "31/31/2026"
        assert record["custentity_new_segment"] == "Mid-market"
        assert any(x["kind"] == "malformed" for x in s.emulator.faults.injected)
    finally:
        s.thread.stop()
