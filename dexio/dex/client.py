"""The Dex v1 client: a synchronous, thread-pooled API over the routes of docs/dex-wire.md.

Retries, pacing and error mapping come from :mod:`dexio.http`; this module knows Dex's
routes, envelopes and paging, and how to chunk bulk work.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from dexio.errors import ApiError, PayloadRejected
from dexio.http import DEFAULT_TIMEOUT, ApiClient, Pacer, RetryPolicy, ServiceClient, bounded_map
from dexio.secrets import Secret

from .models import (
    Contact,
    ContactIn,
    ContactPatch,
    ContactUpdate,
    NoteIn,
    Reminder,
    ReminderIn,
    Tag,
    TimelineItem,
)

log = logging.getLogger("dexio.dex")

DEFAULT_BASE_URL = "https://api.prod.getdex.com/v1"
KEY_ENV = "DEX_API_KEY"
BASE_URL_ENV = "DEX_BASE_URL"
KEY_HELP = "getdex.com/appv3/settings/api"
EMAIL_CHUNK = 50  # by-emails and merge: what other Dex clients use
MERGE_CHUNK = 50
DELETE_CHUNK = 100  # ids travel in the query string

M = TypeVar("M", bound=BaseModel)


@dataclass
class Listing:
    """How the last :meth:`Dex.iter_contacts` went: pages read, contacts seen, and whether
    the listing reached its end or stopped because the server repeated a page."""

    pages: int = 0
    seen: int = 0
    total: int | None = None
    complete: bool = False
    note: str = ""


def _chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    return [items[i : i + size] for i in range(0, len(items), size)]


def _validate(model: type[M], value: M | Mapping[str, Any], where: str) -> M:
    """Coerce a dict into ``model``; a bad field becomes PayloadRejected naming it."""
    if isinstance(value, model):
        return value
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{where}.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise PayloadRejected(f"not sent to Dex: {problems}", service="Dex") from None


class Dex(ServiceClient):
    """A Dex account over the v1 API.

    ``Dex()`` reads ``DEX_API_KEY`` and ``DEX_BASE_URL`` (default
    ``https://api.prod.getdex.com/v1``); both can be passed instead. Use it as a context
    manager so the connection pool is closed. ``concurrency`` bounds the parallel calls of
    bulk methods; ``requests_per_second`` paces every call at a fixed rate. Dex publishes no
    limit, so by default the client runs unthrottled until Dex answers 429 and from then on
    adapts its rate (see :class:`dexio.http.Pacer`); ``pacer`` replaces that policy.
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        *,
        concurrency: int = 4,
        requests_per_second: float | None = None,
        pacer: Pacer | None = None,
        policy: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        base = base_url or os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
        self.concurrency = max(1, concurrency)
        self.http = ApiClient(
            base,
            api_key,
            service="Dex",
            key_env=KEY_ENV,
            key_help=KEY_HELP,
            policy=policy,
            pacer=pacer or (Pacer(requests_per_second) if requests_per_second else Pacer()),
            timeout=timeout,
            max_connections=max(4, self.concurrency * 2),
        )
        self.last_listing = Listing()

    def __repr__(self) -> str:
        return f"Dex(base_url={self.http.base_url!r})"

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | Sequence[tuple[str, Any]] | None = None,
        write: bool = False,
    ) -> Any:
        body = self.http.request(method, path, json=json, params=params, write=write)
        if isinstance(body, dict) and "data" in body:
            return body["data"]
        return body

    # -- contacts: create ------------------------------------------------------------------

    def create_chunk(self, items: Sequence[ContactIn | Mapping[str, Any]]) -> list[Contact]:
        """One ``POST /v1/contacts``; the created contacts in the order sent.

        Raises PayloadRejected (Dex refused the chunk, nothing created) or OutcomeUnknown
        (sent, no answer): the import engine bisects the first and reconciles the second.
        """
        payload = [
            _validate(ContactIn, item, f"contacts[{i}]").to_wire() for i, item in enumerate(items)
        ]
        if not payload:
            return []
        data = self._call("POST", "contacts", json={"contacts": payload}, write=True)
        created = [Contact.model_validate(c) for c in (data or {}).get("contacts", [])]
        if len(created) != len(payload):
            raise ApiError(
                f"Dex created {len(created)} contacts for {len(payload)} sent; "
                "look them up before sending again",
                service="Dex",
            )
        return created

    def create_contacts(
        self,
        contacts: Iterable[ContactIn | Mapping[str, Any]],
        chunk_size: int = 100,
        concurrency: int | None = None,
    ) -> list[Contact]:
        """Create contacts in chunks of ``chunk_size``, in parallel; results in input order.

        A convenience for scripts: the first failing chunk stops the rest and its error is
        raised. Imports that must survive failures use :meth:`create_chunk` with a ledger.
        """
        items = list(contacts)
        chunks = _chunks(items, chunk_size)
        results = bounded_map(self.create_chunk, chunks, concurrency or self.concurrency)
        return [contact for chunk in results for contact in chunk]

    # -- contacts: update, delete, merge ---------------------------------------------------

    def update_contacts(
        self,
        updates: Iterable[ContactUpdate | tuple[str, ContactPatch | Mapping[str, Any]]],
        chunk_size: int = 100,
        concurrency: int | None = None,
    ) -> int:
        """Bulk ``PUT /v1/contacts``: ``(contact_id, patch)`` pairs; returns Dex's count."""
        body: list[dict[str, Any]] = []
        for i, update in enumerate(updates):
            if isinstance(update, ContactUpdate):
                body.append(update.to_wire())
            else:
                contact_id, patch = update
                data = _validate(ContactPatch, patch, f"[{i}].data")
                body.append({"contactId": contact_id, "data": data.to_wire()})

        def send(chunk: Sequence[dict[str, Any]]) -> int:
            data = self._call("PUT", "contacts", json=list(chunk))
            return int((data or {}).get("count", 0))

        counts = bounded_map(send, _chunks(body, chunk_size), concurrency or self.concurrency)
        return sum(counts)

    def update_contact(self, contact_id: str, patch: ContactPatch | Mapping[str, Any]) -> Contact:
        """``PUT /v1/contacts/{id}`` with only the fields set in ``patch``."""
        data = _validate(ContactPatch, patch, "data").to_wire()
        return Contact.model_validate(self._call("PUT", f"contacts/{contact_id}", json=data))

    def delete_contact(self, contact_id: str) -> None:
        self._call("DELETE", f"contacts/{contact_id}")

    def delete_contacts(self, ids: Iterable[str]) -> int:
        """``DELETE /v1/contacts?contactIds=...`` in chunks; returns how many Dex deleted.

        Deleting is retried like any idempotent call, so if an answer is lost the retry
        reports only what was still there: the count can then be lower than what went.
        """
        unique = list(dict.fromkeys(ids))
        total = 0
        for chunk in _chunks(unique, DELETE_CHUNK):
            data = self._call("DELETE", "contacts", params=[("contactIds", i) for i in chunk])
            total += int((data or {}).get("count", 0))
        return total

    def merge(self, groups: Iterable[Sequence[str]]) -> list[str]:
        """Merge each group of ids into one contact; returns the survivor of each group.

        Dex (and the sandbox) keep the *oldest* contact, not the first id: read the result.
        """
        body = [list(dict.fromkeys(group)) for group in groups]
        for group in body:
            if len(group) < 2:
                raise ValueError(f"a merge group needs at least two distinct ids: {group}")
        survivors: list[str] = []
        for chunk in _chunks(body, MERGE_CHUNK):
            data = self._call(
                "POST", "contacts/merge", json={"contactIds": list(chunk)}, write=True
            )
            survivors.extend((data or {}).get("mergedContactIds", []))
        return survivors

    # -- contacts: read --------------------------------------------------------------------

    def get_contact(self, contact_id: str) -> Contact:
        return Contact.model_validate(self._call("GET", f"contacts/{contact_id}"))

    def count(self, archived: bool = False) -> int:
        """How many contacts the account holds (archived ones too with ``archived=True``)."""
        params = {"archived": "true"} if archived else None
        return int((self._call("GET", "contacts/count", params=params) or {}).get("count", 0))

    def iter_contacts(
        self, take: int = 100, archived: bool = False, full: bool | None = None
    ) -> Iterator[Contact]:
        """Every contact, oldest first, following ``nextCursor``.

        Terminates even when the server ignores the cursor (a page bringing no unseen id
        ends the listing; ``last_listing`` then says it is incomplete) and never assumes a
        page holds ``take`` items. ``full=None`` fetches full records by id only when the
        listing returns summaries; ``True`` always does, ``False`` never.
        """
        self.last_listing = listing = Listing()
        params: dict[str, Any] = {"take": take}
        if archived:
            params["archived"] = "true"
        seen: set[str] = set()
        cursor: str | None = None
        while True:
            query = dict(params, cursor=cursor) if cursor else params
            data = self._call("GET", "contacts", params=query) or {}
            listing.pages += 1
            if data.get("count") is not None:
                listing.total = int(data["count"])
            page = [Contact.model_validate(item) for item in data.get("items", [])]
            fresh = [c for c in page if c.id not in seen]
            if page and not fresh:
                listing.note = (
                    f"Dex repeated a page of contacts (cursor ignored?); stopped after "
                    f"{len(seen)} of {listing.total if listing.total is not None else '?'}"
                )
                log.warning(listing.note)
                break
            seen.update(c.id for c in fresh)
            listing.seen = len(seen)
            if full or (full is None and any(c.is_summary for c in fresh)):
                fresh = bounded_map(lambda c: self.get_contact(c.id), fresh, self.concurrency)
            yield from fresh
            cursor = data.get("nextCursor")
            if not cursor or not page:
                listing.complete = True
                break
        if listing.total is not None and listing.seen < listing.total and listing.complete:
            listing.note = f"listing ended after {listing.seen} of {listing.total} contacts"
            log.warning(listing.note)

    def contacts_by_emails(self, emails: Iterable[str]) -> list[Contact]:
        """Contacts having any of ``emails`` (case-insensitive), each contact once."""
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e and e.strip()))
        found: dict[str, Contact] = {}

        def lookup(chunk: Sequence[str]) -> list[Contact]:
            data = self._call("POST", "contacts/by-emails", json={"emails": list(chunk)})
            return [Contact.model_validate(c) for c in data or []]

        for batch in bounded_map(lookup, _chunks(wanted, EMAIL_CHUNK), self.concurrency):
            for contact in batch:
                found.setdefault(contact.id, contact)
        return list(found.values())

    # -- notes, reminders, tags ------------------------------------------------------------

    def create_note(
        self,
        contact_ids: str | Sequence[str],
        note: str,
        *,
        event_time: str | None = None,
        meeting_type_id: str | None = None,
    ) -> TimelineItem:
        """A note (timeline item) on one or more contacts; ``event_time`` defaults to now."""
        ids = [contact_ids] if isinstance(contact_ids, str) else list(contact_ids)
        body = NoteIn(
            note=note,
            event_time=event_time or datetime.now(UTC).isoformat(timespec="seconds"),
            meeting_type_id=meeting_type_id,
            timeline_items_contacts=[{"contact_id": i} for i in ids],
        )
        data = self._call("POST", "timeline", json={"note": body.to_wire()}, write=True)
        return TimelineItem.model_validate(data)

    def iter_notes(self, contact_id: str | None = None, take: int = 100) -> Iterator[TimelineItem]:
        return self._iter_pages("timeline", TimelineItem, take, contact_id)

    def create_reminder(
        self,
        contact_ids: str | Sequence[str],
        text: str,
        *,
        due_at_date: str,
        due_at_time: str | None = None,
        is_complete: bool = False,
        recurrence: str | None = None,
    ) -> Reminder:
        ids = [contact_ids] if isinstance(contact_ids, str) else list(contact_ids)
        body = ReminderIn(
            text=text,
            due_at_date=due_at_date,
            due_at_time=due_at_time,
            is_complete=is_complete,
            recurrence=recurrence,
            reminders_contacts=[{"contact_id": i} for i in ids],
        )
        data = self._call("POST", "reminders", json={"reminder": body.to_wire()}, write=True)
        return Reminder.model_validate(data)

    def iter_reminders(self, contact_id: str | None = None, take: int = 100) -> Iterator[Reminder]:
        return self._iter_pages("reminders", Reminder, take, contact_id)

    def create_assign_tags(self, contact_id: str, names: Iterable[str]) -> list[Tag]:
        """Tag a contact by name; Dex reuses existing tags (case-insensitive), so re-running
        this is safe."""
        tag_names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
        if not tag_names:
            return []
        data = self._call(
            "POST", f"tags/contacts/{contact_id}/create-assign", json={"tagNames": tag_names}
        )
        return [Tag.model_validate(t) for t in (data or {}).get("tags", [])]

    def create_tag(self, name: str) -> Tag:
        return Tag.model_validate(
            self._call("POST", "tags", json={"tag": {"name": name}}, write=True)
        )

    def iter_tags(self, take: int = 100) -> Iterator[Tag]:
        return self._iter_pages("tags", Tag, take, None)

    def add_tags(self, contact_ids: Sequence[str], tag_ids: Sequence[str]) -> int:
        body = {"contactIds": list(contact_ids), "tagIds": list(tag_ids)}
        return int((self._call("POST", "tags/contacts/add", json=body) or {}).get("count", 0))

    def remove_tags(self, contact_ids: Sequence[str], tag_ids: Sequence[str]) -> int:
        body = {"contactIds": list(contact_ids), "tagIds": list(tag_ids)}
        return int((self._call("POST", "tags/contacts/remove", json=body) or {}).get("count", 0))

    # -- paging ----------------------------------------------------------------------------

    def _iter_pages(
        self, path: str, model: type[M], take: int, contact_id: str | None
    ) -> Iterator[M]:
        """Cursor paging with the same repeated-page guard as :meth:`iter_contacts`."""
        params: dict[str, Any] = {"take": take}
        if contact_id:
            params["contactId"] = contact_id
        seen: set[str] = set()
        cursor: str | None = None
        key: Callable[[Any], str] = lambda item: str(getattr(item, "id", ""))  # noqa: E731
        while True:
            query = dict(params, cursor=cursor) if cursor else params
            data = self._call("GET", path, params=query) or {}
            page = [model.model_validate(item) for item in data.get("items", [])]
            fresh = [item for item in page if key(item) not in seen]
            if page and not fresh:
                log.warning("Dex repeated a page of %s; stopped after %d", path, len(seen))
                return
            seen.update(key(item) for item in fresh)
            yield from fresh
            cursor = data.get("nextCursor")
            if not cursor or not page:
                return


@contextmanager
def using(dex: Dex | None, **options: Any) -> Iterator[Dex]:
    """``dex`` as given (left open), or a ``Dex(**options)`` from the environment that is
    closed afterwards: how library calls take an optional client."""
    if dex is not None:
        yield dex
        return
    with Dex(**options) as own:
        yield own
