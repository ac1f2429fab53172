"""Whautomate connector: the REST API client, its wire models, and the canonical mappings."""

from __future__ import annotations

from dexio.whautomate.client import Whautomate
from dexio.whautomate.mapping import NO_PHONE, Outbound, count_lost, from_canonical, to_canonical

__all__ = ["NO_PHONE", "Outbound", "Whautomate", "count_lost", "from_canonical", "to_canonical"]
