"""The one retry, backoff and pacing policy every API client (Dex, GoHighLevel, Whautomate) shares.

:class:`ApiClient` wraps one :class:`httpx.Client` and turns every failure into a
:mod:`dexio.errors` exception a person can act on. What is retried, and why:

* **Connection errors before anything was sent** (connect error/timeout, pool timeout):
  always retried; nothing reached the server.
* **429, 502, 503, 504**: retried, honouring ``Retry-After`` (seconds or an HTTP date),
  otherwise exponential backoff with full jitter, capped in attempts and total seconds.
  *Assumption:* a 5xx answer means the server did **not** apply the request. That holds for
  the sandbox (it injects failures before writing) and for the usual gateway/overload
  errors of an API in front of a database transaction; set
  ``RetryPolicy(retry_writes_on_5xx=False)`` to treat a 5xx answer to a write as
  :class:`~dexio.errors.OutcomeUnknown` instead.
* **A write whose response never arrived** (``write=True``; read error, dropped
  connection or read timeout *after* the request was sent): **not** retried. Dex has no
  idempotency key, so a blind retry may duplicate; :class:`~dexio.errors.OutcomeUnknown`
  lets the caller look the records up first. Idempotent calls (GET, PUT of absolute
  values, DELETE) are retried.

Keys are kept as :class:`dexio.secrets.Secret`, added per request by an ``httpx.Auth``
hook, never put in a URL, and every server message is passed through
:func:`dexio.secrets.redact`. Redirects are followed only within the same scheme, host and
port, so the key is never sent to another host. TLS verification is always on (a custom
CA bundle can be given the standard way, ``SSL_CERT_FILE``).
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Self, TypeVar, cast

import httpx

from dexio.config import config_path, find_key
from dexio.errors import (
    ApiError,
    AuthError,
    ConfigError,
    ConnectionFailed,
    NotFound,
    OutcomeUnknown,
    PayloadRejected,
    RateLimited,
    ServerError,
)
from dexio.secrets import Secret, redact

log = logging.getLogger("dexio.http")

T = TypeVar("T")
R = TypeVar("R")

RETRYABLE_STATUSES: frozenset[int] = frozenset({429, 502, 503, 504})
DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)
_LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_MAX_REDIRECTS = 5
# Errors raised before a single byte of the request left this machine.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. The defaults give up after 8 retries or 60 s."""

    max_attempts: int = 9
    max_total_seconds: float = 60.0
    base_delay: float = 0.5
    max_delay: float = 20.0
    retry_statuses: frozenset[int] = RETRYABLE_STATUSES
    retry_writes_on_5xx: bool = True

    def backoff(self, retry: int) -> float:
        """Full jitter: a uniform wait in ``[0, min(max_delay, base_delay * 2**retry)]``."""
        ceiling = min(self.max_delay, self.base_delay * (2**retry))
        return random.uniform(0.0, ceiling)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class Pacer:
    """A token bucket shared by every thread of one client, plus server-requested pauses.

    ``Pacer(100, per=10)`` allows bursts of 100 and 10 requests/s on average (GoHighLevel's
    published limit). ``Pacer()`` is for an API that publishes no limit (Dex): it starts
    unthrottled and **adapts** (additive increase, multiplicative decrease). On a 429 it
    waits out ``Retry-After`` and sets its rate to :attr:`DECREASE` times the rate of
    requests the server accepted over the last :attr:`WINDOW_S` seconds (never more than
    before); after each second's worth of accepted requests without a 429 it raises the
    rate by :attr:`INCREASE` of itself. Every pacer makes all threads wait out a
    ``Retry-After`` or an exhausted ``X-RateLimit-Remaining`` seen by any of them.
    ``adaptive`` overrides the default (on exactly when no rate is given).
    """

    #: Share of the recently accepted rate kept after a 429.
    DECREASE = 0.7
    #: Growth of the rate per second's worth of accepted requests without a 429.
    INCREASE = 0.05
    #: Seconds of accepted requests that estimate the server's rate.
    WINDOW_S = 2.0
    #: The adaptive rate never drops below this (requests/s).
    MIN_RATE = 0.5

    def __init__(
        self,
        requests: float | None = None,
        per: float = 1.0,
        *,
        burst: int | None = None,
        adaptive: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests is not None and (requests <= 0 or per <= 0):
            raise ValueError("Pacer needs a positive number of requests per positive period")
        self.rate = requests / per if requests else None
        self.capacity = float(burst or max(1, int(requests))) if requests else 0.0
        self.adaptive = requests is None if adaptive is None else adaptive
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._paused_until = 0.0
        self._accepted: deque[float] = deque()
        self._first_accepted: float | None = None
        self._streak = 0
        self._calm_until = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        rate = f"{self.rate:g}/s" if self.rate else "unlimited"
        return f"Pacer({rate}, burst={self.capacity:g}{', adaptive' if self.adaptive else ''})"

    def acquire(self) -> float:
        """Block until a request may go out; returns the seconds waited.

        A caller short of a token reserves the next one (the bucket goes negative) and
        sleeps until it is due, so waiting threads are served in order without spinning.
        """
        waited = 0.0
        while True:
            reserved = False
            with self._lock:
                now = self._clock()
                delay = self._paused_until - now
                if delay <= 0:
                    if self.rate is None:
                        return waited
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._stamp) * self.rate
                    )
                    self._stamp = now
                    self._tokens -= 1.0
                    if self._tokens >= 0.0:
                        return waited
                    delay, reserved = -self._tokens / self.rate, True
            self._sleep(delay)
            waited += delay
            if reserved:
                return waited

    def accepted(self) -> None:
        """The server accepted a request (any answer but 429): count it for the adaptive
        rate, and raise that rate after a second's worth of them in a row."""
        if not self.adaptive:
            return
        with self._lock:
            now = self._clock()
            if self._first_accepted is None:
                self._first_accepted = now
            self._accepted.append(now)
            while self._accepted and self._accepted[0] < now - self.WINDOW_S:
                self._accepted.popleft()
            if self.rate is None:
                return
            self._streak += 1
            if self._streak >= max(1.0, self.rate):
                self._streak = 0
                self._set_rate(self.rate * (1.0 + self.INCREASE), now)

    def rate_limited(self, retry_after: float) -> None:
        """The server answered 429: pause everyone ``retry_after`` seconds and, when
        adaptive, lower the rate (once per episode: 429s to requests already in flight
        do not lower it again)."""
        self.pause(retry_after)
        if not self.adaptive:
            return
        with self._lock:
            now = self._clock()
            self._streak = 0
            if now < self._calm_until:
                return
            self._calm_until = now + retry_after + 1.0
            while self._accepted and self._accepted[0] < now - self.WINDOW_S:
                self._accepted.popleft()
            start = self._first_accepted if self._first_accepted is not None else now
            span = min(self.WINDOW_S, max(now - start, 1.0))
            observed = len(self._accepted) / span
            lowered = self.DECREASE * (min(observed, self.rate) if self.rate else observed)
            self._set_rate(max(self.MIN_RATE, lowered), now)

    def _set_rate(self, rate: float, now: float) -> None:
        """Change the adaptive rate (lock held): one second's worth of burst at most."""
        if self.rate is not None:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now
        self.rate = rate
        self.capacity = max(1.0, rate)
        self._tokens = min(self._tokens, self.capacity)

    def pause(self, seconds: float) -> None:
        """Hold every request of this pacer back for ``seconds`` (e.g. a ``Retry-After``)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Follow the server's own count when it sends rate-limit headers.

        Understands ``X-RateLimit-Remaining`` / ``RateLimit-Remaining`` with a reset given as
        ``X-RateLimit-Reset`` / ``RateLimit-Reset`` (seconds, or a Unix time) or as
        ``X-RateLimit-Interval-Milliseconds`` (GoHighLevel's window length).
        """
        remaining = _header_number(headers, "x-ratelimit-remaining", "ratelimit-remaining")
        if remaining is None:
            return
        if remaining > 0:
            with self._lock:  # the server's view wins when it is stricter than ours
                if self.rate is not None and self._tokens > remaining:
                    self._tokens = float(remaining)
            return
        reset = _header_number(headers, "x-ratelimit-reset", "ratelimit-reset")
        if reset is not None:
            wait_s = reset - time.time() if reset > 1e9 else reset
        else:
            interval = _header_number(headers, "x-ratelimit-interval-milliseconds")
            wait_s = interval / 1000.0 if interval is not None else 1.0
        self.pause(min(max(wait_s, 0.0), 300.0))


def _header_number(headers: Mapping[str, str], *names: str) -> float | None:
    for name in names:
        value = headers.get(name)
        if value is None:
            continue
        try:
            return float(value.split(",")[0].strip())
        except ValueError:
            continue
    return None


@dataclass
class Stats:
    """Counters one client keeps: requests sent, retries made, 429 answers seen."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, *, requests: int = 0, retries: int = 0, rate_limited: int = 0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.rate_limited += rate_limited

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "rate_limited": self.rate_limited,
            }


class _KeyAuth(httpx.Auth):
    """Adds the key header to each request at send time, so it lives nowhere else."""

    def __init__(self, header: str, prefix: str, key: Secret) -> None:
        self._header = header
        self._prefix = prefix
        self._key = key

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._header] = self._prefix + self._key.reveal()
        yield request

    def __repr__(self) -> str:
        return f"<key in {self._header}: ***>"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


class ApiClient:
    """One API's HTTP session: auth, retries, pacing, error mapping and counters.

    Thread-safe: one instance is shared by the worker threads of :func:`bounded_map`.
    ``service`` and ``key_env`` only shape the messages (``"Dex"``, ``"DEX_API_KEY"``), so
    the GoHighLevel and Whautomate clients reuse this class unchanged.
    """

    def __init__(
        self,
        base_url: str,
        key: Secret | str | None,
        *,
        service: str,
        key_env: str,
        key_help: str | None = None,
        auth_header: str = "Authorization",
        auth_prefix: str = "Bearer ",
        headers: Mapping[str, str] | None = None,
        policy: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 16,
    ) -> None:
        self.service = service
        self.key_env = key_env
        self.key_help = key_help
        secret = find_key(key_env, key)
        if not secret:
            where = f" (create one at {key_help})" if key_help else ""
            raise ConfigError(
                f"{key_env} is not set. Put your {service} API key{where} in the environment: "
                f"export {key_env}=...  (or pass it as an argument, or write "
                f'{key_env.lower()} = "..." into {config_path()[0]}, chmod 600).'
            )
        self.base_url = _check_base_url(base_url, service)
        self.policy = policy or RetryPolicy()
        self.pacer = pacer or Pacer()
        self.stats = Stats()
        self._client = httpx.Client(
            base_url=self.base_url,
            auth=_KeyAuth(auth_header, auth_prefix, secret),
            headers={"Accept": "application/json", **(headers or {})},
            timeout=timeout,
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            ),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(service={self.service!r}, base_url={self.base_url!r})"

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request loop -------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        write: bool = False,
    ) -> Any:
        """Send one call with the retry policy; return the decoded JSON body (None if empty).

        ``write=True`` marks a call that is not safe to repeat (a create): if it was sent
        and no response came back, :class:`OutcomeUnknown` is raised instead of retrying.
        """
        method = method.upper()
        policy = self.policy
        started = time.monotonic()
        retries = 0
        while True:
            self.pacer.acquire()
            self.stats.add(requests=1)
            failure: Callable[[int, float], ApiError]
            try:
                response = self._send(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                reason = redact(_describe(exc))
                if isinstance(exc, _NOT_SENT):
                    failure = self._connection_failed(reason)
                elif write:
                    raise OutcomeUnknown(
                        f"{self.service} may have received {method} {_path_only(path)}, but its "
                        f"answer never arrived ({reason}); the write may or may not have been applied. "
                        "Look the records up before sending them again.",
                        service=self.service,
                    ) from None
                else:
                    failure = self._no_answer(reason)
                delay = policy.backoff(retries)
                log.debug("%s %s: %s (retry %d)", method, _path_only(path), reason, retries + 1)
            else:
                status = response.status_code
                self.pacer.observe(response.headers)
                if status != 429:
                    self.pacer.accepted()
                if status < 300:
                    return self._decode(response)
                if status not in policy.retry_statuses:
                    raise self._status_error(response)
                if write and status >= 500 and not policy.retry_writes_on_5xx:
                    raise OutcomeUnknown(
                        f"{self.service} answered {status} to {method} {_path_only(path)}; the "
                        "write may or may not have been applied. Look the records up first.",
                        status=status,
                        service=self.service,
                    )
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                delay = retry_after if retry_after is not None else policy.backoff(retries)
                if status == 429:
                    self.stats.add(rate_limited=1)
                    self.pacer.rate_limited(delay)
                failure = self._retry_exhausted(response, retry_after)
                log.debug(
                    "%s %s: %d, waiting %.2f s (retry %d)",
                    method,
                    _path_only(path),
                    status,
                    delay,
                    retries + 1,
                )
            elapsed = time.monotonic() - started
            if retries + 1 >= policy.max_attempts or elapsed + delay > policy.max_total_seconds:
                raise failure(retries, elapsed)
            time.sleep(delay)
            retries += 1
            self.stats.add(retries=1)

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None,
    ) -> httpx.Response:
        request = self._client.build_request(method, path, json=json, params=cast(Any, params))
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._client.send(request)
            if not response.is_redirect:
                return response
            response.read()
            target = request.url.join(response.headers["location"])
            same_method = response.status_code in (307, 308) or method in ("GET", "HEAD")
            if _origin(target) != _origin(request.url) or not same_method:
                raise ApiError(
                    f"{self.service} redirected {method} {request.url.path} to "
                    f"{target.scheme}://{target.host}{target.path}; dexio does not follow "
                    "redirects to another host or that change the method, so your key was not "
                    "sent there. Check the base URL.",
                    status=response.status_code,
                    service=self.service,
                )
            request = self._client.build_request(method, target, json=json)
        raise ApiError(f"{self.service} redirected too many times", service=self.service)

    # -- turning answers into results or errors -------------------------------------------

    def _decode(self, response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(
                f"{self.service} answered {response.status_code} with something that is not "
                f"JSON: {redact(response.text[:200])!r}",
                status=response.status_code,
                service=self.service,
            ) from None

    def server_message(self, response: httpx.Response) -> str:
        """The server's own explanation from an error body, redacted and shortened."""
        text = ""
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            for key in ("message", "error_description", "msg", "error", "detail"):
                value = body.get(key)
                if isinstance(value, str) and value:
                    text = value
                    break
                if isinstance(value, list) and value:
                    text = "; ".join(str(v) for v in value)
                    break
        if not text:
            text = response.text.strip() or response.reason_phrase
        return redact(text[:500])

    def _status_error(self, response: httpx.Response) -> ApiError:
        status = response.status_code
        message = self.server_message(response)
        service = self.service
        if status in (401, 403):
            where = f"; check the key at {self.key_help}" if self.key_help else ""
            return AuthError(
                f"{self.key_env} was rejected ({status}){where} ({service} said: {message})",
                status=status,
                service=service,
            )
        if status == 404:
            return NotFound(
                f"{service}: not found (404): {message}", status=status, service=service
            )
        if status in (400, 413, 422):
            error = PayloadRejected(
                f"{service} rejected the request ({status}): {message}",
                status=status,
                service=service,
            )
            error.server_message = message  # type: ignore[attr-defined]
            # The decoded body, for callers that need more than the message (GoHighLevel
            # names the existing contact of a refused duplicate in ``meta``).
            error.body = _json_body(response)  # type: ignore[attr-defined]
            return error
        if status >= 500:
            return ServerError(
                f"{service} failed with {status}: {message}", status=status, service=service
            )
        return ApiError(f"{service} answered {status}: {message}", status=status, service=service)

    def _retry_exhausted(
        self, response: httpx.Response, retry_after: float | None
    ) -> Callable[[int, float], ApiError]:
        status = response.status_code
        message = self.server_message(response)
        service = self.service

        def build(retries: int, elapsed: float) -> ApiError:
            tried = f"retried {retries} times over {elapsed:.0f} s"
            if status == 429:
                asked = f" (it asks to wait {retry_after:.0f} s more)" if retry_after else ""
                return RateLimited(
                    f"{service} is rate limiting; {tried}{asked}. Try again later or lower the "
                    "request rate.",
                    status=429,
                    service=service,
                )
            return ServerError(
                f"{service} failed with {status} ({message}); {tried}. Try again later.",
                status=status,
                service=service,
            )

        return build

    def _connection_failed(self, reason: str) -> Callable[[int, float], ApiError]:
        def build(retries: int, elapsed: float) -> ApiError:
            return ConnectionFailed(
                f"could not connect to {self.service} at {self.base_url} ({reason}); "
                f"retried {retries} times over {elapsed:.0f} s. Check the network and the base URL.",
                service=self.service,
            )

        return build

    def _no_answer(self, reason: str) -> Callable[[int, float], ApiError]:
        def build(retries: int, elapsed: float) -> ApiError:
            return ServerError(
                f"{self.service} did not answer ({reason}); retried {retries} times over "
                f"{elapsed:.0f} s. Try again later.",
                service=self.service,
            )

        return build


class ServiceClient:
    """What every API client (Dex, the legacy Dex API, GoHighLevel, Whautomate) does with
    its :class:`ApiClient` ``http``: close it, also as a context manager, and report its
    counters."""

    http: ApiClient

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent, retries made and 429 answers seen so far."""
        return self.http.stats.snapshot()


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _check_base_url(base_url: str, service: str) -> str:
    url = httpx.URL(base_url)
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{service} base URL {base_url!r} is not an http(s) URL")
    if url.scheme == "http" and url.host not in _LOOPBACK_HOSTS:
        raise ConfigError(
            f"{service} base URL {base_url!r} uses plain http to another machine; the API key "
            "would travel unencrypted. Use https (plain http is allowed only for 127.0.0.1)."
        )
    return base_url.rstrip("/") + "/"


def _path_only(path: str) -> str:
    return path.split("?", 1)[0]


def _describe(exc: httpx.TransportError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text


def bounded_map(fn: Callable[[T], R], items: Iterable[T], concurrency: int) -> list[R]:
    """``[fn(x) for x in items]`` on at most ``concurrency`` threads, results in input order.

    On the first failure no further item is started and that exception is raised once the
    calls already in flight have finished (so nothing is left running in the background).
    """
    work = list(items)
    if concurrency <= 1 or len(work) <= 1:
        return [fn(item) for item in work]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(work))) as pool:
        futures: list[Future[R]] = [pool.submit(fn, item) for item in work]
        done, _ = wait(futures, return_when=FIRST_EXCEPTION)
        failed = next((f for f in futures if f in done and f.exception() is not None), None)
        if failed is not None:
            for future in futures:
                future.cancel()
            wait(futures)
            error = failed.exception()
            assert error is not None
            raise error
        return [future.result() for future in futures]
