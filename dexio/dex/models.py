"""Pydantic models of every Dex payload dexio sends or reads (v1, plus the legacy api/rest shapes).

Field names are Dex's own (see docs/dex-wire.md). Models of what we *read* accept extra
fields, because Dex returns more than it documents. Contact payloads we *send* type-check the
fields dexio uses and pass any other Dex field through for Dex to judge (its schema has
dozens of interaction fields dexio never sets); the small note/reminder/tag payloads refuse
unknown fields outright.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class _Read(BaseModel):
    """A record as Dex returns it: unknown fields are kept, most fields are optional."""

    model_config = ConfigDict(extra="allow")


class _Send(BaseModel):
    """A payload we send: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


# -- contact parts ------------------------------------------------------------------------


class ContactEmail(_Read):
    email: str
    label: str | None = None
    ranking: int | None = None


class ContactPhone(_Read):
    phone_number: str
    country_code: str | None = None
    phone_number_sanitized: str | None = None
    label: str | None = None
    ranking: int | None = None


class Address(_Read):
    formatted: str


class TagRef(_Send):
    tag_id: str


class ContactRef(_Read):
    contact_id: str


class Tag(_Read):
    id: str
    name: str


# -- contacts -----------------------------------------------------------------------------


class _ContactFields(BaseModel):
    """The writable contact fields of seed 001/002 that dexio uses."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    description: str | None = None
    job_title: str | None = None
    company: str | None = None
    education: str | None = None
    legacy_location: str | None = None
    website: str | None = None
    image_url: str | None = None
    starred: bool | None = None
    birthday: str | None = None  # "YYYY-MM-DD", or "--MM-DD" when the year is unknown
    birthday_year: int | None = None
    frequency: str | None = None  # a Postgres interval: "7 days", "1 mon", "1 year" ...
    never_keep_in_touch: bool | None = None
    last_seen_at: str | None = None
    next_reminder_at: str | None = None
    linkedin: str | None = None
    twitter: str | None = None
    facebook: str | None = None
    instagram: str | None = None
    telegram: str | None = None
    tiktok: str | None = None
    youtube: str | None = None
    source: str | None = None
    contact_emails: list[ContactEmail] | None = None
    contact_phone_numbers: list[ContactPhone] | None = None
    legacy_contact_addresses: list[Address] | None = None
    custom_fields: list[dict[str, Any]] | None = None
    groups_contacts: list[dict[str, str]] | None = None


class _SendContact(BaseModel):
    model_config = ConfigDict(extra="allow")


class ContactIn(_ContactFields, _SendContact):
    """One item of ``POST /v1/contacts`` ``{"contacts": [...]}``."""

    tags_contacts: list[TagRef] | None = None

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ContactPatch(_ContactFields, _SendContact):
    """The ``data`` of ``PUT /v1/contacts``: only the keys that were set are sent.

    An explicit ``None`` clears a field; ``contact_emails`` / ``contact_phone_numbers``
    replace the whole list, so read, merge and write them back together.
    """

    is_archived: bool | None = None
    ignore_merge: bool | None = None
    tags_contacts: dict[str, Any] | None = None  # {"append": [...], "remove": [...]}

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ContactUpdate(_Send):
    """One item of the bulk ``PUT /v1/contacts`` body."""

    contactId: str  # Dex's spelling
    data: ContactPatch

    def to_wire(self) -> dict[str, Any]:
        return {"contactId": self.contactId, "data": self.data.to_wire()}


class Contact(_ContactFields, _Read):
    """A contact as read. With ``--list-summaries`` style listings only a few fields are set."""

    id: str
    created_at: str | None = None
    updated_at: str | None = None
    is_archived: bool | None = None
    ignore_merge: bool | None = None
    tags: list[Tag] | None = None

    @property
    def is_summary(self) -> bool:
        """True when this came from a listing that leaves out emails and phones."""
        return "contact_emails" not in self.model_fields_set


# -- notes, reminders ---------------------------------------------------------------------


class NoteIn(_Send):
    """The ``note`` object of ``POST /v1/timeline``."""

    note: str
    event_time: str
    meeting_type_id: str | None = None
    timeline_items_contacts: list[dict[str, str]] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class TimelineItem(_Read):
    id: str
    note: str | None = None
    event_time: str | None = None
    type: str | None = None
    is_pinned: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None
    timeline_items_contacts: list[ContactRef] = Field(default_factory=list)

    @property
    def contact_ids(self) -> list[str]:
        return [ref.contact_id for ref in self.timeline_items_contacts]


class ReminderIn(_Send):
    """The ``reminder`` object of ``POST /v1/reminders``."""

    text: str
    due_at_date: str
    due_at_time: str | None = None
    is_complete: bool = False
    recurrence: str | None = None  # weekly, biweekly, monthly, quarterly, biannually, yearly
    reminders_contacts: list[dict[str, str]] = Field(default_factory=list)

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class Reminder(_Read):
    id: str
    text: str | None = None
    due_at_date: str | None = None
    due_at_time: str | None = None
    is_complete: bool | None = None
    recurrence: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    reminders_contacts: list[ContactRef] = Field(default_factory=list)

    @property
    def contact_ids(self) -> list[str]:
        return [ref.contact_id for ref in self.reminders_contacts]


# -- envelopes and pages ------------------------------------------------------------------


class DataEnvelope(_Read):
    """``{"error": false, "data": ...}``. Dex's docs show ``error: true`` on success too."""

    error: bool | None = None
    data: Any = None


class MessageEnvelope(_Read):
    """``{"error": true, "message": "..."}`` (failures, and some deletes)."""

    error: bool | None = None
    message: str = ""


class Page(_Read, Generic[T]):
    """One page of a cursor listing."""

    items: list[T] = Field(default_factory=list)
    nextCursor: str | None = None  # Dex's spelling
    count: int | None = None


# -- legacy api/rest (seed 000) -----------------------------------------------------------


class LegacyEmail(_Read):
    email: str


class LegacyPhone(_Read):
    phone_number: str


class LegacyContact(_Read):
    id: str
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    description: str | None = None
    education: str | None = None
    image_url: str | None = None
    linkedin: str | None = None
    facebook: str | None = None
    twitter: str | None = None
    instagram: str | None = None
    telegram: str | None = None
    emails: list[LegacyEmail] = Field(default_factory=list)
    phones: list[LegacyPhone] = Field(default_factory=list)
    birthday_current_year: str | None = None
    last_seen_at: str | None = None
    next_reminder_at: str | None = None


class LegacyTimelineItem(_Read):
    id: str
    note: str | None = None
    event_time: str | None = None
    contacts: list[ContactRef] = Field(default_factory=list)


class LegacyReminder(_Read):
    id: str
    body: str | None = None
    is_complete: bool | None = None
    due_at_time: str | None = None
    due_at_date: str | None = None
    contact_ids: list[ContactRef] = Field(default_factory=list)
