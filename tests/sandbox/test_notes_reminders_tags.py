"""Timeline notes, reminders and tags in the Dex sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Create = Callable[..., list[dict[str, Any]]]


def note_body(text: str, *contact_ids: str) -> dict[str, Any]:
    return {
        "note": {
            "note": text,
            "event_time": "2024-03-01T09:30:00Z",
            "timeline_items_contacts": [{"contact_id": c} for c in contact_ids],
        }
    }


def test_notes_create_list_by_contact_update_delete(client: httpx.Client, create: Create) -> None:
    ada, bo = create(client, {"first_name": "Ada"}, {"first_name": "Bo"})
    first = client.post("/timeline", json=note_body("lunch", ada["id"], bo["id"])).json()["data"]
    assert first["note"] == "lunch"
    assert first["type"] == "note"
    assert first["is_pinned"] is False
    assert {r["contact_id"] for r in first["timeline_items_contacts"]} == {ada["id"], bo["id"]}
    second = client.post("/timeline", json=note_body("call", bo["id"])).json()["data"]

    everything = client.get("/timeline", params={"take": 1}).json()["data"]
    assert [n["id"] for n in everything["items"]] == [first["id"]]
    assert (everything["nextCursor"], everything["count"]) == (second["id"], 2)
    for_ada = client.get("/timeline", params={"contactId": ada["id"]}).json()["data"]
    assert [n["id"] for n in for_ada["items"]] == [first["id"]]

    # PUT takes the partial note either wrapped in {"note": {...}} or bare
    wrapped = client.put(f"/timeline/{second['id']}", json={"note": {"note": "long call"}})
    assert wrapped.json()["data"]["note"] == "long call"
    bare = client.put(f"/timeline/{second['id']}", json={"is_pinned": True})
    assert bare.json()["data"]["is_pinned"] is True
    assert bare.json()["data"]["note"] == "long call"

    assert client.get(f"/timeline/{second['id']}").json()["data"] == bare.json()["data"]
    assert client.delete(f"/timeline/{first['id']}").json()["error"] is False
    assert client.get(f"/timeline/{first['id']}").status_code == 404
    assert client.delete(f"/timeline/{first['id']}").status_code == 404


def test_note_for_an_unknown_contact_is_refused(client: httpx.Client) -> None:
    response = client.post("/timeline", json=note_body("x", "nobody"))
    assert response.status_code == 400
    assert response.json()["message"] == (
        "note.timeline_items_contacts[0].contact_id: no contact with id nobody"
    )
    bad_time = client.post(
        "/timeline", json={"note": {"note": "x", "event_time": "yesterday"}}
    ).json()
    assert bad_time["message"] == "note.event_time: not an ISO 8601 date-time"


def test_reminders_create_list_update_delete(client: httpx.Client, create: Create) -> None:
    (ada,) = create(client, {"first_name": "Ada"})
    body = {
        "reminder": {
            "text": "send the deck",
            "due_at_date": "2025-02-01",
            "is_complete": False,
            "recurrence": "monthly",
            "reminders_contacts": [{"contact_id": ada["id"]}],
        }
    }
    made = client.post("/reminders", json=body).json()["data"]
    assert made["text"] == "send the deck"
    assert made["reminders_contacts"] == [{"contact_id": ada["id"]}]
    listed = client.get("/reminders", params={"contactId": ada["id"]}).json()["data"]
    assert [r["id"] for r in listed["items"]] == [made["id"]]
    done = client.put(f"/reminders/{made['id']}", json={"reminder": {"is_complete": True}})
    assert done.json()["data"]["is_complete"] is True
    assert done.json()["data"]["text"] == "send the deck"
    assert client.get(f"/reminders/{made['id']}").json()["data"] == done.json()["data"]
    assert client.delete(f"/reminders/{made['id']}").status_code == 200
    assert client.get(f"/reminders/{made['id']}").status_code == 404
    assert client.get("/reminders").json()["data"]["count"] == 0

    wrong = client.post(
        "/reminders", json={"reminder": {"text": "x", "due_at_date": "2025-02-30"}}
    ).json()
    assert wrong["message"] == "reminder.due_at_date: not a date (YYYY-MM-DD)"
    recurrence = client.post(
        "/reminders",
        json={"reminder": {"text": "x", "due_at_date": "2025-02-03", "recurrence": "daily"}},
    )
    assert recurrence.status_code == 400
    assert recurrence.json()["message"].startswith("reminder.recurrence: ")


def test_create_assign_reuses_tags_case_insensitively(client: httpx.Client, create: Create) -> None:
    ada, bo = create(client, {"first_name": "Ada"}, {"first_name": "Bo"})
    first = client.post(f"/tags/contacts/{ada['id']}/create-assign", json={"tagNames": ["VIP"]})
    (vip,) = first.json()["data"]["tags"]
    second = client.post(
        f"/tags/contacts/{bo['id']}/create-assign", json={"tagNames": ["vip", "Investor"]}
    ).json()["data"]["tags"]
    assert second[0] == vip
    assert second[1]["name"] == "Investor"
    tags = client.get("/tags").json()["data"]
    assert [t["name"] for t in tags["items"]] == ["VIP", "Investor"]
    assert [t["name"] for t in client.get(f"/contacts/{bo['id']}").json()["data"]["tags"]] == [
        "VIP",
        "Investor",
    ]
    missing = client.post("/tags/contacts/nobody/create-assign", json={"tagNames": ["x"]})
    assert missing.status_code == 404


def test_tags_create_add_remove_and_post_with_tag_ids(client: httpx.Client, create: Create) -> None:
    tag = client.post("/tags", json={"tag": {"name": "Friends"}}).json()["data"]
    assert tag["name"] == "Friends"
    duplicate = client.post("/tags", json={"tag": {"name": "friends"}})
    assert duplicate.status_code == 400
    ada, bo = create(
        client,
        {"first_name": "Ada", "tags_contacts": [{"tag_id": tag["id"]}]},
        {"first_name": "Bo"},
    )
    assert ada["tags"] == [tag]
    added = client.post(
        "/tags/contacts/add", json={"contactIds": [ada["id"], bo["id"]], "tagIds": [tag["id"]]}
    )
    assert added.json()["data"] == {"count": 1}  # Ada had it already
    removed = client.post(
        "/tags/contacts/remove", json={"contactIds": [ada["id"]], "tagIds": [tag["id"]]}
    )
    assert removed.json()["data"] == {"count": 1}
    assert client.get(f"/contacts/{ada['id']}").json()["data"]["tags"] == []
    unknown = client.post("/contacts", json={"contacts": [{"tags_contacts": [{"tag_id": "t0"}]}]})
    assert unknown.json()["message"] == "contacts[0].tags_contacts[0].tag_id: no tag with id t0"
    put = client.put(
        "/contacts",
        json=[
            {"contactId": bo["id"], "data": {"tags_contacts": {"remove": [{"tag_id": tag["id"]}]}}}
        ],
    )
    assert put.status_code == 200
    assert client.get(f"/contacts/{bo['id']}").json()["data"]["tags"] == []
