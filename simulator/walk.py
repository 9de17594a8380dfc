"""Read every object of every system through its API, as a client would: used by the tests
and the benchmark to prove the emulators serve a full, correctly paged read."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import jwt
import requests

PSA_SUBJECTS = {
    "custom_field_values": ("Workspace", "WorkspaceGroup", "User"),
    "external_references": ("Workspace", "WorkspaceGroup", "TimeEntry", "Invoice", "User"),
}
STRIPE_RESOURCES = ("customers", "invoices", "payment_intents", "charges", "events")


def walk_all(
    connections: dict[str, Any],
    tables: dict[tuple[str, str], list[str]],
    session: requests.Session | None = None,
) -> Counter:
    """Rows read per (system, connection, object) through the real API contracts."""
    http = session or requests.Session()
    counts: Counter = Counter()
    systems = connections["systems"]
    for conn, info in systems.get("salesforce", {}).items():
        token = http.post(
            f"{info['login_url']}/services/oauth2/token",
            data={
                "grant_type": "password",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "username": info["username"],
                "password": info["password"] + info["security_token"],
            },
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        base = token["instance_url"]
        for obj in tables[("salesforce", conn)]:
            url = f"{base}/services/data/v{info['api_version']}/queryAll"
            resp = http.get(url, params={"q": f"SELECT Id FROM {obj}"}, headers=headers)
            while True:
                resp.raise_for_status()
                body = resp.json()
                counts[("salesforce", conn, obj)] += len(body["records"])
                if body["done"]:
                    break
                resp = http.get(base + body["nextRecordsUrl"], headers=headers)
    for conn, info in systems.get("psa", {}).items():
        headers = {"Authorization": f"Bearer {info['api_token']}"}
        for obj in tables[("psa", conn)]:
            for subject in PSA_SUBJECTS.get(obj, (None,)):
                page = 1
                while True:
                    params: dict[str, Any] = {"page": page, "per_page": 200}
                    if subject:
                        params["subject_type"] = subject
                    if obj == "workspaces":
                        params["include_archived"] = "true"
                    resp = http.get(f"{info['base_url']}/{obj}", params=params, headers=headers)
                    resp.raise_for_status()
                    body = resp.json()
                    counts[("psa", conn, obj)] += len(body["results"])
                    if page >= body["meta"]["page_count"]:
                        break
                    page += 1
    for conn, info in systems.get("netsuite", {}).items():
        now = int(time.time())
        assertion = jwt.encode(
            {
                "iss": info["client_id"],
                "scope": ["rest_webservices"],
                "aud": info["token_url"],
                "iat": now,
                "exp": now + 3000,
            },
            Path(info["private_key_path"]).read_text(),
            algorithm="PS256",
            headers={"kid": info["certificate_id"]},
        )
        token = http.post(
            info["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
            },
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Prefer": "transient"}
        for obj in tables[("netsuite", conn)]:
            offset = 0
            while True:
                resp = http.post(
                    f"{info['base_url']}/services/rest/query/v1/suiteql",
                    params={"limit": 1000, "offset": offset},
                    json={"q": f"SELECT * FROM {obj}"},
                    headers=headers,
                )
                resp.raise_for_status()
                body = resp.json()
                counts[("netsuite", conn, obj)] += len(body["items"])
                if not body["hasMore"]:
                    break
                offset += 1000
    for conn, info in systems.get("dynamics", {}).items():
        token = http.post(
            info["token_url"],
            data={
                "grant_type": "client_credentials",
                "client_id": info["client_id"],
                "client_secret": info["client_secret"],
                "scope": info["scope"],
            },
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        for obj in tables[("dynamics", conn)]:
            url: str | None = f"{info['base_url']}/data/{obj}?cross-company=true"
            while url:
                resp = http.get(url, headers=headers)
                resp.raise_for_status()
                body = resp.json()
                counts[("dynamics", conn, obj)] += len(body["value"])
                url = body.get("@odata.nextLink")
    for conn, info in systems.get("stripe", {}).items():
        headers = {"Authorization": f"Bearer {info['api_key']}"}
        for obj in tables[("stripe", conn)]:
            params = {"limit": 100}
            while True:
                resp = http.get(f"{info['base_url']}/v1/{obj}", params=params, headers=headers)
                resp.raise_for_status()
                body = resp.json()
                counts[("stripe", conn, obj)] += len(body["data"])
                if not body["has_more"]:
                    break
                params = {"limit": 100, "starting_after": body["data"][-1]["id"]}
    return counts
