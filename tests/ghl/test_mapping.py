"""Canonical <-> GoHighLevel, field by field, through the emulator over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import polars as pl

from dexio import schema
from dexio.ghl import GoHighLevel, count_lost, from_canonical
from dexio.ghl.mapping import Outbound

from .conftest import GhlServer

Start = Callable[..., GhlServer]

DEX_LIKE: list[dict[str, Any]] = [
    {
        "source": "dex",
        "row": 1,
        "source_id": "dex-1",
        "first_name": "Noor",
        "last_name": "Haddad",
        "full_name": "Noor Haddad",
        "job_title": "Architect",
        "company": "Haddad Studio",
        "website": "https://haddad.example",
        "legacy_location": "Amman, Jordan",
        "birthday": "1988-09-09",
        "linkedin": "noorhaddad",
        "description": "Met at the Lisbon summit",
        "emails": [
            {"email": "noor@haddad.example", "label": "work", "ranking": 1},
            {"email": "noor.h@example.com", "label": "home", "ranking": 2},
        ],
        "phones": [
            {
                "phone_number": "+962 7 9123 4567",
                "country_code": "+962",
                "phone_number_sanitized": "+962791234567",
                "label": "mobile",
                "ranking": 1,
            }
        ],
        "tags": ["architects", "lisbon"],
        "notes": [
            {"body": "Wants an intro to the museum board", "created_at": "2025-01-02T10:00:00Z"}
        ],
        "reminders": [
            {
                "text": "Send the summit photos\nthe good ones",
                "due_date": "2025-03-01",
                "is_complete": False,
            },
            {"text": "Birthday card", "due_date": None, "is_complete": True},
        ],
        "extra": json.dumps({"starred": True}),
    },
    {
        "source": "dex",
        "row": 2,
        "source_id": "dex-2",
        "first_name": "Kofi",
        "last_name": "Mensah",
        "full_name": "Kofi Mensah",
        "birthday": "--04-12",
        "emails": [{"email": "kofi@example.gh", "label": None, "ranking": 1}],
        "tags": [],
    },
    {"source": "dex", "row": 3, "source_id": "dex-3"},
]


def _push(ghl: GoHighLevel, outbounds: list[Outbound]) -> dict[str, str]:
    ids = {}
    for out in outbounds:
        if out.rejected:
            continue
        created = ghl.create_contact(out.contact.model_copy(update={"tags": out.tags or None}))
        for note in out.notes:
            ghl.add_note(created.id, note)
        for task in out.tasks:
            ghl.add_task(created.id, task)
        ids[str(out.source_id)] = created.id
    return ids


def test_dex_shaped_rows_round_trip_through_ghl(ghl_server: Start) -> None:
    server = ghl_server()  # the sample location defines "Job Title" and "LinkedIn" fields
    frame = schema.from_records(DEX_LIKE)
    with server.client() as ghl:
        outbounds = from_canonical(frame, ghl.custom_fields(), location_id=ghl.location_id)
        assert outbounds[2].rejected is not None and "needs at least one" in outbounds[2].rejected
        ids = _push(ghl, outbounds)
        back = ghl.read().filter(pl.col("source_id").is_in(list(ids.values())))
    noor = back.filter(pl.col("source_id") == ids["dex-1"]).row(0, named=True)
    original = DEX_LIKE[0]
    for column in (
        "first_name",
        "last_name",
        "full_name",
        "job_title",  # through the "Job Title" custom field
        "linkedin",  # through the "LinkedIn" custom field
        "company",
        "website",
        "legacy_location",
        "birthday",
    ):
        assert noor[column] == original[column], column
    assert sorted(noor["tags"]) == sorted(original["tags"])
    assert noor["emails"][0]["email"] == "noor@haddad.example"
    assert noor["phones"][0]["phone_number_sanitized"] == "+962791234567"
    assert [n["body"] for n in noor["notes"]] == ["Wants an intro to the museum board"]
    reminders = {r["text"]: r for r in noor["reminders"]}
    assert reminders["Send the summit photos\nthe good ones"]["due_date"] == "2025-03-01"
    assert reminders["Birthday card"]["is_complete"] is True
    # what GoHighLevel cannot hold is listed, not dropped silently
    assert set(outbounds[0].lost) == {
        "emails",
        "description",
        "extra.starred",
        "reminders.due_date",
    }
    assert outbounds[1].lost == {"birthday": "--04-12"}
    assert count_lost(outbounds)["birthday"] == 1


def test_spill_note_carries_the_unheld_fields(ghl_server: Start) -> None:
    server = ghl_server(None)  # no custom fields at all
    frame = schema.from_records(DEX_LIKE[:1])
    with server.client() as ghl:
        [out] = from_canonical(frame, ghl.custom_fields(), spill_note=True)
        ids = _push(ghl, [out])
        notes = [n.body for n in ghl.notes(ids["dex-1"])]
    spilled = next(n for n in notes if n.startswith("Fields GoHighLevel has no place for"))
    assert "job_title: Architect" in spilled
    assert "linkedin: noorhaddad" in spilled
    assert "noor.h@example.com" in spilled


def test_ghl_to_canonical_to_ghl_keeps_ghl_only_fields(ghl_server: Start) -> None:
    source = ghl_server()
    target = ghl_server(None)
    with source.client() as src, target.client() as dst:
        frame = src.read()
        outbounds = from_canonical(frame, [], location_id=dst.location_id)
        _push(dst, outbounds)
        copied = dst.read()
    assert copied.height == frame.height - 1  # the Takahashi phone twin is refused as a duplicate
    left = frame.filter(pl.col("first_name") == "Maren").row(0, named=True)
    right = copied.filter(pl.col("first_name") == "Maren").row(0, named=True)
    assert right["legacy_location"] == left["legacy_location"]
    assert json.loads(right["extra"])["ghl"]["timezone"] == "America/Los_Angeles"
    assert sorted(r["text"] for r in right["reminders"]) == sorted(
        r["text"] for r in left["reminders"]
    )
