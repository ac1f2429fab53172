"""Properties of the Dex sandbox store over HTTP: what goes in comes back out, and
concurrent writers lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import ClientFactory

TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
SCALARS = ["first_name", "last_name", "full_name", "company", "job_title", "description"]
EMAIL = st.from_regex(r"[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,12}\.[a-z]{2,4}", fullmatch=True)
BIRTHDAY = st.dates().map(lambda d: d.isoformat()) | st.dates().map(lambda d: d.strftime("--%m-%d"))
CONTACT = st.fixed_dictionaries(
    {},
    optional={
        **{name: st.none() | TEXT for name in SCALARS},
        "starred": st.booleans(),
        "birthday": BIRTHDAY,
        "birthday_year": st.integers(1900, 2030),
        "contact_emails": st.lists(
            st.fixed_dictionaries(
                {
                    "email": EMAIL,
                    "label": st.none() | TEXT,
                    "ranking": st.none() | st.integers(1, 9),
                }
            ),
            max_size=3,
        ),
    },
)


def test_what_is_posted_reads_back_unchanged(dex_client: ClientFactory) -> None:
    _, client = dex_client()

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(CONTACT, min_size=1, max_size=5))
    def check(contacts: list[dict[str, Any]]) -> None:
        created = client.post("/contacts", json={"contacts": contacts}).json()["data"]["contacts"]
        assert len(created) == len(contacts)
        for sent, made in zip(contacts, created, strict=True):
            read = client.get(f"/contacts/{made['id']}").json()["data"]
            assert read == made
            for key, value in sent.items():
                assert read[key] == value, key

    check()


def test_concurrent_writers_lose_nothing(dex_client: ClientFactory) -> None:
    sandbox, _ = dex_client()
    headers = {"Authorization": f"Bearer {sandbox.api_key.reveal()}"}

    def post(batch: int) -> list[str]:
        people = [
            {"first_name": f"B{batch}-{i}", "contact_emails": [{"email": f"b{batch}.{i}@x.org"}]}
            for i in range(25)
        ]
        response = httpx.post(
            f"{sandbox.base_url}/contacts", json={"contacts": people}, headers=headers
        )
        return [c["id"] for c in response.json()["data"]["contacts"]]

    with ThreadPoolExecutor(8) as pool:
        ids = [i for batch in pool.map(post, range(16)) for i in batch]
    assert len(set(ids)) == 16 * 25
    assert sandbox.store.count_contacts() == 16 * 25
    found = httpx.post(
        f"{sandbox.base_url}/contacts/by-emails",
        json={"emails": [f"b{b}.0@X.org" for b in range(16)]},
        headers=headers,
    )
    assert len(found.json()["data"]) == 16
