"""Whautomate as a destination of the import engine (:class:`dexio.upload.Destination`).

A Whautomate contact holds a name, one phone, tags and one notes text: a record without a
phone is refused with :data:`dexio.whautomate.NO_PHONE` (it lands in rejected.csv), notes
are appended to the notes text (read-merge-write), and reminders, emails and the other
fields Whautomate has no place for are counted per field in :attr:`lost`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

from dexio.errors import PayloadRejected
from dexio.normalize.names import normalize_names
from dexio.schema import SCALAR_FIELDS, conform
from dexio.whautomate.client import Whautomate
from dexio.whautomate.mapping import outbound_row, to_canonical
from dexio.whautomate.models import ContactIn


def _digits(value: str | None) -> str:
    return "".join(c for c in value or "" if c.isdigit())


class WhautomateDestination:
    """The engine's view of one Whautomate account (contacts only)."""

    name = "Whautomate"

    def __init__(self, whautomate: Whautomate) -> None:
        self.wa = whautomate
        self.lost: Counter[str] = Counter()
        self._by_phone: dict[str, str] = {}

    def lookup(self, contacts: pl.DataFrame, *, match: str) -> pl.DataFrame:
        """Every contact of the account (notes included: they live on the contact)."""
        found = list(self.wa.iter_contacts())
        self._by_phone = {_digits(c.phoneNumber): c.id for c in found if c.phoneNumber}
        # names split as the incoming side is, so equal names compare equal
        frame = normalize_names(conform(to_canonical(found)))
        raws = [c.model_dump_json(exclude_none=True) for c in found]
        return frame.with_columns(id=pl.col("source_id"), raw=pl.Series(raws, dtype=pl.String))

    def with_timeline(self, existing: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
        return existing

    def fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` reduced to what a Whautomate contact holds (name, one phone, tags,
        notes), the rest counted in :attr:`lost`, so re-runs do not "update" fields
        Whautomate cannot store."""
        for row in frame.iter_rows(named=True):
            if row.get("phones"):  # phoneless rows are rejected, not reduced
                self.lost.update(outbound_row(row).lost.keys())
        # Whautomate holds one name: keep it whole, so both sides are split the same way
        full = pl.coalesce(
            pl.col("full_name"),
            pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True),
        )
        frame = frame.with_columns(full_name=full)
        unheld = [c for c in SCALAR_FIELDS if c not in ("full_name", "source_id")]
        first = pl.element().sort_by(pl.element().struct.field("ranking")).head(1)
        bodies = pl.col("notes").list.eval(pl.element().struct.field("body").drop_nulls())
        one_note = pl.concat_list(
            pl.struct(body=bodies.list.join("\n\n"), created_at=pl.lit(None, pl.String))
        )
        return frame.with_columns(
            *(pl.lit(None, pl.String).alias(c) for c in unheld),
            # one notes text per contact: compare it as Whautomate will hold it
            pl.when(bodies.list.len() > 0).then(one_note).otherwise(pl.col("notes")).alias("notes"),
            pl.col("phones").list.eval(first),
            pl.col("emails").list.head(0),
            pl.col("reminders").list.head(0),
        )

    def _body(self, record: dict[str, Any]) -> ContactIn:
        out = outbound_row(record, location_id=self.wa.location_id or None)
        if out.contact is None:
            raise PayloadRejected(
                out.rejected or "cannot be a Whautomate contact", service=self.name
            )
        # notes and tags arrive as follow-ups (add_note, add_tags); fit() counted the losses
        return out.contact.model_copy(update={"notes": None, "tags": None})

    def create(self, records: Sequence[dict[str, Any]]) -> list[str]:
        ids = []
        for record in records:
            body = self._body(dict(record))
            known = self._by_phone.get(_digits(body.phoneNumber))
            if known is None:
                contact, _ = self.wa.create_contact(body)
                known = contact.id
                self._by_phone[_digits(body.phoneNumber)] = known
            ids.append(known)
        return ids

    def update(self, patches: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for contact_id, patch in patches:
            current = self.wa.get_contact(contact_id)
            fields = dict(patch.get("fields") or {})
            record: dict[str, Any] = {
                "full_name": fields.get("full_name") or current.name,
                "phones": patch.get("phones")
                or [{"phone_number": current.phoneNumber, "ranking": 1}],
                **{k: v for k, v in fields.items() if k != "full_name"},
            }
            body = self._body(record)
            self.wa.update_contact(contact_id, body)

    def find(self, records: Sequence[dict[str, Any]], *, since: float) -> list[str | None]:
        out: list[str | None] = []
        for record in records:
            phones = [
                p.get("phone_number_sanitized") or p.get("phone_number")
                for p in record.get("phones") or []
            ]
            found = self.wa.find_contact(phones[0]) if phones and phones[0] else None
            out.append(found.id if found else None)
        return out

    def add_note(self, contact_id: str, note: dict[str, Any]) -> str:
        body = (note.get("body") or "").strip()
        current = self.wa.get_contact(contact_id)
        if body and body not in (current.notes or ""):
            text = f"{current.notes}\n\n{body}" if current.notes else body
            self.wa.update_contact(
                contact_id,
                ContactIn(
                    name=current.name or "", phoneNumber=current.phoneNumber or "", notes=text
                ),
            )
        return _note_id(contact_id, body)

    def find_note(self, contact_id: str, note: dict[str, Any]) -> str | None:
        body = (note.get("body") or "").strip()
        return (
            _note_id(contact_id, body)
            if body in (self.wa.get_contact(contact_id).notes or "")
            else None
        )

    def add_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str:
        self.lost["reminders"] += 1  # Whautomate contacts have no reminders or tasks
        return f"not-held:{_note_id(contact_id, reminder.get('text') or '')}"

    def find_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str | None:
        return None

    def add_tags(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> int:
        requests = 0
        for contact_id, tags in pairs:
            if tags:
                self.wa.add_tags(contact_id, list(tags))
                requests += 1
        return requests

    def summary(self) -> dict[str, Any]:
        return {"not_held_by_destination": dict(sorted(self.lost.items()))}


def _note_id(contact_id: str, body: str) -> str:
    return f"{contact_id}:note:{hashlib.sha256(body.encode()).hexdigest()[:12]}"
