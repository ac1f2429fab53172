"""Listing contacts page by page, with and without the list faults."""

from __future__ import annotations

from typing import Any

import httpx

from .conftest import ClientFactory


def seed(client: httpx.Client, n: int) -> list[str]:
    response = client.post(
        "/contacts", json={"contacts": [{"first_name": f"P{i:03d}"} for i in range(n)]}
    )
    return [c["id"] for c in response.json()["data"]["contacts"]]


def walk(client: httpx.Client, take: int, limit: int = 50) -> list[dict[str, Any]]:
    """Follow nextCursor to the end (at most ``limit`` pages); return every page's data."""
    pages: list[dict[str, Any]] = []
    cursor = None
    while len(pages) < limit:
        params: dict[str, Any] = {"take": take}
        if cursor:
            params["cursor"] = cursor
        data = client.get("/contacts", params=params).json()["data"]
        pages.append(data)
        cursor = data["nextCursor"]
        if cursor is None:
            break
    return pages


def test_cursor_paging_visits_every_contact_once_oldest_first(dex_client: ClientFactory) -> None:
    _, client = dex_client()
    ids = seed(client, 23)
    pages = walk(client, take=10)
    assert [len(p["items"]) for p in pages] == [10, 10, 3]
    assert [c["id"] for p in pages for c in p["items"]] == ids
    assert all(p["count"] == 23 for p in pages)
    # the cursor is the id of the first contact of the next page (inclusive)
    assert pages[0]["nextCursor"] == ids[10]
    assert pages[-1]["nextCursor"] is None


def test_default_take_is_100(dex_client: ClientFactory) -> None:
    _, client = dex_client()
    seed(client, 101)
    data = client.get("/contacts").json()["data"]
    assert len(data["items"]) == 100
    assert data["nextCursor"] is not None


def test_page_cap_limits_pages_whatever_take_says(dex_client: ClientFactory) -> None:
    _, client = dex_client(page_cap=4)
    ids = seed(client, 10)
    pages = walk(client, take=500)
    assert [len(p["items"]) for p in pages] == [4, 4, 2]
    assert [c["id"] for p in pages for c in p["items"]] == ids


def test_ignore_cursor_repeats_the_first_page(dex_client: ClientFactory) -> None:
    _, client = dex_client(ignore_cursor=True)
    ids = seed(client, 5)
    pages = walk(client, take=2, limit=3)
    assert [[c["id"] for c in p["items"]] for p in pages] == [ids[:2]] * 3
    assert all(p["nextCursor"] == ids[2] for p in pages)


def test_list_summaries_carry_only_names_and_company(dex_client: ClientFactory) -> None:
    _, client = dex_client(list_summaries=True)
    response = client.post(
        "/contacts",
        json={
            "contacts": [
                {
                    "first_name": "Ada",
                    "last_name": "Quill",
                    "full_name": "Ada Quill",
                    "company": "Northwind",
                    "job_title": "CTO",
                    "contact_emails": [{"email": "ada@northwind.example"}],
                }
            ]
        },
    )
    contact_id = response.json()["data"]["contacts"][0]["id"]
    (item,) = client.get("/contacts").json()["data"]["items"]
    assert item == {
        "id": contact_id,
        "full_name": "Ada Quill",
        "first_name": "Ada",
        "last_name": "Quill",
        "company": "Northwind",
        "job_title": "CTO",
    }
    full = client.get(f"/contacts/{contact_id}").json()["data"]
    assert full["contact_emails"][0]["email"] == "ada@northwind.example"


def test_list_faults_can_change_on_a_running_sandbox(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client()
    seed(client, 6)
    sandbox.faults.page_cap = 2
    assert len(client.get("/contacts", params={"take": 50}).json()["data"]["items"]) == 2
    changed = httpx.put(f"{sandbox.root_url}/_sandbox/faults", json={"page_cap": None})
    assert changed.json()["page_cap"] is None
    assert len(client.get("/contacts", params={"take": 50}).json()["data"]["items"]) == 6
    refused = httpx.put(f"{sandbox.root_url}/_sandbox/faults", json={"fail_rate": 3})
    assert refused.status_code == 400


def test_unknown_cursor_ends_the_listing(dex_client: ClientFactory) -> None:
    _, client = dex_client()
    seed(client, 3)
    data = client.get("/contacts", params={"cursor": "gone"}).json()["data"]
    assert data == {"items": [], "nextCursor": None, "count": 3}


def test_bad_take_is_400(dex_client: ClientFactory) -> None:
    _, client = dex_client()
    for take in ("0", "-1", "ten"):
        response = client.get("/contacts", params={"take": take})
        assert response.status_code == 400
        assert response.json()["message"].startswith("take: ")


def test_skip_1_makes_the_cursor_exclusive(dex_client: ClientFactory) -> None:
    # Prisma-style clients pass the last id they saw with skip=1; both styles must work
    _, client = dex_client()
    ids = seed(client, 5)
    page = client.get("/contacts", params={"take": 2, "cursor": ids[1], "skip": 1}).json()["data"]
    assert [c["id"] for c in page["items"]] == ids[2:4]
    assert page["nextCursor"] == ids[4]
    assert client.get("/contacts", params={"skip": -1}).status_code == 400
