"""What the Dex sandbox accepts: strict pydantic models of the v1 request bodies.

These are the sandbox's own models (the client has separate ones), so a mismatch between
the two shows up as a 400 in the tests instead of being hidden by shared code.
:func:`describe` turns a validation error into the one-line message Dex-style 400s carry,
naming the offending item (``contacts[3].contact_emails[0].email: not an email address``).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_FULL_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_YEARLESS_DATE = re.compile(r"^--(\d{2})-(\d{2})$")


def _email(value: str) -> str:
    if not _EMAIL.match(value):
        raise PydanticCustomError("email", "not an email address")
    return value


def _birthday(value: str) -> str:
    try:
        if _FULL_DATE.match(value):
            dt.date.fromisoformat(value)
            return value
        yearless = _YEARLESS_DATE.match(value)
        if yearless:  # 2000 is a leap year, so --02-29 is accepted
            dt.date(2000, int(yearless[1]), int(yearless[2]))
            return value
    except ValueError:
        pass
    raise PydanticCustomError("birthday", "not a date (YYYY-MM-DD, or --MM-DD without a year)")


def _date(value: str) -> str:
    try:
        if _FULL_DATE.match(value):
            dt.date.fromisoformat(value)
            return value
    except ValueError:
        pass
    raise PydanticCustomError("date", "not a date (YYYY-MM-DD)")


def _datetime(value: str) -> str:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise PydanticCustomError("datetime", "not an ISO 8601 date-time") from None
    return value


def _nonblank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "must not be empty")
    return value


Email = Annotated[str, AfterValidator(_email)]
Birthday = Annotated[str, AfterValidator(_birthday)]
Date = Annotated[str, AfterValidator(_date)]
DateTime = Annotated[str, AfterValidator(_datetime)]
NonBlank = Annotated[str, AfterValidator(_nonblank)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class EmailIn(_Strict):
    email: Email
    label: str | None = None
    ranking: int | None = None


class PhoneIn(_Strict):
    phone_number: NonBlank
    country_code: str | None = None
    phone_number_sanitized: str | None = None
    label: str | None = None
    ranking: int | None = None


class AddressIn(_Strict):
    formatted: str | None = None


class TagRef(_Strict):
    tag_id: str


class GroupRef(_Strict):
    group_id: str


class _ContactScalars(_Strict):
    """Every single-valued field of seed 001 (also what the legacy API writes)."""

    full_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    description: str | None = None
    job_title: str | None = None
    legacy_location: str | None = None
    company: str | None = None
    education: str | None = None
    starred: bool | None = None
    source: str | None = None
    coordinates: dict[str, Any] | None = None
    image_url: str | None = None
    image_source: str | None = None
    business_card_url: str | None = None
    website: str | None = None
    birthday: Birthday | None = None
    birthday_year: int | None = None
    frequency: str | None = None
    last_seen_at: DateTime | None = None
    never_keep_in_touch: bool | None = None
    next_reminder_at: DateTime | None = None
    linkedin: str | None = None
    twitter: str | None = None
    facebook: str | None = None
    instagram: str | None = None
    telegram: str | None = None
    tiktok: str | None = None
    youtube: str | None = None
    whatsapp_message_link: str | None = None
    whatsapp_message_snippet: str | None = None
    whatsapp_last_message_at: DateTime | None = None
    imessage_message_link: str | None = None
    imessage_message_snippet: str | None = None
    imessage_last_message_at: DateTime | None = None
    linkedin_message_link: str | None = None
    linkedin_last_message_snippet: str | None = None
    linkedin_last_message_at: DateTime | None = None
    linkedin_data: dict[str, Any] | None = None
    instagram_message_link: str | None = None
    instagram_message_snippet: str | None = None
    instagram_last_message_at: DateTime | None = None
    gmail_last_interaction_at: DateTime | None = None
    gmail_last_interaction_provider_id: str | None = None
    gmail_last_interaction_subject: str | None = None
    gmail_last_interaction_provider: str | None = None
    gcal_last_interaction_at: DateTime | None = None
    gcal_last_interaction_provider_id: str | None = None
    gcal_last_interaction_title: str | None = None
    gcal_last_interaction_provider: str | None = None
    phone_call_last_interaction_at: DateTime | None = None
    phone_call_interaction_snippet: str | None = None
    web_search_summary: dict[str, Any] | None = None
    contact_birthdays: dict[str, Any] | None = None


class _ContactFields(_ContactScalars):
    """Every field of seed 001 that a POST item and a PUT ``data`` share."""

    legacy_contact_addresses: list[AddressIn] | None = None
    contact_emails: list[EmailIn] | None = None
    contact_phone_numbers: list[PhoneIn] | None = None
    groups_contacts: list[GroupRef] | None = None
    custom_fields: list[dict[str, Any]] | None = None


class ContactIn(_ContactFields):
    """One item of ``POST /v1/contacts``."""

    id: str | None = None
    tags_contacts: list[TagRef] | None = None
    related_contacts: list[dict[str, Any]] | None = None


class ContactsCreate(_Strict):
    contacts: list[ContactIn]


class TagChanges(_Strict):
    append: list[TagRef] | None = None
    remove: list[dict[str, Any]] | None = None
    replace: Any = None


class ContactPatch(_ContactFields):
    """``PUT /v1/contacts/{id}`` body and the ``data`` of each bulk PUT item: partial."""

    is_archived: bool | None = None
    ignore_merge: bool | None = None
    tags_contacts: TagChanges | None = None
    related_contacts: dict[str, Any] | None = None


class ContactUpdate(_Strict):
    contactId: str
    data: ContactPatch


ContactsUpdate = TypeAdapter(list[ContactUpdate], config=ConfigDict(strict=True))
"""The bulk PUT body is a bare JSON list."""


class ByEmails(_Strict):
    emails: Annotated[list[str], Field(max_length=50)]
    createFromGoogleContacts: bool | None = None
    createFromOAuthInteractions: bool | None = None


class Merge(_Strict):
    contactIds: Annotated[
        list[Annotated[list[str], Field(min_length=2)]], Field(min_length=1, max_length=50)
    ]


class ContactRef(_Strict):
    contact_id: str


class NoteIn(_Strict):
    note: str
    event_time: DateTime
    meeting_type_id: str | None = None
    timeline_items_contacts: list[ContactRef] = []


class NoteCreate(_Strict):
    note: NoteIn


class NotePatch(_Strict):
    note: str | None = None
    event_time: DateTime | None = None
    meeting_type_id: str | None = None
    is_pinned: bool | None = None
    timeline_items_contacts: list[ContactRef] | None = None


Recurrence = Literal["weekly", "biweekly", "monthly", "quarterly", "biannually", "yearly"]


class ReminderIn(_Strict):
    text: str
    due_at_date: Date
    due_at_time: str | None = None
    is_complete: bool = False
    recurrence: Recurrence | None = None
    title: str | None = None
    reminders_contacts: list[ContactRef] = []


class ReminderCreate(_Strict):
    reminder: ReminderIn


class ReminderPatch(_Strict):
    text: str | None = None
    due_at_date: Date | None = None
    due_at_time: str | None = None
    is_complete: bool | None = None
    recurrence: Recurrence | None = None
    title: str | None = None
    reminders_contacts: list[ContactRef] | None = None


class TagNames(_Strict):
    tagNames: Annotated[list[NonBlank], Field(min_length=1)]


class TagIn(_Strict):
    name: NonBlank


class TagCreate(_Strict):
    tag: TagIn


class TagLinks(_Strict):
    contactIds: Annotated[list[str], Field(min_length=1)]
    tagIds: Annotated[list[str], Field(min_length=1)]


# -- the legacy API (/api/rest, seed 000): Hasura-style nested inserts and "changes" ------


class LegacyEmailRow(EmailIn):
    contact_id: str | None = None


class LegacyPhoneRow(PhoneIn):
    contact_id: str | None = None


class _LegacyEmails(_Strict):
    """Hasura's nested insert: ``{"data": {...}}`` or ``{"data": [{...}, ...]}``."""

    data: LegacyEmailRow | list[LegacyEmailRow]


class _LegacyPhones(_Strict):
    data: LegacyPhoneRow | list[LegacyPhoneRow]


def nested_rows(nested: _LegacyEmails | _LegacyPhones | None) -> list[dict[str, Any]]:
    """The rows of a nested insert as plain dicts (without ``contact_id``)."""
    if nested is None:
        return []
    rows = nested.data if isinstance(nested.data, list) else [nested.data]
    return [row.model_dump(exclude={"contact_id"}) for row in rows]


class LegacyContactIn(_ContactScalars):
    contact_emails: _LegacyEmails | None = None
    contact_phone_numbers: _LegacyPhones | None = None


class LegacyContactCreate(_Strict):
    contact: LegacyContactIn


class LegacyContactUpdate(_Strict):
    contactId: str | None = None
    changes: _ContactScalars = _ContactScalars()
    update_contact_emails: bool = False
    contact_emails: list[LegacyEmailRow] = []
    update_contact_phone_numbers: bool = False
    contact_phone_numbers: list[LegacyPhoneRow] = []


class LegacyLink(_Strict):
    contact_id: str
    timeline_item_id: str | None = None
    reminder_id: str | None = None


class _LegacyLinks(_Strict):
    data: list[LegacyLink]


class LegacyNoteIn(_Strict):
    note: str
    event_time: DateTime
    meeting_type: str | None = None
    meeting_type_id: str | None = None
    custom_emoji: str | None = None
    timeline_items_contacts: _LegacyLinks | None = None


class LegacyNoteCreate(_Strict):
    timeline_event: LegacyNoteIn


class LegacyNoteChanges(_Strict):
    note: str | None = None
    custom_emoji: str | None = None
    event_time: DateTime | None = None
    meeting_type_id: str | None = None


class LegacyNoteUpdate(_Strict):
    changes: LegacyNoteChanges = LegacyNoteChanges()
    timeline_items_contacts: list[LegacyLink] = []
    update_contacts: bool = False


class LegacyReminderIn(_Strict):
    title: str | None = None
    text: str
    is_complete: bool = False
    due_at_date: Date
    due_at_time: str | None = None
    reminders_contacts: _LegacyLinks | None = None


class LegacyReminderCreate(_Strict):
    reminder: LegacyReminderIn


class LegacyReminderChanges(_Strict):
    text: str | None = None
    title: str | None = None
    is_complete: bool | None = None
    due_at_time: str | None = None
    due_at_date: Date | None = None


class LegacyReminderUpdate(_Strict):
    changes: LegacyReminderChanges = LegacyReminderChanges()
    reminders_contacts: list[LegacyLink] = []
    update_contacts: bool = False


_PLAIN_MESSAGES = {
    "extra_forbidden": "unknown field",
    "missing": "required",
    "json_invalid": "not valid JSON",
}


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "dict", "list", "none"})


def _is_type_name(part: str | int) -> bool:
    return isinstance(part, str) and (part in _TYPE_NAMES or part[:1].isupper() or "[" in part)


def location(loc: tuple[str | int, ...]) -> str:
    """``("contacts", 3, "email")`` -> ``contacts[3].email``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "body"


def describe(error: ValidationError, *, shape: str) -> str:
    """One line naming the first offending item; ``shape`` is shown for top-level errors."""
    # pydantic's error order differs between releases; an unknown field is the most telling
    # cause (a misspelt key usually also makes a required one "missing"), so it goes first.
    errors = sorted(error.errors(include_url=False), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    # pydantic puts the branch of a union it tried ("str", "LegacyEmailRow",
    # "list[PhoneIn]") into the location; it names a type, not a field, so drop it.
    loc = tuple(part for part in first["loc"] if not _is_type_name(part))
    message = _PLAIN_MESSAGES.get(first["type"], first["msg"])
    where = location(loc)
    if not loc and first["type"] != "json_invalid":
        message = f"expected {shape}"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"
