"""Stripe emulator: raw HTTP contract checks plus the official stripe-python SDK against it."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
import requests
import stripe

from simulator.emulator import EmulatorContext, FaultConfig, Faults
from simulator.server import ServerThread, free_port
from simulator.store import Store
from simulator.systems.stripe import Emulator, _Order, mask_key, parse_form

KEY = "sk_test_51ConformSimulatorKey0000abcd"
ACCOUNT = "acct_1ConformSim0001"
CLOCK = "2026-10-31T18:00:00+00:00"
NOW = 1793469600  # CLOCK as unix seconds
DAY = 86400
N_CUSTOMERS = 23  # one of them deleted
N_INVOICES = 31
N_PIS = 17
N_CHARGES = 17


def _id(prefix: str, n: int) -> str:
    return f"{prefix}_{n:014d}"[: len(prefix) + 15]


def build_store() -> Store:
    """A small Stripe account in the generator's record shapes (simulator/README.md)."""
    store = Store({"seed": 1, "scale": "test", "clock": CLOCK})
    conn = store.connection("stripe", "stripe")
    conn.settings.update({"api_key": KEY, "account_id": ACCOUNT})
    customers = conn.table("customers", key=("id",))
    invoices = conn.table("invoices", key=("id",))
    pis = conn.table("payment_intents", key=("id",))
    charges = conn.table("charges", key=("id",))
    events = conn.table("events", key=("id",))
    base = NOW - 200 * DAY
    countries = ["SG", "AU", "NL", "SE", "US"]
    for n in range(N_CUSTOMERS):
        created = base + (n // 2) * DAY  # pairs share a second: the id breaks the tie
        record: dict[str, Any] = {
            "id": _id("cus", n),
            "object": "customer",
            "name": f"Client {n} Pte Ltd",
            "email": f"ap{n}@client{n}.example",
            "address": {
                "city": "Singapore",
                "country": countries[n % 5],
                "line1": f"{n} Road",
                "line2": None,
                "postal_code": "018956",
                "state": None,
            },
            "currency": "sgd",
            "balance": 0,
            "created": created,
            "description": None,
            "metadata": {"conform_id": f"C{n:04d}"},
            "tax_exempt": "none",
            "livemode": False,
        }
        if n == 7:
            record["deleted"] = True
        customers.upsert(record)
        _add_event(events, "customer.created", created, record)
    statuses = ["paid", "open", "draft", "void", "uncollectible", "paid"]
    for n in range(N_INVOICES):
        created = base + n * 5 * DAY // 2
        total = 100_000 + n * 1_000
        status = statuses[n % len(statuses)]
        paid = total if status == "paid" else 0
        inv = {
            "id": _id("in", n),
            "object": "invoice",
            "customer": _id("cus", n % 5),
            "status": status,
            "currency": "sgd",
            "subtotal": total * 100 // 109,
            "tax": total - total * 100 // 109,
            "total": total,
            "amount_due": total,
            "amount_paid": paid,
            "amount_remaining": total - paid,
            "number": f"CONF-{n:04d}",
            "created": created,
            "due_date": created + 30 * DAY,
            "collection_method": "send_invoice",
            "payment_intent": _id("pi", n),
            "status_transitions": {
                "finalized_at": created,
                "paid_at": None,
                "voided_at": None,
                "marked_uncollectible_at": None,
            },
            "metadata": {"erp_invoice_number": f"SI-{n:05d}", "erp_system": "netsuite"},
            "livemode": False,
        }
        invoices.upsert(inv)
        _add_event(events, "invoice.finalized", created, inv)
        if n < N_PIS:
            pi = {
                "id": _id("pi", n),
                "object": "payment_intent",
                "amount": total,
                "amount_received": total if n % 3 else 0,
                "currency": "sgd",
                "customer": inv["customer"],
                "invoice": inv["id"],
                "latest_charge": _id("ch", n),
                "status": "succeeded" if n % 3 else "requires_payment_method",
                "created": created + 3600,
                "metadata": {},
                "livemode": False,
            }
            pis.upsert(pi)
            ch = {
                "id": _id("ch", n),
                "object": "charge",
                "amount": total,
                "amount_captured": total,
                "amount_refunded": 0,
                "currency": "usd",
                "customer": inv["customer"],
                "invoice": inv["id"],
                "payment_intent": pi["id"],
                "paid": True,
                "captured": True,
                "refunded": False,
                "status": "succeeded",
                "created": created + 3600,
                "livemode": False,
            }
            charges.upsert(ch)
            _add_event(events, "charge.succeeded", created + 3600, ch)
    return store


def _add_event(events: Any, type_: str, created: int, obj: dict[str, Any]) -> None:
    n = len(events)
    events.upsert(
        {
            "id": _id("evt", n),
            "object": "event",
            "type": type_,
            "created": created,
            "data": {"object": dict(obj)},
            "api_version": "2024-06-20",
            "pending_webhooks": 0,
            "request": {"id": None, "idempotency_key": None},
            "livemode": False,
        }
    )


N_EVENTS = N_CUSTOMERS + N_INVOICES + N_CHARGES


@contextmanager
def serve(
    store: Store | None = None, faults: FaultConfig | None = None, wrap: Any = None
) -> Iterator[tuple[str, Emulator, Store]]:
    store = store or build_store()
    port = free_port()
    ctx = EmulatorContext(
        store=store,
        faults=Faults("stripe", faults or FaultConfig(), 1),
        base_url=f"http://127.0.0.1:{port}",
    )
    emulator = Emulator(ctx)
    app = wrap(emulator.app) if wrap else emulator.app
    server = ServerThread(app, port=port).start()
    try:
        yield server.url, emulator, store
    finally:
        server.stop()


@pytest.fixture
def sim() -> Iterator[tuple[str, Emulator, Store]]:
    with serve() as running:
        yield running


def api(
    url: str, method: str = "GET", path: str = "/v1/customers", key: str | None = KEY, **kw: Any
) -> requests.Response:
    headers = kw.pop("headers", {})
    if key is not None:
        headers.setdefault("Authorization", f"Bearer {key}")
    return requests.request(method, url + path, headers=headers, timeout=10, **kw)


def walk(url: str, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    after = None
    pages = 0
    while True:
        q = {"limit": limit, **params, **({"starting_after": after} if after else {})}
        body = api(url, path=path, params=q).json()
        assert body["object"] == "list" and body["url"] == path
        out += body["data"]
        pages += 1
        if not body["has_more"]:
            break
        after = body["data"][-1]["id"]
    assert pages > 1 or len(out) <= limit
    return out


def events_of(store: Store, type_: str) -> list[dict[str, Any]]:
    return [e for e in store.connection("stripe", "stripe").table("events") if e["type"] == type_]


# -- auth ------------------------------------------------------------------------------------


def test_auth_bearer_basic_and_failures(sim: tuple[str, Emulator, Store]) -> None:
    url, emulator, store = sim
    assert emulator.connection_info(store.connection("stripe", "stripe")) == {
        "base_url": url,
        "api_key": KEY,
        "account_id": ACCOUNT,
    }
    assert requests.get(url + "/v1/charges", auth=(KEY, ""), timeout=10).status_code == 200
    ok = api(url, params={"limit": 1})
    assert ok.status_code == 200
    assert ok.headers["Request-Id"].startswith("req_") and len(ok.headers["Request-Id"]) == 18
    assert ok.headers["Stripe-Version"] == "2024-06-20"
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    r = api(
        url,
        key=None,
        headers={"Authorization": f"Basic {basic}", "Stripe-Version": "2025-01-27.acacia"},
    )
    assert r.status_code == 200 and r.headers["Stripe-Version"] == "2025-01-27.acacia"

    missing = api(url, key=None)
    assert missing.status_code == 401
    err = missing.json()["error"]
    assert err["type"] == "invalid_request_error"
    assert err["message"].startswith("You did not provide an API key.")
    assert missing.headers["Request-Id"].startswith("req_")

    wrong = api(url, key="sk_test_wrongkey9999xxxx")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "error": {
            "message": "Invalid API Key provided: sk_test_************xxxx",
            "type": "invalid_request_error",
        }
    }
    assert mask_key("sk_test_wrongkey9999xxxx") == "sk_test_************xxxx"

    other = api(url, headers={"Stripe-Account": "acct_other"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "account_invalid"
    assert api(url, headers={"Stripe-Account": ACCOUNT}).status_code == 200


# -- lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path,count",
    [
        ("/v1/customers", N_CUSTOMERS - 1),
        ("/v1/invoices", N_INVOICES),
        ("/v1/payment_intents", N_PIS),
        ("/v1/charges", N_CHARGES),
        ("/v1/events", N_EVENTS),
    ],
)
def test_every_list_walks_to_the_end(
    sim: tuple[str, Emulator, Store], path: str, count: int
) -> None:
    url, _, _ = sim
    records = walk(url, path, 4)
    assert len(records) == count and len({r["id"] for r in records}) == count
    keys = [(r["created"], r["id"]) for r in records]
    assert keys == sorted(keys, reverse=True)  # newest first, id breaks ties
    default = api(url, path=path).json()
    assert len(default["data"]) == min(10, count)
    # ending_before walks back up to the newest, each page in list order
    before, back = records[-1]["id"], []
    while True:
        body = api(url, path=path, params={"limit": 5, "ending_before": before}).json()
        back = body["data"] + back
        if not body["has_more"]:
            break
        before = body["data"][0]["id"]
    assert [r["id"] for r in back] == [r["id"] for r in records[:-1]]


def test_list_filters(sim: tuple[str, Emulator, Store]) -> None:
    url, _, store = sim
    invoices = list(store.connection("stripe", "stripe").table("invoices"))
    mine = walk(url, "/v1/invoices", 2, customer=_id("cus", 1))
    assert {r["id"] for r in mine} == {r["id"] for r in invoices if r["customer"] == _id("cus", 1)}
    open_ = walk(url, "/v1/invoices", 2, status="open")
    assert {r["id"] for r in open_} == {r["id"] for r in invoices if r["status"] == "open"}
    cut = invoices[10]["created"]
    assert {r["id"] for r in walk(url, "/v1/invoices", 3, **{"created[gt]": cut})} == {
        r["id"] for r in invoices if r["created"] > cut
    }
    assert {
        r["id"]
        for r in walk(
            url, "/v1/invoices", 3, **{"created[gte]": cut, "created[lt]": cut + 10 * DAY}
        )
    } == {r["id"] for r in invoices if cut <= r["created"] < cut + 10 * DAY}
    assert [
        r["id"] for r in api(url, path="/v1/invoices", params={"created": cut}).json()["data"]
    ] == [invoices[10]["id"]]
    due = invoices[3]["due_date"]
    assert {r["id"] for r in walk(url, "/v1/invoices", 5, **{"due_date[lte]": due})} == {
        r["id"] for r in invoices if r["due_date"] <= due
    }
    charges = walk(url, "/v1/charges", 3, customer=_id("cus", 2))
    assert charges and all(c["customer"] == _id("cus", 2) for c in charges)
    pis = walk(url, "/v1/payment_intents", 3, customer=_id("cus", 2))
    assert {p["id"] for p in pis} == {c["payment_intent"] for c in charges}
    email = api(url, params={"email": "ap3@client3.example"}).json()["data"]
    assert [c["id"] for c in email] == [_id("cus", 3)]
    assert api(url, params={"email": "ap7@client7.example"}).json()["data"] == []  # deleted

    assert len(walk(url, "/v1/events", 4, type="invoice.finalized")) == N_INVOICES
    both = walk(url, "/v1/events", 4, **{"types[]": ["charge.succeeded", "customer.created"]})
    assert len(both) == N_CHARGES + N_CUSTOMERS
    keys = [(e["created"], e["id"]) for e in both]
    assert keys == sorted(keys, reverse=True)
    indexed = walk(url, "/v1/events", 4, **{"types[0]": "charge.succeeded"})
    assert len(indexed) == N_CHARGES
    assert len(walk(url, "/v1/events", 6, type="invoice.*")) == N_INVOICES


def test_list_and_retrieve_errors(sim: tuple[str, Emulator, Store]) -> None:
    url, _, _ = sim
    for bad, message in (
        ("0", "greater than or equal to 1"),
        ("101", "less than or equal"),
        ("abc", "Invalid integer: abc"),
    ):
        r = api(url, params={"limit": bad})
        assert r.status_code == 400
        err = r.json()["error"]
        assert err["type"] == "invalid_request_error" and err["param"] == "limit"
        assert message in err["message"]
    r = api(url, params={"starting_after": "cus_nope"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "resource_missing"
    assert r.json()["error"]["param"] == "starting_after"
    r = api(url, params={"colour": "red"})
    assert r.status_code == 400
    assert r.json()["error"]["message"] == "Received unknown parameter: colour"
    r = api(url, path="/v1/invoices", params={"created[after]": "1"})
    assert r.json()["error"]["param"] == "created[after]"
    r = api(url, path="/v1/invoices", params={"created[gte]": "yesterday"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "created[gte]"

    missing = api(url, path="/v1/customers/cus_x")
    assert missing.status_code == 404
    err = missing.json()["error"]
    assert err["code"] == "resource_missing" and err["param"] == "id"
    assert err["message"] == "No such customer: 'cus_x'"
    assert err["doc_url"] == "https://stripe.com/docs/error-codes/resource-missing"
    assert (
        api(url, path="/v1/invoices/in_x").json()["error"]["message"] == "No such invoice: 'in_x'"
    )
    found = api(url, path=f"/v1/charges/{_id('ch', 4)}").json()
    assert found["object"] == "charge" and found["amount"] == 104_000
    assert api(url, path=f"/v1/customers/{_id('cus', 7)}").json() == {
        "id": _id("cus", 7),
        "object": "customer",
        "deleted": True,
    }
    unknown = api(url, path="/v1/widgets")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"].startswith(
        "Unrecognized request URL (GET: /v1/widgets)."
    )


# -- search -----------------------------------------------------------------------------------


def test_search(sim: tuple[str, Emulator, Store]) -> None:
    url, _, store = sim
    r = api(
        url,
        path="/v1/invoices/search",
        params={"query": "metadata['erp_invoice_number']:'SI-00012'"},
    ).json()
    assert r["object"] == "search_result" and r["url"] == "/v1/invoices/search"
    assert [i["id"] for i in r["data"]] == [_id("in", 12)] and r["next_page"] is None
    r = api(
        url,
        path="/v1/invoices/search",
        params={"query": f'status:"open" AND customer:"{_id("cus", 1)}"'},
    ).json()
    assert [i["id"] for i in r["data"]] == [
        i["id"]
        for i in reversed(store.connection("stripe", "stripe").table("invoices").rows.values())
        if i["status"] == "open" and i["customer"] == _id("cus", 1)
    ]
    # paging through next_page
    seen, page = [], None
    while True:
        params = {"query": "metadata['erp_system']:'netsuite'", "limit": 7}
        if page:
            params["page"] = page
        body = api(url, path="/v1/invoices/search", params=params).json()
        seen += body["data"]
        if not body["has_more"]:
            break
        page = body["next_page"]
    assert len(seen) == N_INVOICES and len({i["id"] for i in seen}) == N_INVOICES
    total = api(url, path="/v1/invoices/search", params={"query": "total>=125000"}).json()
    assert {i["total"] >= 125000 for i in total["data"]} == {True}
    cust = api(
        url,
        path="/v1/customers/search",
        params={"query": "email~'client1' OR name:'client 2 pte ltd'", "limit": 100},
    ).json()
    assert {c["id"] for c in cust["data"]} >= {_id("cus", 1), _id("cus", 2), _id("cus", 10)}
    neg = api(
        url,
        path="/v1/customers/search",
        params={"query": "-metadata['conform_id']:'C0001'", "limit": 100},
    ).json()
    assert len(neg["data"]) == N_CUSTOMERS - 2  # minus C0001 and the deleted customer
    for query in (
        "status:'open' AND OR total>1",
        "status:'open' AND total>1 OR total<5",
        "status='open'",
        "colour:'red'",
    ):
        bad = api(url, path="/v1/invoices/search", params={"query": query})
        assert bad.status_code == 400, query
        assert bad.json()["error"]["param"] == "query"
    assert "unsupported search field" in bad.json()["error"]["message"]


# -- writes -----------------------------------------------------------------------------------


def test_customer_create_update_delete_and_events(sim: tuple[str, Emulator, Store]) -> None:
    url, emulator, store = sim
    created = api(
        url,
        "POST",
        data={
            "name": "Newco AB",
            "email": "ap@newco.example",
            "address[country]": "SE",
            "address[city]": "Malmö",
            "metadata[erp_id]": "123",
        },
    )
    assert created.status_code == 200, created.text
    cus = created.json()
    assert cus["id"].startswith("cus_") and len(cus["id"]) == 18
    assert cus["address"]["country"] == "SE" and cus["metadata"] == {"erp_id": "123"}
    assert cus["created"] == NOW and cus["currency"] is None
    first = api(url, params={"limit": 1}).json()["data"][0]
    assert first["id"] == cus["id"]  # the newest customer heads the list

    upd = api(
        url,
        "POST",
        f"/v1/customers/{cus['id']}",
        data={
            "metadata[conform_id]": "C9000",
            "metadata[erp_id]": "",
            "description": "pushed back by Conform",
        },
    )
    assert upd.status_code == 200
    assert upd.json()["metadata"] == {"conform_id": "C9000"}
    assert (
        api(url, path=f"/v1/customers/{cus['id']}").json()["description"]
        == "pushed back by Conform"
    )
    clear = api(url, "POST", f"/v1/customers/{cus['id']}", data={"metadata": ""})
    assert clear.json()["metadata"] == {}

    gone = api(url, "DELETE", f"/v1/customers/{cus['id']}")
    assert gone.json() == {"id": cus["id"], "object": "customer", "deleted": True}
    assert api(url, path=f"/v1/customers/{cus['id']}").json()["deleted"] is True
    assert api(url, "DELETE", f"/v1/customers/{cus['id']}").status_code == 404
    assert api(url, "POST", f"/v1/customers/{cus['id']}", data={"name": "x"}).status_code == 404
    assert cus["id"] not in {c["id"] for c in walk(url, "/v1/customers", 50)}

    # incremental read: only the events written after the cut
    new = walk(url, "/v1/events", 2, **{"created[gt]": NOW - 1})
    assert sorted(e["type"] for e in new) == [
        "customer.created",
        "customer.deleted",
        "customer.updated",
        "customer.updated",
    ]
    updated = [e for e in new if e["type"] == "customer.updated"]
    prev = sorted((e["data"]["previous_attributes"] for e in updated), key=len)
    assert {"metadata": {"conform_id": None, "erp_id": "123"}, "description": None} in prev
    assert {"metadata": {"conform_id": "C9000"}} in prev
    for e in new:
        assert e["id"].startswith("evt_") and len(e["id"]) == 18
        assert e["request"]["id"].startswith("req_") and e["data"]["object"]["id"] == cus["id"]
    deleted = next(e for e in new if e["type"] == "customer.deleted")
    assert deleted["data"]["object"]["name"] == "Newco AB"
    # the incrementally maintained order equals a fresh sort
    events = store.connection("stripe", "stripe").table("events")
    assert emulator._order(events).ids == _Order(store, events).ids
    writes = [w for w in store.writes if w["system"] == "stripe"]
    assert [w["method"] for w in writes] == ["POST", "POST", "POST", "DELETE", "DELETE", "POST"]
    assert [w["status"] for w in writes] == [200, 200, 200, 200, 404, 404]
    assert writes[0]["body"]["address"] == {"country": "SE", "city": "Malmö"}


def test_invoice_and_payment_intent_updates(sim: tuple[str, Emulator, Store]) -> None:
    url, _, store = sim
    inv = _id("in", 1)  # open
    r = api(
        url,
        "POST",
        f"/v1/invoices/{inv}",
        data={"metadata[erp_invoice_number]": "SI-9", "description": "synced"},
    )
    assert r.status_code == 200
    assert r.json()["metadata"] == {"erp_invoice_number": "SI-9", "erp_system": "netsuite"}
    found = api(
        url, path="/v1/invoices/search", params={"query": "metadata['erp_invoice_number']:'SI-9'"}
    ).json()["data"]
    assert [i["id"] for i in found] == [inv]
    bad = api(url, "POST", f"/v1/invoices/{inv}", data={"due_date": str(NOW)})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "due_date"
    draft = api(url, "POST", f"/v1/invoices/{_id('in', 2)}", data={"due_date": str(NOW)})
    assert draft.status_code == 200 and draft.json()["due_date"] == NOW
    assert api(url, "POST", f"/v1/invoices/{inv}", data={"total": "1"}).status_code == 400
    ev = events_of(store, "invoice.updated")
    assert len(ev) == 2
    assert ev[0]["data"]["previous_attributes"] == {
        "metadata": {"erp_invoice_number": "SI-00001"},
        "description": None,
    }

    pi = _id("pi", 1)  # succeeded
    r = api(url, "POST", f"/v1/payment_intents/{pi}", data={"metadata[erp_payment]": "P-1"})
    assert r.status_code == 200 and r.json()["metadata"] == {"erp_payment": "P-1"}
    r = api(url, "POST", f"/v1/payment_intents/{pi}", data={"amount": "5"})
    assert r.status_code == 400
    assert "status of succeeded" in r.json()["error"]["message"]
    assert (
        api(url, "POST", f"/v1/payment_intents/{_id('pi', 0)}", data={"amount": "5000"}).json()[
            "amount"
        ]
        == 5000
    )
    assert len(events_of(store, "payment_intent.updated")) == 2

    as_json = api(url, "POST", f"/v1/invoices/{inv}", json={"metadata": {"a": "b"}})
    assert as_json.status_code == 400
    assert "application/x-www-form-urlencoded" in as_json.json()["error"]["message"]
    assert (
        api(url, "POST", "/v1/customers", data={"email": "not an email"}).json()["error"]["param"]
        == "email"
    )


# -- idempotency ------------------------------------------------------------------------------


def test_idempotency(sim: tuple[str, Emulator, Store]) -> None:
    url, emulator, store = sim
    h = {"Idempotency-Key": "key-1"}
    first = api(url, "POST", "/v1/customers", data={"name": "Once"}, headers=dict(h))
    again = api(url, "POST", "/v1/customers", data={"name": "Once"}, headers=dict(h))
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Original-Request"] == first.headers["Request-Id"]
    assert "Idempotent-Replayed" not in first.headers
    assert len(events_of(store, "customer.created")) == N_CUSTOMERS + 1
    assert events_of(store, "customer.created")[-1]["request"]["idempotency_key"] == "key-1"

    other = api(url, "POST", "/v1/customers", data={"name": "Twice"}, headers=dict(h))
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert other.json()["error"]["message"].startswith(
        "Keys for idempotent requests can only be used with the same parameters"
    )
    elsewhere = api(
        url, "POST", f"/v1/customers/{_id('cus', 1)}", data={"name": "Once"}, headers=dict(h)
    )
    assert elsewhere.status_code == 400
    assert "same endpoint" in elsewhere.json()["error"]["message"]

    # a validation failure is not saved: the key can be used again
    h2 = {"Idempotency-Key": "key-2"}
    assert (
        api(url, "POST", "/v1/customers", data={"bogus": "1"}, headers=dict(h2)).status_code == 400
    )
    assert (
        api(url, "POST", "/v1/customers", data={"name": "Valid"}, headers=dict(h2)).status_code
        == 200
    )
    # a 404 is an executed request: saved and replayed
    h3 = {"Idempotency-Key": "key-3"}
    assert (
        api(
            url, "POST", "/v1/customers/cus_missing", data={"name": "x"}, headers=dict(h3)
        ).status_code
        == 404
    )
    assert (
        api(url, "POST", "/v1/customers/cus_missing", data={"name": "x"}, headers=dict(h3)).headers[
            "Idempotent-Replayed"
        ]
        == "true"
    )

    # a concurrent request with the key while the first is still executing -> 409
    slow_create = emulator._create_customer

    def slow(request: Any, params: dict[str, Any]) -> Any:
        execute = slow_create(request, params)
        return lambda: (time.sleep(0.6), execute())[1]

    emulator._create_customer = slow  # type: ignore[method-assign]
    h4 = {"Idempotency-Key": "key-4"}
    with ThreadPoolExecutor(2) as pool:
        first_call = pool.submit(
            api, url, "POST", "/v1/customers", data={"name": "Slow"}, headers=dict(h4)
        )
        time.sleep(0.2)
        busy = api(url, "POST", "/v1/customers", data={"name": "Slow"}, headers=dict(h4))
        assert first_call.result().status_code == 200
    emulator._create_customer = slow_create  # type: ignore[method-assign]
    assert busy.status_code == 409
    assert busy.json()["error"]["type"] == "idempotency_error"
    assert busy.json()["error"]["code"] == "idempotency_key_in_use"
    later = api(url, "POST", "/v1/customers", data={"name": "Slow"}, headers=dict(h4))
    assert later.headers["Idempotent-Replayed"] == "true"

    # keys are pruned after 24 h of simulated time
    store.set_clock(store.clock + timedelta(hours=25))
    fresh = api(url, "POST", "/v1/customers", data={"name": "Twice"}, headers=dict(h))
    assert fresh.status_code == 200 and "Idempotent-Replayed" not in fresh.headers
    replays = [w for w in store.writes if w.get("replayed")]
    assert len(replays) == 3


# -- faults -----------------------------------------------------------------------------------


def test_rate_limit_and_server_error() -> None:
    with serve(faults=FaultConfig(rate_limit=1.0)) as (url, emulator, _):
        r = api(url)
        assert r.status_code == 429
        assert r.json()["error"] == {
            "code": "rate_limit",
            "doc_url": "https://stripe.com/docs/error-codes/rate-limit",
            "message": "Request rate limit exceeded. You can learn more about rate limits here "
            "https://stripe.com/docs/rate-limits.",
            "type": "invalid_request_error",
        }
        assert r.headers["Request-Id"].startswith("req_")
        assert emulator.faults.injected[0]["kind"] == "rate_limit"
    with serve(faults=FaultConfig(server_error=1.0)) as (url, emulator, store):
        h = {"Idempotency-Key": "k-500"}
        r = api(url, "POST", "/v1/customers", data={"name": "A"}, headers=dict(h))
        assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
        emulator.faults.config = FaultConfig()
        # the injected 500 came before execution, so nothing was saved for the key
        r = api(url, "POST", "/v1/customers", data={"name": "A"}, headers=dict(h))
        assert r.status_code == 200 and "Idempotent-Replayed" not in r.headers
        assert len(events_of(store, "customer.created")) == N_CUSTOMERS + 1


def test_malformed_and_drift() -> None:
    with serve(faults=FaultConfig(malformed=1.0, drift=True)) as (url, emulator, _):
        ch = api(url, path="/v1/charges", params={"limit": 2}).json()["data"]
        assert {c["currency"] for c in ch} == {"US$"}
        inv = api(url, path="/v1/invoices", params={"limit": 3}).json()["data"]
        assert all(isinstance(i["amount_due"], str) and "." in i["amount_due"] for i in inv)
        assert all(i["customer_tax_ids"] == [] for i in inv)
        cus = api(url, path=f"/v1/customers/{_id('cus', 0)}").json()
        assert cus["invoice_credit_balance"] == {}
        assert cus["address"]["country"] == "Singapore"
        assert api(url, path="/v1/events", params={"limit": 1}).json()["data"][0]["created"] is None
        assert any(x["kind"] == "malformed" for x in emulator.faults.injected)
    with serve(faults=FaultConfig(malformed=0.3)) as (url, _, _):
        ch = walk(url, "/v1/charges", 100)
        broken = [c for c in ch if c["currency"] == "US$"]
        assert 0 < len(broken) < len(ch)
        # the same records break on every read
        assert broken == [c for c in walk(url, "/v1/charges", 100) if c["currency"] == "US$"]


# -- official SDK ----------------------------------------------------------------------------


class LoseFirstResponse:
    """ASGI wrapper: the first POST to ``path`` executes, but the client gets a 502 instead
    of the answer (a response lost in transit), so the SDK retries with the same key."""

    def __init__(self, app: Any, path: str):
        self.app, self.path, self.seen = app, path, 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            self.seen += 1
            if self.seen == 1:

                async def swallow(message: dict[str, Any]) -> None:
                    return None

                await self.app(scope, receive, swallow)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 502,
                        "headers": [(b"content-type", b"text/plain")],
                    }
                )
                await send({"type": "http.response.body", "body": b"bad gateway"})
                return
        await self.app(scope, receive, send)


def test_official_sdk() -> None:
    target = f"/v1/customers/{_id('cus', 3)}"
    wrapper: dict[str, LoseFirstResponse] = {}

    def wrap(app: Any) -> LoseFirstResponse:
        wrapper["w"] = LoseFirstResponse(app, target)
        return wrapper["w"]

    with serve(wrap=wrap) as (url, _, store):
        client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=2)
        customers = list(client.v1.customers.list(params={"limit": 4}).auto_paging_iter())
        assert len(customers) == N_CUSTOMERS - 1
        events = list(client.v1.events.list(params={"limit": 9}).auto_paging_iter())
        assert len(events) == N_EVENTS
        invoices = client.v1.invoices.list(params={"limit": 5, "customer": _id("cus", 2)})
        assert len(list(invoices.auto_paging_iter())) == len(
            [
                i
                for i in store.connection("stripe", "stripe").table("invoices")
                if i["customer"] == _id("cus", 2)
            ]
        )
        found = client.v1.invoices.search(
            params={"query": "metadata['erp_system']:'netsuite'", "limit": 10}
        )
        assert len(list(found.auto_paging_iter())) == N_INVOICES

        inv = client.v1.invoices.retrieve(_id("in", 5))
        assert inv.id == _id("in", 5) and inv.metadata["erp_invoice_number"] == "SI-00005"
        deleted = client.v1.customers.retrieve(_id("cus", 7))
        assert deleted.to_dict()["deleted"] is True

        # the first answer is lost; the SDK retries with the same key and gets the replay
        cus = client.v1.customers.update(
            _id("cus", 3),
            params={"metadata": {"erp_id": "E3"}},
            options={"idempotency_key": "sdk-fixed-key"},
        )
        assert cus.metadata["erp_id"] == "E3"
        assert wrapper["w"].seen == 2
        assert cus.last_response.headers["Idempotent-Replayed"] == "true"
        updates = [
            e
            for e in events_of(store, "customer.updated")
            if e["data"]["object"]["id"] == _id("cus", 3)
        ]
        assert len(updates) == 1
        assert updates[0]["request"]["idempotency_key"] == "sdk-fixed-key"
        with pytest.raises(stripe.IdempotencyError):
            client.v1.customers.update(
                _id("cus", 3),
                params={"metadata": {"erp_id": "E4"}},
                options={"idempotency_key": "sdk-fixed-key"},
            )
        with pytest.raises(stripe.InvalidRequestError) as missing:
            client.v1.charges.retrieve("ch_missing")
        assert missing.value.code == "resource_missing" and missing.value.http_status == 404

        with pytest.raises(stripe.AuthenticationError) as auth:
            stripe.StripeClient(
                "sk_test_bad_key_0000", base_addresses={"api": url}
            ).v1.customers.list()
        assert auth.value.http_status == 401
        assert "Invalid API Key provided" in str(auth.value.user_message)

    with serve(faults=FaultConfig(rate_limit=1.0)) as (url, _, _):
        client = stripe.StripeClient(KEY, base_addresses={"api": url}, max_network_retries=1)
        with pytest.raises(stripe.RateLimitError) as limited:
            client.v1.customers.list()
        assert limited.value.http_status == 429


# -- unit bits ----------------------------------------------------------------------------------


def test_parse_form() -> None:
    assert parse_form(
        [
            ("metadata[a]", "1"),
            ("metadata[b]", ""),
            ("types[]", "x"),
            ("types[]", "y"),
            ("address[city]", "Oslo"),
            ("limit", "3"),
            ("bad[key", "v"),
        ]
    ) == {
        "metadata": {"a": "1", "b": ""},
        "types": ["x", "y"],
        "address": {"city": "Oslo"},
        "limit": "3",
        "bad[key": "v",
    }


def test_large_table_paging_is_fast() -> None:
    store = build_store()
    events = store.connection("stripe", "stripe").table("events")
    for n in range(60_000):
        events.upsert(
            {
                "id": f"evt_bulk{n:010d}",
                "object": "event",
                "type": "charge.updated",
                "created": NOW - 100 * DAY + n,
                "data": {"object": {}},
                "api_version": "2024-06-20",
                "pending_webhooks": 0,
                "request": {"id": None, "idempotency_key": None},
                "livemode": False,
            }
        )
    with serve(store) as (url, _, _):
        api(url, path="/v1/events", params={"limit": 1})  # builds the order once
        start = time.monotonic()
        body = api(
            url,
            path="/v1/events",
            params={
                "limit": 100,
                "type": "charge.updated",
                "created[gte]": NOW - 100 * DAY + 30_000,
                "starting_after": f"evt_bulk{50_000:010d}",
            },
        ).json()
        assert [e["created"] for e in body["data"]][:2] == [
            NOW - 100 * DAY + 49_999,
            NOW - 100 * DAY + 49_998,
        ]
        for _ in range(5):
            api(url, "POST", f"/v1/customers/{_id('cus', 1)}", data={"metadata[n]": str(_)})
        assert time.monotonic() - start < 2.0
