"""Pydantic models of the Whautomate REST API wire format: contacts (seed 004) and clients.

Read models keep unknown fields (channel ids, ``lastActivity`` ...) so the mapping can carry
them to ``extra``. See ``../shared/reference/whautomate-api-notes.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

#: Stages listed by Whautomate integrations; the API treats stage as an open set.
STAGES = (
    "Subscriber",
    "Lead",
    "Marketing qualified lead",
    "Sales qualified lead",
    "Opportunity",
    "Customer",
    "Evangelist",
    "Other",
)
CHANNELS = ("WhatsApp", "Instagram", "Messenger", "Telegram", "Live Chat")


class _Read(BaseModel):
    model_config = ConfigDict(extra="allow")

    @field_validator("tags", mode="before", check_fields=False)
    @classmethod
    def _tags(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("customFields", mode="before", check_fields=False)
    @classmethod
    def _custom(cls, value: Any) -> Any:
        return {} if value is None else value


class Location(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    title: str | None = None


class Contact(_Read):
    """A messaging identity (``GET /v1/contacts``)."""

    id: str
    name: str | None = None
    phoneNumber: str | None = None
    location: Location | None = None
    stage: str | None = None
    notes: str | None = None
    customFields: dict[str, Any] = {}
    tags: list[str] = []
    channel: str | None = None
    createdAt: str | None = None
    updatedAt: str | None = None


class Client(_Read):
    """A booking/CRM record (``GET /v1/clients``): the only place with email and birthday."""

    id: str
    clientId: str | None = None
    fullName: str | None = None
    preferredName: str | None = None
    countryCode: str | None = None
    phone: str | None = None
    email: str | None = None
    dob: str | None = None
    gender: str | None = None
    address: str | None = None
    referralSource: str | None = None
    primaryLocation: Location | None = None
    notes: str | None = None
    customFields: dict[str, Any] = {}
    tags: list[str] = []
    createdAt: str | None = None
    updatedAt: str | None = None


class LocationRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str


class ContactIn(BaseModel):
    """The body of ``POST /v1/contacts`` and ``PUT /v1/contacts/{id}`` (PUT replaces all)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    phoneNumber: str
    location: LocationRef | None = None
    stage: str | None = None
    notes: str | None = None
    customFields: dict[str, Any] | None = None
    tags: list[str] | None = None

    def payload(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)
