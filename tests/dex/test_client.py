"""The Dex v1 client against the sandbox over real HTTP on 127.0.0.1: every method, paging
under each list fault, and one test per transport fault mode."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from dexio.dex import ContactIn, ContactPatch, ContactUpdate, Dex
from dexio.errors import (
    AuthError,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    PayloadRejected,
    RateLimited,
    ServerError,
)
from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox

FAST = RetryPolicy(max_attempts=8, max_total_seconds=30, base_delay=0.01, max_delay=0.1)

Start = Callable[..., Sandbox]


def connect(box: Sandbox, **options: Any) -> Dex:
    options.setdefault("policy", FAST)
    return Dex(api_key=box.api_key, base_url=box.base_url, **options)


def people(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "full_name": f"Person {i:04d}",
            "first_name": "Person",
            "last_name": f"{i:04d}",
            "contact_emails": [{"email": f"p{i}@example.com", "label": "work", "ranking": 1}],
        }
        for i in range(start, start + n)
    ]


def post_count(box: Sandbox, route: str = "POST /v1/contacts") -> dict[str, int]:
    return dict(box.stats()["requests"].get(route, {}))


# -- contacts ---------------------------------------------------------------------------


def test_create_returns_contacts_in_input_order_across_parallel_chunks(dex_sandbox: Start) -> None:
    box = dex_sandbox(latency=0.05)
    items: list[Any] = people(9)
    items[4] = ContactIn(full_name="Model Made", first_name="Model", last_name="Made")
    with connect(box, concurrency=3) as dex:
        created = dex.create_contacts(items, chunk_size=2)
        assert [c.full_name for c in created] == [
            i.full_name if isinstance(i, ContactIn) else i["full_name"] for i in items
        ]
        assert len({c.id for c in created}) == 9
        assert dex.count() == 9
        assert created[0].contact_emails is not None
        assert created[0].contact_emails[0].email == "p0@example.com"
        assert post_count(box) == {"200": 5}


def test_get_update_and_delete(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        a, b, c, d = dex.create_contacts(people(4))
        got = dex.get_contact(a.id)
        assert (got.id, got.full_name) == (a.id, "Person 0000")

        updated = dex.update_contact(a.id, ContactPatch(job_title="Engineer", starred=True))
        assert (updated.job_title, updated.starred, updated.full_name) == (
            "Engineer",
            True,
            "Person 0000",
        )
        count = dex.update_contacts(
            [
                (b.id, {"company": "Acme"}),
                ContactUpdate(contactId=c.id, data=ContactPatch(company="Initech")),
            ]
        )
        assert count == 2
        assert dex.get_contact(b.id).company == "Acme"
        assert dex.get_contact(c.id).company == "Initech"
        # An explicit None clears a field; unset fields stay as they were.
        cleared = dex.update_contact(a.id, ContactPatch(job_title=None))
        assert cleared.job_title is None and cleared.starred is True

        dex.delete_contact(a.id)
        with pytest.raises(NotFound):
            dex.get_contact(a.id)
        assert dex.delete_contacts([b.id, c.id, c.id]) == 2
        assert [x.id for x in dex.iter_contacts()] == [d.id]


def test_contacts_by_emails_chunks_by_50_and_deduplicates(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        created = dex.create_contacts(people(120))
        # Two emails of one contact must not return it twice.
        dex.update_contact(
            created[0].id,
            {
                "contact_emails": [
                    {"email": "p0@example.com", "ranking": 1},
                    {"email": "other0@example.com", "ranking": 2},
                ]
            },
        )
        emails = [f"P{i}@Example.com" for i in range(120)] + [
            "other0@example.com",
            "p5@example.com",
        ]
        found = dex.contacts_by_emails(emails)
        assert sorted(c.id for c in found) == sorted(c.id for c in created)
        assert post_count(box, "POST /v1/contacts/by-emails") == {"200": 3}
        assert dex.contacts_by_emails(["nobody@example.com"]) == []


def test_merge_returns_the_survivor_dex_kept(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        contacts = dex.create_contacts(people(6))
        ids = [c.id for c in contacts]
        # The sandbox, like Dex, keeps the oldest contact whatever the order given.
        survivors = dex.merge([[ids[1], ids[0]], [ids[2], ids[3], ids[4]]])
        assert survivors == [ids[0], ids[2]]
        assert dex.count() == 3
        merged = dex.get_contact(ids[2])
        emails = {e.email for e in merged.contact_emails or []}
        assert emails == {"p2@example.com", "p3@example.com", "p4@example.com"}
        with pytest.raises(ValueError, match="at least two"):
            dex.merge([[ids[5], ids[5]]])


# -- paging -----------------------------------------------------------------------------


def test_iter_contacts_follows_the_cursor_oldest_first(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        created = dex.create_contacts(people(25))
        listed = list(dex.iter_contacts(take=7))
        assert [c.id for c in listed] == [c.id for c in created]
        assert dex.last_listing.complete and dex.last_listing.pages == 4
        assert (dex.last_listing.seen, dex.last_listing.total) == (25, 25)


def test_iter_contacts_copes_with_a_page_cap(dex_sandbox: Start) -> None:
    box = dex_sandbox(page_cap=4)
    with connect(box) as dex:
        created = dex.create_contacts(people(10))
        listed = list(dex.iter_contacts(take=100))  # the server gives 4, not 100
        assert [c.id for c in listed] == [c.id for c in created]
        assert dex.last_listing.complete and dex.last_listing.pages == 3


def test_iter_contacts_terminates_when_the_server_ignores_the_cursor(dex_sandbox: Start) -> None:
    box = dex_sandbox(ignore_cursor=True)
    with connect(box) as dex:
        created = dex.create_contacts(people(12))
        listed = list(dex.iter_contacts(take=5))
        assert [c.id for c in listed] == [c.id for c in created[:5]]
        listing = dex.last_listing
        assert not listing.complete and listing.pages == 2
        assert "5 of 12" in listing.note


def test_iter_contacts_fetches_full_records_when_the_list_has_summaries(
    dex_sandbox: Start,
) -> None:
    box = dex_sandbox(list_summaries=True)
    with connect(box, concurrency=4) as dex:
        created = dex.create_contacts(people(9))
        summaries = list(dex.iter_contacts(take=4, full=False))
        assert all(c.is_summary and c.contact_emails is None for c in summaries)
        full = list(dex.iter_contacts(take=4))
        assert [c.id for c in full] == [c.id for c in created]
        assert [c.contact_emails[0].email for c in full if c.contact_emails] == [
            f"p{i}@example.com" for i in range(9)
        ]
        assert post_count(box, "GET /v1/contacts/{id}") == {"200": 9}


def test_archived_contacts_are_listed_only_on_request(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        a, _b = dex.create_contacts(people(2))
        dex.update_contacts([(a.id, ContactPatch(is_archived=True))])
        assert len(list(dex.iter_contacts())) == 1
        assert len(list(dex.iter_contacts(archived=True))) == 2
        assert (dex.count(), dex.count(archived=True)) == (1, 2)


# -- notes, reminders, tags -------------------------------------------------------------


def test_notes_and_reminders(dex_sandbox: Start) -> None:
    box = dex_sandbox(page_cap=2)
    with connect(box) as dex:
        a, b = dex.create_contacts(people(2))
        first = dex.create_note(a.id, "Met at the conference", event_time="2024-05-01T10:00:00Z")
        assert first.contact_ids == [a.id] and first.note == "Met at the conference"
        for i in range(3):
            dex.create_note([a.id, b.id], f"Call {i}")
        assert len(list(dex.iter_notes())) == 4
        assert [n.note for n in dex.iter_notes(b.id)] == ["Call 0", "Call 1", "Call 2"]

        reminder = dex.create_reminder(
            a.id, "Send the deck", due_at_date="2025-01-31", recurrence="monthly"
        )
        assert (reminder.contact_ids, reminder.recurrence) == ([a.id], "monthly")
        dex.create_reminder(b.id, "Birthday card", due_at_date="2025-03-01")
        assert [r.text for r in dex.iter_reminders(a.id)] == ["Send the deck"]
        assert len(list(dex.iter_reminders())) == 2


def test_tags_by_name_and_by_id(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        a, b = dex.create_contacts(people(2))
        tags = dex.create_assign_tags(a.id, ["VIP", "vip", " Friends ", ""])
        assert sorted(t.name for t in tags) == ["Friends", "VIP"]
        again = dex.create_assign_tags(b.id, ["VIP"])  # reuses the existing tag
        assert [t.id for t in again] == [t.id for t in tags if t.name == "VIP"]
        assert sorted(t.name for t in dex.iter_tags(take=1)) == ["Friends", "VIP"]

        golf = dex.create_tag("Golf")
        assert dex.add_tags([a.id, b.id], [golf.id]) == 2
        assert {t.name for t in dex.get_contact(b.id).tags or []} == {"VIP", "Golf"}
        assert dex.remove_tags([b.id], [golf.id]) == 1
        assert {t.name for t in dex.get_contact(b.id).tags or []} == {"VIP"}


# -- configuration and errors -----------------------------------------------------------


def test_configured_from_the_environment(dex_sandbox_env: Sandbox) -> None:
    with Dex(policy=FAST) as dex:
        assert dex.count() == 0
        assert repr(dex) == f"Dex(base_url={dex_sandbox_env.base_url + '/'!r})"


def test_missing_key_says_how_to_set_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEX_API_KEY", raising=False)
    with pytest.raises(ConfigError) as caught:
        Dex()
    message = str(caught.value)
    assert "DEX_API_KEY is not set" in message and "getdex.com/appv3/settings/api" in message


def test_wrong_key_is_an_auth_error_a_person_can_act_on(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with (
        Dex(api_key="dex_wrong_key_123", base_url=box.base_url) as dex,
        pytest.raises(AuthError) as caught,
    ):
        dex.count()
    assert str(caught.value).startswith(
        "DEX_API_KEY was rejected (401); check the key at getdex.com/appv3/settings/api"
    )
    assert caught.value.exit_code == 3
    assert "dex_wrong_key_123" not in str(caught.value)


def test_invalid_payload_is_rejected_with_the_servers_message(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        bad = people(3)
        bad[1]["contact_emails"] = [{"email": "not-an-email"}]
        with pytest.raises(PayloadRejected) as caught:
            dex.create_chunk(bad)
        assert caught.value.status == 400
        assert "contacts[1].contact_emails[0].email: not an email address" in str(caught.value)
        assert dex.count() == 0  # the whole chunk was refused
        # A field of the wrong type is caught before sending, named the same way.
        with pytest.raises(PayloadRejected, match=r"contacts\[0\]\.birthday_year"):
            dex.create_chunk([{"full_name": "X", "birthday_year": "nineteen"}])
        assert post_count(box) == {"400": 1}


# -- fault modes ------------------------------------------------------------------------


def test_rate_limit_is_honoured_via_retry_after(dex_sandbox: Start) -> None:
    box = dex_sandbox(rate_limit=3)
    with connect(box, concurrency=3) as dex:
        created = dex.create_contacts(people(40), chunk_size=5)
        assert len(created) == 40 and dex.count() == 40
        stats = dex.stats
    served = box.stats()
    assert stats["rate_limited"] > 0
    assert stats["rate_limited"] == served["rate_limited"]
    assert post_count(box)["200"] == 8  # every chunk written once


def test_rate_limit_gives_up_with_a_clear_message(dex_sandbox: Start) -> None:
    box = dex_sandbox(rate_limit=0.5)
    policy = RetryPolicy(max_attempts=8, max_total_seconds=0.5, base_delay=0.01)
    with connect(box, policy=policy) as dex:
        dex.count()
        with pytest.raises(RateLimited) as caught:
            dex.count()
    assert str(caught.value).startswith("Dex is rate limiting; retried 0 times over 0 s")


def test_server_errors_are_retried(dex_sandbox: Start) -> None:
    box = dex_sandbox(fail_rate=0.4, seed=7)
    with connect(box, concurrency=4) as dex:
        created = dex.create_contacts(people(200), chunk_size=10)
        assert [c.full_name for c in created] == [f"Person {i:04d}" for i in range(200)]
        assert dex.stats["retries"] > 0
        box.faults.fail_rate = 0.0
        assert dex.count() == 200  # nothing duplicated by the retries


def test_server_errors_that_persist_become_server_error(dex_sandbox: Start) -> None:
    box = dex_sandbox(fail_rate=1.0)
    policy = RetryPolicy(max_attempts=3, max_total_seconds=5, base_delay=0.01, max_delay=0.02)
    with connect(box, policy=policy) as dex, pytest.raises(ServerError) as caught:
        dex.count()
    assert "retried 2 times" in str(caught.value) and caught.value.status in (502, 503, 504)


def test_writes_can_treat_5xx_as_outcome_unknown(dex_sandbox: Start) -> None:
    box = dex_sandbox(fail_rate=1.0)
    policy = RetryPolicy(max_attempts=3, base_delay=0.01, retry_writes_on_5xx=False)
    with connect(box, policy=policy) as dex, pytest.raises(OutcomeUnknown) as caught:
        dex.create_chunk(people(1))
    assert caught.value.status in (502, 503, 504) and dex.stats["requests"] == 1


def test_dropped_create_is_outcome_unknown_not_a_duplicate(dex_sandbox: Start) -> None:
    box = dex_sandbox(drop_after_commit=1.0)
    with connect(box) as dex:
        with pytest.raises(OutcomeUnknown) as caught:
            dex.create_chunk(people(3))
        assert "may or may not have been applied" in str(caught.value)
        assert post_count(box) == {"dropped": 1}  # sent once, never retried
        box.faults.drop_after_commit = 0.0
        assert dex.count() == 3
        # The caller reconciles by looking the records up.
        found = dex.contacts_by_emails([f"p{i}@example.com" for i in range(3)])
        assert len(found) == 3


def test_dropped_idempotent_update_is_retried(dex_sandbox: Start) -> None:
    box = dex_sandbox()
    with connect(box) as dex:
        (a,) = dex.create_contacts(people(1))
        box.faults.drop_after_commit = 0.5
        box.faults.seed = 3
        for i in range(6):
            assert dex.update_contacts([(a.id, {"job_title": f"Title {i}"})]) == 1
        box.faults.drop_after_commit = 0.0
        assert dex.get_contact(a.id).job_title == "Title 5"
        assert dex.stats["retries"] > 0


def test_latency_with_bounded_concurrency(dex_sandbox: Start) -> None:
    box = dex_sandbox(latency=0.3)
    with connect(box, concurrency=4) as dex:
        started = time.monotonic()
        created = dex.create_contacts(people(80), chunk_size=10)
        elapsed = time.monotonic() - started
        assert [c.full_name for c in created] == [f"Person {i:04d}" for i in range(80)]
        assert elapsed < 8 * 0.3 * 0.8  # eight calls overlapped instead of running in a row


def test_a_slow_answer_to_a_read_is_retried_but_a_write_is_not(dex_sandbox: Start) -> None:
    box = dex_sandbox(latency=0.5)
    policy = RetryPolicy(max_attempts=2, max_total_seconds=5, base_delay=0.01, max_delay=0.02)
    with connect(box, policy=policy, timeout=0.2) as dex:
        with pytest.raises(ServerError, match=r"did not answer.*retried 1 times"):
            dex.count()
        with pytest.raises(OutcomeUnknown):
            dex.create_chunk(people(1))
        # count: first try + one retry; the create: one try, never repeated.
        assert dex.stats == {"requests": 3, "retries": 1, "rate_limited": 0}


@pytest.mark.slow
def test_thousand_contacts_through_rate_limit_and_failures_end_exactly_once(
    dex_sandbox: Start,
) -> None:
    """The issue's "Done when": --rate-limit 5 --fail-rate 0.2, 1,000 in, exactly 1,000 held."""
    box = dex_sandbox(rate_limit=5, fail_rate=0.2, seed=2)
    with Dex(api_key=box.api_key, base_url=box.base_url) as dex:  # the default policy
        created = dex.create_contacts(people(1000))
        assert len({c.id for c in created}) == 1000
        assert dex.count() == 1000
        assert dex.stats["retries"] > 0
