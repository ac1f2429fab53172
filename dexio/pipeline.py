"""``dexio import`` as a library call: read -> normalize -> dedupe -> plan -> upload -> report.

:func:`run` is the one pipeline: it resumes the unfinished run of a report directory's
ledger or starts one from a *plan source* (a function giving the planned ledger items),
uploads it to a destination and writes the result files. :func:`import_files` is its case
for files into Dex and :func:`dexio.migrate.migrate` its case for another CRM (either
way). :class:`DexDestination` adapts the Dex client to the destination protocol of
:mod:`dexio.upload`; other CRMs provide their own and reuse the rest.

Report directory and resume
---------------------------
Without ``report_dir``, the report goes to ``./dexio-report-<first file>-<fingerprint>``,
where the fingerprint covers the input files' contents and every option that changes the
plan. So re-running the *same command on the same files* finds the same folder and its
ledger: an unfinished run there is resumed (nothing is read or planned again, acknowledged
work is not re-sent), a finished one is followed by a fresh run that plans against Dex
again (which then creates nobody). Changing a file or an option gives a new folder.
``--report DIR`` pins the folder; the same fingerprint rule decides resume there.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from dexio import report as reporting
from dexio.dex.client import using
from dexio.errors import ApiError, InputError, NotFound, UsageError
from dexio.ledger import ITEM_COLUMNS, LEDGER_NAME, Ledger
from dexio.plan import REJECTED, SLICE_ROWS, Match, OnExisting, json_object, match, plan
from dexio.schema import SCHEMA, conform, from_records
from dexio.upload import Destination, Interrupted, UploadStats, upload

#: What the report reads of a run's items: all but the JSON sent (the bulk of each row).
REPORT_COLUMNS = tuple(c for c in ITEM_COLUMNS if c not in ("payload", "followups"))

#: Contacts whose creation time is this close before the run's start still count as ours
#: when reconciling (clock skew between this machine and the server).
CLOCK_SLACK_S = 300.0


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _name_company(record: dict[str, Any]) -> str | None:
    name = _text(record.get("full_name")) or " ".join(
        t for t in (_text(record.get("first_name")), _text(record.get("last_name"))) if t
    )
    company = _text(record.get("company"))
    if not name:
        return None
    folded = re.sub(r"\s+", " ", name.lower())
    return f"{folded}|{(company or '').lower()}"


def _created_at(value: Any) -> float | None:
    text = _text(value)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


class DexDestination:
    """The import engine's view of a Dex account (see :class:`dexio.upload.Destination`)."""

    name = "Dex"

    def __init__(self, dex: Any) -> None:
        self.dex = dex
        self._tag_ids: dict[str, str] | None = None

    # -- looking up -------------------------------------------------------------------
    def _frame(self, contacts: Sequence[Any]) -> pl.DataFrame:
        frame = conform(_to_canonical(contacts))
        raws = [c.model_dump_json(exclude_none=True) for c in contacts]
        return frame.with_columns(id=pl.col("source_id"), raw=pl.Series(raws, dtype=pl.String))

    def lookup(self, contacts: pl.DataFrame, *, match: str) -> pl.DataFrame:
        """By email through ``by-emails``; a snapshot of the account when ``match`` is
        ``"full"`` or when some contacts have no email (they are matched by phone,
        LinkedIn or name+company, see :func:`dexio.plan.match`)."""
        email_lists = contacts.select(
            pl.col("emails").list.eval(pl.element().struct.field("email")).alias("e")
        )["e"]
        if match == "full" or bool((email_lists.list.len().fill_null(0) == 0).any()):
            return self._frame(list(self.dex.iter_contacts(take=500)))
        emails = email_lists.explode().drop_nulls().unique().to_list()
        if not emails:
            return self._frame([])
        return self._frame(self.dex.contacts_by_emails(emails))

    def with_timeline(self, existing: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
        if not ids:
            return existing

        def fetch(contact_id: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
            notes = [
                {"body": n.note, "created_at": n.event_time}
                for n in self.dex.iter_notes(contact_id)
            ]
            reminders = [
                {"text": r.text, "due_date": r.due_at_date, "is_complete": r.is_complete}
                for r in self.dex.iter_reminders(contact_id)
            ]
            return contact_id, notes, reminders

        with ThreadPoolExecutor(max_workers=self.dex.concurrency) as pool:
            fetched = list(pool.map(fetch, ids))
        timeline = pl.DataFrame(
            {
                "id": [f[0] for f in fetched],
                "_notes": [f[1] for f in fetched],
                "_reminders": [f[2] for f in fetched],
            },
            schema={"id": pl.String, "_notes": SCHEMA["notes"], "_reminders": SCHEMA["reminders"]},
        )
        return (
            existing.join(timeline, on="id", how="left", maintain_order="left")
            .with_columns(
                notes=pl.coalesce("_notes", "notes"),
                reminders=pl.coalesce("_reminders", "reminders"),
            )
            .drop("_notes", "_reminders")
        )

    # -- writing ----------------------------------------------------------------------
    def create(self, records: Sequence[dict[str, Any]]) -> list[str]:
        wire = _to_wire(from_records(list(records)))
        return [c.id for c in self.dex.create_chunk(wire)]

    def update(self, patches: Sequence[tuple[str, dict[str, Any]]]) -> None:
        body = [(cid, _patch_to_wire(p)) for cid, p in patches]
        body = [(cid, p) for cid, p in body if p]
        if body:
            self.dex.update_contacts(body, chunk_size=max(len(body), 1), concurrency=1)

    def find(self, records: Sequence[dict[str, Any]], *, since: float) -> list[str | None]:
        """Contacts created at or after ``since`` matching each record: by email, else by
        name and company. Each found contact is claimed by one record at most."""
        since -= CLOCK_SLACK_S
        claimed: set[str] = set()
        out: list[str | None] = [None] * len(records)
        emails = {
            (e.get("email") or "").strip().lower()
            for r in records
            for e in (r.get("emails") or [])
            if e.get("email")
        }
        by_email: dict[str, list[Any]] = {}
        if emails:
            for contact in self.dex.contacts_by_emails(sorted(emails)):
                created = _created_at(contact.created_at)
                if created is not None and created < since:
                    continue
                for e in contact.contact_emails or []:
                    by_email.setdefault(e.email.strip().lower(), []).append(contact)
        pending_names: list[int] = []
        for i, record in enumerate(records):
            found = None
            for e in record.get("emails") or []:
                for contact in by_email.get((e.get("email") or "").strip().lower(), []):
                    if contact.id not in claimed:
                        found = contact.id
                        break
                if found:
                    break
            if found:
                claimed.add(found)
                out[i] = found
            elif not (record.get("emails") or []):
                pending_names.append(i)
        if pending_names:
            wanted = {_name_company(records[i]) for i in pending_names} - {None}
            by_name: dict[str, list[str]] = {}
            for contact in self.dex.iter_contacts(take=500, full=False):
                created = _created_at(getattr(contact, "created_at", None))
                if created is not None and created < since:
                    continue
                key = _name_company(contact.model_dump())
                if key is not None and key in wanted:
                    by_name.setdefault(key, []).append(contact.id)
            for i in pending_names:
                key = _name_company(records[i])
                for cid in by_name.get(key or "", []):
                    if cid not in claimed:
                        claimed.add(cid)
                        out[i] = cid
                        break
        return out

    def add_note(self, contact_id: str, note: dict[str, Any]) -> str:
        item = self.dex.create_note(
            contact_id, note["body"], event_time=_event_time(note.get("created_at"))
        )
        return str(item.id)

    def add_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str:
        item = self.dex.create_reminder(
            contact_id,
            reminder["text"],
            due_at_date=reminder.get("due_date") or date.today().isoformat(),
            is_complete=bool(reminder.get("is_complete")),
        )
        return str(item.id)

    def find_note(self, contact_id: str, note: dict[str, Any]) -> str | None:
        body = (note.get("body") or "").strip()
        try:
            for item in self.dex.iter_notes(contact_id):
                if (item.note or "").strip() == body:
                    return str(item.id)
        except NotFound:
            return None
        return None

    def find_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str | None:
        text = (reminder.get("text") or "").strip()
        for item in self.dex.iter_reminders(contact_id):
            if (item.text or "").strip() == text:
                return str(item.id)
        return None

    def add_tags(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> int:
        """Tag contacts in bulk: one tag id per name (created once), then
        ``tags/contacts/add`` per tag for all its contacts. Safe to repeat."""
        requests = 0
        if self._tag_ids is None:
            self._tag_ids = {t.name.strip().lower(): t.id for t in self.dex.iter_tags()}
            requests += 1
        by_tag: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for contact_id, tag_names in pairs:
            for name in tag_names:
                key = name.strip().lower()
                if key:
                    names.setdefault(key, name.strip())
                    by_tag.setdefault(key, []).append(contact_id)
        for key, contact_ids in by_tag.items():
            if key not in self._tag_ids:
                self._tag_ids[key] = self.dex.create_tag(names[key]).id
                requests += 1
            self.dex.add_tags(list(dict.fromkeys(contact_ids)), [self._tag_ids[key]])
            requests += 1
        return requests


def _event_time(value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text}T00:00:00+00:00"
    return text


def _to_canonical(contacts: Sequence[Any]) -> pl.DataFrame:
    from dexio.dex.convert import to_canonical

    return to_canonical(contacts)


def _to_wire(frame: pl.DataFrame) -> list[dict[str, Any]]:
    from dexio.dex.convert import to_wire

    return to_wire(frame)


def _patch_to_wire(patch: dict[str, Any]) -> dict[str, Any]:
    """A plan patch (canonical names) -> the ``data`` of a Dex PUT, only the patched keys."""
    fields = dict(patch.get("fields") or {})
    record: dict[str, Any] = dict(fields)
    for column in ("emails", "phones"):
        if patch.get(column):
            record[column] = patch[column]
    if not record:
        return {}
    wire = _to_wire(from_records([record]))[0]
    keep = set(fields)
    if "birthday" in fields:
        keep.add("birthday_year")
    if patch.get("emails"):
        keep.add("contact_emails")
    if patch.get("phones"):
        keep.add("contact_phone_numbers")
    return {k: v for k, v in wire.items() if k in keep}


# -- the import --------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What :func:`import_files` did: counts per result file and where the report is."""

    report_dir: Path
    run_id: str | None
    dry_run: bool
    resumed: bool
    input_records: int
    counts: dict[str, int]
    summary: dict[str, Any]
    files: dict[str, Path] = field(default_factory=dict)
    stats: UploadStats | None = None

    @property
    def ok(self) -> bool:
        """True when nothing was rejected and every note, reminder and tag landed."""
        return self.counts["rejected"] == 0 and not self.summary.get("followup_problems")

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1


def fingerprint(paths: Sequence[Path], options: dict[str, Any]) -> str:
    """Identity of "the same command": file contents plus plan-changing options."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.resolve()).encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def default_report_dir(paths: Sequence[Path], print_: str) -> Path:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", paths[0].stem)[:40] if paths else "import"
    return Path.cwd() / f"dexio-report-{stem}-{print_[:10]}"


def _primary_email() -> pl.Expr:
    return (
        pl.col("emails")
        .list.eval(pl.element().sort_by(pl.element().struct.field("ranking")))
        .list.first()
        .struct.field("email")
    )


def _merged_email(dtype: pl.DataType) -> pl.Expr:
    """Dedupe's merged rows carry emails as plain strings or canonical structs."""
    if dtype == pl.List(pl.String):
        return pl.col("emails").list.first().alias("email")
    return _primary_email().alias("email")


def _source_key(frame: pl.DataFrame) -> pl.Expr:
    """``id:<source id>`` for records from an API, else ``<file>#<row>`` (as
    :func:`dexio.ledger.source_key`), so re-runs and migrations find their id map."""
    by_row = pl.concat_str([pl.col("source"), pl.col("row").cast(pl.String)], separator="#")
    if "source_id" not in frame.columns:
        return by_row.alias("source_key")
    return (
        pl.when(pl.col("source_id").is_not_null() & (pl.col("source_id") != ""))
        .then(pl.lit("id:") + pl.col("source_id"))
        .otherwise(by_row)
        .alias("source_key")
    )


def _display_name() -> pl.Expr:
    joined = pl.concat_str(["first_name", "last_name"], separator=" ", ignore_nulls=True)
    return pl.coalesce(pl.col("full_name"), pl.when(joined != "").then(joined))


def _read_all(paths: Sequence[Path], mapping: Any) -> pl.DataFrame:
    import dexio

    frames = [conform(dexio.read(path, mapping=mapping)) for path in paths]
    return pl.concat(frames, how="vertical_relaxed") if frames else conform(pl.DataFrame())


def prepare(
    frame: pl.DataFrame,
    destination: Any,
    *,
    region: str | None = None,
    match_on: Match = "email",
    on_existing: OnExisting = "update",
    overwrite: bool = False,
    tags: Iterable[str] = (),
) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Read frame -> ledger items (one per input record) and before-images of updates.

    Records a reader rejected skip normalize and dedupe; the rest are normalized,
    deduplicated (folded records become ``merged`` items pointing at their survivor) and
    planned against what ``destination`` holds.
    """
    import dexio

    rejected_by_reader = (
        pl.col("issues")
        .list.eval(pl.element().str.starts_with(REJECTED))
        .list.any()
        .fill_null(False)
    )
    unreadable_rows = frame.select(rejected_by_reader).to_series()
    if unreadable_rows.any():
        unreadable, good = frame.filter(unreadable_rows), frame.filter(~unreadable_rows)
    else:  # the usual case: no copy of the read frame
        unreadable, good = frame.clear(), frame
    # Memory: every stage's input is let go once the next stage has its output (the
    # caller passes ``frame`` without keeping it, see import_files).
    del frame, unreadable_rows
    if good.height:
        normalized = dexio.normalize(good, region=region)
        del good
        deduped = dexio.dedupe(normalized)
        del normalized
        contacts, merged = deduped.contacts, deduped.merged
        del deduped
    else:
        contacts, merged = good, pl.DataFrame()
        del good
    existing = destination.lookup(contacts, match=match_on)
    if (
        existing.height
        and (contacts["notes"].list.len().fill_null(0) > 0).any()
        | (contacts["reminders"].list.len().fill_null(0) > 0).any()
    ):
        wants = (
            conform(contacts)
            .with_row_index("_i")
            .filter(
                (pl.col("notes").list.len().fill_null(0) > 0)
                | (pl.col("reminders").list.len().fill_null(0) > 0)
            )
        )
        pairs = match(wants, conform(existing).with_row_index("_j"), match_on)
        ids = existing.with_row_index("_j").join(pairs, on="_j")["id"].unique().to_list()
        existing = destination.with_timeline(existing, ids)
    to_plan = (
        pl.concat([conform(contacts), conform(unreadable)], how="diagonal_relaxed")
        if unreadable.height
        else conform(contacts)
    )
    del contacts, unreadable
    planned = plan(
        to_plan,
        existing,
        match_on=match_on,
        on_existing=on_existing,
        overwrite=overwrite,
        tags=tags,
    )
    del to_plan, existing
    images = planned.filter((pl.col("action") == "update") & pl.col("before").is_not_null())
    before = list(zip(images["dest_id"].to_list(), images["before"].to_list(), strict=True))
    del images
    items = items_from_plan(planned, merged)
    return items, before


def _json_pick(keys: Sequence[str], *, empty: str | None) -> pl.Expr:
    """The keys ``keys`` of the JSON object in ``patch``, as a JSON object (in that order),
    or ``empty`` when it has none of them.

    Each value is cut out of the patch with ``str.json_path_match`` (which gives an object
    or list back as its JSON text) and put back under its key, so no JSON is decoded into
    Python. Exact for what :func:`dexio.plan.plan` writes: it puts only non-empty objects
    and lists under these keys (an empty list is left out all the same).
    """
    parts = []
    for key in keys:
        value = pl.col("patch").str.json_path_match(f"$.{key}")
        present = value.is_not_null() & ~value.is_in(["[]", "{}", "null"])
        parts.append(pl.when(present).then(pl.lit(f'"{key}":') + value))
    inner = pl.concat_str(parts, separator=",", ignore_nulls=True)
    return pl.when(inner != "").then(pl.lit("{") + inner + pl.lit("}")).otherwise(pl.lit(empty))


#: What an update sends now; the rest of its patch is a follow-up (see :func:`items_from_plan`).
_UPDATE_KEYS = ("fields", "emails", "phones")
_FOLLOWUP_KEYS = ("tags", "notes", "reminders")


def _payloads(rows: pl.DataFrame) -> pl.DataFrame:
    """``payload`` and ``followups`` of planned rows (``action``, ``patch`` and the
    canonical columns): a create's payload is its record without null or empty-list keys
    (readers take a missing key for null: :func:`dexio.schema.from_records`, the GHL and
    Whautomate ``outbound_row``), an update's the ``fields`` / ``emails`` / ``phones`` of
    its patch (``{}`` when it only adds follow-ups), and follow-ups are the ``tags`` /
    ``notes`` / ``reminders`` of the patch (null when none)."""
    action = pl.col("action")
    # A when/then computes every branch for every row: leave out the JSON-path parsing of
    # patches where a slice has none (most of an import into an empty account).
    create = pl.when(action == "create").then(json_object(SCHEMA))
    payload = (
        create.when(action == "update").then(_json_pick(_UPDATE_KEYS, empty="{}"))
        if (rows["action"] == "update").any()
        else create
    )
    followups = (
        _json_pick(_FOLLOWUP_KEYS, empty=None)
        if rows["patch"].is_not_null().any()
        else pl.lit(None, pl.String)
    )
    return rows.select(payload=payload, followups=followups)


def items_from_plan(planned: pl.DataFrame, merged: pl.DataFrame | None = None) -> pl.DataFrame:
    """Ledger items (see :data:`dexio.ledger.ITEM_COLUMNS`) from a plan and the records
    dedupe folded into others: one item per input record, in source/row order.

    Memory: the items are ordered first without their JSON (``_at`` remembers each one's
    row in ``planned``); payloads and follow-ups are then made :data:`SLICE_ROWS` rows at
    a time, already in the final order, so their text is built once and never sorted.
    """
    merged = merged if merged is not None else pl.DataFrame()
    cluster = (
        pl.col("cluster_id").cast(pl.String)
        if "cluster_id" in planned.columns
        else pl.lit(None, pl.String)
    )
    items = planned.select(
        pl.col("source"),
        pl.col("row").cast(pl.Int64),
        _source_key(planned),
        pl.col("action"),
        pl.when(pl.col("action").is_in(["create", "update"]))
        .then(pl.lit("planned"))
        .otherwise(pl.lit("done"))
        .alias("state"),
        pl.col("dest_id"),
        pl.col("content_hash"),
        pl.col("reason"),
        pl.col("field"),
        _display_name().alias("full_name"),
        _primary_email().alias("email"),
        pl.col("company"),
        pl.col("survivor_source"),
        pl.col("survivor_row").cast(pl.Int64),
        cluster.alias("cluster_id"),
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("_at"),
    )
    if merged.height:
        merged_items = merged.select(
            pl.col("source"),
            pl.col("row").cast(pl.Int64),
            pl.concat_str([pl.col("source"), pl.col("row").cast(pl.String)], separator="#").alias(
                "source_key"
            ),
            pl.lit("merged").alias("action"),
            pl.lit("done").alias("state"),
            pl.col("merge_reason").alias("reason"),
            pl.col("survivor_source"),
            pl.col("survivor_row").cast(pl.Int64),
            pl.col("cluster_id").cast(pl.String),
            *(
                [_display_name().alias("full_name")]
                if {"full_name", "first_name", "last_name"} <= set(merged.columns)
                else []
            ),
            *([_merged_email(merged.schema["emails"])] if "emails" in merged.columns else []),
        )
        items = pl.concat([items, merged_items], how="diagonal_relaxed")
    items = items.sort(["source", "row"])
    rows = planned.select("action", "patch", *SCHEMA)
    at = items["_at"]  # null for merged items: gathers a null row, so no payload
    parts = [
        _payloads(rows.select(pl.all().gather(at.slice(start, SLICE_ROWS))))
        for start in range(0, items.height, SLICE_ROWS)
    ]
    json_columns = (
        pl.concat(parts, rechunk=False)
        if parts
        else pl.DataFrame(schema={"payload": pl.String, "followups": pl.String})
    )
    first = ["source", "row", "source_key", "action", "state", "dest_id"]
    rest = [c for c in items.columns if c not in (*first, "_at")]
    return (
        items.drop("_at")
        .hstack(json_columns)
        .select(*first, "payload", "followups", *rest)
        .with_row_index("seq")
        .with_columns(pl.col("seq").cast(pl.Int64), pl.lit(0, pl.Int64).alias("attempts"))
    )


def import_files(
    paths: str | Path | Sequence[str | Path],
    *,
    mapping: Any = None,
    region: str | None = None,
    dry_run: bool = False,
    batch_size: int = 100,
    concurrency: int = 4,
    tags: Iterable[str] = (),
    on_existing: OnExisting = "update",
    overwrite: bool = False,
    match: Match = "email",
    report_dir: str | Path | None = None,
    dex: Any = None,
    quiet: bool = False,
    console: Console | None = None,
) -> ImportResult:
    """Import contact files into Dex; the library side of ``dexio import``.

    Reads every file, normalizes, de-duplicates, plans against what Dex holds (matching
    by email, or with ``match="full"`` also by phone, LinkedIn and name+company), uploads
    through a resumable ledger and writes the result files into ``report_dir`` (see the
    module docstring for the default and for resuming). ``dry_run`` does all of it except
    the writes. ``dex`` is a :class:`dexio.Dex` (default: from ``DEX_API_KEY``).
    Raises :class:`dexio.errors.InputError` for unreadable input; a Ctrl-C raises
    ``KeyboardInterrupt`` after the in-flight work is recorded.
    """
    files = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    if not files:
        raise UsageError("give at least one file to import")
    for file in files:
        if not file.is_file():
            raise InputError("no such file", file=file)
    if batch_size < 1 or concurrency < 1:
        raise UsageError("--batch-size and --concurrency must be at least 1")
    if on_existing not in ("update", "skip"):
        raise UsageError("--on-existing must be 'update' or 'skip'")
    if match not in ("email", "full"):
        raise UsageError("--match must be 'email' or 'full'")
    tag_list = [t.strip() for t in tags if t and t.strip()]
    console = console or Console(stderr=True, quiet=quiet)
    options = {
        "mapping": str(mapping) if mapping is not None else None,
        "region": region,
        "tags": sorted(tag_list),
        "on_existing": on_existing,
        "overwrite": overwrite,
        "match": match,
    }
    print_ = fingerprint(files, options)
    folder = Path(report_dir) if report_dir else default_report_dir(files, print_)
    with using(dex, concurrency=concurrency) as client:
        destination = DexDestination(client)

        def plan_files(_ledger: Ledger | None) -> Planned:
            read = [_read_all(files, mapping)]
            input_records = read[0].height
            # pop(): prepare() holds the only reference to the read frame, so it can let
            # it go once normalized (a local here would keep it alive to the end).
            items, before = prepare(
                read.pop(),
                destination,
                region=region,
                match_on=match,
                on_existing=on_existing,
                overwrite=overwrite,
                tags=tag_list,
            )
            meta = {
                "input_records": input_records,
                "files": [str(f) for f in files],
                "options": options,
            }
            return Planned(items, before, meta)

        return run(
            folder,
            print_,
            destination,
            plan_files,
            command="import",
            extra={"destination": destination.name, "options": options},
            dry_run=dry_run,
            batch_size=batch_size,
            concurrency=concurrency,
            quiet=quiet,
            console=console,
        )


@dataclass
class Planned:
    """One run's plan, as a source made it: the ledger items (one per input record, see
    :func:`items_from_plan`), before-images of planned updates, and the run's metadata
    (``input_records`` at least), which the ledger keeps for a resume."""

    items: pl.DataFrame
    before: list[tuple[str, str]]
    meta: dict[str, Any]


#: A source of contacts planned against a destination. It is called once per fresh run
#: with the report folder's ledger (``None`` for a dry run on a folder without one), so a
#: source can read its id map from earlier runs; files ignore it.
PlanSource = Callable[[Ledger | None], Planned]


def run(
    folder: Path,
    print_: str,
    destination: Destination,
    plan_source: PlanSource,
    *,
    command: str,
    extra: dict[str, Any],
    dry_run: bool = False,
    read_in_summary: bool = False,
    batch_size: int = 100,
    concurrency: int = 4,
    quiet: bool = False,
    console: Console,
) -> ImportResult:
    """The one pipeline behind ``import`` and ``migrate``: resume the unfinished run with
    fingerprint ``print_`` in ``folder``'s ledger or start one from ``plan_source``, upload
    it to ``destination`` and write the report.

    ``command`` names the run in the ledger (``import``, ``migrate ghl``); ``extra`` goes
    into ``summary.json`` (with ``resumed``, ``upload`` and the destination's own
    ``summary()`` if it has one); ``read_in_summary`` adds the run's metadata as ``read``.
    A dry run plans, reports ``would ...`` and writes nothing to the ledger.
    """
    if dry_run:
        ledger: Ledger | None = Ledger(folder) if (folder / LEDGER_NAME).is_file() else None
        try:
            planned = plan_source(ledger)
        finally:
            if ledger is not None:
                ledger.close()
        meta = planned.meta
        input_records = int(meta["input_records"])
        parts = reporting.buckets(planned.items, input_records=input_records, dry_run=True)
        body = reporting.summary(
            parts,
            input_records=input_records,
            run_id=None,
            dry_run=True,
            report_dir=folder,
            extra={**extra, **({"read": _read_part(meta)} if read_in_summary else {})},
        )
        written = reporting.write(folder, parts, body)
        reporting.render(console, parts, body, examples=3)
        return ImportResult(folder, None, True, False, input_records, body["counts"], body, written)
    with Ledger(folder) as ledger:
        previous = ledger.unfinished_run(print_)
        if previous is not None:
            run_id, resumed = previous.run_id, True
            meta = ledger.run_meta(run_id)
            console.print(
                f"Resuming run {run_id} from {folder} (acknowledged work is not sent again).",
                markup=False,
                highlight=False,
            )
        else:
            stale = [r for r in ledger.runs() if r.status == "running"]
            if stale:
                console.print(
                    f"Note: {folder} also holds an unfinished run for other input or options "
                    f"({stale[-1].run_id}); it is left as it is.",
                    markup=False,
                    highlight=False,
                )
            planned = plan_source(ledger)
            meta = planned.meta
            run_id = ledger.start_run(
                print_, planned.items, before_images=planned.before, command=command, meta=meta
            )
            # The ledger holds the plan now; the upload reads it from there a page at a time.
            del planned
            resumed = False
        since = ledger.run(run_id).started_at
        try:
            stats = upload(
                ledger,
                run_id,
                destination,
                since=since,
                batch_size=batch_size,
                concurrency=concurrency,
                quiet=quiet,
                console=console,
            )
        except Interrupted:
            # Said even with --quiet: the user must learn how to pick the run up again.
            Console(stderr=True).print(
                "Stopped; the chunks in flight were settled. To resume, run the same command "
                f"again: it picks up its progress from {folder}",
                markup=False,
                highlight=False,
            )
            raise KeyboardInterrupt from None
        except ApiError:
            console.print(
                f"Progress is saved in {folder}; fix the problem and run the same command "
                "again to resume.",
                markup=False,
                highlight=False,
            )
            raise
        ledger.finish_run(run_id)
        items = ledger.items(run_id, REPORT_COLUMNS)
        problems = ledger.followup_failures(run_id)
    input_records = int(meta["input_records"])
    parts = reporting.buckets(items, input_records=input_records, problems=problems)
    summary = getattr(destination, "summary", None)
    body = reporting.summary(
        parts,
        input_records=input_records,
        run_id=run_id,
        dry_run=False,
        report_dir=folder,
        extra={
            **extra,
            "resumed": resumed,
            **({"read": _read_part(meta)} if read_in_summary else {}),
            "upload": {
                "seconds": round(stats.seconds, 3),
                "requests": stats.requests,
                "reconciled": stats.reconciled,
                "resent_after_unknown_outcome": stats.resent,
                "contacts_per_second": round((stats.created + stats.updated) / stats.seconds, 1)
                if stats.seconds > 0
                else None,
            },
            **(summary() if callable(summary) else {}),
        },
    )
    written = reporting.write(folder, parts, body)
    reporting.render(console, parts, body)
    return ImportResult(
        folder, run_id, False, resumed, input_records, body["counts"], body, written, stats
    )


def _read_part(meta: dict[str, Any]) -> dict[str, Any]:
    """What a run's metadata says about reading its source (all but the options)."""
    return {k: v for k, v in meta.items() if k != "options"}
