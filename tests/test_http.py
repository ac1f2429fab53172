"""The shared HTTP policy (dexio.http): backoff, Retry-After, pacing, redirects, config checks.

Dex-specific behaviour (5xx, 429, dropped responses against the Dex sandbox) is tested in
tests/dex/; here the policy is exercised over real HTTP on 127.0.0.1 against the
GoHighLevel emulator (it sends X-RateLimit-* headers) and two tiny ASGI peers for redirects.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from dexio.errors import ApiError, ConfigError, ConnectionFailed
from dexio.http import ApiClient, Pacer, RetryPolicy, bounded_map, parse_retry_after
from dexio.sandbox.ghl import GhlEmulator

FAST = RetryPolicy(max_attempts=4, max_total_seconds=5, base_delay=0.01, max_delay=0.05)


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run an ASGI app with uvicorn on a free 127.0.0.1 port in a thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def _json(send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]]) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": data})


class Recorder:
    """An ASGI peer that answers 200 and remembers the headers of every request."""

    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await _json(send, 200, {"ok": True}, [])


def redirector(other_origin: str) -> Any:
    """/same -> 307 to /final on the same origin; /away -> 307 to ``other_origin``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        if path == "/api/same":
            await _json(send, 307, {}, [(b"location", b"/api/final")])
        elif path == "/api/away":
            await _json(send, 307, {}, [(b"location", f"{other_origin}/steal".encode())])
        else:
            await _json(send, 200, {"key_seen": headers.get("authorization", "")}, [])

    return app


KEY = "rk_live_abcdefghijklmnop"


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    future = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 27 <= (parse_retry_after(future) or 0) <= 30
    past = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(past) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    for retry, cap in [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0), (10, 4.0)]:
        waits = [policy.backoff(retry) for _ in range(200)]
        assert all(0.0 <= w <= cap for w in waits)
        assert max(waits) > cap * 0.7 and min(waits) < cap * 0.3  # spread, not fixed


def test_pacer_token_bucket_allows_the_burst_then_the_rate() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    pacer = Pacer(100, per=10, clock=lambda: clock[0], sleep=sleep)
    waited = [pacer.acquire() for _ in range(110)]
    assert waited[:100] == [0.0] * 100  # GoHighLevel's burst of 100
    assert sum(waited[100:]) == pytest.approx(1.0)  # then 10 per second
    pacer.pause(5)
    assert pacer.acquire() == pytest.approx(5.0)


def test_pacer_follows_rate_limit_headers_of_the_ghl_emulator() -> None:
    emulator = GhlEmulator(token=KEY, burst_limit=5, burst_interval_ms=1000)
    with serve(emulator.app) as url:
        client = ApiClient(
            url,
            KEY,
            service="GoHighLevel",
            key_env="GHL_TOKEN",
            headers={"Version": "2021-07-28"},
            policy=FAST,
        )
        with client:
            started = time.monotonic()
            for _ in range(12):
                client.request("GET", f"locations/{emulator.store.location_id}/customFields")
            elapsed = time.monotonic() - started
    # Remaining hit 0 twice: the pacer waited out the window instead of collecting 429s.
    assert emulator.stats.snapshot()["rate_limited"] == 0
    assert client.stats.snapshot() == {"requests": 12, "retries": 0, "rate_limited": 0}
    assert elapsed >= 1.5


def test_key_is_never_sent_to_another_origin_on_redirect() -> None:
    recorder = Recorder()
    with (
        serve(recorder) as other,
        serve(redirector(other.replace("127.0.0.1", "localhost"))) as url,
    ):
        client = ApiClient(url + "/api", KEY, service="Dex", key_env="DEX_API_KEY", policy=FAST)
        with client:
            # Same origin: followed, and the key still goes along.
            assert client.request("GET", "same") == {"key_seen": f"Bearer {KEY}"}
            with pytest.raises(ApiError) as caught:
                client.request("GET", "away")
    assert "redirected" in str(caught.value) and "another host" in str(caught.value)
    assert KEY not in str(caught.value)
    assert recorder.seen == []


def test_connect_errors_are_retried_then_reported_without_outcome_unknown() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = ApiClient(
        f"http://127.0.0.1:{port}/v1", KEY, service="Dex", key_env="DEX_API_KEY", policy=FAST
    )
    with client, pytest.raises(ConnectionFailed) as caught:
        client.request("POST", "contacts", json={"contacts": []}, write=True)
    assert "retried 3 times" in str(caught.value)
    assert client.stats.snapshot()["requests"] == 4


def test_missing_key_and_unsafe_base_url_are_config_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DEX_API_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"DEX_API_KEY is not set.*export DEX_API_KEY="):
        ApiClient("https://api.example.com/v1", None, service="Dex", key_env="DEX_API_KEY")
    with pytest.raises(ConfigError, match="plain http"):
        ApiClient("http://api.example.com/v1", KEY, service="Dex", key_env="DEX_API_KEY")
    monkeypatch.setenv("DEX_API_KEY", KEY)
    client = ApiClient("https://api.example.com/v1", None, service="Dex", key_env="DEX_API_KEY")
    with client:
        assert KEY not in repr(client) and KEY not in repr(client._client.auth)


def test_bounded_map_keeps_order_and_bounds_concurrency() -> None:
    running = [0]
    peak = [0]
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return n * n

    assert bounded_map(work, range(20), 3) == [n * n for n in range(20)]
    assert peak[0] == 3

    def fail_on_five(n: int) -> int:
        if n == 5:
            raise ValueError("five")
        return n

    with pytest.raises(ValueError, match="five"):
        bounded_map(fail_on_five, range(10), 2)


def test_adaptive_pacer_lowers_its_rate_on_a_429_and_raises_it_slowly() -> None:
    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    pacer = Pacer(clock=lambda: clock[0], sleep=sleep)
    assert pacer.adaptive and pacer.rate is None
    for _ in range(40):  # 40 accepted over 2 s: 20/s observed
        assert pacer.acquire() == 0.0  # unthrottled until the server objects
        pacer.accepted()
        clock[0] += 0.05
    pacer.rate_limited(1.0)
    assert pacer.rate == pytest.approx(Pacer.DECREASE * 20, rel=0.1)
    lowered = pacer.rate
    assert lowered is not None
    pacer.rate_limited(1.0)  # another answer of the same episode: not lowered twice
    assert pacer.rate == lowered
    assert pacer.acquire() == pytest.approx(1.0, abs=0.1)  # Retry-After is honoured
    for _ in range(30):  # about two seconds' worth at the lowered rate
        pacer.acquire()
        pacer.accepted()
    assert pacer.rate is not None
    assert lowered < pacer.rate <= lowered * (1 + Pacer.INCREASE) ** 2 * 1.001  # not a jump
    assert not Pacer(10).adaptive and Pacer(adaptive=False).rate is None


def test_adaptive_pacing_keeps_429s_rare_against_a_rate_limited_sandbox(
    dex_sandbox: Any,
) -> None:
    """Dex publishes no limit: against the sandbox's 30/s the default client learns it."""
    from dexio.dex import Dex

    box = dex_sandbox(rate_limit=30)
    calls = 150
    with Dex(api_key=box.api_key, base_url=box.base_url, concurrency=4) as dex:
        bounded_map(lambda _: dex.count(), range(calls), 4)
        rate = dex.http.pacer.rate
        assert dex.stats["rate_limited"] == box.stats()["rate_limited"]
    served = box.stats()
    assert served["rate_limited"] >= 1  # the limit was found by hitting it
    assert served["rate_limited"] < calls / 15  # ...but not by a storm of 429s
    assert rate is not None and Pacer.MIN_RATE < rate < 60
