"""Pure mappings between Whautomate contacts/clients and the canonical contact frame.

Whautomate -> canonical keeps everything: stage, location, channel and channel ids, custom
fields and timestamps go to ``extra`` (``stage_tags=True`` also adds a ``stage:<Stage>``
tag). Only ``full_name`` is set for names; normalization splits it. Canonical ->
Whautomate builds one :class:`Outbound` per row; a row without a phone cannot become a
Whautomate contact and is rejected with that reason; what a contact cannot hold is listed
per row in ``lost`` (and, with ``spill_note=True``, appended to its notes text).

=======================  ==========================  ====================================
canonical                Whautomate contact          notes
=======================  ==========================  ====================================
full_name                name                        required; the phone when no name
phones (ranking 1)       phoneNumber (E.164)         required; other phones lost
tags                     tags                        added with /tags/add on update
notes                    notes (one text)            several notes joined by blank lines;
                                                     their times lost
extra.whautomate         stage, location, channel    location.id falls back to the
                                                     configured location
extra.custom_fields      customFields
emails, birthday,        (clients only)              lost on contacts (counted)
company, reminders ...
source_id                id                          clients read as ``client:<id>``
=======================  ==========================  ====================================
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from pydantic import BaseModel

from dexio import schema
from dexio.ghl.mapping import BOOKKEEPING, field_key, ranked
from dexio.ghl.models import parse_birthday
from dexio.whautomate.models import Client, Contact, ContactIn, LocationRef

NO_PHONE = "no phone number: a Whautomate contact needs one"
_SCALARS_BY_KEY = {re.sub(r"[^a-z0-9]", "", name): name for name in schema.SCALAR_FIELDS}
#: Canonical columns a Whautomate contact holds natively.
_HELD = frozenset({"full_name", "first_name", "last_name", "phones", "tags", "notes"})
_LIST_COLUMNS = ("emails", "reminders")


def _phone(number: str | None, country_code: str | None = None) -> list[dict[str, Any]]:
    if not number:
        return []
    text = number.strip()
    if country_code and not text.startswith("+"):
        text = country_code.strip() + text
    return [
        {
            "phone_number": text,
            "country_code": None,
            "phone_number_sanitized": text if text.startswith("+") else None,
            "label": None,
            "ranking": 1,
        }
    ]


def _custom(record: dict[str, Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Custom fields naming a canonical column fill it; the rest are returned for extra."""
    rest: dict[str, Any] = {}
    for name, value in values.items():
        column = _SCALARS_BY_KEY.get(field_key(name))
        if column and not record.get(column) and isinstance(value, str):
            record[column] = value
        elif value not in (None, "", [], {}):
            rest[name] = value
    return rest


def contact_record(
    contact: Contact, *, source: str = "whautomate", row: int = 1, stage_tags: bool = False
) -> dict[str, Any]:
    """One Whautomate contact as a canonical record (a dict)."""
    record: dict[str, Any] = {
        "source": source,
        "row": row,
        "source_id": contact.id,
        "full_name": contact.name,
        "phones": _phone(contact.phoneNumber),
        "tags": list(contact.tags),
        "notes": [{"body": contact.notes, "created_at": None}] if contact.notes else [],
    }
    if stage_tags and contact.stage:
        record["tags"].append(f"stage:{contact.stage}")
    names = ("stage", "channel", "createdAt", "updatedAt")
    return _with_extra(record, contact, "contact", names, contact.location)


def client_record(client: Client, *, source: str = "whautomate", row: int = 1) -> dict[str, Any]:
    """One Whautomate client (booking record: has email and birthday) as a canonical record."""
    record: dict[str, Any] = {
        "source": source,
        "row": row,
        "source_id": f"client:{client.id}",
        "full_name": client.fullName,
        "phones": _phone(client.phone, client.countryCode),
        "emails": ([{"email": client.email, "label": None, "ranking": 1}] if client.email else []),
        "birthday": parse_birthday(client.dob),
        "legacy_location": client.address,
        "tags": list(client.tags),
        "notes": [{"body": client.notes, "created_at": None}] if client.notes else [],
    }
    names = ("clientId", "preferredName", "gender", "referralSource", "createdAt", "updatedAt")
    return _with_extra(record, client, "client", names, client.primaryLocation)


def _with_extra(
    record: dict[str, Any],
    item: Contact | Client,
    kind: str,
    names: Sequence[str],
    location: BaseModel | None,
) -> dict[str, Any]:
    """``record`` with its ``extra``: the Whautomate fields ``names`` that are set, the
    location, fields this client does not model, and custom fields not mapped to a column."""
    kept: dict[str, Any] = {"kind": kind}
    for name in names:
        if getattr(item, name):
            kept[name] = getattr(item, name)
    if location is not None:
        kept["location"] = location.model_dump(exclude_none=True)
    kept.update({k: v for k, v in (item.model_extra or {}).items() if v not in (None, "")})
    extra: dict[str, Any] = {"whautomate": kept}
    custom = _custom(record, item.customFields)
    if custom:
        extra["custom_fields"] = custom
    record["extra"] = json.dumps(extra, sort_keys=True, default=str)
    return record


def to_canonical(
    contacts: Iterable[Contact],
    clients: Iterable[Client] = (),
    *,
    source: str = "whautomate",
    stage_tags: bool = False,
) -> pl.DataFrame:
    """Whautomate contacts (and clients, after them) -> one canonical frame."""
    records: list[Mapping[str, Any]] = [
        contact_record(c, source=source, row=i, stage_tags=stage_tags)
        for i, c in enumerate(contacts, 1)
    ]
    start = len(records) + 1
    records += [client_record(c, source=source, row=i) for i, c in enumerate(clients, start)]
    return schema.from_records(records)


# -- canonical -> Whautomate -----------------------------------------------------------


@dataclass
class Outbound:
    """What one canonical row becomes in Whautomate, and what it cannot carry."""

    source: str | None
    row: int | None
    source_id: str | None
    contact: ContactIn | None
    tags: list[str] = field(default_factory=list)
    lost: dict[str, Any] = field(default_factory=dict)
    rejected: str | None = None


def outbound_row(
    row: Mapping[str, Any], *, location_id: str | None = None, spill_note: bool = False
) -> Outbound:
    """One canonical row (a dict) -> the Whautomate contact that holds what it can."""
    phones: list[str] = [
        str(p.get("phone_number_sanitized") or p.get("phone_number"))
        for p in ranked(row.get("phones"))
        if p.get("phone_number_sanitized") or p.get("phone_number")
    ]
    out = Outbound(
        source=row.get("source"),
        row=row.get("row"),
        source_id=row.get("source_id"),
        contact=None,
        tags=list(row.get("tags") or []),
    )
    lost = out.lost
    if len(phones) > 1:
        lost["phones"] = phones[1:]
    for column in _LIST_COLUMNS:
        if row.get(column):
            lost[column] = row[column]
    extra: dict[str, Any] = json.loads(row["extra"]) if row.get("extra") else {}
    own = extra.pop("whautomate", None)
    own = own if isinstance(own, dict) else {}
    custom = dict(extra.pop("custom_fields", None) or {})
    for column in schema.SCALAR_FIELDS:
        if column not in _HELD and column != "source_id" and row.get(column):
            lost[column] = row[column]
    for key, value in extra.items():
        if key not in BOOKKEEPING:
            lost[f"extra.{key}"] = value
    notes = [n["body"] for n in row.get("notes") or [] if n.get("body")]
    if len(notes) > 1:
        lost["notes.joined"] = len(notes)
    if spill_note and lost:
        lines = [f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in lost.items()]
        notes.append("Fields Whautomate has no place for:\n" + "\n".join(lines))
    if not phones:
        out.rejected = NO_PHONE
        return out
    name: str = (
        row.get("full_name")
        or " ".join(p for p in (row.get("first_name"), row.get("last_name")) if p)
        or phones[0]
    )
    location = (own.get("location") or {}).get("id") or location_id
    out.contact = ContactIn(
        name=name,
        phoneNumber=phones[0],
        location=LocationRef(id=location) if location else None,
        stage=own.get("stage") if own.get("kind", "contact") == "contact" else None,
        notes="\n\n".join(notes) or None,
        customFields=custom or None,
        tags=out.tags or None,
    )
    return out


def from_canonical(
    frame: pl.DataFrame, *, location_id: str | None = None, spill_note: bool = False
) -> list[Outbound]:
    """A canonical frame -> one :class:`Outbound` per row, in order."""
    return [
        outbound_row(row, location_id=location_id, spill_note=spill_note)
        for row in frame.iter_rows(named=True)
    ]


def count_lost(outbounds: Iterable[Outbound]) -> dict[str, int]:
    """How many rows lost each field on the way to Whautomate, and how many were rejected."""
    counts: Counter[str] = Counter()
    for out in outbounds:
        counts.update(out.lost.keys())
        if out.rejected:
            counts["rejected: " + out.rejected] += 1
    return dict(sorted(counts.items()))
