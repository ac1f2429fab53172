"""The Whautomate client and mappings against the emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import polars as pl
import pytest

from dexio import schema
from dexio.errors import AuthError, ConfigError, PayloadRejected
from dexio.http import Pacer
from dexio.sandbox.ghl import SlidingWindow
from dexio.whautomate import NO_PHONE, count_lost, from_canonical
from dexio.whautomate.models import ContactIn, LocationRef

from .conftest import WhautomateServer

Start = Callable[..., WhautomateServer]


def test_wrong_key_is_rejected_without_showing_it(wa_server: Start) -> None:
    server = wa_server()
    with server.client(api_key="wa-wrong-key-9876") as wa, pytest.raises(AuthError) as caught:
        list(wa.iter_contacts())
    assert "WHAUTOMATE_API_KEY was rejected (401)" in str(caught.value)
    assert "wa-wrong-key-9876" not in str(caught.value)


def test_bare_array_pages_are_read_to_the_end_even_when_capped(wa_server: Start) -> None:
    server = wa_server()
    server.emulator.max_limit = 3  # asks for 100, gets 3: a short page is not the last one
    with server.client() as wa:
        contacts = list(wa.iter_contacts(limit=100))
        clients = list(wa.iter_clients(limit=100))
    assert len(contacts) == 7 == len({c.id for c in contacts})
    assert len(clients) == 2
    stats = server.sandbox.stats()
    assert stats["requests"]["GET /v1/contacts"]["200"] == 4  # 3 + 3 + 1 + the empty page


def test_contacts_and_clients_map_to_canonical(wa_server: Start) -> None:
    server = wa_server()
    with server.client() as wa:
        frame = wa.read(stage_tags=True)
    assert frame.height == 9
    siti = frame.filter(pl.col("source_id") == "wa_c_0001").row(0, named=True)
    assert siti["full_name"] == "Siti Rahmawati"
    assert siti["phones"][0]["phone_number_sanitized"] == "+6281234567890"
    assert sorted(siti["tags"]) == ["morning", "pilates", "stage:Customer"]
    assert siti["notes"] == [
        {"body": "Books the 7am reformer class every Tuesday.", "created_at": None}
    ]
    extra = json.loads(siti["extra"])
    assert extra["whautomate"]["stage"] == "Customer"
    assert extra["whautomate"]["location"] == {"id": "loc_river_01", "title": "Riverside Studio"}
    assert extra["whautomate"]["channel"] == "WhatsApp"
    assert extra["custom_fields"] == {"Membership": "Gold"}
    amara = frame.filter(pl.col("source_id") == "wa_c_0003").row(0, named=True)
    assert amara["company"] == "Nwosu Textiles"  # custom field "Company" -> its column
    assert json.loads(amara["extra"])["whautomate"]["instagramId"] == "ig_48211907"
    client = frame.filter(pl.col("source_id") == "client:wa_k_0001").row(0, named=True)
    assert client["emails"][0]["email"] == "siti.rahmawati@example.co.id"
    assert client["birthday"] == "1990-08-17"
    assert client["phones"][0]["phone_number"] == "+6281234567890"  # countryCode + phone
    assert client["legacy_location"] == "Jl. Kemang Raya 12, Jakarta"
    daniel = frame.filter(pl.col("source_id") == "wa_c_0002").row(0, named=True)
    assert (
        daniel["phones"][0]["phone_number_sanitized"] is None
    )  # "6598765432": no +, left to normalize


def test_dex_contact_without_phone_is_rejected_with_a_reason(wa_server: Start) -> None:
    server = wa_server(None)
    rows: list[dict[str, Any]] = [
        {"source": "dex", "row": 1, "source_id": "d1", "full_name": "No Phone",
         "emails": [{"email": "np@example.com", "label": None, "ranking": 1}]},
        {"source": "dex", "row": 2, "source_id": "d2", "first_name": "Has", "last_name": "Phone",
         "phones": [{"phone_number": "+1 415 555 0100", "country_code": None,
                     "phone_number_sanitized": "+14155550100", "label": None, "ranking": 1}],
         "tags": ["dex"], "job_title": "Baker",
         "notes": [{"body": "one", "created_at": None}, {"body": "two", "created_at": None}],
         "reminders": [{"text": "call", "due_date": "2025-01-01", "is_complete": False}]},
    ]  # fmt: skip
    outbounds = from_canonical(schema.from_records(rows), location_id="loc_main")
    assert outbounds[0].rejected == NO_PHONE and outbounds[0].contact is None
    with server.client(location_id="loc_main") as wa:
        for out in outbounds:
            if out.contact is not None:
                wa.create_contact(out.contact)
        [created] = list(wa.iter_contacts())
    assert (created.name, created.phoneNumber, created.tags) == (
        "Has Phone",
        "+14155550100",
        ["dex"],
    )
    assert created.notes == "one\n\ntwo"
    assert set(outbounds[1].lost) == {"job_title", "reminders", "notes.joined"}
    assert count_lost(outbounds)["rejected: " + NO_PHONE] == 1


def test_round_trip_dex_shape_to_whautomate_and_back(wa_server: Start) -> None:
    server = wa_server(None)
    rows = [
        {"source": "dex", "row": i, "source_id": f"d{i}", "full_name": f"Person Number{i}",
         "phones": [{"phone_number": f"+4479460{i:05d}", "country_code": None,
                     "phone_number_sanitized": f"+4479460{i:05d}", "label": None, "ranking": 1}],
         "tags": [f"t{i % 3}"], "notes": [{"body": f"note {i}", "created_at": None}]}
        for i in range(1, 6)
    ]  # fmt: skip
    original = schema.from_records(rows)
    with server.client(location_id="loc_main") as wa:
        for out in from_canonical(original):
            assert out.contact is not None
            wa.create_contact(out.contact)
        back = wa.read(with_clients=False)
    columns = ["full_name", "tags"]
    got = back.select(*columns, pl.col("phones").list.first().struct.field("phone_number_sanitized"),
                      pl.col("notes").list.first().struct.field("body")).sort("full_name")  # fmt: skip
    want = original.select(*columns, pl.col("phones").list.first().struct.field("phone_number_sanitized"),
                           pl.col("notes").list.first().struct.field("body")).sort("full_name")  # fmt: skip
    assert got.equals(want)


def test_create_matches_an_existing_phone_in_either_spelling(wa_server: Start) -> None:
    server = wa_server()
    with server.client() as wa:
        contact, created = wa.create_contact(ContactIn(name="Dan K", phoneNumber="+6598765432"))
    assert not created and contact.id == "wa_c_0002"
    assert server.emulator.counts()["contacts"] == 7


def test_update_reads_merges_writes_and_adds_tags(wa_server: Start) -> None:
    server = wa_server()
    with server.client() as wa:
        updated = wa.update_contact(
            "wa_c_0004",
            ContactIn(name="Lukas Brandt", phoneNumber="+4915123456789", tags=["vip"]),
        )
        fresh = wa.get_contact("wa_c_0004")
    assert updated.stage == fresh.stage == "Opportunity"  # kept although not sent
    assert fresh.notes == "Corporate package for 12 people."
    assert fresh.location is not None and fresh.location.id == "loc_hill_02"
    assert fresh.tags == ["corporate", "vip"]


def test_errors_in_a_200_body_are_failures(wa_server: Start) -> None:
    server = wa_server()
    server.emulator.errors_as_200 = True
    with server.client() as wa, pytest.raises(PayloadRejected, match="phoneNumber is required"):
        wa._call("POST", "contacts", json={"name": "X", "location": {"id": "loc_main"}})
    raw = httpx.post(
        f"{server.sandbox.base_url}/v1/contacts",
        json={"name": "X", "location": {"id": "loc_main"}},
        headers={"x-api-key": server.sandbox.api_key.reveal()},
    )
    assert raw.status_code == 200 and "error" in raw.json()


def test_location_is_required_for_creates(wa_server: Start) -> None:
    server = wa_server(None)
    with server.client(location_id="") as wa:
        with pytest.raises(ConfigError, match="WHAUTOMATE_LOCATION_ID"):
            wa.create_contact(ContactIn(name="Y", phoneNumber="+15550001111"))
        made, _ = wa.create_contact(
            ContactIn(name="Y", phoneNumber="+15550001111", location=LocationRef(id="loc_main"))
        )
    assert made.location is not None and made.location.title == "Main Studio"


def test_pacing_stays_under_the_per_minute_limit(wa_server: Start) -> None:
    server = wa_server()
    server.emulator.enforce = True
    server.emulator.window = SlidingWindow(20, 60.0)  # an unpaced burst does hit the limit
    headers = {"x-api-key": server.sandbox.api_key.reveal()}
    with httpx.Client(base_url=server.sandbox.base_url, headers=headers) as raw:
        statuses = [raw.get("/v1/contacts").status_code for _ in range(25)]
    assert statuses.count(429) == 5
    # Whautomate's 100 requests / minute, scaled down to 20 / second for a short test.
    server.emulator.window = SlidingWindow(20, 1.0)
    assert server.sandbox.app is not None
    server.sandbox.app.stats.reset()
    with server.client(pacer=Pacer(20, per=1.0, burst=5)) as wa:
        for _ in range(12):
            assert len(list(wa.iter_contacts(limit=4))) == 7  # 3 requests each
        sent = wa.stats["requests"]
    assert sent >= 36
    assert server.sandbox.stats()["rate_limited"] <= 2


def test_faults_are_survived(wa_server: Start) -> None:
    server = wa_server(fail_rate=0.3, seed=5)
    server.emulator.max_limit = 1  # one record per page: many requests, many chances to fail
    with server.client() as wa:
        frame = wa.read()
    assert frame.height == 9
    assert server.sandbox.stats()["server_errors"] > 0
