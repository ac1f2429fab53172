"""The legacy api/rest client against the sandbox's legacy routes (same store as v1)."""

from __future__ import annotations

from collections.abc import Callable

from dexio.dex import Dex, DexLegacy, to_canonical
from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox

FAST = RetryPolicy(max_attempts=6, max_total_seconds=20, base_delay=0.01, max_delay=0.05)


def seed(box: Sandbox, n: int) -> list[str]:
    with Dex(api_key=box.api_key, base_url=box.base_url, policy=FAST) as dex:
        created = dex.create_contacts(
            [
                {
                    "full_name": f"Old Friend {i}",
                    "first_name": "Old",
                    "last_name": f"Friend {i}",
                    "contact_emails": [{"email": f"old{i}@example.net"}],
                    "contact_phone_numbers": [{"phone_number": f"+3161234567{i}"}],
                }
                for i in range(n)
            ]
        )
        ids = [c.id for c in created]
        dex.create_note(ids[0], "Lunch", event_time="2023-05-19T01:03:27+00:00")
        dex.create_note([ids[0], ids[1]], "Dinner")
        dex.create_reminder(ids[1], "Call back", due_at_date="2023-06-01")
    return ids


def test_legacy_reads_contacts_notes_and_reminders(dex_sandbox: Callable[..., Sandbox]) -> None:
    box = dex_sandbox()
    ids = seed(box, 8)
    with DexLegacy(api_key=box.api_key, base_url=box.legacy_url, policy=FAST) as legacy:
        contacts = list(legacy.iter_contacts(limit=3))
        assert [c.id for c in contacts] == ids
        assert contacts[2].emails[0].email == "old2@example.net"
        assert contacts[2].phones[0].phone_number == "+31612345672"

        one = legacy.get_contact(ids[4])
        assert one is not None and one.last_name == "Friend 4"
        assert legacy.get_contact("missing") is None
        assert [c.id for c in legacy.search_by_email("OLD5@example.net")] == [ids[5]]

        notes = list(legacy.iter_timeline_items(limit=1))
        assert sorted(n.note or "" for n in notes) == ["Dinner", "Lunch"]
        assert [n.note for n in legacy.iter_timeline_items(ids[1])] == ["Dinner"]
        reminders = list(legacy.iter_reminders())
        assert [(r.body, [c.contact_id for c in r.contact_ids]) for r in reminders] == [
            ("Call back", [ids[1]])
        ]
        frame = to_canonical(contacts)
        assert frame["source_id"].to_list() == ids
        assert frame["emails"].list.len().to_list() == [1] * 8


def test_legacy_paging_survives_a_page_cap(dex_sandbox: Callable[..., Sandbox]) -> None:
    box = dex_sandbox(page_cap=2)
    ids = seed(box, 7)
    with DexLegacy(api_key=box.api_key, base_url=box.legacy_url, policy=FAST) as legacy:
        assert [c.id for c in legacy.iter_contacts(limit=100)] == ids
