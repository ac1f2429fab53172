"""Pydantic models of the GoHighLevel contacts API v2 wire format (field names as sent).

Read models keep unknown fields (``extra="allow"``) so nothing the API adds is lost on the
way to the canonical frame; write models forbid them, because GoHighLevel answers 422 to
any property it does not know. See ``../shared/reference/ghl-api-notes.md``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

API_VERSION = "2021-07-28"


class _Read(BaseModel):
    model_config = ConfigDict(extra="allow")


class _Write(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def payload(self) -> dict[str, Any]:
        """The JSON body: unset and empty fields left out (a PUT changes only what is sent)."""
        return self.model_dump(exclude_none=True)


def _plain_list(value: Any, key: str) -> list[str]:
    """``additionalEmails``/``additionalPhones`` come as strings or as ``{key: ...}``."""
    out = []
    for item in value or []:
        text = item.get(key) if isinstance(item, dict) else item
        if isinstance(text, str) and text.strip():
            out.append(text.strip())
    return out


class CustomFieldValue(_Read):
    id: str
    value: Any = None


class Contact(_Read):
    """A contact as read (``GET /contacts/{id}``, search hits, list items)."""

    id: str
    locationId: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    name: str | None = None
    contactName: str | None = None
    email: str | None = None
    phone: str | None = None
    companyName: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    website: str | None = None
    timezone: str | None = None
    source: str | None = None
    type: str | None = None
    dnd: bool | None = None
    tags: list[str] = []
    dateOfBirth: str | None = None
    dateAdded: str | None = None
    dateUpdated: str | None = None
    customFields: list[CustomFieldValue] = []
    businessId: str | None = None
    assignedTo: str | None = None
    additionalEmails: list[str] = []
    additionalPhones: list[str] = []
    searchAfter: list[Any] | None = None

    @field_validator("additionalEmails", mode="before")
    @classmethod
    def _emails(cls, value: Any) -> list[str]:
        return _plain_list(value, "email")

    @field_validator("additionalPhones", mode="before")
    @classmethod
    def _phones(cls, value: Any) -> list[str]:
        return _plain_list(value, "phone")

    @field_validator("tags", "customFields", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def birthday(self) -> str | None:
        """``dateOfBirth`` as ``YYYY-MM-DD`` whichever of its two spellings came back."""
        return parse_birthday(self.dateOfBirth)


def parse_birthday(value: str | None) -> str | None:
    """``YYYY-MM-DD`` from ``2000-01-05``, ``2000-01-05T00:00:00.000Z`` or ``01/05/2000``."""
    if not value:
        return None
    text = value.strip()
    try:
        return dt.date.fromisoformat(text[:10]).isoformat()
    except ValueError:
        pass
    for fmt in ("%m/%d/%Y", "%Y/%m/%d", "%m-%d-%Y"):
        try:
            return dt.datetime.strptime(text[:10], fmt).date().isoformat()
        except ValueError:
            continue
    return None


class Note(_Read):
    id: str
    body: str = ""
    userId: str | None = None
    dateAdded: str | None = None
    contactId: str | None = None


class Task(_Read):
    id: str
    title: str = ""
    body: str | None = None
    assignedTo: str | None = None
    dueDate: str | None = None
    completed: bool = False
    contactId: str | None = None


class CustomField(_Read):
    """A custom-field definition of the location (``GET /locations/{id}/customFields``)."""

    id: str
    name: str
    fieldKey: str | None = None
    dataType: str | None = None


class CustomFieldIn(_Write):
    id: str
    field_value: Any


class ContactIn(_Write):
    """The body of ``POST /contacts/`` (with ``locationId``) or ``PUT /contacts/{id}``.

    ``tags`` is only ever sent on create: on ``PUT`` it would overwrite every tag the
    contact has, so updates add tags through ``POST /contacts/{id}/tags`` instead.
    """

    locationId: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    companyName: str | None = None
    website: str | None = None
    address1: str | None = None
    city: str | None = None
    state: str | None = None
    postalCode: str | None = None
    country: str | None = None
    timezone: str | None = None
    source: str | None = None
    dateOfBirth: str | None = None
    tags: list[str] | None = None
    customFields: list[CustomFieldIn] | None = None


class NoteIn(_Write):
    body: str
    userId: str | None = None


class TaskIn(_Write):
    title: str
    body: str | None = None
    dueDate: str
    completed: bool = False
