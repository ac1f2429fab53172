"""Each fault mode of the shared fault layer, seen from an HTTP client."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from dexio.errors import UsageError
from dexio.sandbox import FaultConfig, faults

from .conftest import ClientFactory

NEW = {"contacts": [{"first_name": "Ann"}]}


def test_rate_limit_answers_429_with_integer_retry_after(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client(rate_limit=0.2)  # one request per 5 s
    statuses = [client.get("/contacts/count").status_code for _ in range(4)]
    assert statuses == [200, 429, 429, 429]
    limited = client.get("/contacts/count")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 5
    assert limited.json()["error"] is True
    sandbox.faults.rate_limit = 1000  # a new limit takes effect at once
    assert client.get("/contacts/count").status_code == 200
    stats = sandbox.stats()
    assert stats["rate_limited"] == 4
    assert stats["requests"]["GET /v1/contacts/count"] == {"200": 2, "429": 4}


def test_token_bucket_allows_one_second_of_burst_then_paces(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = [100.0]
    monkeypatch.setattr(faults.time, "monotonic", lambda: clock[0])
    bucket = faults.TokenBucket(2)
    assert [bucket.take(), bucket.take()] == [0.0, 0.0]
    assert bucket.take() == pytest.approx(0.5)
    clock[0] += 0.5
    assert bucket.take() == 0.0
    assert bucket.take() == pytest.approx(0.5)
    slow = faults.TokenBucket(0.5)  # below one per second the burst is still one request
    assert slow.take() == 0.0
    assert slow.take() == pytest.approx(2.0)


def test_fail_rate_mixes_502_503_504_and_writes_nothing(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client(fail_rate=1.0, seed=7)
    statuses = {client.post("/contacts", json=NEW).status_code for _ in range(30)}
    assert statuses == {502, 503, 504}
    assert sandbox.store.count_contacts() == 0
    assert sandbox.stats()["server_errors"] == 30


def test_fail_rate_share_is_roughly_honoured_and_seeded(dex_client: ClientFactory) -> None:
    outcomes = []
    for _ in range(2):
        _, client = dex_client(fail_rate=0.3, seed=42)
        outcomes.append([client.get("/contacts/count").status_code for _ in range(100)])
    assert outcomes[0] == outcomes[1]  # same seed, same sequence
    failures = sum(status >= 500 for status in outcomes[0])
    assert 15 <= failures <= 45


def test_latency_is_per_request_and_concurrent_requests_overlap(
    dex_client: ClientFactory,
) -> None:
    sandbox, _ = dex_client(latency=0.3)
    headers = {"Authorization": f"Bearer {sandbox.api_key.reveal()}"}

    async def burst() -> float:
        async with httpx.AsyncClient(base_url=sandbox.base_url, headers=headers) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(*(client.get("/contacts/count") for _ in range(8)))
            assert all(r.status_code == 200 for r in responses)
            return time.perf_counter() - started

    elapsed = asyncio.run(burst())
    assert 0.3 <= elapsed < 8 * 0.3  # slowed down, but not serialised


def test_drop_after_commit_commits_then_breaks_the_connection(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client(drop_after_commit=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/contacts", json=NEW)
    # the write above did happen; reads (by-emails is a POST, but a read) are never dropped
    assert client.get("/contacts/count").json()["data"]["count"] == 1
    assert client.post("/contacts/by-emails", json={"emails": ["x@y.org"]}).status_code == 200
    with pytest.raises(httpx.TransportError):
        client.put("/contacts", json=[])
    stats = sandbox.stats()
    assert stats["dropped"] == 2
    assert stats["requests"]["POST /v1/contacts"] == {"dropped": 1}


def test_drop_after_commit_leaves_failed_writes_alone(dex_client: ClientFactory) -> None:
    _, client = dex_client(drop_after_commit=1.0)
    response = client.post("/contacts", json={"contacts": [{"birthday": "nope"}]})
    assert response.status_code == 400


def test_control_routes_are_never_faulted(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client(fail_rate=1.0, rate_limit=0.5)
    assert client.get("/contacts/count").status_code in {502, 503, 504}  # took the one token
    assert client.get("/contacts/count").status_code == 429
    with httpx.Client(base_url=sandbox.root_url) as control:
        for _ in range(5):
            assert control.get("/_sandbox/stats").status_code == 200
        assert control.get("/_sandbox/faults").json()["fail_rate"] == 1.0
    assert sandbox.stats()["rate_limited"] == 1


def test_reset_empties_the_store_and_stats(dex_client: ClientFactory) -> None:
    sandbox, client = dex_client()
    client.post("/contacts", json=NEW)
    assert sandbox.stats()["contacts"] == 1
    sandbox.reset()
    stats = sandbox.stats()
    assert (stats["contacts"], stats["total"]) == (0, 0)
    assert client.get("/contacts/count").json()["data"]["count"] == 0


def test_fault_options_are_checked() -> None:
    for bad in ({"fail_rate": 1.5}, {"rate_limit": 0}, {"latency": -1}, {"page_cap": 0}):
        with pytest.raises(UsageError):
            FaultConfig(**bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="unknown fault"):
        FaultConfig().update(explode=True)


def test_stats_already_count_a_request_when_its_response_arrives(
    dex_client: ClientFactory,
) -> None:
    sandbox, _ = dex_client()
    headers = {"Authorization": f"Bearer {sandbox.api_key.reveal()}"}

    async def burst() -> None:
        async with httpx.AsyncClient(base_url=sandbox.base_url, headers=headers) as client:
            await asyncio.gather(*(client.get("/contacts/count") for _ in range(20)))

    asyncio.run(burst())
    assert sandbox.stats()["requests"]["GET /v1/contacts/count"] == {"200": 20}
