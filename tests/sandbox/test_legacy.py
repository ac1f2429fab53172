"""The legacy /api/rest reads (seed 000) over the same store as v1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from .conftest import ClientFactory


def test_legacy_contacts_notes_and_reminders(
    dex_client: ClientFactory, create: Callable[..., list[dict[str, Any]]]
) -> None:
    sandbox, client = dex_client()
    made = create(
        client,
        *[
            {
                "first_name": f"P{i}",
                "contact_emails": [{"email": f"p{i}@Example.org"}],
                "contact_phone_numbers": [{"phone_number": f"+1555010{i}"}],
                "birthday": "--07-14",
            }
            for i in range(3)
        ],
    )
    client.post(
        "/timeline",
        json={
            "note": {
                "note": "hello",
                "event_time": "2024-01-01T00:00:00Z",
                "timeline_items_contacts": [{"contact_id": made[1]["id"]}],
            }
        },
    )
    client.post(
        "/reminders",
        json={
            "reminder": {
                "text": "ping",
                "due_at_date": "2025-01-01",
                "reminders_contacts": [{"contact_id": made[2]["id"]}],
            }
        },
    )
    legacy = httpx.Client(
        base_url=sandbox.legacy_url,
        headers={"x-hasura-dex-api-key": sandbox.api_key.reveal()},
    )
    page = legacy.get("/contacts", params={"limit": 2, "offset": 1}).json()
    assert page["pagination"] == {"total": {"count": 3}}
    assert [c["id"] for c in page["contacts"]] == [made[1]["id"], made[2]["id"]]
    first = page["contacts"][0]
    assert first["emails"] == [{"email": "p1@Example.org"}]
    assert first["phones"] == [{"phone_number": "+15550101"}]
    assert first["birthday_current_year"].endswith("-07-14")
    assert len(legacy.get("/contacts").json()["contacts"]) == 3  # default limit 10

    one = legacy.get(f"/contacts/{made[0]['id']}").json()
    assert [c["first_name"] for c in one["contacts"]] == ["P0"]
    assert legacy.get("/contacts/unknown").json() == {"contacts": []}

    found = legacy.get("/search/contacts", params={"email": "P2@example.ORG"}).json()
    assert [c["id"] for c in found["search_contacts_by_exact_email"]] == [made[2]["id"]]

    notes = legacy.get("/timeline_items").json()
    assert notes["pagination"] == {"total": {"count": 1}}
    assert notes["timeline_items"][0]["contacts"] == [{"contact_id": made[1]["id"]}]
    by_contact = legacy.get(f"/timeline_items/contacts/{made[1]['id']}").json()
    assert [n["note"] for n in by_contact["timeline_items"]] == ["hello"]
    assert legacy.get(f"/timeline_items/contacts/{made[0]['id']}").json()["timeline_items"] == []

    reminders = legacy.get("/reminders").json()
    assert reminders["total"] == {"aggregate": {"count": 1}}
    (reminder,) = reminders["reminders"]
    assert (reminder["body"], reminder["due_at_date"]) == ("ping", "2025-01-01")
    assert reminder["contact_ids"] == [{"contact_id": made[2]["id"]}]


def test_legacy_routes_want_the_hasura_header(dex_client: ClientFactory) -> None:
    sandbox, _ = dex_client()
    bearer = {"Authorization": f"Bearer {sandbox.api_key.reveal()}"}
    assert httpx.get(f"{sandbox.legacy_url}/contacts", headers=bearer).status_code == 401
    wrong = {"x-hasura-dex-api-key": "wrong"}
    assert httpx.get(f"{sandbox.legacy_url}/reminders", headers=wrong).status_code == 401


def test_legacy_writes_land_in_the_same_store(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client()
    legacy = httpx.Client(
        base_url=sandbox.legacy_url,
        headers={"x-hasura-dex-api-key": sandbox.api_key.reveal()},
    )
    made = legacy.post(
        "/contacts",
        json={
            "contact": {
                "first_name": "Kay",
                "last_name": "Ortiz",
                "contact_emails": {"data": {"email": "kay@example.org"}},
                "contact_phone_numbers": {"data": [{"phone_number": "+15550199"}]},
            }
        },
    )
    assert made.status_code == 201
    kay = made.json()["insert_contacts_one"]
    assert kay["emails"] == [{"email": "kay@example.org"}]
    assert client.get(f"/contacts/{kay['id']}").json()["data"]["last_name"] == "Ortiz"

    changed = legacy.put(
        f"/contacts/{kay['id']}",
        json={
            "changes": {"job_title": "Pilot"},
            "update_contact_emails": True,
            "contact_emails": [{"contact_id": kay["id"], "email": "kay@new.example"}],
        },
    ).json()["update_contacts_by_pk"]
    assert (changed["job_title"], changed["emails"]) == ("Pilot", [{"email": "kay@new.example"}])
    assert changed["phones"] == [{"phone_number": "+15550199"}]  # not asked to update
    assert legacy.put("/contacts/nobody", json={"changes": {}}).json() == {
        "update_contacts_by_pk": None
    }

    note = legacy.post(
        "/timeline_items",
        json={
            "timeline_event": {
                "note": "first note",
                "event_time": "2023-05-19T01:03:27.083Z",
                "meeting_type": "note",
                "timeline_items_contacts": {"data": [{"contact_id": kay["id"]}]},
            }
        },
    ).json()["insert_timeline_items_one"]
    assert note["contacts"] == [{"contact_id": kay["id"]}]
    edited = legacy.put(
        f"/timeline_items/{note['id']}",
        json={
            "changes": {"note": "edited"},
            "timeline_items_contacts": [],
            "update_contacts": True,
        },
    ).json()["update_timeline_items_by_pk"]
    assert (edited["note"], edited["contacts"]) == ("edited", [])

    reminder = legacy.post(
        "/reminders",
        json={
            "reminder": {
                "title": "t",
                "text": "sample reminder",
                "due_at_date": "2023-06-01",
                "reminders_contacts": {"data": [{"contact_id": kay["id"]}]},
            }
        },
    ).json()["insert_reminders_one"]
    assert (reminder["body"], reminder["contact_ids"]) == (
        "sample reminder",
        [{"contact_id": kay["id"]}],
    )
    done = legacy.put(f"/reminders/{reminder['id']}", json={"changes": {"is_complete": True}})
    assert done.json()["update_reminders_by_pk"]["is_complete"] is True
    v1_reminders = client.get("/reminders").json()["data"]["items"]
    assert [r["text"] for r in v1_reminders] == ["sample reminder"]

    assert legacy.delete(f"/reminders/{reminder['id']}").json() == {
        "delete_reminders_by_pk": {"id": reminder["id"]}
    }
    assert legacy.delete(f"/timeline_items/{note['id']}").status_code == 200
    assert legacy.delete(f"/contacts/{kay['id']}").json() == {
        "delete_contacts_by_pk": {"id": kay["id"]}
    }
    assert legacy.delete(f"/contacts/{kay['id']}").json() == {"delete_contacts_by_pk": None}
    assert sandbox.stats()["contacts"] == 0


def test_legacy_writes_are_validated(dex_client: ClientFactory) -> None:
    sandbox, _ = dex_client()
    legacy = httpx.Client(
        base_url=sandbox.legacy_url,
        headers={"x-hasura-dex-api-key": sandbox.api_key.reveal()},
    )
    bad_email = legacy.post(
        "/contacts", json={"contact": {"contact_emails": {"data": {"email": "@gmail.com"}}}}
    )
    assert bad_email.status_code == 400
    assert bad_email.json()["message"].startswith(
        "contact.contact_emails.data.email: not an email address"
    )
    unknown_contact = legacy.post(
        "/reminders",
        json={
            "reminder": {
                "text": "x",
                "due_at_date": "2023-06-01",
                "reminders_contacts": {"data": [{"contact_id": "ghost"}]},
            }
        },
    )
    assert unknown_contact.json()["message"] == (
        "reminder.reminders_contacts.data[0].contact_id: no contact with id ghost"
    )
