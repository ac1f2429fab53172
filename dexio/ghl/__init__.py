"""GoHighLevel connector: the API v2 client, its wire models, and the canonical mappings."""

from __future__ import annotations

from dexio.ghl.client import Created, GoHighLevel
from dexio.ghl.mapping import Outbound, count_lost, from_canonical, to_canonical

__all__ = ["Created", "GoHighLevel", "Outbound", "count_lost", "from_canonical", "to_canonical"]
