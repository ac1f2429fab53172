"""A local Whautomate REST API (contacts and clients) on SQLite, for tests and rehearsals.

It implements the routes :mod:`dexio.whautomate.client` uses with Whautomate's ``x-api-key``
auth and its traps from ``../shared/reference/whautomate-api-notes.md``: listings are bare
JSON arrays paged from 1 (no total, no next link; ``max_limit`` caps a page whatever
``limit`` asks), ``name`` and ``phoneNumber`` (and ``location.id``) are required on a
contact, ``PUT`` replaces the whole record, tags change through ``/tags/add`` and
``/tags/remove``, and nothing stops a second contact with the same phone. With
``errors_as_200`` validation errors come back as HTTP 200 with an ``error`` key, as some
integrations report. ``rate_limit`` enforces N requests per minute with 429 +
``Retry-After``. ``/_sandbox/stats`` counts requests and 429s.
"""

from __future__ import annotations

import collections
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dexio.sandbox.faults import FaultConfig
from dexio.sandbox.ghl import (
    Emulator,
    Handler,
    JsonStore,
    SlidingWindow,
    iso_to_ms,
    new_id,
    now_iso,
    seed_store,
)
from dexio.sandbox.server import SandboxApp

DEFAULT_API_KEY = "wa-sandbox-key"
DEFAULT_LOCATION = {"id": "loc_main", "title": "Main Studio"}
RATE_LIMIT_PER_MINUTE = 100

CONTACT_FIELDS = frozenset(
    {
        "id",
        "name",
        "phoneNumber",
        "location",
        "stage",
        "notes",
        "customFields",
        "tags",
        "channel",
        "username",
        "instagramId",
        "messengerId",
        "telegramChatId",
    }
)
CLIENT_FIELDS = frozenset(
    {
        "id",
        "clientId",
        "fullName",
        "preferredName",
        "countryCode",
        "phone",
        "email",
        "dob",
        "gender",
        "address",
        "addressType",
        "registrationDate",
        "tags",
        "notes",
        "referralSource",
        "primaryLocation",
        "customFields",
    }
)


class WaError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class WhautomateStore(JsonStore):
    """One Whautomate account: locations, contacts and clients."""

    def __init__(self, db: str | Path = ":memory:") -> None:
        super().__init__(db, ("locations", "contacts", "clients"))
        if not self.all("locations"):
            self.put("locations", DEFAULT_LOCATION)

    def seed(self, data: Mapping[str, Any]) -> dict[str, int]:
        """Load a sample account (``samples/whautomate/*.json``): locations, contacts,
        clients. Returns how many of each were loaded."""
        counts = collections.Counter[str]()
        for location in data.get("locations", []):
            self.put("locations", {"id": location["id"], "title": location.get("title")})
            counts["locations"] += 1
        for table in ("contacts", "clients"):
            for raw in data.get(table, []):
                stamp = raw.get("createdAt") or now_iso()
                doc = {
                    "tags": [],
                    "customFields": {},
                    **raw,
                    "id": raw.get("id") or new_id(),
                    "createdAt": stamp,
                    "updatedAt": raw.get("updatedAt") or stamp,
                }
                self.put(table, doc)
                counts[table] += 1
        return dict(counts)


def _digits(value: str | None) -> str:
    return "".join(c for c in value or "" if c.isdigit())


class WhautomateEmulator(Emulator):
    """The Whautomate emulator: a store, its settings, its stats, and an ASGI app."""

    store: WhautomateStore

    def __init__(
        self,
        store: WhautomateStore | None = None,
        *,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: int | None = None,
        rate_interval: float = 60.0,
        max_limit: int = 100,
        errors_as_200: bool = False,
        require_location: bool = True,
        faults: FaultConfig | None = None,
    ) -> None:
        self.store = store or WhautomateStore()
        self.api_key = api_key
        self.window = SlidingWindow(rate_limit or RATE_LIMIT_PER_MINUTE, rate_interval)
        self.enforce = rate_limit is not None
        self.max_limit = max_limit
        self.errors_as_200 = errors_as_200
        self.require_location = require_location
        self._mount(faults)

    def _routes(self) -> list[Route]:
        r = self._route
        routes: list[Route] = []
        for kind in ("contacts", "clients"):
            routes += [
                Route(f"/v1/{kind}", r(self._lister(kind)), methods=["GET"]),
                Route(f"/v1/{kind}", r(self._creator(kind)), methods=["POST"]),
                Route(f"/v1/{kind}/{{item_id}}", r(self._getter(kind)), methods=["GET"]),
                Route(f"/v1/{kind}/{{item_id}}", r(self._replacer(kind)), methods=["PUT"]),
                Route(f"/v1/{kind}/{{item_id}}", r(self._deleter(kind)), methods=["DELETE"]),
                Route(
                    f"/v1/{kind}/{{item_id}}/tags/add",
                    r(self._tagger(kind, True)),
                    methods=["POST"],
                ),
                Route(
                    f"/v1/{kind}/{{item_id}}/tags/remove",
                    r(self._tagger(kind, False)),
                    methods=["POST"],
                ),
            ]
        return routes

    def _route(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            retry_after, _ = self._take()
            if retry_after is not None:
                return JSONResponse(
                    {"error": "Too many requests"},
                    status_code=429,
                    headers={"Retry-After": retry_after},
                )
            if request.headers.get("x-api-key") != self.api_key:
                return JSONResponse({"error": "Unauthorized: invalid API key"}, status_code=401)
            try:
                return await handler(request)
            except WaError as exc:
                status = 200 if self.errors_as_200 and exc.status in (400, 422) else exc.status
                return JSONResponse({"error": exc.message}, status_code=status)

        return endpoint

    async def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise WaError(400, "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise WaError(400, "Body must be a JSON object")
        return body

    def _item(self, kind: str, item_id: str) -> dict[str, Any]:
        item = self.store.get(kind, item_id)
        if item is None:
            raise WaError(404, f"{kind[:-1].capitalize()} not found")
        return item

    def _location(self, value: Any, field: str) -> dict[str, Any] | None:
        if not isinstance(value, Mapping) or not value.get("id"):
            if self.require_location:
                raise WaError(400, f"{field}.id is required")
            return None
        location = self.store.get("locations", str(value["id"]))
        if location is None:
            raise WaError(400, f"{field}.id {value['id']!r} is not a location of this account")
        return location

    def _validate(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        allowed = CONTACT_FIELDS if kind == "contacts" else CLIENT_FIELDS
        unknown = sorted(set(body) - allowed - {"createdAt", "updatedAt", "lastActivity"})
        if unknown:
            raise WaError(400, f"Unknown field(s): {', '.join(unknown)}")
        out = {k: v for k, v in body.items() if k not in ("id", "createdAt", "updatedAt")}
        if "tags" in out and not (
            isinstance(out["tags"], list) and all(isinstance(t, str) for t in out["tags"])
        ):
            raise WaError(400, "tags must be an array of strings")
        if "customFields" in out and not isinstance(out["customFields"], dict):
            raise WaError(400, "customFields must be an object")
        if kind == "contacts":
            for name in ("name", "phoneNumber"):
                if not isinstance(out.get(name), str) or not out[name].strip():
                    raise WaError(400, f"{name} is required")
            out["location"] = self._location(out.get("location"), "location")
        else:
            if not isinstance(out.get("fullName"), str) or not out["fullName"].strip():
                raise WaError(400, "fullName is required")
            out["primaryLocation"] = self._location(out.get("primaryLocation"), "primaryLocation")
        return out

    # -- handlers, one factory per verb so contacts and clients share them -------------------

    def _lister(self, kind: str) -> Handler:
        async def handler(request: Request) -> Response:
            params = request.query_params
            try:
                limit = min(int(params.get("limit") or 20), self.max_limit)
                page = max(int(params.get("page") or 1), 1)
            except ValueError:
                raise WaError(400, "limit and page must be numbers") from None
            items = self.store.all(kind)
            tags = [t for t in (params.get("tags") or "").split(",") if t]
            if tags:
                items = [i for i in items if set(tags) & set(i.get("tags") or [])]
            location_id = params.get("locationId") or params.get("primaryLocationId")
            if location_id:
                key = "location" if kind == "contacts" else "primaryLocation"
                items = [i for i in items if (i.get(key) or {}).get("id") == location_id]
            channel = params.get("channel")
            if channel:
                items = [i for i in items if str(i.get("channel") or "").lower() == channel.lower()]
            text = (params.get("searchText") or "").strip().lower()
            if text:
                items = [i for i in items if self._text_match(i, text)]
            for bound, keep in (
                ("startDate", lambda a, b: a >= b),
                ("endDate", lambda a, b: a <= b),
            ):
                if params.get(bound):
                    limit_ms = iso_to_ms(params[bound])
                    items = [i for i in items if keep(iso_to_ms(i["updatedAt"]), limit_ms)]
            return JSONResponse(items[(page - 1) * limit : page * limit])

        return handler

    @staticmethod
    def _text_match(item: Mapping[str, Any], text: str) -> bool:
        name = str(item.get("name") or item.get("fullName") or "").lower()
        phone = _digits(
            item.get("phoneNumber") or f"{item.get('countryCode') or ''}{item.get('phone') or ''}"
        )
        email = str(item.get("email") or "").lower()
        digits = _digits(text)
        return text in name or text == email or (bool(digits) and digits in phone)

    def _creator(self, kind: str) -> Handler:
        async def handler(request: Request) -> Response:
            fields = self._validate(kind, await self._json(request))
            stamp = now_iso()
            item = {"tags": [], "customFields": {}, **fields}
            item.update(id=new_id(), createdAt=stamp, updatedAt=stamp)
            if kind == "contacts":
                item.setdefault("stage", "Subscriber")
                item["phoneNumber"] = item["phoneNumber"].strip()
            self.store.put(kind, item)
            return JSONResponse(item)

        return handler

    def _getter(self, kind: str) -> Handler:
        async def handler(request: Request) -> Response:
            return JSONResponse(self._item(kind, request.path_params["item_id"]))

        return handler

    def _replacer(self, kind: str) -> Handler:
        async def handler(request: Request) -> Response:
            old = self._item(kind, request.path_params["item_id"])
            fields = self._validate(kind, await self._json(request))
            # PUT replaces the record: whatever the body leaves out is gone.
            item = {"tags": [], "customFields": {}, **fields}
            item.update(id=old["id"], createdAt=old["createdAt"], updatedAt=now_iso())
            if kind == "contacts":
                item["phoneNumber"] = item["phoneNumber"].strip()
            self.store.put(kind, item)
            return JSONResponse(item)

        return handler

    def _deleter(self, kind: str) -> Handler:
        async def handler(request: Request) -> Response:
            item = self._item(kind, request.path_params["item_id"])
            self.store.delete(kind, item["id"])
            return JSONResponse({"success": True})

        return handler

    def _tagger(self, kind: str, add: bool) -> Handler:
        async def handler(request: Request) -> Response:
            item = self._item(kind, request.path_params["item_id"])
            tags = (await self._json(request)).get("tags")
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise WaError(400, "tags must be an array of strings")
            have = list(item.get("tags") or [])
            if add:
                have += [t for t in tags if t not in have]
            else:
                have = [t for t in have if t not in set(tags)]
            item["tags"] = have
            item["updatedAt"] = now_iso()
            self.store.put(kind, item)
            return JSONResponse({"id": item["id"], "tags": have})

        return handler


def create_app(
    db: str | Path = ":memory:", *, seed: Mapping[str, Any] | None = None, **options: Any
) -> WhautomateEmulator:
    """A Whautomate emulator on the SQLite file ``db`` (optionally seeded); serve ``.app``.

    ``options`` are :class:`WhautomateEmulator`'s: ``api_key``, ``rate_limit`` (requests per
    ``rate_interval`` seconds, enforced), ``max_limit``, ``errors_as_200``,
    ``require_location``, ``faults``.
    """
    store = WhautomateStore(db)
    if seed is not None:
        store.seed(seed)
    return WhautomateEmulator(store, **options)


def create_sandbox_app(
    *, db_path: Path, api_key: str, faults: FaultConfig, **options: Any
) -> SandboxApp:
    """The app factory ``dexio sandbox serve --api whautomate`` runs (see
    dexio.sandbox.server): ``api_key`` is the ``x-api-key`` it accepts; ``options`` as for
    :class:`WhautomateEmulator`."""
    return WhautomateEmulator(
        WhautomateStore(db_path), api_key=api_key, faults=faults, **options
    ).sandbox


def seed_file(db: str | Path, path: str | Path) -> dict[str, int]:
    """Load a sample account JSON file into the emulator database ``db``."""
    return seed_store(WhautomateStore(db), path)
