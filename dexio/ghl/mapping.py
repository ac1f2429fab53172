"""Pure mappings between GoHighLevel wire records and the canonical contact frame.

GoHighLevel -> canonical keeps everything: fields Dex has no column for (address parts,
timezone, lead source, DND, owner, business, custom fields that do not name a canonical
field) go to ``extra`` as JSON. Canonical -> GoHighLevel builds one :class:`Outbound` per
row (contact body, notes, tasks, tags) and lists, per row, what GoHighLevel cannot hold
(``lost``), so the run summary can count it; with ``spill_note=True`` those values also
travel as one extra note. A custom field of the location whose name spells a canonical
column ("Job Title", "LinkedIn") carries that column both ways.

=========================  =============================  ================================
canonical                  GoHighLevel                    notes
=========================  =============================  ================================
first_name / last_name     firstName / lastName
full_name                  name                           derived by GHL from first+last
emails (ranking 1)         email                          others: read from
                                                          additionalEmails, not writable
phones (ranking 1)         phone (E.164)                  as emails
company                    companyName
website                    website
legacy_location            address1 (+ city, state,       structured parts kept in extra
                           postalCode, country on read)
birthday                   dateOfBirth                    ``--MM-DD`` (no year) is lost
tags                       tags                           added with POST .../tags
notes                      notes (body, dateAdded)        a note's time is set by GHL
reminders                  tasks (title+body, dueDate,    no due date -> due today, counted
                           completed)
job_title, description,    custom field of that name      else lost (counted)
education, socials ...
extra.custom_fields        customFields by name           unknown names lost (counted)
source_id                  id
=========================  =============================  ================================
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from dexio import schema
from dexio.ghl.models import (
    Contact,
    ContactIn,
    CustomField,
    CustomFieldIn,
    Note,
    NoteIn,
    Task,
    TaskIn,
)

#: GoHighLevel fields without a canonical column: kept under ``extra["ghl"]``.
_KEPT = (
    "city",
    "state",
    "postalCode",
    "country",
    "timezone",
    "source",
    "type",
    "dnd",
    "assignedTo",
    "businessId",
    "dateAdded",
    "dateUpdated",
)
#: Canonical columns GoHighLevel has a standard field for.
HELD = frozenset(
    {
        "first_name",
        "last_name",
        "full_name",
        "company",
        "website",
        "legacy_location",
        "birthday",
        "emails",
        "phones",
        "tags",
        "notes",
        "reminders",
    }
)
#: Keys other systems keep in ``extra`` that are record-keeping, not contact content
#: (Dex's timestamps and merge flag; its birth year is already in ``birthday``).
BOOKKEEPING = frozenset({"created_at", "updated_at", "ignore_merge", "birthday_year"})
_SCALARS_BY_KEY = {re.sub(r"[^a-z0-9]", "", name): name for name in schema.SCALAR_FIELDS}


def field_key(name: str) -> str:
    """How a custom-field name is compared with a canonical column name."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


# -- GoHighLevel -> canonical ----------------------------------------------------------


def _location_text(contact: Contact) -> str | None:
    city_line = " ".join(p for p in (contact.state, contact.postalCode) if p)
    parts = [p for p in (contact.address1, contact.city, city_line, contact.country) if p]
    return ", ".join(parts) or None


def _reminder(task: Task) -> dict[str, Any]:
    text = task.title if not task.body else f"{task.title}\n{task.body}"
    return {
        "text": text,
        "due_date": task.dueDate[:10] if task.dueDate else None,
        "is_complete": task.completed,
    }


def contact_record(
    contact: Contact,
    notes: Sequence[Note] = (),
    tasks: Sequence[Task] = (),
    custom_fields: Mapping[str, str] | None = None,
    *,
    source: str = "ghl",
    row: int = 1,
) -> dict[str, Any]:
    """One GoHighLevel contact (with its notes and tasks) as a canonical record (a dict).

    ``custom_fields`` maps custom-field ids to their names in the location.
    """
    names = custom_fields or {}
    record: dict[str, Any] = {
        "source": source,
        "row": row,
        "source_id": contact.id,
        "first_name": contact.firstName,
        "last_name": contact.lastName,
        "full_name": contact.name
        or contact.contactName
        or (" ".join(p for p in (contact.firstName, contact.lastName) if p) or None),
        "company": contact.companyName,
        "website": contact.website,
        "legacy_location": _location_text(contact),
        "birthday": contact.birthday,
        "tags": list(contact.tags),
    }
    emails = [e for e in [contact.email, *contact.additionalEmails] if e]
    record["emails"] = [
        {"email": e, "label": None, "ranking": i} for i, e in enumerate(dict.fromkeys(emails), 1)
    ]
    phones = [p for p in [contact.phone, *contact.additionalPhones] if p]
    record["phones"] = [
        {
            "phone_number": p,
            "country_code": None,
            "phone_number_sanitized": p if p.startswith("+") else None,
            "label": None,
            "ranking": i,
        }
        for i, p in enumerate(dict.fromkeys(phones), 1)
    ]
    record["notes"] = [{"body": n.body, "created_at": n.dateAdded} for n in notes if n.body]
    record["reminders"] = [_reminder(t) for t in tasks]
    extra: dict[str, Any] = {}
    kept = {k: getattr(contact, k) for k in _KEPT if getattr(contact, k) not in (None, "")}
    if contact.address1 and (contact.city or contact.state or contact.postalCode):
        kept["address1"] = contact.address1
    if contact.additionalEmails:
        kept["additionalEmails"] = contact.additionalEmails
    unknown = {k: v for k, v in (contact.model_extra or {}).items() if v not in (None, "", [], {})}
    unknown.pop("emailLowerCase", None)
    if unknown:
        kept["other"] = unknown
    if kept:
        extra["ghl"] = kept
    custom: dict[str, Any] = {}
    for item in contact.customFields:
        name = names.get(item.id, item.id)
        column = _SCALARS_BY_KEY.get(field_key(name))
        if column and not record.get(column) and isinstance(item.value, str):
            record[column] = item.value
        elif item.value not in (None, "", []):
            custom[name] = item.value
    if custom:
        extra["custom_fields"] = custom
    record["extra"] = json.dumps(extra, sort_keys=True, default=str) if extra else None
    return record


def to_canonical(
    contacts: Iterable[Contact],
    notes: Mapping[str, Sequence[Note]] | None = None,
    tasks: Mapping[str, Sequence[Task]] | None = None,
    custom_fields: Sequence[CustomField] = (),
    *,
    source: str = "ghl",
) -> pl.DataFrame:
    """GoHighLevel contacts, their notes and tasks (by contact id) -> a canonical frame."""
    names = {f.id: f.name for f in custom_fields}
    records: list[Mapping[str, Any]] = [
        contact_record(
            c,
            (notes or {}).get(c.id, ()),
            (tasks or {}).get(c.id, ()),
            names,
            source=source,
            row=i,
        )
        for i, c in enumerate(contacts, 1)
    ]
    return schema.from_records(records)


# -- canonical -> GoHighLevel ----------------------------------------------------------


@dataclass
class Outbound:
    """What one canonical row becomes in GoHighLevel, and what it cannot carry."""

    source: str | None
    row: int | None
    source_id: str | None
    contact: ContactIn
    tags: list[str] = field(default_factory=list)
    notes: list[NoteIn] = field(default_factory=list)
    tasks: list[TaskIn] = field(default_factory=list)
    lost: dict[str, Any] = field(default_factory=dict)
    rejected: str | None = None


def ranked(items: Sequence[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    """Canonical emails or phones, primary first (by ``ranking``; unranked last)."""
    return sorted(items or [], key=lambda i: (i.get("ranking") is None, i.get("ranking") or 0))


def reminder_task(reminder: Mapping[str, Any], today: str) -> tuple[TaskIn, bool]:
    """A canonical reminder as a GoHighLevel task, and whether it had no due date (then
    it is due ``today``)."""
    text = (reminder.get("text") or "").strip() or "Reminder"
    title, _, body = text.partition("\n")
    due = reminder.get("due_date")
    undated = not due
    due_day = due if due and len(due) == 10 else today
    return (
        TaskIn(
            title=title.strip(),
            body=body.strip() or None,
            dueDate=f"{due_day}T00:00:00.000Z",
            completed=bool(reminder.get("is_complete")),
        ),
        undated,
    )


def outbound_row(
    row: Mapping[str, Any],
    custom_fields: Sequence[CustomField] = (),
    *,
    location_id: str | None = None,
    spill_note: bool = False,
    today: str | None = None,
) -> Outbound:
    """One canonical row (a dict) -> the GoHighLevel calls that recreate it."""
    today = today or dt.date.today().isoformat()
    by_key = {field_key(f.name): f for f in custom_fields}
    lost: dict[str, Any] = {}
    emails = [e["email"] for e in ranked(row.get("emails")) if e.get("email")]
    phones = [
        p.get("phone_number_sanitized") or p.get("phone_number")
        for p in ranked(row.get("phones"))
        if p.get("phone_number_sanitized") or p.get("phone_number")
    ]
    if len(emails) > 1:
        lost["emails"] = emails[1:]
    if len(phones) > 1:
        lost["phones"] = phones[1:]
    birthday = row.get("birthday")
    if birthday and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", birthday):
        lost["birthday"] = birthday
        birthday = None
    extra: dict[str, Any] = json.loads(row["extra"]) if row.get("extra") else {}
    ghl = extra.pop("ghl", {}) if isinstance(extra.get("ghl"), dict) else {}
    wanted_custom: dict[str, Any] = dict(extra.pop("custom_fields", None) or {})
    for column in schema.SCALAR_FIELDS:
        if column in HELD or column == "source_id" or not row.get(column):
            continue
        wanted_custom.setdefault(column, row[column])
    custom_in: list[CustomFieldIn] = []
    for name, value in wanted_custom.items():
        definition = by_key.get(field_key(name))
        if definition is None:
            lost[name] = value
        else:
            custom_in.append(CustomFieldIn(id=definition.id, field_value=value))
    for key, value in extra.items():
        if key not in BOOKKEEPING:
            lost[f"extra.{key}"] = value
    address1 = ghl.get("address1") if ghl.get("address1") else row.get("legacy_location")
    contact = ContactIn(
        locationId=location_id,
        firstName=row.get("first_name"),
        lastName=row.get("last_name"),
        name=None if (row.get("first_name") or row.get("last_name")) else row.get("full_name"),
        email=emails[0] if emails else None,
        phone=phones[0] if phones else None,
        companyName=row.get("company"),
        website=row.get("website"),
        address1=address1,
        city=ghl.get("city") if ghl.get("address1") else None,
        state=ghl.get("state") if ghl.get("address1") else None,
        postalCode=ghl.get("postalCode") if ghl.get("address1") else None,
        country=ghl.get("country") if ghl.get("address1") else None,
        timezone=ghl.get("timezone"),
        source=ghl.get("source"),
        dateOfBirth=birthday,
        customFields=custom_in or None,
    )
    tasks = []
    for reminder in row.get("reminders") or []:
        task, undated = reminder_task(reminder, today)
        tasks.append(task)
        if undated:
            lost.setdefault("reminders.due_date", []).append(task.title)
    notes = [NoteIn(body=n["body"]) for n in row.get("notes") or [] if n.get("body")]
    if spill_note and lost:
        lines = [f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in lost.items()]
        notes.append(NoteIn(body="Fields GoHighLevel has no place for:\n" + "\n".join(lines)))
    out = Outbound(
        source=row.get("source"),
        row=row.get("row"),
        source_id=row.get("source_id"),
        contact=contact,
        tags=list(row.get("tags") or []),
        notes=notes,
        tasks=tasks,
        lost=lost,
    )
    if not (
        emails or phones or row.get("first_name") or row.get("last_name") or row.get("full_name")
    ):
        out.rejected = "no name, email or phone: GoHighLevel needs at least one"
    return out


def from_canonical(
    frame: pl.DataFrame,
    custom_fields: Sequence[CustomField] = (),
    *,
    location_id: str | None = None,
    spill_note: bool = False,
) -> list[Outbound]:
    """A canonical frame -> one :class:`Outbound` per row, in order."""
    today = dt.date.today().isoformat()
    return [
        outbound_row(
            row, custom_fields, location_id=location_id, spill_note=spill_note, today=today
        )
        for row in frame.iter_rows(named=True)
    ]


def count_lost(outbounds: Iterable[Outbound]) -> dict[str, int]:
    """How many rows lost each field on the way to GoHighLevel (for the run summary)."""
    counts: Counter[str] = Counter()
    for out in outbounds:
        counts.update(out.lost.keys())
    return dict(sorted(counts.items()))
