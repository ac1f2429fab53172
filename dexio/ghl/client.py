"""The GoHighLevel contacts API v2 client: paging, pacing to 100 requests / 10 s, no key leaks.

Every call goes through :class:`dexio.http.ApiClient` (the one retry and pacing policy),
with the ``Version`` header GoHighLevel requires. Configuration comes from arguments or
``GHL_TOKEN``, ``GHL_LOCATION_ID`` and ``GHL_BASE_URL``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from dexio.errors import ConfigError, OutcomeUnknown, PayloadRejected
from dexio.ghl.mapping import to_canonical
from dexio.ghl.models import (
    API_VERSION,
    Contact,
    ContactIn,
    CustomField,
    Note,
    NoteIn,
    Task,
    TaskIn,
)
from dexio.http import ApiClient, Pacer, RetryPolicy, ServiceClient, bounded_map
from dexio.secrets import Secret

DEFAULT_BASE_URL = "https://services.leadconnectorhq.com"
BURST_REQUESTS = 100
BURST_SECONDS = 10.0
#: Requests kept as burst. A token bucket of rate r and burst b lets r*T + b requests
#: through any T seconds; GoHighLevel counts 100 in any 10 s, so r = 9/s with b = 10 never
#: overflows its window, where a burst of 100 overflows it at every refill with requests
#: still in flight (measured: about 3 429s per 100 requests).
BURST_SLACK = 10
DUPLICATE_MESSAGE = "does not allow duplicated contacts"


@dataclass(frozen=True)
class Created:
    """The answer to a create: the contact's id, and whether it already existed."""

    id: str
    created: bool
    matching_field: str | None = None


class GoHighLevel(ServiceClient):
    """A client for one GoHighLevel location (sub-account).

    ``concurrency`` bounds the parallel calls of the bulk helpers; the shared pacer keeps
    all of them inside the location's burst limit whatever the concurrency.
    """

    def __init__(
        self,
        token: Secret | str | None = None,
        location_id: str | None = None,
        base_url: str | None = None,
        *,
        pacer: Pacer | None = None,
        policy: RetryPolicy | None = None,
        concurrency: int = 4,
    ) -> None:
        self.location_id = location_id or os.environ.get("GHL_LOCATION_ID", "").strip()
        if not self.location_id:
            raise ConfigError(
                "GHL_LOCATION_ID is not set. Put the id of your GoHighLevel location "
                "(sub-account) in the environment: export GHL_LOCATION_ID=...  (or pass it)."
            )
        self.http = ApiClient(
            base_url or os.environ.get("GHL_BASE_URL", "").strip() or DEFAULT_BASE_URL,
            token,
            service="GoHighLevel",
            key_env="GHL_TOKEN",
            key_help="Settings > Private Integrations in your GoHighLevel sub-account",
            headers={"Version": API_VERSION},
            policy=policy,
            pacer=pacer
            or Pacer(BURST_REQUESTS - BURST_SLACK, per=BURST_SECONDS, burst=BURST_SLACK),
        )
        self.concurrency = concurrency

    @property
    def api(self) -> ApiClient:
        """The HTTP session (also ``http``, as on every client)."""
        return self.http

    def __repr__(self) -> str:
        return f"GoHighLevel(location_id={self.location_id!r}, base_url={self.http.base_url!r})"

    # -- reading -------------------------------------------------------------------------

    def iter_contacts(
        self,
        *,
        page_limit: int = 100,
        updated_since: str | None = None,
        filters: Sequence[dict[str, Any]] = (),
    ) -> Iterator[Contact]:
        """Every contact of the location, oldest first, via ``POST /contacts/search``.

        Pages with ``searchAfter`` (the last hit's sort values) from the second page on:
        page numbers stop at 10,000 records, the cursor does not. ``updated_since`` (ISO
        time) pulls only contacts changed since then.
        """
        body: dict[str, Any] = {"locationId": self.location_id, "pageLimit": page_limit}
        wanted = list(filters)
        if updated_since:
            wanted.append(
                {"field": "dateUpdated", "operator": "range", "value": {"gt": updated_since}}
            )
        if wanted:
            body["filters"] = wanted
        after: list[Any] | None = None
        seen: set[str] = set()
        while True:
            page_body = {**body, "searchAfter": after} if after else {**body, "page": 1}
            data = self.http.request("POST", "contacts/search", json=page_body)
            hits = [Contact.model_validate(c) for c in (data or {}).get("contacts") or []]
            fresh = [c for c in hits if c.id not in seen]
            yield from fresh
            seen.update(c.id for c in fresh)
            if len(hits) < page_limit or not fresh or not hits[-1].searchAfter:
                return
            after = hits[-1].searchAfter

    def iter_contacts_legacy(self, *, limit: int = 100) -> Iterator[Contact]:
        """Every contact via the deprecated ``GET /contacts/`` (both cursor parts sent)."""
        params: dict[str, Any] = {"locationId": self.location_id, "limit": limit}
        seen: set[str] = set()
        while True:
            data = self.http.request("GET", "contacts/", params=params) or {}
            hits = [Contact.model_validate(c) for c in data.get("contacts") or []]
            fresh = [c for c in hits if c.id not in seen]
            yield from fresh
            seen.update(c.id for c in fresh)
            meta = data.get("meta") or {}
            if not fresh or not meta.get("startAfterId") or meta.get("startAfter") is None:
                return
            params = {
                **params,
                "startAfterId": meta["startAfterId"],
                "startAfter": meta["startAfter"],
            }

    def get_contact(self, contact_id: str) -> Contact:
        data = self.http.request("GET", f"contacts/{contact_id}")
        return Contact.model_validate(data["contact"])

    def find_contact(self, *, email: str | None = None, phone: str | None = None) -> Contact | None:
        """The contact holding this email (else this phone), as the duplicate rule sees it."""
        for name, value in (("email", email), ("phone", phone)):
            if not value:
                continue
            body = {
                "locationId": self.location_id,
                "pageLimit": 1,
                "filters": [{"field": name, "operator": "eq", "value": value}],
            }
            hits = (self.http.request("POST", "contacts/search", json=body) or {}).get("contacts")
            if hits:
                return Contact.model_validate(hits[0])
        return None

    def notes(self, contact_id: str) -> list[Note]:
        data = self.http.request("GET", f"contacts/{contact_id}/notes") or {}
        return [Note.model_validate(n) for n in data.get("notes") or []]

    def tasks(self, contact_id: str) -> list[Task]:
        data = self.http.request("GET", f"contacts/{contact_id}/tasks") or {}
        return [Task.model_validate(t) for t in data.get("tasks") or []]

    def custom_fields(self) -> list[CustomField]:
        data = self.http.request("GET", f"locations/{self.location_id}/customFields") or {}
        return [CustomField.model_validate(f) for f in data.get("customFields") or []]

    def read(
        self,
        *,
        updated_since: str | None = None,
        with_notes: bool = True,
        with_tasks: bool = True,
        source: str = "ghl",
    ) -> pl.DataFrame:
        """The location's contacts with their notes and tasks, as a canonical frame."""
        contacts = list(self.iter_contacts(updated_since=updated_since))
        ids = [c.id for c in contacts]
        notes = (
            dict(zip(ids, bounded_map(self.notes, ids, self.concurrency), strict=True))
            if with_notes
            else {}
        )
        tasks = (
            dict(zip(ids, bounded_map(self.tasks, ids, self.concurrency), strict=True))
            if with_tasks
            else {}
        )
        return to_canonical(contacts, notes, tasks, self.custom_fields(), source=source)

    # -- writing -------------------------------------------------------------------------

    def create_contact(self, contact: ContactIn) -> Created:
        """Create a contact; an existing one with the same email/phone is returned instead.

        GoHighLevel refuses duplicates (400 naming the existing contact), which also makes a
        create whose answer was lost safe to send again: the second try names the first.
        """
        body = {**contact.payload(), "locationId": self.location_id}
        for attempt in range(2):
            try:
                data = self.http.request("POST", "contacts/", json=body, write=True)
            except OutcomeUnknown:
                if attempt or not (body.get("email") or body.get("phone")):
                    raise
                continue
            except PayloadRejected as exc:
                existing = _duplicate_of(exc)
                if existing is None:
                    raise
                return Created(existing[0], created=False, matching_field=existing[1])
            return Created(data["contact"]["id"], created=attempt == 0)
        raise AssertionError("unreachable")

    def update_contact(self, contact_id: str, contact: ContactIn) -> Contact:
        """Change the fields set in ``contact`` (never tags: PUT would overwrite them all)."""
        body = contact.payload()
        body.pop("locationId", None)
        body.pop("tags", None)
        data = self.http.request("PUT", f"contacts/{contact_id}", json=body)
        return Contact.model_validate(data["contact"])

    def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        if not tags:
            return []
        data = self.http.request("POST", f"contacts/{contact_id}/tags", json={"tags": list(tags)})
        return list((data or {}).get("tags") or [])

    def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        data = self.http.request("DELETE", f"contacts/{contact_id}/tags", json={"tags": list(tags)})
        return list((data or {}).get("tags") or [])

    def add_note(self, contact_id: str, note: NoteIn) -> Note:
        """Add a note; if the answer was lost, look for it before sending it again."""
        try:
            data = self.http.request(
                "POST", f"contacts/{contact_id}/notes", json=note.payload(), write=True
            )
        except OutcomeUnknown:
            for existing in self.notes(contact_id):
                if existing.body == note.body:
                    return existing
            data = self.http.request(
                "POST", f"contacts/{contact_id}/notes", json=note.payload(), write=True
            )
        return Note.model_validate(data["note"])

    def add_task(self, contact_id: str, task: TaskIn) -> Task:
        """Add a task; if the answer was lost, look for it before sending it again."""
        try:
            data = self.http.request(
                "POST", f"contacts/{contact_id}/tasks", json=task.payload(), write=True
            )
        except OutcomeUnknown:
            for existing in self.tasks(contact_id):
                if existing.title == task.title and existing.dueDate == task.dueDate:
                    return existing
            data = self.http.request(
                "POST", f"contacts/{contact_id}/tasks", json=task.payload(), write=True
            )
        return Task.model_validate(data["task"])

    def delete_contact(self, contact_id: str) -> None:
        self.http.request("DELETE", f"contacts/{contact_id}")


def _duplicate_of(exc: PayloadRejected) -> tuple[str, str | None] | None:
    """(existing id, matching field) when a 400 is GoHighLevel's duplicate refusal."""
    if DUPLICATE_MESSAGE not in exc.message:
        return None
    body = getattr(exc, "body", None)
    meta = body.get("meta") if isinstance(body, dict) else None
    if isinstance(meta, dict) and meta.get("contactId"):
        return str(meta["contactId"]), meta.get("matchingField")
    return None
