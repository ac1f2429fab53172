"""Fault injection shared by every sandbox server (Dex, GoHighLevel, Whautomate).

A sandbox is only useful for rehearsals if it misbehaves the way real APIs do. This module
holds the one :class:`FaultConfig` every emulator reads, the ASGI :class:`FaultMiddleware`
that applies the transport-level faults (latency, rate limiting, 5xx, connections dropped
after a commit) and the :class:`Stats` it keeps, plus :func:`control_routes` for the
``/_sandbox/*`` routes. List-level faults (``page_cap``, ``ignore_cursor``,
``list_summaries``) are read by each emulator's list handlers through the same config.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dexio.errors import UsageError

CONTROL_PREFIX = "/_sandbox"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SERVER_ERRORS = (502, 503, 504)
_DROP_LOG_MESSAGE = "ASGI callable returned without completing response."


@dataclass
class FaultConfig:
    """What a sandbox does wrong on purpose. The defaults make it behave perfectly.

    Changing a field of a running sandbox's config takes effect on the next request.
    """

    rate_limit: float | None = None
    """Requests per second allowed (token bucket, one second of burst); beyond -> 429."""
    fail_rate: float = 0.0
    """Share of requests answered 502/503/504 before the app sees them (nothing written)."""
    latency: float = 0.0
    """Seconds added to every request (an async sleep: concurrent requests overlap)."""
    drop_after_commit: float = 0.0
    """Share of successful writes whose response is cut off after the commit."""
    page_cap: int | None = None
    """Lists return at most this many items whatever ``take`` asks for (Dex: 500)."""
    list_summaries: bool = False
    """Contact lists carry only id, names, company and job title."""
    ignore_cursor: bool = False
    """Lists ignore the cursor and always return the first page."""
    seed: int | None = None
    """Seed for the random choices, for reproducible runs."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`UsageError` naming the first out-of-range option."""
        for name in ("fail_rate", "drop_after_commit"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise UsageError(f"{name} must be between 0 and 1, got {value}")
        if self.latency < 0:
            raise UsageError(f"latency must be >= 0 seconds, got {self.latency}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise UsageError(f"rate_limit must be > 0 requests per second, got {self.rate_limit}")
        if self.page_cap is not None and self.page_cap < 1:
            raise UsageError(f"page_cap must be >= 1, got {self.page_cap}")

    def page_size(self, take: int) -> int:
        """How many items a list returns when the client asked for ``take``."""
        return min(take, self.page_cap) if self.page_cap else take

    def update(self, **changes: Any) -> None:
        """Change some fields at once (validated before anything changes)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise UsageError(f"unknown fault option(s): {', '.join(unknown)}")
        FaultConfig(**{**asdict(self), **changes})  # validates the combination
        for name, value in changes.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class TokenBucket:
    """``rate`` tokens per second, holding at most one second's worth (at least 1)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> float:
        """Take a token: 0.0 when granted, else the seconds until one is available."""
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return 0.0
            return (1.0 - self.tokens) / self.rate


class Stats:
    """Requests seen by route template and status, and the faults injected."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.requests: Counter[tuple[str, str]] = Counter()
            self.faults: Counter[str] = Counter()

    def record(self, route: str, status: int | str) -> None:
        with self._lock:
            self.requests[(route, str(status))] += 1

    def count_fault(self, kind: str) -> None:
        with self._lock:
            self.faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{"requests": {route: {status: n}}, "total": n, "rate_limited": n, ...}``."""
        with self._lock:
            by_route: dict[str, dict[str, int]] = {}
            for (route, status), n in sorted(self.requests.items()):
                by_route.setdefault(route, {})[status] = n
            return {
                "requests": by_route,
                "total": sum(self.requests.values()),
                "rate_limited": self.faults["rate_limited"],
                "server_errors": self.faults["server_error"],
                "dropped": self.faults["dropped"],
            }


class _DropLogFilter(logging.Filter):
    """Hide uvicorn's complaint about the responses we cut off on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != _DROP_LOG_MESSAGE


def install_drop_log_filter() -> None:
    """Idempotently silence uvicorn's error line for deliberately dropped responses."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DropLogFilter) for f in logger.filters):
        logger.addFilter(_DropLogFilter())


def _default_is_write(scope: Scope) -> bool:
    return scope["method"] in WRITE_METHODS


class FaultMiddleware:
    """ASGI middleware applying a :class:`FaultConfig`; ``/_sandbox/*`` is never touched.

    Order per request: latency, then the rate limit (429 + Retry-After), then random 5xx
    (before the app, so nothing is written), then the app; a successful write may then have
    its response cut off: the headers announce more bytes than are sent and the connection
    closes, so the client sees a transport error although the write was committed.
    """

    def __init__(
        self,
        app: ASGIApp,
        config: FaultConfig,
        stats: Stats,
        *,
        routes: Sequence[BaseRoute] = (),
        is_write: Callable[[Scope], bool] = _default_is_write,
    ) -> None:
        self.app = app
        self.config = config
        self.stats = stats
        self.routes = list(routes)
        self.is_write = is_write
        self._bucket: TokenBucket | None = None
        self._rng = random.Random(config.seed)
        self._seed = config.seed
        install_drop_log_filter()

    def reset(self) -> None:
        """Forget the rate-limit state and restart the random sequence."""
        self._bucket = None
        self._rng = random.Random(self.config.seed)
        self._seed = self.config.seed

    def route_label(self, scope: Scope) -> str:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return f"{scope['method']} {getattr(route, 'path', scope['path'])}"
        return f"{scope['method']} {scope['path']}"

    def _bucket_for(self, rate: float) -> TokenBucket:
        if self._bucket is None or self._bucket.rate != rate:
            self._bucket = TokenBucket(rate)
        return self._bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        config = self.config
        if config.seed != self._seed:
            self.reset()
        label = self.route_label(scope)
        if config.latency > 0:
            await asyncio.sleep(config.latency)
        if config.rate_limit:
            wait = self._bucket_for(config.rate_limit).take()
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                self.stats.count_fault("rate_limited")
                self.stats.record(label, 429)
                await _send_json(
                    send,
                    429,
                    {"error": True, "message": f"Too many requests; retry in {retry_after} s"},
                    [(b"retry-after", str(retry_after).encode())],
                )
                return
        if config.fail_rate > 0 and self._rng.random() < config.fail_rate:
            status = self._rng.choice(_SERVER_ERRORS)
            self.stats.count_fault("server_error")
            self.stats.record(label, status)
            await _send_json(
                send, status, {"error": True, "message": f"Injected server error {status}"}
            )
            return
        drop = (
            config.drop_after_commit > 0
            and self.is_write(scope)
            and self._rng.random() < config.drop_after_commit
        )
        outcome: dict[str, Any] = {"status": 500, "dropped": False, "recorded": False}
        held: list[Message] = []

        def record() -> None:
            # Counted before the last byte goes out, so a client that reads the stats
            # right after its response always sees its own request.
            if outcome["recorded"]:
                return
            outcome["recorded"] = True
            if outcome["dropped"]:
                self.stats.count_fault("dropped")
                self.stats.record(label, "dropped")
            else:
                self.stats.record(label, outcome["status"])

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                if drop and 200 <= message["status"] < 300:
                    outcome["dropped"] = True
                    held.append(message)
                    return
            elif message["type"] == "http.response.body" and outcome["dropped"]:
                if not held:  # the cut-off part was sent already; swallow the rest
                    return
                start = held.pop()
                body: bytes = message.get("body", b"")
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body) + 4096).encode()))
                record()
                await send({**start, "headers": headers})
                await send(
                    {
                        "type": "http.response.body",
                        "body": body[: len(body) // 2],
                        "more_body": True,
                    }
                )
                return
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()
            await send(message)

        await self.app(scope, receive, send_wrapper)
        record()


async def _send_json(
    send: Send, status: int, payload: Any, extra_headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(extra_headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def control_routes(
    *,
    config: FaultConfig,
    stats: Stats,
    counts: Callable[[], dict[str, int]],
    reset: Callable[[], None],
) -> list[Route]:
    """The ``/_sandbox`` routes every emulator mounts (no auth, never faulted).

    ``GET /_sandbox/stats``: request counts by route and status, faults injected and the
    store's record counts; ``POST /_sandbox/reset``: empty the store and the stats;
    ``GET``/``PUT /_sandbox/faults``: read or change the fault options of the running server.
    """

    async def get_stats(request: Request) -> JSONResponse:
        return JSONResponse({**stats.snapshot(), **counts()})

    async def post_reset(request: Request) -> JSONResponse:
        reset()
        stats.reset()
        return JSONResponse({"reset": True})

    async def faults(request: Request) -> JSONResponse:
        if request.method == "PUT":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise UsageError("body must be a JSON object of fault options")
                config.update(**changes)
            except (ValueError, TypeError, UsageError) as exc:
                return JSONResponse({"error": True, "message": str(exc)}, status_code=400)
        return JSONResponse(config.as_dict())

    return [
        Route(f"{CONTROL_PREFIX}/stats", get_stats, methods=["GET"]),
        Route(f"{CONTROL_PREFIX}/reset", post_reset, methods=["POST"]),
        Route(f"{CONTROL_PREFIX}/faults", faults, methods=["GET", "PUT"]),
    ]
