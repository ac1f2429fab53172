"""The v1 contact routes of the Dex sandbox, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Create = Callable[..., list[dict[str, Any]]]


def test_create_returns_records_in_order_and_get_reads_them_back(
    client: httpx.Client, create: Create
) -> None:
    made = create(
        client,
        {
            "first_name": "Ada",
            "last_name": "Quill",
            "full_name": "Ada Quill",
            "company": "Northwind",
            "birthday": "1990-04-01",
            "contact_emails": [{"email": "Ada@Northwind.example", "label": "work", "ranking": 1}],
            "contact_phone_numbers": [{"phone_number": "+44 20 7946 0000", "label": "mobile"}],
        },
        {"first_name": "Bo", "birthday": "--12-24"},
    )
    assert [c["first_name"] for c in made] == ["Ada", "Bo"]
    ada = made[0]
    assert ada["id"] and ada["created_at"] and ada["updated_at"]
    assert ada["is_archived"] is False
    assert ada["tags"] == []
    assert ada["contact_phone_numbers"][0]["phone_number_sanitized"] == "+442079460000"
    fetched = client.get(f"/contacts/{ada['id']}").json()
    assert fetched == {"error": False, "data": ada}
    assert client.get("/contacts/count").json()["data"] == {"count": 2}


def test_trailing_slash_is_the_same_route(client: httpx.Client) -> None:
    response = client.post("/contacts/", json={"contacts": [{"first_name": "Cy"}]})
    assert response.status_code == 200
    assert client.get("/contacts/").json()["data"]["count"] == 1


def test_unknown_contact_is_404_with_envelope(client: httpx.Client) -> None:
    response = client.get("/contacts/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert response.json() == {
        "error": True,
        "message": "contact 00000000-0000-0000-0000-000000000000 not found",
    }
    assert client.put("/contacts/nope", json={"company": "X"}).status_code == 404
    assert client.delete("/contacts/nope").status_code == 404


def test_wrong_or_missing_key_is_401(dex_sandbox: Callable[..., Any]) -> None:
    sandbox = dex_sandbox(api_key="a-very-particular-key")
    for headers in ({}, {"Authorization": "Bearer dex_sandbox_key"}, {"Authorization": "x"}):
        response = httpx.get(f"{sandbox.base_url}/contacts", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["error"] is True
        assert "a-very-particular-key" not in body["message"]
    ok = httpx.get(
        f"{sandbox.base_url}/contacts", headers={"Authorization": "Bearer a-very-particular-key"}
    )
    assert ok.status_code == 200


def test_bulk_put_changes_only_sent_fields_and_replaces_lists(
    client: httpx.Client, create: Create
) -> None:
    ada, bo = create(
        client,
        {
            "first_name": "Ada",
            "company": "Northwind",
            "contact_emails": [{"email": "ada@old.example"}, {"email": "ada@home.example"}],
        },
        {"first_name": "Bo", "job_title": "Chef"},
    )
    response = client.put(
        "/contacts",
        json=[
            {"contactId": ada["id"], "data": {"contact_emails": [{"email": "ada@new.example"}]}},
            {"contactId": bo["id"], "data": {"company": "Fabrikam", "is_archived": True}},
        ],
    )
    assert response.json() == {"error": False, "data": {"count": 2}}
    ada_now = client.get(f"/contacts/{ada['id']}").json()["data"]
    assert ada_now["company"] == "Northwind"
    assert [e["email"] for e in ada_now["contact_emails"]] == ["ada@new.example"]
    bo_now = client.get(f"/contacts/{bo['id']}").json()["data"]
    assert (bo_now["job_title"], bo_now["company"], bo_now["is_archived"]) == (
        "Chef",
        "Fabrikam",
        True,
    )
    # the replaced email no longer finds Ada; archived contacts leave the default list
    found = client.post("/contacts/by-emails", json={"emails": ["ada@old.example"]}).json()
    assert found["data"] == []
    assert client.get("/contacts/count").json()["data"]["count"] == 1
    assert client.get("/contacts", params={"archived": "true"}).json()["data"]["count"] == 2


def test_bulk_put_with_an_unknown_id_changes_nothing(client: httpx.Client, create: Create) -> None:
    (ada,) = create(client, {"first_name": "Ada"})
    response = client.put(
        "/contacts",
        json=[
            {"contactId": ada["id"], "data": {"company": "Changed"}},
            {"contactId": "missing-id", "data": {"company": "X"}},
        ],
    )
    assert response.status_code == 404
    assert response.json()["message"] == "[1].contactId: contact missing-id not found"
    assert client.get(f"/contacts/{ada['id']}").json()["data"]["company"] is None


def test_put_by_id_returns_the_updated_contact(client: httpx.Client, create: Create) -> None:
    (ada,) = create(client, {"first_name": "Ada", "last_name": "Quill"})
    response = client.put(f"/contacts/{ada['id']}", json={"job_title": "Engineer"})
    data = response.json()["data"]
    assert (data["first_name"], data["last_name"], data["job_title"]) == (
        "Ada",
        "Quill",
        "Engineer",
    )
    assert data["updated_at"] >= ada["updated_at"]


def test_delete_one_and_many(client: httpx.Client, create: Create) -> None:
    a, b, c, d = create(client, {"first_name": "A"}, {"first_name": "B"}, {"first_name": "C"}, {})
    assert client.delete(f"/contacts/{a['id']}").json() == {
        "error": False,
        "message": "Contact deleted",
    }
    repeated = client.delete("/contacts", params=[("contactIds", b["id"]), ("contactIds", "nope")])
    assert repeated.json()["data"] == {"count": 1, "contact_ids": [b["id"]]}
    comma = client.delete("/contacts", params={"contactIds": f"{c['id']},{d['id']}"})
    assert comma.json()["data"]["count"] == 2
    assert client.get("/contacts/count").json()["data"]["count"] == 0
    assert client.delete("/contacts").status_code == 400


def test_by_emails_is_case_insensitive_and_capped_at_50(
    client: httpx.Client, create: Create
) -> None:
    ada, _, cy = create(
        client,
        {"first_name": "Ada", "contact_emails": [{"email": "Ada@Example.org"}]},
        {"first_name": "Bo", "contact_emails": [{"email": "bo@example.org"}]},
        {"first_name": "Cy", "contact_emails": [{"email": "x@y.org"}, {"email": "CY@example.org"}]},
    )
    response = client.post(
        "/contacts/by-emails", json={"emails": ["ada@example.org", "cy@EXAMPLE.org", "no@x.org"]}
    )
    assert [c["id"] for c in response.json()["data"]] == [ada["id"], cy["id"]]
    too_many = client.post(
        "/contacts/by-emails", json={"emails": [f"{i}@x.org" for i in range(51)]}
    )
    assert too_many.status_code == 400
    assert too_many.json()["message"].startswith("emails: ")


def test_merge_keeps_the_oldest_and_moves_everything_to_it(
    client: httpx.Client, create: Create
) -> None:
    (old,) = create(
        client,
        {
            "first_name": "Ada",
            "company": "",
            "contact_emails": [{"email": "ada@one.example", "ranking": 1}],
        },
    )
    (new,) = create(
        client,
        {
            "first_name": "Ada L.",
            "company": "Northwind",
            "job_title": "CTO",
            "contact_emails": [{"email": "ADA@one.example"}, {"email": "ada@two.example"}],
            "contact_phone_numbers": [{"phone_number": "+1 555 0100"}],
        },
    )
    note = client.post(
        "/timeline",
        json={
            "note": {
                "note": "met at a conference",
                "event_time": "2024-05-01T10:00:00Z",
                "timeline_items_contacts": [{"contact_id": new["id"]}],
            }
        },
    ).json()["data"]
    reminder = client.post(
        "/reminders",
        json={
            "reminder": {
                "text": "call back",
                "due_at_date": "2025-01-10",
                "reminders_contacts": [{"contact_id": new["id"]}],
            }
        },
    ).json()["data"]
    client.post(f"/tags/contacts/{new['id']}/create-assign", json={"tagNames": ["vip"]})

    # the newer id comes first: the survivor is still the oldest contact
    response = client.post("/contacts/merge", json={"contactIds": [[new["id"], old["id"]]]})
    assert response.json() == {"error": False, "data": {"mergedContactIds": [old["id"]]}}
    assert client.get(f"/contacts/{new['id']}").status_code == 404
    survivor = client.get(f"/contacts/{old['id']}").json()["data"]
    assert survivor["first_name"] == "Ada"  # filled fields are kept
    assert (survivor["company"], survivor["job_title"]) == ("Northwind", "CTO")  # empty ones filled
    assert [e["email"] for e in survivor["contact_emails"]] == [
        "ada@one.example",
        "ada@two.example",
    ]
    assert [e["ranking"] for e in survivor["contact_emails"]] == [1, 2]
    assert survivor["contact_phone_numbers"][0]["phone_number"] == "+1 555 0100"
    assert [t["name"] for t in survivor["tags"]] == ["vip"]
    notes = client.get("/timeline", params={"contactId": old["id"]}).json()["data"]["items"]
    assert [n["id"] for n in notes] == [note["id"]]
    assert notes[0]["timeline_items_contacts"] == [{"contact_id": old["id"]}]
    reminders = client.get("/reminders", params={"contactId": old["id"]}).json()["data"]["items"]
    assert [r["id"] for r in reminders] == [reminder["id"]]
    assert client.get("/contacts/count").json()["data"]["count"] == 1


def test_merge_rejects_bad_groups_without_changing_anything(
    client: httpx.Client, create: Create
) -> None:
    a, b = create(client, {"first_name": "A"}, {"first_name": "B"})
    single = client.post("/contacts/merge", json={"contactIds": [[a["id"]]]})
    assert single.status_code == 400
    assert single.json()["message"].startswith("contactIds[0]: ")
    missing = client.post(
        "/contacts/merge", json={"contactIds": [[a["id"], b["id"]], [a["id"], "x"]]}
    )
    assert missing.status_code == 400
    unknown = client.post("/contacts/merge", json={"contactIds": [[a["id"], "nope"]]})
    assert unknown.status_code == 404
    assert "nope" in unknown.json()["message"]
    assert client.get("/contacts/count").json()["data"]["count"] == 2


def test_invalid_payloads_get_400_naming_the_item(client: httpx.Client) -> None:
    cases: list[tuple[Any, str]] = [
        (
            {"contacts": [{"first_name": "A"}, {"contact_emails": [{"email": "no-at-sign"}]}]},
            "contacts[1].contact_emails[0].email: not an email address",
        ),
        (
            {"contacts": [{"birthday": "1990-02-30"}]},
            "contacts[0].birthday: not a date (YYYY-MM-DD, or --MM-DD without a year)",
        ),
        ({"contacts": [{"birthday": "04/01/1990"}]}, "contacts[0].birthday: not a date"),
        ({"contacts": [{"first_name": 42}]}, "contacts[0].first_name: Input should be a valid"),
        ({"contacts": [{"starred": "yes"}]}, "contacts[0].starred: Input should be a valid"),
        ({"contacts": [{"nickname": "Al"}]}, "contacts[0].nickname: unknown field"),
        ({"contacts": [{"contact_phone_numbers": [{}]}]}, "contacts[0].contact_phone_numbers[0]"),
        ([{"first_name": "A"}], 'body: expected an object {"contacts": [...]}'),
        ({"people": []}, "people: unknown field"),
        ({}, "contacts: required"),
    ]
    for payload, expected in cases:
        response = client.post("/contacts", json=payload)
        assert response.status_code == 400, payload
        body = response.json()
        assert body["error"] is True
        assert body["message"].startswith(expected), (payload, body["message"])
    not_json = client.post("/contacts", content=b"{not json")
    assert not_json.json()["message"] == "body: not valid JSON"
    bad_put = client.put("/contacts", json={"contactId": "x"})
    assert bad_put.status_code == 400
    assert bad_put.json()["message"].startswith("body: expected a list")
    assert client.get("/contacts/count").json()["data"]["count"] == 0


def test_client_supplied_ids_are_kept_and_must_be_unique(
    client: httpx.Client, create: Create
) -> None:
    (made,) = create(client, {"id": "11111111-2222-3333-4444-555555555555", "first_name": "A"})
    assert made["id"] == "11111111-2222-3333-4444-555555555555"
    again = client.post("/contacts", json={"contacts": [{"id": made["id"]}]})
    assert again.status_code == 400
    assert again.json()["message"] == "contacts[0].id: already exists"


def test_put_null_clears_scalars_and_lists(client: httpx.Client, create: Create) -> None:
    (ada,) = create(
        client,
        {"first_name": "Ada", "company": "Northwind", "contact_emails": [{"email": "a@b.org"}]},
    )
    response = client.put(f"/contacts/{ada['id']}", json={"company": None, "contact_emails": None})
    data = response.json()["data"]
    assert (data["first_name"], data["company"], data["contact_emails"]) == ("Ada", None, [])
    assert client.post("/contacts/by-emails", json={"emails": ["a@b.org"]}).json()["data"] == []
