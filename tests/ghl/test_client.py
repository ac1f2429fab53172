"""The GoHighLevel client against the emulator over HTTP: auth, paging, writes, pacing, faults."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from dexio.errors import AuthError, ConfigError
from dexio.ghl.models import API_VERSION, ContactIn, NoteIn, TaskIn
from dexio.http import Pacer, bounded_map
from dexio.sandbox import embedded, register_app
from dexio.sandbox.ghl import SlidingWindow, configure_emulator

from .conftest import GhlServer, generated_location

Start = Callable[..., GhlServer]


def _raw(server: GhlServer, **headers: str) -> httpx.Client:
    return httpx.Client(base_url=server.sandbox.base_url, headers=headers, timeout=10)


def test_version_header_and_token_are_required(ghl_server: Start) -> None:
    server = ghl_server()
    token = server.sandbox.api_key.reveal()
    params = {"locationId": server.location_id}
    with _raw(server, Authorization=f"Bearer {token}") as raw:
        missing = raw.get("/contacts/", params=params)
        assert missing.status_code == 401
        assert missing.json()["message"] == "version header was not found."
        wrong = raw.get("/contacts/", params=params, headers={"Version": "2020-01-01"})
        assert wrong.json()["message"] == "version header is invalid"
        other = raw.get(
            "/contacts/", params={"locationId": "someone-else"}, headers={"Version": API_VERSION}
        )
        assert other.status_code == 403
    with (
        server.client(token="pit-not-the-right-token-123") as bad,
        pytest.raises(AuthError) as caught,
    ):
        list(bad.iter_contacts())
    assert "GHL_TOKEN was rejected (401)" in str(caught.value)
    assert "pit-not-the-right-token-123" not in str(caught.value)


def test_missing_location_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from dexio.ghl import GoHighLevel

    monkeypatch.delenv("GHL_LOCATION_ID", raising=False)
    monkeypatch.setenv("GHL_TOKEN", "pit-some-token")
    with pytest.raises(ConfigError, match="GHL_LOCATION_ID"):
        GoHighLevel()


def test_read_sample_location_into_canonical_frame(ghl_server: Start) -> None:
    server = ghl_server()
    with server.client() as ghl:
        frame = ghl.read()
    assert frame.height == 10
    maren = frame.filter(frame["source_id"] == "aB1cD2eF3gH4iJ5kL6mN").row(0, named=True)
    assert (maren["first_name"], maren["last_name"], maren["full_name"]) == (
        "Maren",
        "Okafor",
        "Maren Okafor",
    )
    assert [e["email"] for e in maren["emails"]] == [
        "Maren.Okafor@example.org",
        "maren@corvid-rowing.example",
    ]
    assert maren["phones"][0]["phone_number_sanitized"] == "+14155550142"
    assert maren["company"] == "Corvid Rowing Club"
    assert maren["legacy_location"] == "88 Fulton St, San Francisco, CA 94102, US"
    assert maren["birthday"] == "1986-03-14"
    assert maren["job_title"] == "Head Coach"  # custom field "Job Title" -> its column
    assert sorted(maren["tags"]) == ["knee rehab", "vip"]
    assert maren["notes"][0]["body"].startswith("First assessment")
    assert maren["notes"][0]["created_at"] == "2024-02-03T10:00:00.000Z"
    assert {
        "text": "Send club discount offer\n10% for members, valid till July",
        "due_date": "2024-06-30",
        "is_complete": False,
    } in maren["reminders"]
    extra = json.loads(maren["extra"])
    assert extra["custom_fields"] == {"Lead Score": 82}
    assert extra["ghl"]["timezone"] == "America/Los_Angeles"
    assert extra["ghl"]["businessId"] == "biz_corvid_01"
    # dateOfBirth written as a datetime reads as a date; plain-string additionalEmails too
    olumide = frame.filter(frame["first_name"] == "Olumide").row(0, named=True)
    assert olumide["birthday"] == "2001-01-05"
    priya = frame.filter(frame["full_name"] == "Priya Raman").row(0, named=True)
    assert [e["email"] for e in priya["emails"]][1] == "priya@raman-iyer.example"


def test_search_pages_past_the_cap_with_search_after(ghl_server: Start) -> None:
    server = ghl_server(generated_location(230))
    server.emulator.search_cap = 100
    with server.client() as ghl:
        ids = [c.id for c in ghl.iter_contacts(page_limit=40)]
        assert len(ids) == 230 == len(set(ids))
        # the page-number route really stops at the cap: the trap the cursor avoids
        body = {"locationId": server.location_id, "pageLimit": 40, "page": 3}
        with pytest.raises(Exception, match="searchAfter"):
            ghl.api.request("POST", "contacts/search", json=body)
        legacy = [c.id for c in ghl.iter_contacts_legacy(limit=100)]
    assert sorted(legacy) == sorted(ids)


def test_legacy_list_repeats_its_first_page_without_both_cursor_parts(ghl_server: Start) -> None:
    server = ghl_server(generated_location(30))
    token = server.sandbox.api_key.reveal()
    with _raw(server, Authorization=f"Bearer {token}", Version=API_VERSION) as raw:
        first = raw.get("/contacts/", params={"locationId": server.location_id, "limit": 10})
        meta = first.json()["meta"]
        only_id = raw.get(
            "/contacts/",
            params={
                "locationId": server.location_id,
                "limit": 10,
                "startAfterId": meta["startAfterId"],
            },
        )
        both = raw.get(
            "/contacts/",
            params={
                "locationId": server.location_id,
                "limit": 10,
                "startAfterId": meta["startAfterId"],
                "startAfter": meta["startAfter"],
            },
        )
    ids = lambda r: [c["id"] for c in r.json()["contacts"]]  # noqa: E731
    assert ids(only_id) == ids(first)
    assert not set(ids(both)) & set(ids(first))
    assert meta["total"] == 30


def test_updated_since_pulls_only_changed_contacts(ghl_server: Start) -> None:
    server = ghl_server()
    with server.client() as ghl:
        everyone = list(ghl.iter_contacts())
        since = max(c.dateUpdated or "" for c in everyone)
        time.sleep(0.01)
        for contact in everyone[:3]:
            ghl.update_contact(contact.id, ContactIn(companyName="Changed Ltd"))
        changed = list(ghl.iter_contacts(updated_since=since))
    assert sorted(c.id for c in changed) == sorted(c.id for c in everyone[:3])
    assert {c.companyName for c in changed} == {"Changed Ltd"}


def test_duplicate_create_names_the_existing_contact(ghl_server: Start) -> None:
    server = ghl_server(None)
    with server.client() as ghl:
        first = ghl.create_contact(ContactIn(firstName="Ana", email="ana@example.com"))
        again = ghl.create_contact(ContactIn(firstName="Ana B", email="ANA@example.com"))
        by_phone = ghl.create_contact(ContactIn(firstName="Bo", phone="+1 (415) 555-0199"))
        phone_again = ghl.create_contact(ContactIn(firstName="Bo", phone="+14155550199"))
    assert first.created and not again.created
    assert again.id == first.id and again.matching_field == "email"
    assert phone_again.id == by_phone.id and phone_again.matching_field == "phone"
    assert server.emulator.counts()["contacts"] == 2


def test_updates_add_tags_and_never_overwrite_them(ghl_server: Start) -> None:
    server = ghl_server(None)
    with server.client() as ghl:
        created = ghl.create_contact(ContactIn(firstName="Cy", email="cy@example.com", tags=["a"]))
        updated = ghl.update_contact(created.id, ContactIn(lastName="Young", tags=["b"]))
        assert updated.tags == ["a"]  # the client never sends tags on PUT
        assert ghl.add_tags(created.id, ["b", "a"]) == ["a", "b"]
        assert ghl.remove_tags(created.id, ["a"]) == ["b"]
        # the trap itself: a raw PUT with tags replaces them all
        ghl.api.request("PUT", f"contacts/{created.id}", json={"tags": ["z"]})
        assert ghl.get_contact(created.id).tags == ["z"]


def test_unknown_properties_and_ids_are_refused_like_ghl(ghl_server: Start) -> None:
    server = ghl_server(None)
    with server.client() as ghl:
        created = ghl.create_contact(ContactIn(firstName="Di", email="di@example.com"))
        with pytest.raises(Exception, match="additionalEmails should not exist"):
            ghl.api.request(
                "PUT", f"contacts/{created.id}", json={"additionalEmails": ["x@example.com"]}
            )
        with pytest.raises(Exception, match="not found") as caught:
            ghl.get_contact("no-such-id")
    assert getattr(caught.value, "status", None) == 400


def test_notes_and_tasks_round_trip(ghl_server: Start) -> None:
    server = ghl_server(None)
    with server.client() as ghl:
        created = ghl.create_contact(ContactIn(firstName="Ed", phone="+14155550123"))
        ghl.add_note(created.id, NoteIn(body="Met at the conference"))
        ghl.add_task(
            created.id,
            TaskIn(title="Send deck", body="v2", dueDate="2025-02-01T00:00:00.000Z"),
        )
        assert [n.body for n in ghl.notes(created.id)] == ["Met at the conference"]
        [task] = ghl.tasks(created.id)
    assert (task.title, task.body, task.dueDate, task.completed) == (
        "Send deck",
        "v2",
        "2025-02-01T00:00:00.000Z",
        False,
    )


def test_pacing_stays_under_the_burst_limit(ghl_server: Start) -> None:
    server = ghl_server()
    # GoHighLevel's 100 requests / 10 s, scaled down to 30 / 1 s to keep the test short.
    server.emulator.enforce = True
    server.emulator.window = SlidingWindow(30, 1.0)
    server.emulator.burst_interval_ms = 1000
    with _raw(server) as raw:  # an unpaced burst does hit the limit
        token = server.sandbox.api_key.reveal()
        headers = {"Authorization": f"Bearer {token}", "Version": API_VERSION}
        statuses = [
            raw.get(f"/locations/{server.location_id}/customFields", headers=headers).status_code
            for _ in range(40)
        ]
    assert statuses.count(429) == 10
    time.sleep(1.1)
    assert server.sandbox.app is not None
    server.sandbox.app.stats.reset()
    with server.client(pacer=Pacer(30, per=1.0), concurrency=4) as ghl:
        contacts = list(ghl.iter_contacts(page_limit=1))
        ids = [c.id for c in contacts]
        for _ in range(3):
            bounded_map(ghl.notes, ids, 4)
            bounded_map(ghl.tasks, ids, 4)
        sent = ghl.stats["requests"]
    stats = server.sandbox.stats()
    assert sent >= 70
    assert stats["rate_limited"] <= 3, stats
    assert len(ids) == 10


def test_faults_lose_nothing_and_duplicate_nothing(ghl_server: Start) -> None:
    server = ghl_server(None, fail_rate=0.2, drop_after_commit=0.3, seed=11)
    with server.client() as ghl:
        results = [
            ghl.create_contact(ContactIn(firstName=f"F{i}", email=f"f{i}@example.com"))
            for i in range(40)
        ]
        everyone = list(ghl.iter_contacts(page_limit=7))
    stats = server.sandbox.stats()
    assert stats["server_errors"] > 0 and stats["dropped"] > 0
    assert len({r.id for r in results}) == 40
    assert len(everyone) == 40 == server.emulator.counts()["contacts"]


def test_serve_options_reach_the_emulator(tmp_path: Path) -> None:
    """`dexio sandbox serve --api ghl --search-cap N --burst-limit N` wiring."""
    try:
        configure_emulator("ghl", burst_limit=7, search_cap=50, allow_duplicates=True)
        with embedded(db=tmp_path / "g.sqlite", api="ghl") as box:
            emulator = box.store
            assert (emulator.search_cap, emulator.window.limit) == (50, 7)
            assert emulator.enforce and emulator.allow_duplicates
        configure_emulator("whautomate", burst_limit=9)
        with embedded(db=tmp_path / "w.sqlite", api="whautomate") as box:
            assert box.store.window.limit == 9 and box.store.enforce
    finally:
        register_app("ghl", "dexio.sandbox.ghl:create_sandbox_app")
        register_app("whautomate", "dexio.sandbox.whautomate:create_sandbox_app")
