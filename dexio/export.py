"""Dex -> files: page through an account and stream it into csv, xlsx, vcf, jsonl or parquet.

:func:`export` is ``dexio export``. Contacts arrive page by page from :meth:`Dex.iter_contacts`
(which guards against repeated pages and fetches full records when the listing only returns
summaries), each page becomes a canonical frame and goes straight to the writer, so memory
does not grow with the account. Notes and reminders come along on request, as
``notes.csv`` / ``reminders.csv`` beside the main file, or nested in each JSONL record.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dexio.dex import Dex, DexLegacy, to_canonical
from dexio.errors import UsageError
from dexio.schema import NOTE, REMINDER
from dexio.writers import check_options, format_for, write
from dexio.writers.layouts import neutralise
from dexio.writers.output import atomic_path, refuse_existing

INCLUDES = ("notes", "reminders")
#: Sidecar columns. One row per (note, contact): a note linked to two contacts is listed
#: under each, with the same note_id.
NOTE_COLUMNS = ("contact_id", "contact_name", "note_id", "body", "event_time")
REMINDER_COLUMNS = (
    "contact_id",
    "contact_name",
    "reminder_id",
    "text",
    "due_date",
    "due_time",
    "is_complete",
)


@dataclass
class ExportResult:
    """What an export wrote. ``complete`` is False when Dex repeated a page and the listing
    had to stop early (``note`` says so); the files then hold what was received."""

    path: Path
    format: str
    contacts: int = 0
    scanned: int = 0
    notes: int = 0
    reminders: int = 0
    files: list[Path] = field(default_factory=list)
    complete: bool = True
    note: str = ""


@dataclass
class _Related:
    """One note or reminder, flattened: the contacts it belongs to and its fields."""

    contact_ids: list[str]
    fields: dict[str, Any]


def _parse_include(include: Iterable[str] | str) -> tuple[str, ...]:
    items = include.split(",") if isinstance(include, str) else list(include)
    names = tuple(dict.fromkeys(i.strip().lower() for i in items if i and i.strip()))
    unknown = [n for n in names if n not in INCLUDES]
    if unknown:
        raise UsageError(f"cannot include {', '.join(unknown)}; choose from {', '.join(INCLUDES)}")
    return names


def sidecar_path(path: Path, what: str) -> Path:
    """``notes.csv`` / ``reminders.csv`` in the main file's folder."""
    return path.parent / f"{what}.csv"


def _v1_notes(dex: Dex) -> Iterator[_Related]:
    for item in dex.iter_notes():
        yield _Related(
            [ref.contact_id for ref in item.timeline_items_contacts],
            {"note_id": item.id, "body": item.note, "event_time": item.event_time},
        )


def _v1_reminders(dex: Dex) -> Iterator[_Related]:
    for item in dex.iter_reminders():
        yield _Related(
            [ref.contact_id for ref in item.reminders_contacts],
            {
                "reminder_id": item.id,
                "text": item.text,
                "due_date": item.due_at_date,
                "due_time": item.due_at_time,
                "is_complete": item.is_complete,
            },
        )


def _legacy_notes(legacy: DexLegacy) -> Iterator[_Related]:
    for item in legacy.iter_timeline_items():
        yield _Related(
            [ref.contact_id for ref in item.contacts],
            {"note_id": item.id, "body": item.note, "event_time": item.event_time},
        )


def _legacy_reminders(legacy: DexLegacy) -> Iterator[_Related]:
    for item in legacy.iter_reminders():
        yield _Related(
            [ref.contact_id for ref in item.contact_ids],
            {
                "reminder_id": item.id,
                "text": item.body,
                "due_date": item.due_at_date,
                "due_time": item.due_at_time,
                "is_complete": item.is_complete,
            },
        )


def _nested_index(items: Iterable[_Related], kind: str) -> dict[str, list[dict[str, Any]]]:
    """contact id -> the canonical ``notes`` / ``reminders`` structs of that contact."""
    index: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        f = item.fields
        if kind == "notes":
            struct = {"body": f["body"], "created_at": f["event_time"]}
        else:
            struct = {"text": f["text"], "due_date": f["due_date"], "is_complete": f["is_complete"]}
        for contact_id in item.contact_ids:
            index.setdefault(contact_id, []).append(struct)
    return index


def _attach(frame: pl.DataFrame, index: dict[str, list[dict[str, Any]]], kind: str) -> pl.DataFrame:
    dtype = pl.List(NOTE if kind == "notes" else REMINDER)
    values = [index.get(i) or None for i in frame["source_id"].to_list()]
    return frame.with_columns(pl.Series(kind, values, dtype=dtype))


def _write_sidecar(
    items: Iterable[_Related],
    path: Path,
    columns: Sequence[str],
    names: dict[str, str | None],
    *,
    force: bool,
    raw: bool,
    batch: int = 1000,
) -> int:
    """Stream notes or reminders of the exported contacts into a CSV, ``batch`` rows a go."""
    schema = {c: (pl.Boolean if c == "is_complete" else pl.String) for c in columns}
    rows = 0
    with atomic_path(path, force=force) as tmp, tmp.open("wb") as out:
        out.write(b"\xef\xbb\xbf")
        buffer: list[dict[str, Any]] = []

        def flush(header: bool) -> None:
            frame = pl.DataFrame(buffer, schema=schema, orient="row")
            (frame if raw else neutralise(frame)).write_csv(out, include_header=header)
            buffer.clear()

        header = True
        for item in items:
            for contact_id in item.contact_ids:
                if contact_id not in names:
                    continue  # a contact outside this export (other tag, archived)
                buffer.append(
                    {"contact_id": contact_id, "contact_name": names[contact_id], **item.fields}
                )
                rows += 1
            if len(buffer) >= batch:
                flush(header)
                header = False
        flush(header)
    return rows


def _progress(enabled: bool) -> Progress | None:
    if not enabled or not sys.stderr.isatty():
        return None
    return Progress(
        TextColumn("exporting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )


def _has_tag(tag: str) -> pl.Expr:
    wanted = tag.strip().lower()
    return (
        pl.col("tags")
        .list.eval(pl.element().str.strip_chars().str.to_lowercase() == wanted)
        .list.any()
        .fill_null(False)
    )


def export(
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    layout: str = "dexio",
    include: Iterable[str] | str = (),
    tag: str | None = None,
    archived: bool = False,
    force: bool = False,
    raw: bool = False,
    vcard_version: int = 4,
    dex: Dex | None = None,
    legacy: DexLegacy | bool = False,
    progress: bool = True,
    page_size: int = 100,
) -> ExportResult:
    """Export a Dex account to ``path``; the library form of ``dexio export``.

    ``format`` defaults from the extension; ``layout`` (csv/xlsx) is ``dexio``, ``google``
    or ``outlook``. ``include`` takes ``notes`` and/or ``reminders``: written as
    ``notes.csv`` / ``reminders.csv`` beside ``path``, or nested in each record for jsonl and
    parquet. ``legacy=True`` (or a :class:`DexLegacy`) reads those notes and reminders from
    the legacy ``/api/rest`` routes, for older accounts. ``tag`` keeps contacts carrying that
    tag (case-insensitive); ``archived`` includes archived contacts. ``dex`` defaults to
    ``Dex()`` (``DEX_API_KEY``). Existing files are only replaced with ``force=True``.
    """
    target = Path(path)
    fmt = format_for(target, format)
    check_options(fmt, layout, vcard_version)
    wanted = _parse_include(include)
    if page_size < 1:
        raise UsageError("page size must be at least 1")
    nested = fmt in ("jsonl", "parquet")
    sidecars = {} if nested else {what: sidecar_path(target, what) for what in wanted}
    for file in (target, *sidecars.values()):
        refuse_existing(file, force)  # before any API call, not after paging everything

    result = ExportResult(path=target, format=fmt)
    with ExitStack() as stack:
        client = dex if dex is not None else stack.enter_context(Dex())
        old: DexLegacy | None = None
        if isinstance(legacy, DexLegacy):
            old = legacy
        elif legacy and wanted:
            old = stack.enter_context(DexLegacy())

        def related(what: str) -> Iterator[_Related]:
            if what == "notes":
                return _legacy_notes(old) if old else _v1_notes(client)
            return _legacy_reminders(old) if old else _v1_reminders(client)

        indexes = {what: _nested_index(related(what), what) for what in wanted} if nested else {}
        names: dict[str, str | None] = {}
        bar = _progress(progress)
        task = None
        if bar is not None:
            stack.enter_context(bar)
            task = bar.add_task("export", total=client.count(), rate="")

        def on_page(frame: pl.DataFrame) -> None:
            if sidecars:
                labels = frame.select(
                    "source_id",
                    pl.coalesce(
                        "full_name",
                        pl.concat_str("first_name", "last_name", separator=" ", ignore_nulls=True),
                    ),
                )
                names.update(labels.iter_rows())

        pages = _pages(client, result, archived, tag, page_size, indexes, on_page, bar, task)
        written = write(
            pages,
            target,
            format=fmt,
            layout=layout,
            force=force,
            raw=raw,
            vcard_version=vcard_version,
        )
        result.contacts = written.rows
        result.files.append(target)
        listing = client.last_listing
        result.complete = listing.complete
        result.note = listing.note
        if nested:
            result.notes = sum(len(v) for v in indexes.get("notes", {}).values())
            result.reminders = sum(len(v) for v in indexes.get("reminders", {}).values())
        for what, side in sidecars.items():
            columns = NOTE_COLUMNS if what == "notes" else REMINDER_COLUMNS
            count = _write_sidecar(related(what), side, columns, names, force=force, raw=raw)
            setattr(result, what, count)
            result.files.append(side)
    return result


def _pages(
    dex: Dex,
    result: ExportResult,
    archived: bool,
    tag: str | None,
    page_size: int,
    indexes: dict[str, dict[str, list[dict[str, Any]]]],
    on_page: Callable[[pl.DataFrame], None],
    bar: Progress | None,
    task: Any,
) -> Iterator[pl.DataFrame]:
    """Canonical frames of ``page_size`` contacts, filtered and annotated, as Dex sends them."""
    contacts = dex.iter_contacts(take=page_size, archived=archived)
    row = 0
    while True:
        batch = list(islice(contacts, page_size))
        if not batch:
            return
        result.scanned += len(batch)
        frame = to_canonical(batch).with_columns(
            (pl.int_range(1, len(batch) + 1, dtype=pl.UInt32) + row).alias("row")
        )
        row += len(batch)
        if tag:
            frame = frame.filter(_has_tag(tag))
        for kind, index in indexes.items():
            frame = _attach(frame, index, kind)
        on_page(frame)
        if bar is not None:
            bar.update(task, advance=len(batch))
            speed = bar.tasks[0].speed
            bar.update(task, rate=f"{speed:,.0f}/s" if speed else "")
        yield frame
