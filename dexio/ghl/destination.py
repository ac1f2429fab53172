"""GoHighLevel as a destination of the import engine (:class:`dexio.upload.Destination`).

``dexio migrate --to ghl`` plans against the whole location (read once) and writes one
call per contact, note, task and tag list, as GoHighLevel has no bulk writes. Creates are
safe to repeat: GoHighLevel refuses a second contact with the same email or phone and
names the first, which is then taken as the result. What GoHighLevel cannot hold is
counted per field in :attr:`GhlDestination.lost` for the run summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import polars as pl

from dexio.errors import PayloadRejected
from dexio.ghl.client import GoHighLevel
from dexio.ghl.mapping import HELD, field_key, outbound_row, reminder_task, to_canonical
from dexio.ghl.models import ContactIn, CustomField, NoteIn
from dexio.schema import SCALAR_FIELDS, conform


class GhlDestination:
    """The engine's view of one GoHighLevel location."""

    name = "GoHighLevel"

    def __init__(self, ghl: GoHighLevel, *, spill_note: bool = False) -> None:
        self.ghl = ghl
        self.spill_note = spill_note
        self.lost: Counter[str] = Counter()
        self._fields: list[CustomField] | None = None

    @property
    def custom_fields(self) -> list[CustomField]:
        if self._fields is None:
            self._fields = self.ghl.custom_fields()
        return self._fields

    # -- looking up -------------------------------------------------------------------
    def lookup(self, contacts: pl.DataFrame, *, match: str) -> pl.DataFrame:
        """The whole location (one search per 100 contacts), without notes and tasks."""
        found = list(self.ghl.iter_contacts())
        frame = conform(to_canonical(found, custom_fields=self.custom_fields))
        raws = [c.model_dump_json(exclude_none=True) for c in found]
        return frame.with_columns(id=pl.col("source_id"), raw=pl.Series(raws, dtype=pl.String))

    def with_timeline(self, existing: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
        wanted = set(ids)
        notes = {i: self.ghl.notes(i) for i in wanted}
        tasks = {i: self.ghl.tasks(i) for i in wanted}
        filled = []
        for row in existing.iter_rows(named=True):
            if row["id"] in wanted:
                row["notes"] = [
                    {"body": n.body, "created_at": n.dateAdded} for n in notes[row["id"]]
                ]
                row["reminders"] = [
                    {
                        "text": t.title if not t.body else f"{t.title}\n{t.body}",
                        "due_date": t.dueDate[:10] if t.dueDate else None,
                        "is_complete": t.completed,
                    }
                    for t in tasks[row["id"]]
                ]
            filled.append(row)
        return pl.DataFrame(filled, schema=existing.schema) if filled else existing

    def fit(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` reduced to what GoHighLevel can hold, the rest counted in :attr:`lost`.

        Planning on the reduced frame keeps re-runs quiet: a field GoHighLevel cannot store
        would otherwise look missing, and be "updated", on every run.
        """
        for row in frame.iter_rows(named=True):
            out = outbound_row(row, self.custom_fields)
            self.lost.update(k for k in out.lost if k != "reminders.due_date")
        mapped = {field_key(f.name) for f in self.custom_fields}
        unheld = [
            c
            for c in SCALAR_FIELDS
            if c not in HELD and c != "source_id" and field_key(c) not in mapped
        ]
        first = pl.element().sort_by(pl.element().struct.field("ranking")).head(1)
        return frame.with_columns(
            *(pl.lit(None, pl.String).alias(c) for c in unheld),
            pl.when(pl.col("birthday").str.contains(r"^\d{4}-\d{2}-\d{2}$"))
            .then(pl.col("birthday"))
            .alias("birthday"),
            pl.col("emails").list.eval(first),
            pl.col("phones").list.eval(first),
        )

    # -- writing ----------------------------------------------------------------------
    def _body(self, record: dict[str, Any], *, new: bool = True) -> ContactIn:
        out = outbound_row(record, self.custom_fields, spill_note=False)
        if out.rejected and new:
            raise PayloadRejected(out.rejected, status=422, service=self.name)
        return out.contact

    def create(self, records: Sequence[dict[str, Any]]) -> list[str]:
        return [self.ghl.create_contact(self._body(dict(r))).id for r in records]

    def update(self, patches: Sequence[tuple[str, dict[str, Any]]]) -> None:
        for contact_id, patch in patches:
            record: dict[str, Any] = dict(patch.get("fields") or {})
            for column in ("emails", "phones"):
                if patch.get(column):
                    record[column] = patch[column]
            if not record:
                continue
            body = self._body(record, new=False)
            sent = body.model_dump(exclude_none=True)
            if sent:
                self.ghl.update_contact(contact_id, ContactIn.model_validate(sent))

    def find(self, records: Sequence[dict[str, Any]], *, since: float) -> list[str | None]:
        out: list[str | None] = []
        for record in records:
            emails = [e.get("email") for e in record.get("emails") or [] if e.get("email")]
            phones = [
                p.get("phone_number_sanitized") or p.get("phone_number")
                for p in record.get("phones") or []
            ]
            found = self.ghl.find_contact(
                email=emails[0] if emails else None, phone=phones[0] if phones else None
            )
            out.append(found.id if found else None)
        return out

    def add_note(self, contact_id: str, note: dict[str, Any]) -> str:
        return self.ghl.add_note(contact_id, NoteIn(body=note["body"])).id

    def add_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str:
        task, undated = reminder_task(reminder, _today())
        if undated:
            self.lost["reminders.due_date"] += 1
        return self.ghl.add_task(contact_id, task).id

    def find_note(self, contact_id: str, note: dict[str, Any]) -> str | None:
        body = (note.get("body") or "").strip()
        return next((n.id for n in self.ghl.notes(contact_id) if n.body.strip() == body), None)

    def find_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str | None:
        task, _ = reminder_task(reminder, _today())
        return next((t.id for t in self.ghl.tasks(contact_id) if t.title == task.title), None)

    def add_tags(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> int:
        requests = 0
        for contact_id, tags in pairs:
            if tags:
                self.ghl.add_tags(contact_id, list(tags))
                requests += 1
        return requests

    def summary(self) -> dict[str, Any]:
        return {"not_held_by_destination": dict(sorted(self.lost.items()))}


def _today() -> str:
    import datetime as dt

    return dt.date.today().isoformat()
