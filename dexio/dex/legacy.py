"""The legacy Dex API (``/api/rest``, seed 000), read-only, for exporting older accounts.

Same retry and key handling as v1 (:mod:`dexio.http`); the key goes in the
``x-hasura-dex-api-key`` header and lists page with ``limit``/``offset``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel

from dexio.http import DEFAULT_TIMEOUT, ApiClient, Pacer, RetryPolicy, ServiceClient
from dexio.secrets import Secret

from .client import KEY_ENV, KEY_HELP
from .models import LegacyContact, LegacyReminder, LegacyTimelineItem

log = logging.getLogger("dexio.dex")

DEFAULT_LEGACY_BASE_URL = "https://api.getdex.com/api/rest"
LEGACY_BASE_URL_ENV = "DEX_LEGACY_BASE_URL"

M = TypeVar("M", bound=BaseModel)


class DexLegacy(ServiceClient):
    """Read contacts, notes (timeline items) and reminders through ``/api/rest``.

    ``DexLegacy()`` reads ``DEX_API_KEY`` and ``DEX_LEGACY_BASE_URL`` (default
    ``https://api.getdex.com/api/rest``).
    """

    def __init__(
        self,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        *,
        requests_per_second: float | None = None,
        policy: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        base = (
            base_url or os.environ.get(LEGACY_BASE_URL_ENV, "").strip() or DEFAULT_LEGACY_BASE_URL
        )
        self.http = ApiClient(
            base,
            api_key,
            service="Dex (legacy API)",
            key_env=KEY_ENV,
            key_help=KEY_HELP,
            auth_header="x-hasura-dex-api-key",
            auth_prefix="",
            policy=policy,
            pacer=Pacer(requests_per_second) if requests_per_second else Pacer(),
            timeout=timeout,
        )

    def __repr__(self) -> str:
        return f"DexLegacy(base_url={self.http.base_url!r})"

    def iter_contacts(self, limit: int = 100) -> Iterator[LegacyContact]:
        return self._iter_offset("contacts", "contacts", LegacyContact, limit, _pagination_total)

    def get_contact(self, contact_id: str) -> LegacyContact | None:
        data = self.http.request("GET", f"contacts/{contact_id}") or {}
        items = data.get("contacts") or []
        return LegacyContact.model_validate(items[0]) if items else None

    def search_by_email(self, email: str) -> list[LegacyContact]:
        data = self.http.request("GET", "search/contacts", params={"email": email}) or {}
        return [
            LegacyContact.model_validate(c)
            for c in data.get("search_contacts_by_exact_email") or []
        ]

    def iter_timeline_items(
        self, contact_id: str | None = None, limit: int = 100
    ) -> Iterator[LegacyTimelineItem]:
        path = f"timeline_items/contacts/{contact_id}" if contact_id else "timeline_items"
        return self._iter_offset(
            path, "timeline_items", LegacyTimelineItem, limit, _pagination_total
        )

    def iter_reminders(self, limit: int = 100) -> Iterator[LegacyReminder]:
        return self._iter_offset("reminders", "reminders", LegacyReminder, limit, _aggregate_total)

    def _iter_offset(
        self,
        path: str,
        key: str,
        model: type[M],
        limit: int,
        total_of: Any,
    ) -> Iterator[M]:
        """limit/offset paging that ends on a short or empty page, on the announced total,
        or on a page that brings nothing new (a server ignoring ``offset``)."""
        seen: set[str] = set()
        offset = 0
        while True:
            data = self.http.request("GET", path, params={"limit": limit, "offset": offset}) or {}
            page = [model.model_validate(item) for item in data.get(key) or []]
            fresh = [item for item in page if str(getattr(item, "id", "")) not in seen]
            if page and not fresh:
                log.warning("Dex legacy %s repeated a page; stopped after %d", path, len(seen))
                return
            seen.update(str(getattr(item, "id", "")) for item in fresh)
            yield from fresh
            total = total_of(data)
            offset += len(page)
            if not page or (len(seen) >= total if total is not None else len(page) < limit):
                return


def _pagination_total(data: dict[str, Any]) -> int | None:
    try:
        return int(data["pagination"]["total"]["count"])
    except (KeyError, TypeError, ValueError):
        return None


def _aggregate_total(data: dict[str, Any]) -> int | None:
    try:
        return int(data["total"]["aggregate"]["count"])
    except (KeyError, TypeError, ValueError):
        return None
