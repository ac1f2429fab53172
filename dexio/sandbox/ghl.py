"""A local GoHighLevel (LeadConnector) contacts API v2 on SQLite, for tests and rehearsals.

It implements the routes :mod:`dexio.ghl.client` uses, with GoHighLevel's own auth (Bearer
token, a required ``Version`` header, one location), envelopes and status codes, and its
traps modelled after ``../shared/reference/ghl-api-notes.md``: page-based search stops at a
result window (``search_cap``, 10,000 by default) beyond which only ``searchAfter`` works;
the deprecated ``GET /contacts/`` repeats its first page unless both cursor parts are sent;
a create whose email or phone already exists is refused with 400 (the location disallows
duplicates); ``PUT`` overwrites tags; unknown properties get a 422; unknown ids a 400, not a
404. Every response carries the ``X-RateLimit-*`` headers, and with ``burst_limit`` set the
100-requests-per-10-s window is enforced with 429s. ``/_sandbox/stats`` counts requests
and 429s (the Dex sandbox's control routes and fault layer, shared) so tests can check pacing.

The store, the sliding-window limiter and the fault wiring defined here are shared with the
Whautomate emulator (:mod:`dexio.sandbox.whautomate`).
"""

from __future__ import annotations

import collections
import datetime as dt
import functools
import json
import math
import sqlite3
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import phonenumbers
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dexio.sandbox.faults import FaultConfig, FaultMiddleware, Stats, control_routes
from dexio.sandbox.server import SandboxApp, register_app

API_VERSION = "2021-07-28"
DEFAULT_TOKEN = "pit-sandbox-ghl-token"
DEFAULT_LOCATION = "loc_sandbox_0001"
BURST_LIMIT = 100
BURST_INTERVAL_MS = 10_000
DAILY_LIMIT = 200_000
SEARCH_CAP = 10_000

#: Properties ``POST /contacts/`` accepts; anything else is a 422 like the real validator.
WRITABLE = frozenset(
    {
        "firstName",
        "lastName",
        "name",
        "email",
        "phone",
        "address1",
        "city",
        "state",
        "postalCode",
        "country",
        "website",
        "timezone",
        "dnd",
        "dndSettings",
        "tags",
        "source",
        "customFields",
        "companyName",
        "dateOfBirth",
        "assignedTo",
        "gender",
        "type",
    }
)


# -- shared by both CRM emulators ------------------------------------------------------


class SlidingWindow:
    """At most ``limit`` requests in any ``interval`` seconds (a log of recent timestamps)."""

    def __init__(self, limit: int, interval: float) -> None:
        self.limit = limit
        self.interval = interval
        self._stamps: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def take(self, now: float | None = None) -> tuple[bool, int, float]:
        """Count one request: (allowed, remaining after it, seconds until a slot frees)."""
        now = time.monotonic() if now is None else now
        with self._lock:
            while self._stamps and self._stamps[0] <= now - self.interval:
                self._stamps.popleft()
            if len(self._stamps) >= self.limit:
                wait = self._stamps[0] + self.interval - now
                return False, 0, max(wait, 0.0)
            self._stamps.append(now)
            return True, self.limit - len(self._stamps), 0.0


def wrap(emulator: Any, routes: list[Route], config: FaultConfig | None) -> SandboxApp:
    """An emulator's routes plus the shared ``/_sandbox/*`` control routes, behind the Dex
    sandbox's fault layer (so ``--fail-rate``, ``--latency``... work the same everywhere).

    ``emulator`` provides ``counts()``, ``reset()`` and ``close()``; it is what
    ``Sandbox.store`` hands to tests, so they can inspect it and change its settings.
    """
    config = config or FaultConfig()
    stats = Stats()
    app = Starlette(
        routes=[
            *routes,
            *control_routes(
                config=config, stats=stats, counts=emulator.counts, reset=emulator.reset
            ),
        ]
    )
    return SandboxApp(
        asgi=FaultMiddleware(app, config, stats, routes=routes),
        base_path="",
        store=emulator,
        stats=stats,
        faults=config,
        close=emulator.close,
    )


class Emulator:
    """What the GoHighLevel and Whautomate emulators share: a :class:`JsonStore`, a
    :class:`SlidingWindow` enforced only when a limit was configured, and :func:`wrap`'s
    fault layer and control routes. A subclass sets ``store``, ``window`` and ``enforce``,
    defines ``_routes()`` and calls :meth:`_mount`."""

    store: JsonStore
    window: SlidingWindow
    enforce: bool

    def _routes(self) -> list[Route]:
        raise NotImplementedError

    def _mount(self, faults: FaultConfig | None) -> None:
        self.sandbox = wrap(self, self._routes(), faults)
        self.app, self.faults, self.stats = (
            self.sandbox.asgi,
            self.sandbox.faults,
            self.sandbox.stats,
        )

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def reset(self) -> None:
        self.store.reset()
        self.window = SlidingWindow(self.window.limit, self.window.interval)

    def close(self) -> None:
        self.store.close()

    def _take(self) -> tuple[str | None, int]:
        """Count a request against the window: the ``Retry-After`` to answer 429 with
        (``None`` when it may go through) and the requests remaining."""
        allowed, remaining, wait = self.window.take()
        if not allowed and self.enforce:
            self.stats.count_fault("rate_limited")
            return str(max(1, math.ceil(wait))), remaining
        return None, remaining


def seed_store(store: JsonStore, path: str | Path) -> dict[str, int]:
    """Load a sample account JSON file into ``store`` and close it (``sandbox seed``)."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    try:
        return store.seed(data)
    finally:
        store.close()


def now_iso() -> str:
    """The current UTC time as GoHighLevel/Whautomate write it: ISO-8601 with ms and Z."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def iso_to_ms(value: str) -> int:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return int(parsed.timestamp() * 1000)


def e164(value: str, region: str = "US") -> str:
    """A phone in E.164 when it parses, else the digits (and a leading +) as given."""
    try:
        parsed = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(c for c in value if c.isdigit())
    return ("+" + digits) if value.strip().startswith("+") else digits


def new_id() -> str:
    return uuid.uuid4().hex[:20]


class JsonStore:
    """Tables of JSON documents in SQLite, ordered by insertion, for the CRM emulators."""

    def __init__(self, db: str | Path, tables: Iterable[str]) -> None:
        self.path = str(db)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.lock = threading.RLock()
        if self.path != ":memory:":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.tables = tuple(tables)
        for table in self.tables:
            self.conn.execute(
                f"CREATE TABLE IF NOT EXISTS {table} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                "id TEXT UNIQUE NOT NULL, parent TEXT, data TEXT NOT NULL)"
            )
            self.conn.execute(f"CREATE INDEX IF NOT EXISTS {table}_parent ON {table}(parent)")

    def put(self, table: str, doc: Mapping[str, Any], parent: str | None = None) -> None:
        with self.lock:
            self.conn.execute(
                f"INSERT INTO {table}(id, parent, data) VALUES (?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET data = excluded.data, parent = excluded.parent",
                (doc["id"], parent, json.dumps(doc)),
            )

    def get(self, table: str, doc_id: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(f"SELECT data FROM {table} WHERE id = ?", (doc_id,)).fetchone()
        return json.loads(row[0]) if row else None

    def delete(self, table: str, doc_id: str) -> bool:
        with self.lock:
            cur = self.conn.execute(f"DELETE FROM {table} WHERE id = ?", (doc_id,))
        return cur.rowcount > 0

    def all(self, table: str, parent: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            if parent is None:
                rows = self.conn.execute(f"SELECT data FROM {table} ORDER BY seq").fetchall()
            else:
                rows = self.conn.execute(
                    f"SELECT data FROM {table} WHERE parent = ? ORDER BY seq", (parent,)
                ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def count(self, table: str) -> int:
        with self.lock:
            return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def delete_children(self, table: str, parent: str) -> None:
        with self.lock:
            self.conn.execute(f"DELETE FROM {table} WHERE parent = ?", (parent,))

    def seed(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Load a sample account; returns how many of each kind were loaded."""
        raise NotImplementedError

    def counts(self) -> dict[str, int]:
        return {table: self.count(table) for table in self.tables if table != "settings"}

    def reset(self) -> None:
        for table in self.tables:
            if table != "settings":
                self.clear(table)

    def clear(self, table: str) -> None:
        with self.lock:
            self.conn.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        self.conn.close()


Handler = Callable[[Request], Awaitable[Response]]


# -- GoHighLevel -----------------------------------------------------------------------


class GhlError(Exception):
    """An error the emulator answers with GoHighLevel's envelope."""

    def __init__(self, status: int, message: str | list[str], **extra: Any) -> None:
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.extra = extra


def _ghl_error_response(exc: GhlError) -> JSONResponse:
    body: dict[str, Any] = {"statusCode": exc.status, "message": exc.message}
    if exc.status == 401:
        body["error"] = "Unauthorized"
    elif exc.status == 422:
        body["error"] = "Unprocessable Entity"
    body.update(exc.extra)
    body["traceId"] = str(uuid.uuid4())
    return JSONResponse(body, status_code=exc.status)


class GhlStore(JsonStore):
    """One GoHighLevel location: contacts, notes, tasks, custom fields, businesses."""

    def __init__(self, db: str | Path = ":memory:", location_id: str | None = None) -> None:
        super().__init__(
            db, ("contacts", "notes", "tasks", "custom_fields", "businesses", "settings")
        )
        saved = self.get("settings", "location")
        self.location_id = location_id or (saved["value"] if saved else DEFAULT_LOCATION)
        self.put("settings", {"id": "location", "value": self.location_id})

    # The duplicate check and the search run over every contact; a location holds at most
    # tens of thousands, so a scan of parsed JSON is fast enough for an emulator.
    def contacts(self) -> list[dict[str, Any]]:
        return self.all("contacts")

    def find_duplicate(
        self, email: str | None, phone: str | None, exclude: str | None = None
    ) -> tuple[dict[str, Any], str] | None:
        email_l = email.lower() if email else None
        for contact in self.contacts():
            if contact["id"] == exclude:
                continue
            if email_l and contact.get("emailLowerCase") == email_l:
                return contact, "email"
            if phone and contact.get("phone") == phone:
                return contact, "phone"
        return None

    def seed(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Load a sample location (``samples/ghl/*.json``): contacts with notes and tasks,
        custom-field definitions and businesses. Returns how many of each were loaded."""
        counts = collections.Counter[str]()
        location = data.get("location") or {}
        if location.get("id"):
            self.location_id = location["id"]
            self.put("settings", {"id": "location", "value": self.location_id})
        for field in data.get("customFields", []):
            self.put("custom_fields", {**field, "model": field.get("model", "contact")})
            counts["customFields"] += 1
        for business in data.get("businesses", []):
            self.put("businesses", {**business, "locationId": self.location_id})
            counts["businesses"] += 1
        for raw in data.get("contacts", []):
            item = dict(raw)
            notes = item.pop("notes", [])
            tasks = item.pop("tasks", [])
            contact = {
                "id": item.get("id") or new_id(),
                "locationId": self.location_id,
                "dateAdded": item.get("dateAdded") or now_iso(),
                "tags": [],
                "customFields": [],
                "type": "lead",
                **item,
            }
            contact.setdefault("dateUpdated", contact["dateAdded"])
            _derive(contact)
            self.put("contacts", contact)
            counts["contacts"] += 1
            for note in notes:
                doc = {
                    "id": note.get("id") or new_id(),
                    "body": note["body"],
                    "userId": note.get("userId"),
                    "dateAdded": note.get("dateAdded") or contact["dateAdded"],
                    "contactId": contact["id"],
                }
                self.put("notes", doc, parent=contact["id"])
                counts["notes"] += 1
            for task in tasks:
                doc = {
                    "id": task.get("id") or new_id(),
                    "title": task["title"],
                    "body": task.get("body"),
                    "assignedTo": task.get("assignedTo"),
                    "dueDate": task["dueDate"],
                    "completed": bool(task.get("completed", False)),
                    "contactId": contact["id"],
                }
                self.put("tasks", doc, parent=contact["id"])
                counts["tasks"] += 1
        return dict(counts)


def _derive(contact: dict[str, Any]) -> None:
    """Fill GoHighLevel's computed fields: full name, lowered email, E.164 phone."""
    first, last = contact.get("firstName"), contact.get("lastName")
    if first or last:
        contact["name"] = " ".join(p for p in (first, last) if p)
    email = contact.get("email")
    contact["emailLowerCase"] = email.lower() if email else None
    if contact.get("phone"):
        contact["phone"] = e164(contact["phone"])


def _dob_to_iso(value: str) -> str:
    """Accept the birth date spellings GoHighLevel accepts; store ``YYYY-MM-DD``."""
    text = value.strip()[:10]
    for sep in ("/", ".", "-"):
        parts = text.split(sep)
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            if len(parts[0]) == 4:
                y, m, d = parts
            else:
                m, d, y = parts
            try:
                return dt.date(int(y), int(m), int(d)).isoformat()
            except ValueError:
                break
    raise GhlError(422, [f"dateOfBirth {value!r} is not a valid date"])


def _dob_as_datetime(value: str | None) -> str | None:
    return f"{value}T00:00:00.000Z" if value and len(value) == 10 else value


class _Filter:
    """GoHighLevel search filters: ``{field, operator, value}`` and ``{group, filters}``."""

    FIELDS: ClassVar[dict[str, str]] = {
        "email": "emailLowerCase",
        "phone": "phone",
        "id": "id",
        "tags": "tags",
        "firstName": "firstName",
        "lastName": "lastName",
        "companyName": "companyName",
        "dateAdded": "dateAdded",
        "dateUpdated": "dateUpdated",
        "businessId": "businessId",
    }

    def __init__(self, spec: list[Any]) -> None:
        self.spec = spec

    def matches(self, contact: Mapping[str, Any]) -> bool:
        return all(self._one(f, contact) for f in self.spec)

    def _one(self, f: Mapping[str, Any], contact: Mapping[str, Any]) -> bool:
        if "group" in f:
            results = [self._one(sub, contact) for sub in f.get("filters", [])]
            return any(results) if str(f["group"]).upper() == "OR" else all(results)
        field = f.get("field")
        if field not in self.FIELDS:
            raise GhlError(422, [f"filters.field {field!r} is not supported"])
        op = f.get("operator")
        value = f.get("value")
        have = contact.get(self.FIELDS[field])
        if field == "email" and isinstance(value, str):
            value = value.lower()
        if field == "phone" and isinstance(value, str):
            value = e164(value)
        if op == "eq":
            return value in have if isinstance(have, list) else have == value
        if op == "not_eq":
            return value not in have if isinstance(have, list) else have != value
        if op in ("contains", "not_contains"):
            hit = (
                value in have
                if isinstance(have, list)
                else isinstance(have, str) and str(value).lower() in have.lower()
            )
            return hit if op == "contains" else not hit
        if op == "exists":
            return bool(have)
        if op == "not_exists":
            return not have
        if op == "range" and isinstance(value, Mapping):
            if not have:
                return False
            ms = iso_to_ms(have)
            for key, cmp in (
                ("gt", lambda a, b: a > b),
                ("gte", lambda a, b: a >= b),
                ("lt", lambda a, b: a < b),
                ("lte", lambda a, b: a <= b),
            ):
                if key in value and not cmp(ms, iso_to_ms(str(value[key]))):
                    return False
            return True
        raise GhlError(422, [f"filters.operator {op!r} is not supported for {field}"])


def _query_matches(contact: Mapping[str, Any], query: str) -> bool:
    q = query.lower().strip()
    if not q:
        return True
    hay = " ".join(
        str(contact.get(k) or "") for k in ("name", "emailLowerCase", "phone", "companyName")
    ).lower()
    return q in hay or (q.lstrip("+").isdigit() and q.lstrip("+") in (contact.get("phone") or ""))


def _order_key(contact: Mapping[str, Any]) -> tuple[int, str]:
    return iso_to_ms(contact["dateAdded"]), contact["id"]


class GhlEmulator(Emulator):
    """The GoHighLevel emulator: a store, its settings, its stats, and an ASGI app."""

    store: GhlStore

    def __init__(
        self,
        store: GhlStore | None = None,
        *,
        token: str = DEFAULT_TOKEN,
        readonly_token: str | None = None,
        burst_limit: int | None = None,
        burst_interval_ms: int = BURST_INTERVAL_MS,
        search_cap: int = SEARCH_CAP,
        allow_duplicates: bool = False,
        faults: FaultConfig | None = None,
    ) -> None:
        self.store = store or GhlStore()
        self.token = token
        self.readonly_token = readonly_token
        self.enforce = burst_limit is not None
        self.window = SlidingWindow(burst_limit or BURST_LIMIT, burst_interval_ms / 1000)
        self.burst_interval_ms = burst_interval_ms
        self.search_cap = search_cap
        self.allow_duplicates = allow_duplicates
        self._daily_used = 0
        self._mount(faults)

    # -- plumbing ----------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        r = self._route
        routes = [
            Route("/contacts/search", r(self.search, write=False), methods=["POST"]),
            Route("/contacts/upsert", r(self.upsert, write=True), methods=["POST"]),
            Route("/contacts/", r(self.list_contacts, write=False), methods=["GET"]),
            Route("/contacts", r(self.list_contacts, write=False), methods=["GET"]),
            Route("/contacts/", r(self.create, write=True), methods=["POST"]),
            Route("/contacts", r(self.create, write=True), methods=["POST"]),
            Route(
                "/contacts/business/{business_id}",
                r(self.business_contacts, write=False),
                methods=["GET"],
            ),
            Route("/contacts/{contact_id}", r(self.get_contact, write=False), methods=["GET"]),
            Route("/contacts/{contact_id}", r(self.update, write=True), methods=["PUT"]),
            Route("/contacts/{contact_id}", r(self.delete, write=True), methods=["DELETE"]),
            Route("/contacts/{contact_id}/tags", r(self.add_tags, write=True), methods=["POST"]),
            Route(
                "/contacts/{contact_id}/tags", r(self.remove_tags, write=True), methods=["DELETE"]
            ),
            Route("/contacts/{contact_id}/notes", r(self.list_notes, write=False), methods=["GET"]),
            Route("/contacts/{contact_id}/notes", r(self.add_note, write=True), methods=["POST"]),
            Route(
                "/contacts/{contact_id}/notes/{note_id}",
                r(self.get_note, write=False),
                methods=["GET"],
            ),
            Route("/contacts/{contact_id}/tasks", r(self.list_tasks, write=False), methods=["GET"]),
            Route("/contacts/{contact_id}/tasks", r(self.add_task, write=True), methods=["POST"]),
            Route(
                "/contacts/{contact_id}/tasks/{task_id}",
                r(self.get_task, write=False),
                methods=["GET"],
            ),
            Route(
                "/contacts/{contact_id}/tasks/{task_id}",
                r(self.update_task, write=True),
                methods=["PUT"],
            ),
            Route(
                "/contacts/{contact_id}/tasks/{task_id}/completed",
                r(self.complete_task, write=True),
                methods=["PUT"],
            ),
            Route(
                "/locations/{location_id}/customFields",
                r(self.custom_fields, write=False),
                methods=["GET"],
            ),
            Route("/businesses/{business_id}", r(self.get_business, write=False), methods=["GET"]),
        ]
        return routes

    def _route(self, handler: Handler, *, write: bool) -> Handler:
        async def endpoint(request: Request) -> Response:
            retry_after, remaining = self._take()
            if retry_after is not None:
                response: Response = JSONResponse(
                    {"statusCode": 429, "message": "Too Many Requests"}, status_code=429
                )
                response.headers["Retry-After"] = retry_after
            else:
                self._daily_used += 1
                try:
                    self._authorize(request, write=write)
                    response = await handler(request)
                except GhlError as exc:
                    response = _ghl_error_response(exc)
            response.headers["X-RateLimit-Max"] = str(self.window.limit)
            response.headers["X-RateLimit-Remaining"] = str(remaining)
            response.headers["X-RateLimit-Interval-Milliseconds"] = str(self.burst_interval_ms)
            response.headers["X-RateLimit-Limit-Daily"] = str(DAILY_LIMIT)
            response.headers["X-RateLimit-Daily-Remaining"] = str(DAILY_LIMIT - self._daily_used)
            return response

        return endpoint

    def _authorize(self, request: Request, *, write: bool) -> None:
        auth = request.headers.get("authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if token not in {self.token, self.readonly_token} - {None}:
            raise GhlError(401, "Invalid JWT")
        version = request.headers.get("version")
        if version is None:
            raise GhlError(401, "version header was not found.")
        if version != API_VERSION:
            raise GhlError(401, "version header is invalid")
        if write and token != self.token:
            raise GhlError(401, "The token is not authorized for this scope.")

    def _location(self, value: Any) -> None:
        if not value:
            raise GhlError(422, ["locationId should not be empty"])
        if value != self.store.location_id:
            raise GhlError(403, "The token does not have access to this location.")

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise GhlError(400, "Unexpected token in JSON body") from None
        if not isinstance(body, dict):
            raise GhlError(422, ["body must be an object"])
        return body

    def _contact(self, contact_id: str) -> dict[str, Any]:
        contact = self.store.get("contacts", contact_id)
        if contact is None:
            raise GhlError(400, f"Contact with id {contact_id} not found")
        return contact

    # -- contacts ----------------------------------------------------------------------

    async def search(self, request: Request) -> Response:
        body = await self._json(request)
        self._location(body.get("locationId"))
        limit = body.get("pageLimit")
        if not isinstance(limit, int) or not 1 <= limit <= 500:
            raise GhlError(422, ["pageLimit must be an integer between 1 and 500"])
        flt = _Filter(list(body.get("filters") or []))
        query = str(body.get("query") or "")
        hits = sorted(
            (c for c in self.store.contacts() if flt.matches(c) and _query_matches(c, query)),
            key=_order_key,
        )
        after = body.get("searchAfter")
        if after:
            if not (isinstance(after, list) and len(after) == 2):
                raise GhlError(422, ["searchAfter must be [sortValue, id]"])
            cursor = (int(after[0]), str(after[1]))
            page = [c for c in hits if _order_key(c) > cursor][:limit]
        else:
            number = int(body.get("page") or 1)
            if number < 1:
                raise GhlError(422, ["page must not be less than 1"])
            if number * limit > self.search_cap:
                raise GhlError(
                    400,
                    f"Page-based search is limited to the first {self.search_cap} records; "
                    "use searchAfter to read further.",
                )
            page = hits[(number - 1) * limit : number * limit]
        out = []
        for c in page:
            item = dict(c)
            item["searchAfter"] = list(_order_key(c))
            out.append(item)
        return JSONResponse({"contacts": out, "total": len(hits), "traceId": str(uuid.uuid4())})

    async def list_contacts(self, request: Request) -> Response:
        params = request.query_params
        self._location(params.get("locationId"))
        limit = int(params.get("limit") or 20)
        if not 1 <= limit <= 100:
            raise GhlError(422, ["limit must not be greater than 100"])
        hits = sorted(
            (c for c in self.store.contacts() if _query_matches(c, params.get("query", ""))),
            key=_order_key,
        )
        after_id, after_ms = params.get("startAfterId"), params.get("startAfter")
        # Both cursor parts or none: with one the real API quietly serves the first page.
        if after_id and after_ms:
            cursor = (int(after_ms), after_id)
            hits_after = [c for c in hits if _order_key(c) > cursor]
        else:
            hits_after = hits
        page = hits_after[:limit]
        more = len(hits_after) > limit
        last = _order_key(page[-1]) if page and more else None
        meta = {
            "total": len(hits),
            "startAfterId": last[1] if last else None,
            "startAfter": last[0] if last else None,
            "nextPageUrl": (
                f"/contacts/?locationId={self.store.location_id}&limit={limit}"
                f"&startAfterId={last[1]}&startAfter={last[0]}"
                if last
                else None
            ),
        }
        return JSONResponse({"contacts": page, "meta": meta})

    async def get_contact(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        # The single-contact schema writes dateOfBirth as a datetime; search as a date.
        contact["dateOfBirth"] = _dob_as_datetime(contact.get("dateOfBirth"))
        return JSONResponse({"contact": contact})

    def _validate(self, body: dict[str, Any], *, allowed: frozenset[str]) -> dict[str, Any]:
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise GhlError(422, [f"property {name} should not exist" for name in unknown])
        out = dict(body)
        if "tags" in out and not (
            isinstance(out["tags"], list) and all(isinstance(t, str) for t in out["tags"])
        ):
            raise GhlError(422, ["tags must be an array of strings"])
        if out.get("dateOfBirth"):
            out["dateOfBirth"] = _dob_to_iso(str(out["dateOfBirth"]))
        if "customFields" in out:
            out["customFields"] = self._custom_values(out["customFields"])
        if out.get("email") is not None and "@" not in str(out["email"]):
            raise GhlError(422, ["email must be an email"])
        return out

    def _custom_values(self, items: Any) -> list[dict[str, Any]]:
        if not isinstance(items, list):
            raise GhlError(422, ["customFields must be an array"])
        defs = self.store.all("custom_fields")
        by_id = {d["id"]: d for d in defs}
        by_key = {d.get("fieldKey"): d for d in defs}
        out = []
        for item in items:
            if not isinstance(item, Mapping):
                raise GhlError(422, ["customFields must contain objects"])
            ref = item.get("id") or item.get("key")
            field = by_id.get(ref) or by_key.get(ref) or by_key.get(f"contact.{ref}")
            if field is None:
                raise GhlError(422, [f"customFields: no custom field {ref!r} in this location"])
            value = item.get("field_value", item.get("value"))
            out.append({"id": field["id"], "value": value})
        return out

    def _check_duplicate(self, fields: Mapping[str, Any], exclude: str | None = None) -> None:
        if self.allow_duplicates:
            return
        phone = e164(fields["phone"]) if fields.get("phone") else None
        found = self.store.find_duplicate(fields.get("email"), phone, exclude)
        if found:
            other, matching = found
            raise GhlError(
                400,
                "This location does not allow duplicated contacts.",
                meta={
                    "contactName": other.get("name"),
                    "contactId": other["id"],
                    "matchingField": matching,
                },
            )

    def _new_contact(self, fields: dict[str, Any]) -> dict[str, Any]:
        stamp = now_iso()
        contact: dict[str, Any] = {
            "id": new_id(),
            "locationId": self.store.location_id,
            "type": "lead",
            "tags": [],
            "customFields": [],
            "dateAdded": stamp,
            "dateUpdated": stamp,
            **fields,
        }
        _derive(contact)
        self.store.put("contacts", contact)
        return contact

    async def create(self, request: Request) -> Response:
        body = await self._json(request)
        self._location(body.pop("locationId", None))
        fields = self._validate(body, allowed=WRITABLE)
        if not any(fields.get(k) for k in ("email", "phone", "firstName", "lastName", "name")):
            raise GhlError(422, ["a contact needs a name, an email or a phone"])
        self._check_duplicate(fields)
        contact = self._new_contact(fields)
        return JSONResponse({"contact": contact}, status_code=201)

    async def upsert(self, request: Request) -> Response:
        body = await self._json(request)
        self._location(body.pop("locationId", None))
        fields = self._validate(body, allowed=WRITABLE)
        phone = e164(fields["phone"]) if fields.get("phone") else None
        found = self.store.find_duplicate(fields.get("email"), phone)
        if found is None:
            return JSONResponse({"new": True, "contact": self._new_contact(fields)})
        contact, _ = found
        contact.update(fields)
        contact["dateUpdated"] = now_iso()
        _derive(contact)
        self.store.put("contacts", contact)
        return JSONResponse({"new": False, "contact": contact})

    async def update(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        body = await self._json(request)
        fields = self._validate(body, allowed=WRITABLE)
        if "email" in fields or "phone" in fields:
            self._check_duplicate(
                {"email": fields.get("email"), "phone": fields.get("phone")}, contact["id"]
            )
        if "customFields" in fields:
            merged = {c["id"]: c for c in contact.get("customFields", [])}
            merged.update({c["id"]: c for c in fields.pop("customFields")})
            contact["customFields"] = list(merged.values())
        contact.update(fields)  # tags included: PUT overwrites the whole tag list
        contact["dateUpdated"] = now_iso()
        _derive(contact)
        self.store.put("contacts", contact)
        return JSONResponse({"succeded": True, "contact": contact})

    async def delete(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        self.store.delete("contacts", contact["id"])
        self.store.delete_children("notes", contact["id"])
        self.store.delete_children("tasks", contact["id"])
        return JSONResponse({"succeded": True})

    async def _tag_body(self, request: Request) -> list[str]:
        body = await self._json(request)
        tags = body.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise GhlError(422, ["tags must be an array of strings"])
        return tags

    async def add_tags(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        tags = await self._tag_body(request)
        have = list(contact.get("tags") or [])
        have += [t for t in tags if t not in have]
        contact["tags"] = have
        contact["dateUpdated"] = now_iso()
        self.store.put("contacts", contact)
        return JSONResponse({"tags": have}, status_code=201)

    async def remove_tags(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        drop = set(await self._tag_body(request))
        contact["tags"] = [t for t in contact.get("tags") or [] if t not in drop]
        contact["dateUpdated"] = now_iso()
        self.store.put("contacts", contact)
        return JSONResponse({"tags": contact["tags"]})

    async def business_contacts(self, request: Request) -> Response:
        self._location(request.query_params.get("locationId"))
        business_id = request.path_params["business_id"]
        hits = [c for c in self.store.contacts() if c.get("businessId") == business_id]
        return JSONResponse({"contacts": hits, "count": len(hits)})

    # -- notes and tasks -----------------------------------------------------------------

    async def list_notes(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        return JSONResponse({"notes": self.store.all("notes", contact["id"])})

    async def get_note(self, request: Request) -> Response:
        self._contact(request.path_params["contact_id"])
        note = self.store.get("notes", request.path_params["note_id"])
        if note is None or note["contactId"] != request.path_params["contact_id"]:
            raise GhlError(400, "Note not found")
        return JSONResponse({"note": note})

    async def add_note(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        body = await self._json(request)
        if not isinstance(body.get("body"), str) or not body["body"]:
            raise GhlError(422, ["body should not be empty"])
        note = {
            "id": new_id(),
            "body": body["body"],
            "userId": body.get("userId"),
            "dateAdded": now_iso(),
            "contactId": contact["id"],
        }
        self.store.put("notes", note, parent=contact["id"])
        return JSONResponse({"note": note}, status_code=201)

    async def list_tasks(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        return JSONResponse({"tasks": self.store.all("tasks", contact["id"])})

    def _task(self, request: Request) -> dict[str, Any]:
        self._contact(request.path_params["contact_id"])
        task = self.store.get("tasks", request.path_params["task_id"])
        if task is None or task["contactId"] != request.path_params["contact_id"]:
            raise GhlError(400, "Task not found")
        return task

    async def get_task(self, request: Request) -> Response:
        return JSONResponse({"task": self._task(request)})

    @staticmethod
    def _task_fields(body: Mapping[str, Any], *, partial: bool) -> dict[str, Any]:
        allowed = {"title", "body", "dueDate", "completed", "assignedTo"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise GhlError(422, [f"property {name} should not exist" for name in unknown])
        missing = [] if partial else [k for k in ("title", "dueDate", "completed") if k not in body]
        if missing:
            raise GhlError(422, [f"{name} should not be empty" for name in missing])
        if "dueDate" in body:
            try:
                iso_to_ms(str(body["dueDate"]))
            except ValueError:
                raise GhlError(422, ["dueDate must be a valid ISO 8601 date string"]) from None
        if "completed" in body and not isinstance(body["completed"], bool):
            raise GhlError(422, ["completed must be a boolean value"])
        return dict(body)

    async def add_task(self, request: Request) -> Response:
        contact = self._contact(request.path_params["contact_id"])
        fields = self._task_fields(await self._json(request), partial=False)
        task = {
            "id": new_id(),
            "body": None,
            "assignedTo": None,
            **fields,
            "contactId": contact["id"],
        }
        self.store.put("tasks", task, parent=contact["id"])
        return JSONResponse({"task": task}, status_code=201)

    async def update_task(self, request: Request) -> Response:
        task = self._task(request)
        task.update(self._task_fields(await self._json(request), partial=True))
        self.store.put("tasks", task, parent=task["contactId"])
        return JSONResponse({"task": task})

    async def complete_task(self, request: Request) -> Response:
        task = self._task(request)
        body = await self._json(request)
        if not isinstance(body.get("completed"), bool):
            raise GhlError(422, ["completed must be a boolean value"])
        task["completed"] = body["completed"]
        self.store.put("tasks", task, parent=task["contactId"])
        return JSONResponse({"task": task})

    # -- location data -------------------------------------------------------------------

    async def custom_fields(self, request: Request) -> Response:
        self._location(request.path_params["location_id"])
        return JSONResponse({"customFields": self.store.all("custom_fields")})

    async def get_business(self, request: Request) -> Response:
        business = self.store.get("businesses", request.path_params["business_id"])
        if business is None:
            raise GhlError(400, f"Business with id {request.path_params['business_id']} not found")
        return JSONResponse({"business": business})


def create_app(
    db: str | Path = ":memory:",
    *,
    location_id: str | None = None,
    seed: Mapping[str, Any] | None = None,
    **options: Any,
) -> GhlEmulator:
    """A GoHighLevel emulator on the SQLite file ``db`` (optionally seeded); serve ``.app``.

    ``options`` are :class:`GhlEmulator`'s: ``token``, ``readonly_token``, ``burst_limit``
    (enforce N requests per ``burst_interval_ms``), ``search_cap``, ``allow_duplicates``,
    ``faults`` (the Dex sandbox's fault configuration).
    """
    store = GhlStore(db, location_id)
    if seed is not None:
        store.seed(seed)
    return GhlEmulator(store, **options)


def create_sandbox_app(
    *, db_path: Path, api_key: str, faults: FaultConfig, **options: Any
) -> SandboxApp:
    """The app factory ``dexio sandbox serve --api ghl`` runs (see dexio.sandbox.server):
    ``api_key`` is the Bearer token it accepts; ``options`` as for :class:`GhlEmulator`."""
    return GhlEmulator(GhlStore(db_path), token=api_key, faults=faults, **options).sandbox


def seed_file(db: str | Path, path: str | Path) -> dict[str, int]:
    """Load a sample location JSON file into the emulator database ``db``."""
    return seed_store(GhlStore(db), path)


def location_of(db: str | Path) -> str:
    """The location id an emulator database serves (what ``GHL_LOCATION_ID`` must be)."""
    store = GhlStore(db)
    try:
        return store.location_id
    finally:
        store.close()


def configure_emulator(
    api: str,
    *,
    burst_limit: int | None = None,
    search_cap: int | None = None,
    allow_duplicates: bool = False,
) -> None:
    """Register the ``ghl`` or ``whautomate`` app factory with these emulator options, for
    ``dexio sandbox serve --api ...`` (the fault options travel separately)."""
    from dexio.sandbox import whautomate

    options: dict[str, Any] = {}
    if api == "ghl":
        if burst_limit is not None:
            options["burst_limit"] = burst_limit
        if search_cap is not None:
            options["search_cap"] = search_cap
        if allow_duplicates:
            options["allow_duplicates"] = True
        register_app("ghl", functools.partial(create_sandbox_app, **options))
    elif api == "whautomate":
        if burst_limit is not None:
            options["rate_limit"] = burst_limit
        register_app("whautomate", functools.partial(whautomate.create_sandbox_app, **options))
