"""The Whautomate REST API client: bare-array paging, pacing to 100 requests a minute.

Every call goes through :class:`dexio.http.ApiClient` (the one retry and pacing policy).
Configuration comes from arguments or ``WHAUTOMATE_API_KEY``, ``WHAUTOMATE_HOST`` (global
``https://api.whautomate.com`` by default; India accounts use ``https://api.in.whautomate.com``)
and ``WHAUTOMATE_LOCATION_ID`` (the location new contacts are created in).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl

from dexio.errors import ConfigError, OutcomeUnknown, PayloadRejected
from dexio.http import ApiClient, Pacer, RetryPolicy, ServiceClient
from dexio.secrets import Secret, redact
from dexio.whautomate.mapping import to_canonical
from dexio.whautomate.models import Client, Contact, ContactIn, LocationRef

DEFAULT_HOST = "https://api.whautomate.com"
REQUESTS_PER_MINUTE = 100
#: Kept as burst: r * 60 s + burst stays within 100 per minute however the limit is
#: counted (see dexio.ghl.client.BURST_SLACK).
BURST = 10


def _digits(value: str | None) -> str:
    return "".join(c for c in value or "" if c.isdigit())


class Whautomate(ServiceClient):
    """A client for one Whautomate account."""

    def __init__(
        self,
        api_key: Secret | str | None = None,
        host: str | None = None,
        location_id: str | None = None,
        *,
        pacer: Pacer | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        host = (host or os.environ.get("WHAUTOMATE_HOST", "").strip() or DEFAULT_HOST).rstrip("/")
        self.location_id = location_id or os.environ.get("WHAUTOMATE_LOCATION_ID", "").strip()
        self.http = ApiClient(
            host + "/v1",
            api_key,
            service="Whautomate",
            key_env="WHAUTOMATE_API_KEY",
            key_help="Settings > REST API in your Whautomate account",
            auth_header="x-api-key",
            auth_prefix="",
            policy=policy,
            pacer=pacer or Pacer(REQUESTS_PER_MINUTE - BURST, per=60.0, burst=BURST),
        )

    @property
    def api(self) -> ApiClient:
        """The HTTP session (also ``http``, as on every client)."""
        return self.http

    def __repr__(self) -> str:
        return f"Whautomate(base_url={self.http.base_url!r})"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request; a 200 whose body carries ``error`` is a refusal, not a success."""
        data = self.http.request(method, path, **kwargs)
        if isinstance(data, dict) and data.get("error"):
            message = redact(str(data["error"]))[:500]
            error = PayloadRejected(
                f"Whautomate rejected the request: {message}", status=200, service="Whautomate"
            )
            error.server_message = message  # type: ignore[attr-defined]
            raise error
        return data

    # -- reading -------------------------------------------------------------------------

    def _pages(self, path: str, limit: int, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Bare-array pages from 1 until an empty page (a short page may just be a capped
        one) or a page of ids already seen (a server ignoring ``page``)."""
        seen: set[str] = set()
        page = 1
        while True:
            items = self._call("GET", path, params={**params, "limit": limit, "page": page})
            if not isinstance(items, list):
                raise PayloadRejected(
                    f"Whautomate answered {path} with {type(items).__name__}, not a list",
                    service="Whautomate",
                )
            fresh = [i for i in items if isinstance(i, dict) and i.get("id") not in seen]
            if not fresh:
                return
            seen.update(str(i["id"]) for i in fresh)
            yield from fresh
            page += 1

    def iter_contacts(self, *, limit: int = 100, **filters: str) -> Iterator[Contact]:
        """Every contact (``filters``: tags, locationId, channel, searchText)."""
        for item in self._pages("contacts", limit, dict(filters)):
            yield Contact.model_validate(item)

    def iter_clients(self, *, limit: int = 100, **filters: str) -> Iterator[Client]:
        """Every client (``filters``: startDate, endDate, primaryLocationId, searchText)."""
        for item in self._pages("clients", limit, dict(filters)):
            yield Client.model_validate(item)

    def get_contact(self, contact_id: str) -> Contact:
        return Contact.model_validate(self._call("GET", f"contacts/{contact_id}"))

    def find_contact(self, phone: str) -> Contact | None:
        """The contact with this phone (compared as digits, so ``+65 9876`` = ``659876``)."""
        wanted = _digits(phone)
        if not wanted:
            return None
        # One page is enough: a phone search matching more than 100 contacts is not a match.
        items = self._call(
            "GET", "contacts", params={"searchText": wanted, "limit": 100, "page": 1}
        )
        for item in items if isinstance(items, list) else []:
            contact = Contact.model_validate(item)
            if _digits(contact.phoneNumber) == wanted:
                return contact
        return None

    def read(
        self, *, with_clients: bool = True, stage_tags: bool = False, source: str = "whautomate"
    ) -> pl.DataFrame:
        """Every contact (and client) of the account as a canonical frame."""
        contacts = list(self.iter_contacts())
        clients = list(self.iter_clients()) if with_clients else []
        return to_canonical(contacts, clients, source=source, stage_tags=stage_tags)

    # -- writing -------------------------------------------------------------------------

    def _with_location(self, contact: ContactIn) -> ContactIn:
        if contact.location is not None:
            return contact
        if not self.location_id:
            raise ConfigError(
                "WHAUTOMATE_LOCATION_ID is not set: Whautomate needs the location new contacts "
                "belong to. export WHAUTOMATE_LOCATION_ID=...  (or pass location_id)."
            )
        return contact.model_copy(update={"location": LocationRef(id=self.location_id)})

    def create_contact(
        self, contact: ContactIn, *, check_existing: bool = True
    ) -> tuple[Contact, bool]:
        """Create a contact unless one with the same phone exists: (contact, created).

        Whautomate does not refuse duplicates, so the phone is searched first (skip with
        ``check_existing=False`` when the caller matched against a full listing already);
        the same search settles a create whose answer was lost.
        """
        existing = self.find_contact(contact.phoneNumber) if check_existing else None
        if existing is not None:
            return existing, False
        body = self._with_location(contact).payload()
        try:
            data = self._call("POST", "contacts", json=body, write=True)
        except OutcomeUnknown:
            existing = self.find_contact(contact.phoneNumber)
            if existing is not None:
                return existing, True
            data = self._call("POST", "contacts", json=body, write=True)
        return Contact.model_validate(data), True

    def update_contact(self, contact_id: str, contact: ContactIn) -> Contact:
        """Read, merge, write: PUT replaces the record, so unset fields keep their value
        and tags are added (never removed) through ``/tags/add``."""
        current = self.get_contact(contact_id)
        merged: dict[str, Any] = {
            "name": current.name,
            "phoneNumber": current.phoneNumber,
            "location": {"id": current.location.id} if current.location else None,
            "stage": current.stage,
            "notes": current.notes,
            "customFields": current.customFields or None,
            "tags": current.tags or None,
        }
        changes = contact.payload()
        new_tags = [t for t in changes.pop("tags", None) or [] if t not in current.tags]
        if "customFields" in changes:
            changes["customFields"] = {**current.customFields, **changes["customFields"]}
        merged.update(changes)
        body = self._with_location(ContactIn.model_validate(merged)).payload()
        data = self._call("PUT", f"contacts/{contact_id}", json=body)
        if new_tags:
            self.add_tags(contact_id, new_tags)
            data = {**data, "tags": [*(data.get("tags") or []), *new_tags]}
        return Contact.model_validate(data)

    def add_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        data = self._call("POST", f"contacts/{contact_id}/tags/add", json={"tags": list(tags)})
        return list((data or {}).get("tags") or [])

    def remove_tags(self, contact_id: str, tags: Sequence[str]) -> list[str]:
        data = self._call("POST", f"contacts/{contact_id}/tags/remove", json={"tags": list(tags)})
        return list((data or {}).get("tags") or [])

    def delete_contact(self, contact_id: str) -> None:
        self._call("DELETE", f"contacts/{contact_id}")
