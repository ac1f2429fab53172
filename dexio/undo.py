"""Take back an import or migration from its ledger, without touching the user's later work.

:func:`undo` (``dexio undo REPORT_DIR``) reads ``ledger.sqlite`` in a report folder and
reverses each run, newest first: the notes and reminders it added are deleted, the tag
links it added are removed, the contacts it updated get their before-image back and the
contacts it created are deleted. Every step first looks at Dex:

* a created contact whose ``updated_at`` moved past its ``created_at``, or that holds notes
  or reminders the run did not add, was worked on after the import: it is left alone;
* an updated contact is restored only if it still holds exactly what the run wrote
  (before-image + patch); if it holds the before-image already there is nothing to do;
  anything else is someone's later edit and it is left alone;
* a note or reminder edited since it was added is left alone.

Everything left alone is listed. Because each step checks the current state, an
interrupted undo is resumed by running it again. A run made by ``dexio merge`` cannot be
undone (Dex deletes the merged contacts); its groups are reported as such. Dry by default:
nothing is written unless ``yes=True``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from dexio.dex.client import using
from dexio.dex.models import _ContactFields
from dexio.errors import ApiError, InputError, NotFound, UsageError
from dexio.ledger import LEDGER_NAME, Ledger

#: A created contact counts as edited when Dex stamped it this long after creating it.
EDIT_SLACK_S = 2.0
#: Writable contact fields compared between the before-image, the write and Dex now.
FIELDS = tuple(k for k in _ContactFields.model_fields if k != "groups_contacts")
ACTION_COLUMNS = ("run_id", "kind", "contact_id", "remote_id", "name", "outcome", "reason")


@dataclass
class UndoResult:
    """What :func:`undo` did (or would do, when ``dry_run``), and what it left alone."""

    report_dir: Path
    dry_run: bool
    runs: list[str]
    actions: pl.DataFrame
    files: list[Path] = field(default_factory=list)

    def count(self, kind: str, outcome: str) -> int:
        rows = self.actions.filter((pl.col("kind") == kind) & (pl.col("outcome") == outcome))
        return rows.height

    @property
    def left_alone(self) -> pl.DataFrame:
        return self.actions.filter(pl.col("outcome") == "left alone")

    @property
    def failed(self) -> pl.DataFrame:
        return self.actions.filter(pl.col("outcome") == "failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed.height or self.left_alone.height else 0

    def summary(self) -> dict[str, Any]:
        counts = self.actions.group_by("kind", "outcome").len().sort("kind", "outcome")
        return {
            "dry_run": self.dry_run,
            "runs": self.runs,
            "counts": {f"{k}: {o}": n for k, o, n in counts.iter_rows()},
            "left_alone": self.left_alone.height,
            "failed": self.failed.height,
        }


def _stamp(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _norm(key: str, value: Any) -> Any:
    """A field's value in a form that compares equal however Dex spells it back."""
    if value in (None, "", [], {}):
        return None
    if key == "contact_emails":
        return [str(e.get("email", "")).strip().lower() for e in value]
    if key == "contact_phone_numbers":
        return [re.sub(r"\D", "", str(p.get("phone_number", ""))) for p in value]
    if key == "legacy_contact_addresses":
        return [str(a.get("formatted", "")).strip() for a in value]
    if isinstance(value, str):
        return value.strip() or None
    return value


def _view(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _norm(k, record.get(k)) for k in FIELDS}


def _written(before: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """What the run left on a contact: its before-image with the patch applied."""
    from dexio.pipeline import _patch_to_wire

    after = dict(before)
    after.update(_patch_to_wire(patch))
    return after


def _restore_patch(before: dict[str, Any], written: dict[str, Any]) -> dict[str, Any]:
    """The PUT that puts back every field the run changed (``None`` clears one)."""
    old, new = _view(before), _view(written)
    patch: dict[str, Any] = {}
    for key in FIELDS:
        if old[key] != new[key]:
            value = before.get(key)
            if key in ("contact_emails", "contact_phone_numbers", "legacy_contact_addresses"):
                value = value or []
            patch[key] = value
    return patch


class _Undo:
    """One undo over a ledger: collects what to do, checks Dex, acts unless dry."""

    def __init__(self, ledger: Ledger, dex: Any, dry_run: bool) -> None:
        self.ledger = ledger
        self.dex = dex
        self.dry_run = dry_run
        self.actions: list[dict[str, Any]] = []
        self.restored: set[str] = set()
        self._notes: dict[str, Any] | None = None
        self._reminders: dict[str, Any] | None = None
        self._tag_ids: dict[str, str] | None = None
        self._held: dict[str, Any] | None = None
        self._timeline: dict[str, set[str]] | None = None

    def record(
        self,
        run_id: str,
        kind: str,
        contact_id: str | None,
        outcome: str,
        reason: str | None = None,
        remote_id: str | None = None,
        name: str | None = None,
    ) -> None:
        self.actions.append(
            {
                "run_id": run_id,
                "kind": kind,
                "contact_id": contact_id,
                "remote_id": remote_id,
                "name": name,
                "outcome": outcome,
                "reason": reason,
            }
        )

    def verb(self, done: str) -> str:
        return f"would be {done}" if self.dry_run else done

    # -- what the account holds ---------------------------------------------------------
    def notes(self) -> dict[str, Any]:
        if self._notes is None:
            self._notes = {str(n.id): n for n in self.dex.iter_notes(take=500)}
        return self._notes

    def reminders(self) -> dict[str, Any]:
        if self._reminders is None:
            self._reminders = {str(r.id): r for r in self.dex.iter_reminders(take=500)}
        return self._reminders

    def timeline_of(self, contact_id: str) -> set[str]:
        """Ids of the notes and reminders linked to a contact (indexed once per undo)."""
        if self._timeline is None:
            self._timeline = {}
            for item_id, note in self.notes().items():
                for ref in note.timeline_items_contacts or []:
                    self._timeline.setdefault(ref.contact_id, set()).add(item_id)
            for item_id, reminder in self.reminders().items():
                for ref in reminder.reminders_contacts or []:
                    self._timeline.setdefault(ref.contact_id, set()).add(item_id)
        return self._timeline.get(contact_id, set())

    def tag_id(self, name: str) -> str | None:
        if self._tag_ids is None:
            self._tag_ids = {t.name.strip().lower(): t.id for t in self.dex.iter_tags()}
        return self._tag_ids.get(name.strip().lower())

    def contact(self, contact_id: str) -> Any | None:
        """The contact as Dex holds it now, None when it is gone. One listing of the
        account answers every lookup (a page per 500 contacts, not a call per contact)."""
        if self._held is None:
            self._held = {c.id: c for c in self.dex.iter_contacts(take=500)}
        return self._held.get(contact_id)

    def forget(self, contact_id: str) -> None:
        if self._held is not None:
            self._held.pop(contact_id, None)

    # -- one run ------------------------------------------------------------------------
    def run(self, run_id: str, started_at: float) -> None:
        items = self.ledger.items(run_id)
        before = self.ledger.before_images(run_id)
        added = self.ledger.added(run_id)
        created = self._created(run_id, items, started_at)
        ours_timeline: dict[str, set[str]] = {}
        followups = self._followups(run_id, added)
        for kind, contact_id, remote_id in followups:
            if kind in ("note", "reminder") and remote_id:
                ours_timeline.setdefault(contact_id, set()).add(remote_id)

        # Decide which contacts are someone's later work before touching anything.
        keep: set[str] = set()
        for contact_id in created:
            contact = self.contact(contact_id)
            if contact is None:
                continue
            if contact_id not in self.restored:
                made, changed = _stamp(contact.created_at), _stamp(contact.updated_at)
                if made is not None and changed is not None and changed - made > EDIT_SLACK_S:
                    keep.add(contact_id)
                    self.record(
                        run_id,
                        "contact",
                        contact_id,
                        "left alone",
                        "edited in Dex after the import",
                    )
                    continue
            foreign = self.timeline_of(contact_id) - ours_timeline.get(contact_id, set())
            if foreign:
                keep.add(contact_id)
                self.record(
                    run_id,
                    "contact",
                    contact_id,
                    "left alone",
                    f"{len(foreign)} notes/reminders were added to it after the import",
                )

        updates = items.filter(
            (pl.col("action") == "update") & pl.col("state").is_in(["done", "sent"])
        )
        restores: list[tuple[str, dict[str, Any]]] = []
        for contact_id, payload in updates.select("dest_id", "payload").iter_rows():
            image = before.get(contact_id)
            if image is None:
                self.record(run_id, "update", contact_id, "failed", "no before-image in the ledger")
                continue
            current = self.contact(contact_id)
            if current is None:
                self.record(run_id, "update", contact_id, "left alone", "deleted in Dex since")
                keep.add(contact_id)
                continue
            now = _view(current.model_dump(exclude_none=True))
            written = _written(image, json.loads(payload or "{}"))
            if now == _view(image):
                self.record(run_id, "update", contact_id, "nothing to do", "holds its before-image")
            elif now == _view(written):
                restores.append((contact_id, _restore_patch(image, written)))
            else:
                keep.add(contact_id)
                fields = sorted(k for k in FIELDS if now[k] != _view(written)[k])
                self.record(
                    run_id,
                    "update",
                    contact_id,
                    "left alone",
                    f"edited in Dex after the import ({', '.join(fields[:6])})",
                )

        self._remove_followups(run_id, followups, keep, before)
        self._restore(run_id, restores)
        self._delete(run_id, [c for c in created if c not in keep])

    def _created(self, run_id: str, items: pl.DataFrame, started_at: float) -> list[str]:
        """Ids of the contacts the run created, including those sent without an answer
        (found in Dex the way the import reconciles them)."""
        done = items.filter((pl.col("action") == "create") & (pl.col("state") == "done"))
        ids = [i for i in done["dest_id"].to_list() if i]
        sent = items.filter((pl.col("action") == "create") & (pl.col("state") == "sent"))
        if sent.height:
            from dexio.pipeline import DexDestination

            records = [json.loads(p) for p in sent["payload"].to_list()]
            found = DexDestination(self.dex).find(records, since=started_at)
            ids.extend(i for i in found if i)
        return list(dict.fromkeys(ids))

    def _followups(self, run_id: str, added: list[tuple[str, str, str | None]]) -> list[Any]:
        """``(kind, contact_id, remote_id or tag name)`` the run added, including notes and
        reminders sent without an answer that are found in Dex."""
        out = [(kind, cid, rid) for kind, cid, rid in added if kind != "contact"]
        from dexio.pipeline import DexDestination

        destination = DexDestination(self.dex)
        for _, kind, _, contact_id, payload, _ in self.ledger.followups(run_id, ("sent",)):
            body = json.loads(payload)
            if kind == "tags":
                out.extend(("tag", contact_id, name) for name in body)
                continue
            try:
                remote = (
                    destination.find_note(contact_id, body)
                    if kind == "note"
                    else destination.find_reminder(contact_id, body)
                )
            except NotFound:
                remote = None
            if remote:
                out.append((kind, contact_id, remote))
        return out

    def _remove_followups(
        self,
        run_id: str,
        followups: list[tuple[str, str, str | None]],
        keep: set[str],
        before: dict[str, dict[str, Any]],
    ) -> None:
        untag: dict[str, list[str]] = {}
        for kind, contact_id, remote in followups:
            if contact_id in keep:
                self.record(
                    run_id, kind, contact_id, "left alone", "its contact is left alone", remote
                )
                continue
            if kind == "tag":
                name = remote or ""
                had = {
                    str(t.get("name", "")).strip().lower()
                    for t in before.get(contact_id, {}).get("tags") or []
                }
                if name.strip().lower() in had:
                    self.record(
                        run_id,
                        "tag",
                        contact_id,
                        "nothing to do",
                        "it had the tag before",
                        name=name,
                    )
                    continue
                untag.setdefault(name, []).append(contact_id)
                continue
            index = self.notes() if kind == "note" else self.reminders()
            item = index.get(str(remote))
            if item is None:
                self.record(run_id, kind, contact_id, "already gone", remote_id=remote)
                continue
            made, changed = _stamp(item.created_at), _stamp(item.updated_at)
            if made is not None and changed is not None and changed - made > EDIT_SLACK_S:
                self.record(
                    run_id, kind, contact_id, "left alone", "edited in Dex after the import", remote
                )
                continue
            if not self.dry_run:
                route = "timeline" if kind == "note" else "reminders"
                try:
                    self.dex.http.request("DELETE", f"{route}/{remote}")
                except NotFound:
                    pass
                except ApiError as exc:
                    self.record(run_id, kind, contact_id, "failed", exc.message, remote)
                    continue
                index.pop(str(remote), None)
                refs = getattr(item, "timeline_items_contacts", None) or getattr(
                    item, "reminders_contacts", None
                )
                for ref in refs or []:
                    (self._timeline or {}).get(ref.contact_id, set()).discard(str(remote))
            self.record(run_id, kind, contact_id, self.verb("deleted"), remote_id=remote)
        for name, contact_ids in untag.items():
            tag_id = self.tag_id(name)
            if tag_id is None:
                for cid in contact_ids:
                    self.record(run_id, "tag", cid, "already gone", "no such tag", name=name)
                continue
            alive = [c for c in contact_ids if self.contact(c) is not None]
            if alive and not self.dry_run:
                try:
                    self.dex.remove_tags(alive, [tag_id])
                except ApiError as exc:
                    for cid in alive:
                        self.record(run_id, "tag", cid, "failed", exc.message, name=name)
                    continue
            for cid in contact_ids:
                outcome = self.verb("removed") if cid in alive else "already gone"
                self.record(run_id, "tag", cid, outcome, name=name)

    def _restore(self, run_id: str, restores: list[tuple[str, dict[str, Any]]]) -> None:
        for contact_id, patch in restores:
            if not self.dry_run and patch:
                try:
                    fresh = self.dex.update_contact(contact_id, patch)
                    if self._held is not None:
                        self._held[contact_id] = fresh
                except ApiError as exc:
                    self.record(run_id, "update", contact_id, "failed", exc.message)
                    continue
            self.restored.add(contact_id)
            fields = ", ".join(sorted(patch)) or "nothing"
            self.record(run_id, "update", contact_id, self.verb("restored"), f"fields: {fields}")

    def _delete(self, run_id: str, ids: list[str]) -> None:
        present = [i for i in ids if self.contact(i) is not None]
        gone = set(ids) - set(present)
        if present and not self.dry_run:
            try:
                self.dex.delete_contacts(present)
            except ApiError as exc:
                for cid in present:
                    self.record(run_id, "contact", cid, "failed", exc.message)
                present = []
        for cid in present:
            self.forget(cid)
        for cid in ids:
            if cid in gone:
                self.record(run_id, "contact", cid, "already gone")
            elif cid in present:
                self.record(run_id, "contact", cid, self.verb("deleted"))


def undo(
    report_dir: str | Path,
    *,
    dex: Any = None,
    yes: bool = False,
) -> UndoResult:
    """``dexio undo REPORT_DIR``: reverse the runs recorded in a report folder's ledger.

    Dry by default (``yes=False``): Dex is read, nothing is written, and the report says
    what would happen. With ``yes=True`` the changes are made; running it again after an
    interruption finishes the job. Writes ``undo-actions.csv`` (one row per contact, note,
    reminder and tag link: deleted, restored, removed, left alone and why, already gone,
    not undoable) and ``undo-summary.json`` into ``REPORT_DIR/undo``.
    """
    folder = Path(report_dir)
    if not (folder / LEDGER_NAME).is_file():
        raise InputError(
            f"no {LEDGER_NAME} here: give the report folder of an import, migrate or merge",
            file=folder,
        )
    summary = folder / "summary.json"
    if summary.is_file():
        destination = json.loads(summary.read_text(encoding="utf-8")).get("destination")
        if destination not in (None, "Dex"):
            raise UsageError(
                f"{folder} holds a migration into {destination}; dexio undo takes back "
                "runs into Dex only"
            )
    dry_run = not yes
    with using(dex) as client, Ledger(folder) as ledger:
        work = _Undo(ledger, client, dry_run)
        undone: list[str] = []
        for run in reversed(ledger.runs()):
            if run.status in ("undone", "dry-run"):
                continue
            meta = ledger.run_meta(run.run_id)
            if "review" in meta:  # a `dexio merge` run
                merged = ledger.items(run.run_id).filter(
                    (pl.col("action") == "merge") & (pl.col("state") == "done")
                )
                for group, survivor in merged.select("cluster_id", "dest_id").iter_rows():
                    work.record(
                        run.run_id,
                        "merge",
                        survivor,
                        "not undoable",
                        f"group {group}: Dex deleted the merged contacts",
                    )
                continue
            failed_before = sum(1 for a in work.actions if a["outcome"] == "failed")
            work.run(run.run_id, run.started_at)
            failed_now = sum(1 for a in work.actions if a["outcome"] == "failed")
            undone.append(run.run_id)
            if not dry_run and failed_now == failed_before:
                ledger.forget(run.run_id)
                ledger.finish_run(run.run_id, "undone")
    actions = pl.DataFrame(work.actions, schema=dict.fromkeys(ACTION_COLUMNS, pl.String))
    result = UndoResult(folder, dry_run, undone, actions)
    out = folder / "undo"
    out.mkdir(parents=True, exist_ok=True)
    actions.write_csv(out / "undo-actions.csv")
    (out / "undo-summary.json").write_text(
        json.dumps(result.summary(), indent=2) + "\n", encoding="utf-8"
    )
    result.files = [out / "undo-actions.csv", out / "undo-summary.json"]
    return result


__all__ = ["UndoResult", "undo"]
