"""Dex connector: the v1 client, the legacy api/rest client, wire models, canonical conversion."""

from dexio.dex.client import DEFAULT_BASE_URL, Dex, Listing
from dexio.dex.convert import to_canonical, to_wire
from dexio.dex.legacy import DexLegacy
from dexio.dex.models import (
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

__all__ = [
    "DEFAULT_BASE_URL",
    "Contact",
    "ContactIn",
    "ContactPatch",
    "ContactUpdate",
    "Dex",
    "DexLegacy",
    "Listing",
    "NoteIn",
    "Reminder",
    "ReminderIn",
    "Tag",
    "TimelineItem",
    "to_canonical",
    "to_wire",
]
