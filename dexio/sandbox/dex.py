"""The Dex-compatible sandbox app: every v1 route of docs/dex-wire.md and the legacy
``/api/rest`` routes of seed 000, over a :class:`~dexio.sandbox.store.DexStore`.

:func:`create_app` builds the ASGI app (with the fault layer around it); the server
module runs it, embedded in a thread or as ``dexio sandbox serve``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from dexio.sandbox import models
from dexio.sandbox.faults import WRITE_METHODS, FaultConfig, FaultMiddleware, Stats, control_routes
from dexio.sandbox.server import SandboxApp
from dexio.sandbox.store import DexStore, Missing, StoreError

BASE_PATH = "/v1"
LEGACY_PATH = "/api/rest"
DEFAULT_TAKE = 100
LEGACY_DEFAULT_LIMIT = 10
_READ_ONLY_POSTS = frozenset({"/v1/contacts/by-emails"})

Handler = Callable[[Request], Awaitable[Response]]
M = TypeVar("M", bound=BaseModel)


class BadRequest(Exception):
    """A 400 whose message names the offending item."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def ok(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"error": False, "data": data}, status_code=status)


def fail(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": True, "message": message}, status_code=status)


async def parse(request: Request, model: type[M], shape: str) -> M:
    """Validate the JSON body against ``model``; a 400 names the first offending item."""
    body = await request.body()
    try:
        return model.model_validate_json(body or b"null")
    except ValidationError as exc:
        raise BadRequest(models.describe(exc, shape=shape)) from None


async def parse_adapter(request: Request, adapter: TypeAdapter[Any], shape: str) -> Any:
    body = await request.body()
    try:
        return adapter.validate_json(body or b"null")
    except ValidationError as exc:
        raise BadRequest(models.describe(exc, shape=shape)) from None


def positive_int(request: Request, name: str, default: int, *, minimum: int = 1) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name}: must be an integer, got {raw!r}") from None
    if value < minimum:
        raise BadRequest(f"{name}: must be >= {minimum}, got {value}")
    return value


def _query_ids(request: Request, name: str) -> list[str]:
    """Repeated (``a=1&a=2``), bracketed (``a[]=1``) or comma-separated ids."""
    raw = request.query_params.getlist(name) + request.query_params.getlist(f"{name}[]")
    return [part.strip() for value in raw for part in value.split(",") if part.strip()]


class DexApp:
    """Route handlers bound to one store, key and fault config."""

    def __init__(self, store: DexStore, api_key: str, faults: FaultConfig) -> None:
        self.store = store
        self.api_key = api_key
        self.faults = faults

    # -- plumbing -------------------------------------------------------------------------

    def _v1(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or token.strip() != self.api_key:
                return fail(401, "Unauthorized: missing or invalid API key")
            return await self._guard(handler, request)

        return endpoint

    def _legacy(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            if request.headers.get("x-hasura-dex-api-key", "") != self.api_key:
                return fail(401, "Unauthorized: missing or invalid x-hasura-dex-api-key")
            return await self._guard(handler, request)

        return endpoint

    @staticmethod
    async def _guard(handler: Handler, request: Request) -> Response:
        try:
            return await handler(request)
        except BadRequest as exc:
            return fail(400, exc.message)
        except StoreError as exc:
            return fail(exc.status, exc.message)

    def _page_args(self, request: Request) -> dict[str, Any]:
        """``take`` (capped by ``page_cap``), ``cursor`` and ``skip`` of a list request."""
        take = self.faults.page_size(positive_int(request, "take", DEFAULT_TAKE))
        cursor = request.query_params.get("cursor") or None
        skip = positive_int(request, "skip", 0, minimum=0)
        if self.faults.ignore_cursor:
            cursor, skip = None, 0
        return {"take": take, "cursor": cursor, "skip": skip}

    # -- contacts -------------------------------------------------------------------------

    async def create_contacts(self, request: Request) -> Response:
        await parse(request, models.ContactsCreate, 'an object {"contacts": [...]}')
        # Validated, so the plain parse has exactly the validated keys and types (cheaper
        # than dumping the models back to dicts on the import hot path).
        items: list[dict[str, Any]] = json.loads(await request.body())["contacts"]
        return ok({"contacts": self.store.create_contacts(items)})

    async def update_contacts(self, request: Request) -> Response:
        body = await parse_adapter(
            request, models.ContactsUpdate, 'a list [{"contactId": ..., "data": {...}}]'
        )
        changes = [(item.contactId, item.data.model_dump(exclude_unset=True)) for item in body]
        updated = self.store.update_contacts(changes)
        return ok({"count": len(updated)})

    async def list_contacts(self, request: Request) -> Response:
        archived = request.query_params.get("archived", "").lower() == "true"
        page = self.store.list_contacts(
            **self._page_args(request), archived=archived, summaries=self.faults.list_summaries
        )
        return ok(page.as_data())

    async def count_contacts(self, request: Request) -> Response:
        archived = request.query_params.get("archived", "").lower() == "true"
        return ok({"count": self.store.count_contacts(archived=archived)})

    async def get_contact(self, request: Request) -> Response:
        return ok(self.store.get_contact(request.path_params["id"]))

    async def update_contact(self, request: Request) -> Response:
        patch = await parse(request, models.ContactPatch, "an object of contact fields")
        contact_id = request.path_params["id"]
        return ok(
            self.store.update_contacts([(contact_id, patch.model_dump(exclude_unset=True))])[0]
        )

    async def delete_contact(self, request: Request) -> Response:
        contact_id = request.path_params["id"]
        if not self.store.delete_contacts([contact_id]):
            return fail(404, f"contact {contact_id} not found")
        return JSONResponse({"error": False, "message": "Contact deleted"})

    async def delete_contacts(self, request: Request) -> Response:
        ids = _query_ids(request, "contactIds")
        if not ids:
            raise BadRequest("contactIds: give at least one id (contactIds=a&contactIds=b)")
        deleted = self.store.delete_contacts(ids)
        return ok({"count": len(deleted), "contact_ids": deleted})

    async def by_emails(self, request: Request) -> Response:
        body = await parse(request, models.ByEmails, 'an object {"emails": [...]}')
        return ok(self.store.contacts_by_emails(body.emails))

    async def merge(self, request: Request) -> Response:
        body = await parse(request, models.Merge, 'an object {"contactIds": [[id, id], ...]}')
        return ok({"mergedContactIds": self.store.merge(body.contactIds)})

    # -- notes (timeline) and reminders ---------------------------------------------------

    @staticmethod
    def _note(item: dict[str, Any]) -> dict[str, Any]:
        contact_ids = item.pop("contact_ids")
        item.setdefault("type", "note")
        item.setdefault("is_pinned", False)
        item["timeline_items_contacts"] = [{"contact_id": c} for c in contact_ids]
        return item

    @staticmethod
    def _reminder(item: dict[str, Any]) -> dict[str, Any]:
        contact_ids = item.pop("contact_ids")
        item["reminders_contacts"] = [{"contact_id": c} for c in contact_ids]
        return item

    async def create_note(self, request: Request) -> Response:
        body = await parse(request, models.NoteCreate, 'an object {"note": {...}}')
        fields = body.note.model_dump(exclude={"timeline_items_contacts"})
        fields.update(type="note", is_pinned=False)
        links = [ref.contact_id for ref in body.note.timeline_items_contacts]
        item = self.store.create_item("note", fields, links, "note.timeline_items_contacts")
        return ok(self._note(item))

    async def list_notes(self, request: Request) -> Response:
        page = self.store.list_items(
            "note", **self._page_args(request), contact_id=request.query_params.get("contactId")
        )
        page.items = [self._note(item) for item in page.items]
        return ok(page.as_data())

    async def get_note(self, request: Request) -> Response:
        return ok(self._note(self.store.get_item("note", request.path_params["id"])))

    async def update_note(self, request: Request) -> Response:
        patch = await _parse_wrapped(request, "note", models.NotePatch)
        changes = patch.model_dump(exclude_unset=True, exclude={"timeline_items_contacts"})
        links = patch.timeline_items_contacts
        item = self.store.update_item(
            "note",
            request.path_params["id"],
            changes,
            None if links is None else [ref.contact_id for ref in links],
            "note.timeline_items_contacts",
        )
        return ok(self._note(item))

    async def delete_note(self, request: Request) -> Response:
        self.store.delete_item("note", request.path_params["id"])
        return JSONResponse({"error": False, "message": "Note deleted"})

    async def create_reminder(self, request: Request) -> Response:
        body = await parse(request, models.ReminderCreate, 'an object {"reminder": {...}}')
        fields = body.reminder.model_dump(exclude={"reminders_contacts"})
        links = [ref.contact_id for ref in body.reminder.reminders_contacts]
        item = self.store.create_item("reminder", fields, links, "reminder.reminders_contacts")
        return ok(self._reminder(item))

    async def list_reminders(self, request: Request) -> Response:
        page = self.store.list_items(
            "reminder",
            **self._page_args(request),
            contact_id=request.query_params.get("contactId"),
        )
        page.items = [self._reminder(item) for item in page.items]
        return ok(page.as_data())

    async def get_reminder(self, request: Request) -> Response:
        return ok(self._reminder(self.store.get_item("reminder", request.path_params["id"])))

    async def update_reminder(self, request: Request) -> Response:
        patch = await _parse_wrapped(request, "reminder", models.ReminderPatch)
        changes = patch.model_dump(exclude_unset=True, exclude={"reminders_contacts"})
        links = patch.reminders_contacts
        item = self.store.update_item(
            "reminder",
            request.path_params["id"],
            changes,
            None if links is None else [ref.contact_id for ref in links],
            "reminder.reminders_contacts",
        )
        return ok(self._reminder(item))

    async def delete_reminder(self, request: Request) -> Response:
        self.store.delete_item("reminder", request.path_params["id"])
        return JSONResponse({"error": False, "message": "Reminder deleted"})

    # -- tags -----------------------------------------------------------------------------

    async def create_assign(self, request: Request) -> Response:
        body = await parse(request, models.TagNames, 'an object {"tagNames": [...]}')
        return ok({"tags": self.store.create_assign(request.path_params["id"], body.tagNames)})

    async def list_tags(self, request: Request) -> Response:
        return ok(self.store.list_tags(**self._page_args(request)).as_data())

    async def create_tag(self, request: Request) -> Response:
        body = await parse(request, models.TagCreate, 'an object {"tag": {"name": ...}}')
        return ok(self.store.create_tag(body.tag.name))

    async def add_tags(self, request: Request) -> Response:
        body = await parse(request, models.TagLinks, 'an object {"contactIds", "tagIds"}')
        return ok({"count": self.store.link_tags(body.contactIds, body.tagIds, add=True)})

    async def remove_tags(self, request: Request) -> Response:
        body = await parse(request, models.TagLinks, 'an object {"contactIds", "tagIds"}')
        return ok({"count": self.store.link_tags(body.contactIds, body.tagIds, add=False)})

    # -- legacy /api/rest (reads) ---------------------------------------------------------

    def _offset_args(self, request: Request) -> tuple[int, int]:
        limit = self.faults.page_size(positive_int(request, "limit", LEGACY_DEFAULT_LIMIT))
        offset = positive_int(request, "offset", 0, minimum=0)
        return limit, offset

    async def legacy_contacts(self, request: Request) -> Response:
        limit, offset = self._offset_args(request)
        contacts, total = self.store.list_contacts_offset(limit=limit, offset=offset)
        return JSONResponse(
            {
                "contacts": [_legacy_contact(c) for c in contacts],
                "pagination": {"total": {"count": total}},
            }
        )

    async def legacy_contact(self, request: Request) -> Response:
        try:
            contacts = [_legacy_contact(self.store.get_contact(request.path_params["id"]))]
        except StoreError:
            contacts = []  # Hasura REST answers an empty list for an unknown id
        return JSONResponse({"contacts": contacts})

    async def legacy_search(self, request: Request) -> Response:
        email = request.query_params.get("email", "").strip()
        if not email:
            raise BadRequest("email: required")
        found = self.store.contacts_by_emails([email])
        return JSONResponse({"search_contacts_by_exact_email": [_legacy_contact(c) for c in found]})

    async def legacy_notes(self, request: Request) -> Response:
        limit, offset = self._offset_args(request)
        notes, total = self.store.list_items_offset(
            "note", limit=limit, offset=offset, contact_id=request.path_params.get("contactId")
        )
        return JSONResponse(
            {
                "timeline_items": [_legacy_note(n) for n in notes],
                "pagination": {"total": {"count": total}},
            }
        )

    async def legacy_reminders(self, request: Request) -> Response:
        limit, offset = self._offset_args(request)
        reminders, total = self.store.list_items_offset("reminder", limit=limit, offset=offset)
        return JSONResponse(
            {
                "reminders": [_legacy_reminder(r) for r in reminders],
                "total": {"aggregate": {"count": total}},
            }
        )

    # -- legacy /api/rest (writes) --------------------------------------------------------
    # Hasura-style: nested inserts ({"data": ...}), "changes" objects, answers keyed by the
    # mutation name, and null (200) for an unknown id.

    async def legacy_create_contact(self, request: Request) -> Response:
        body = await parse(request, models.LegacyContactCreate, 'an object {"contact": {...}}')
        fields = body.contact.model_dump(
            exclude_unset=True, exclude={"contact_emails", "contact_phone_numbers"}
        )
        fields["contact_emails"] = models.nested_rows(body.contact.contact_emails)
        fields["contact_phone_numbers"] = models.nested_rows(body.contact.contact_phone_numbers)
        (created,) = self.store.create_contacts([fields])
        return JSONResponse({"insert_contacts_one": _legacy_contact(created)}, status_code=201)

    async def legacy_update_contact(self, request: Request) -> Response:
        body = await parse(request, models.LegacyContactUpdate, 'an object {"changes": {...}}')
        patch = body.changes.model_dump(exclude_unset=True)
        if body.update_contact_emails:
            patch["contact_emails"] = [
                row.model_dump(exclude={"contact_id"}) for row in body.contact_emails
            ]
        if body.update_contact_phone_numbers:
            patch["contact_phone_numbers"] = [
                row.model_dump(exclude={"contact_id"}) for row in body.contact_phone_numbers
            ]
        try:
            (updated,) = self.store.update_contacts([(request.path_params["id"], patch)])
        except Missing:
            return JSONResponse({"update_contacts_by_pk": None})
        return JSONResponse({"update_contacts_by_pk": _legacy_contact(updated)})

    async def legacy_delete_contact(self, request: Request) -> Response:
        contact_id = request.path_params["id"]
        deleted = self.store.delete_contacts([contact_id])
        return JSONResponse({"delete_contacts_by_pk": {"id": contact_id} if deleted else None})

    async def legacy_create_note(self, request: Request) -> Response:
        body = await parse(request, models.LegacyNoteCreate, 'an object {"timeline_event": {...}}')
        event = body.timeline_event
        fields = {
            "note": event.note,
            "event_time": event.event_time,
            "meeting_type_id": event.meeting_type_id,
            "type": event.meeting_type or "note",
            "is_pinned": False,
        }
        links = event.timeline_items_contacts.data if event.timeline_items_contacts else []
        item = self.store.create_item(
            "note",
            fields,
            [link.contact_id for link in links],
            "timeline_event.timeline_items_contacts.data",
        )
        return JSONResponse({"insert_timeline_items_one": _legacy_note(item)}, status_code=201)

    async def legacy_update_note(self, request: Request) -> Response:
        body = await parse(request, models.LegacyNoteUpdate, 'an object {"changes": {...}}')
        links = [link.contact_id for link in body.timeline_items_contacts]
        try:
            item = self.store.update_item(
                "note",
                request.path_params["id"],
                body.changes.model_dump(exclude_unset=True),
                links if body.update_contacts else None,
                "timeline_items_contacts",
            )
        except Missing:
            return JSONResponse({"update_timeline_items_by_pk": None})
        return JSONResponse({"update_timeline_items_by_pk": _legacy_note(item)})

    async def legacy_delete_note(self, request: Request) -> Response:
        item_id = request.path_params["id"]
        try:
            self.store.delete_item("note", item_id)
        except Missing:
            return JSONResponse({"delete_timeline_items_by_pk": None})
        return JSONResponse({"delete_timeline_items_by_pk": {"id": item_id}})

    async def legacy_create_reminder(self, request: Request) -> Response:
        body = await parse(request, models.LegacyReminderCreate, 'an object {"reminder": {...}}')
        reminder = body.reminder
        fields = reminder.model_dump(exclude={"reminders_contacts"})
        fields["recurrence"] = None
        links = reminder.reminders_contacts.data if reminder.reminders_contacts else []
        item = self.store.create_item(
            "reminder",
            fields,
            [link.contact_id for link in links],
            "reminder.reminders_contacts.data",
        )
        return JSONResponse({"insert_reminders_one": _legacy_reminder(item)}, status_code=201)

    async def legacy_update_reminder(self, request: Request) -> Response:
        body = await parse(request, models.LegacyReminderUpdate, 'an object {"changes": {...}}')
        links = [link.contact_id for link in body.reminders_contacts]
        try:
            item = self.store.update_item(
                "reminder",
                request.path_params["id"],
                body.changes.model_dump(exclude_unset=True),
                links if body.update_contacts else None,
                "reminders_contacts",
            )
        except Missing:
            return JSONResponse({"update_reminders_by_pk": None})
        return JSONResponse({"update_reminders_by_pk": _legacy_reminder(item)})

    async def legacy_delete_reminder(self, request: Request) -> Response:
        item_id = request.path_params["id"]
        try:
            self.store.delete_item("reminder", item_id)
        except Missing:
            return JSONResponse({"delete_reminders_by_pk": None})
        return JSONResponse({"delete_reminders_by_pk": {"id": item_id}})

    # -- assembly -------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        v1, legacy = self._v1, self._legacy
        b, lg = BASE_PATH, LEGACY_PATH
        return [
            Route(f"{b}/contacts", v1(self.create_contacts), methods=["POST"]),
            Route(f"{b}/contacts", v1(self.update_contacts), methods=["PUT"]),
            Route(f"{b}/contacts", v1(self.list_contacts), methods=["GET"]),
            Route(f"{b}/contacts", v1(self.delete_contacts), methods=["DELETE"]),
            Route(f"{b}/contacts/count", v1(self.count_contacts), methods=["GET"]),
            Route(f"{b}/contacts/by-emails", v1(self.by_emails), methods=["POST"]),
            Route(f"{b}/contacts/merge", v1(self.merge), methods=["POST"]),
            Route(f"{b}/contacts/{{id}}", v1(self.get_contact), methods=["GET"]),
            Route(f"{b}/contacts/{{id}}", v1(self.update_contact), methods=["PUT"]),
            Route(f"{b}/contacts/{{id}}", v1(self.delete_contact), methods=["DELETE"]),
            Route(f"{b}/timeline", v1(self.create_note), methods=["POST"]),
            Route(f"{b}/timeline", v1(self.list_notes), methods=["GET"]),
            Route(f"{b}/timeline/{{id}}", v1(self.get_note), methods=["GET"]),
            Route(f"{b}/timeline/{{id}}", v1(self.update_note), methods=["PUT"]),
            Route(f"{b}/timeline/{{id}}", v1(self.delete_note), methods=["DELETE"]),
            Route(f"{b}/reminders", v1(self.create_reminder), methods=["POST"]),
            Route(f"{b}/reminders", v1(self.list_reminders), methods=["GET"]),
            Route(f"{b}/reminders/{{id}}", v1(self.get_reminder), methods=["GET"]),
            Route(f"{b}/reminders/{{id}}", v1(self.update_reminder), methods=["PUT"]),
            Route(f"{b}/reminders/{{id}}", v1(self.delete_reminder), methods=["DELETE"]),
            Route(f"{b}/tags", v1(self.list_tags), methods=["GET"]),
            Route(f"{b}/tags", v1(self.create_tag), methods=["POST"]),
            Route(f"{b}/tags/contacts/add", v1(self.add_tags), methods=["POST"]),
            Route(f"{b}/tags/contacts/remove", v1(self.remove_tags), methods=["POST"]),
            Route(
                f"{b}/tags/contacts/{{id}}/create-assign", v1(self.create_assign), methods=["POST"]
            ),
            Route(f"{lg}/contacts", legacy(self.legacy_contacts), methods=["GET"]),
            Route(f"{lg}/contacts/{{id}}", legacy(self.legacy_contact), methods=["GET"]),
            Route(f"{lg}/search/contacts", legacy(self.legacy_search), methods=["GET"]),
            Route(f"{lg}/timeline_items", legacy(self.legacy_notes), methods=["GET"]),
            Route(
                f"{lg}/timeline_items/contacts/{{contactId}}",
                legacy(self.legacy_notes),
                methods=["GET"],
            ),
            Route(f"{lg}/reminders", legacy(self.legacy_reminders), methods=["GET"]),
            Route(f"{lg}/contacts", legacy(self.legacy_create_contact), methods=["POST"]),
            Route(f"{lg}/contacts/{{id}}", legacy(self.legacy_update_contact), methods=["PUT"]),
            Route(f"{lg}/contacts/{{id}}", legacy(self.legacy_delete_contact), methods=["DELETE"]),
            Route(f"{lg}/timeline_items", legacy(self.legacy_create_note), methods=["POST"]),
            Route(f"{lg}/timeline_items/{{id}}", legacy(self.legacy_update_note), methods=["PUT"]),
            Route(
                f"{lg}/timeline_items/{{id}}", legacy(self.legacy_delete_note), methods=["DELETE"]
            ),
            Route(f"{lg}/reminders", legacy(self.legacy_create_reminder), methods=["POST"]),
            Route(f"{lg}/reminders/{{id}}", legacy(self.legacy_update_reminder), methods=["PUT"]),
            Route(
                f"{lg}/reminders/{{id}}", legacy(self.legacy_delete_reminder), methods=["DELETE"]
            ),
        ]


async def _parse_wrapped(request: Request, key: str, model: type[M]) -> M:
    """PUT bodies for notes/reminders: ``{key: {...partial}}`` or the partial object itself."""
    body = await request.body()
    try:
        raw = json.loads(body or b"null")
    except ValueError:
        raise BadRequest("body: not valid JSON") from None
    prefix: tuple[str, ...] = ()
    if isinstance(raw, dict) and isinstance(raw.get(key), dict):
        raw, prefix = raw[key], (key,)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        message = models.describe(exc, shape=f'an object {{"{key}": {{...}}}}')
        raise BadRequest(
            f"{key}.{message}" if prefix and not message.startswith("body") else message
        ) from None


def _legacy_contact(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact in the legacy API's shape (seed 000)."""
    birthday = contact.get("birthday")
    this_year = None
    if birthday:
        this_year = f"{dt.date.today().year}-{birthday[-5:]}"
    return {
        "id": contact["id"],
        "first_name": contact.get("first_name"),
        "last_name": contact.get("last_name"),
        "job_title": contact.get("job_title"),
        "description": contact.get("description"),
        "emails": [{"email": e["email"]} for e in contact.get("contact_emails") or []],
        "phones": [
            {"phone_number": p["phone_number"]} for p in contact.get("contact_phone_numbers") or []
        ],
        "education": contact.get("education"),
        "image_url": contact.get("image_url"),
        "linkedin": contact.get("linkedin"),
        "facebook": contact.get("facebook"),
        "twitter": contact.get("twitter"),
        "instagram": contact.get("instagram"),
        "telegram": contact.get("telegram"),
        "birthday_current_year": this_year,
        "last_seen_at": contact.get("last_seen_at"),
        "next_reminder_at": contact.get("next_reminder_at"),
    }


def _legacy_note(note: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": note["id"],
        "note": note.get("note"),
        "event_time": note.get("event_time"),
        "contacts": [{"contact_id": c} for c in note["contact_ids"]],
    }


def _legacy_reminder(reminder: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": reminder["id"],
        "body": reminder.get("text"),
        "is_complete": reminder.get("is_complete", False),
        "due_at_time": reminder.get("due_at_time"),
        "due_at_date": reminder.get("due_at_date"),
        "contact_ids": [{"contact_id": c} for c in reminder["contact_ids"]],
    }


def _is_write(scope: Scope) -> bool:
    return scope["method"] in WRITE_METHODS and scope["path"] not in _READ_ONLY_POSTS


class _StripTrailingSlash:
    """``/v1/contacts/`` (as in Dex's own curl examples) is the same route as ``/v1/contacts``."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and len(scope["path"]) > 1 and scope["path"].endswith("/"):
            scope = {**scope, "path": scope["path"].rstrip("/")}
        await self.app(scope, receive, send)


def create_app(*, db_path: Path, api_key: str, faults: FaultConfig) -> SandboxApp:
    """The Dex sandbox on the SQLite file ``db_path``, answering to ``api_key``."""
    store = DexStore(db_path)
    handlers = DexApp(store, api_key, faults)
    stats = Stats()
    api_routes = handlers.routes()
    middleware_ref: list[FaultMiddleware] = []

    def reset() -> None:
        store.reset()
        for middleware in middleware_ref:
            middleware.reset()

    async def not_found(request: Request, exc: Exception) -> Response:
        return fail(404, f"no route {request.method} {request.url.path}")

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return fail(405, f"method {request.method} not allowed on {request.url.path}")

    routes = api_routes + control_routes(
        config=faults, stats=stats, counts=store.counts, reset=reset
    )
    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.router.redirect_slashes = False
    middleware = FaultMiddleware(app, faults, stats, routes=api_routes, is_write=_is_write)
    middleware_ref.append(middleware)
    return SandboxApp(
        asgi=_StripTrailingSlash(middleware),
        base_path=BASE_PATH,
        store=store,
        stats=stats,
        faults=faults,
        close=store.close,
    )
