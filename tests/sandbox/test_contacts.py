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
