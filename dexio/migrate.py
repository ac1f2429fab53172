"""``dexio migrate``: another CRM -> Dex through the same plan, ledger, upload and report as
``dexio import`` (:mod:`dexio.pipeline`), with an id map and incremental re-runs.

The source is read into the canonical frame by its connector (:mod:`dexio.ghl`,
:mod:`dexio.whautomate`; a file path goes to :func:`dexio.import_files`), then
:func:`dexio.pipeline.prepare` normalizes, de-duplicates and plans it against the
destination, and :func:`dexio.pipeline.run` (the pipeline ``import`` runs too) uploads it
through the ledger and writes the report.

Re-runs. The report folder (default ``./dexio-migrate-<src>-to-<dst>-<fingerprint>``) is
the same for the same source account, destination and options, so its ledger carries the
**id map** (``id:<source id>`` -> Dex id and content hash) from run to run:

* a record the id map knows is planned with ``overwrite=True`` (the source wins for
  contacts this migration made), a new one without (a contact already in Dex keeps its
  values, empty fields are filled);
* GoHighLevel contacts the id map knows whose ``dateUpdated`` is not after the previous
  run's start are reported ``unchanged`` without reading their notes and tasks again (two
  requests per contact saved); ``full=True`` reads everything;
* an unfinished run with the same fingerprint is resumed exactly as an import is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import polars as pl
from rich.console import Console

from dexio.errors import UsageError
from dexio.ghl.client import GoHighLevel
from dexio.ghl.destination import GhlDestination
from dexio.ghl.mapping import contact_record
from dexio.ghl.models import Note, Task
from dexio.ledger import Ledger, items_frame
from dexio.pipeline import (
    DexDestination,
    ImportResult,
    Planned,
    PlanSource,
    import_files,
    prepare,
    run,
)
from dexio.plan import content_hash
from dexio.schema import conform, empty_frame, from_records
from dexio.upload import ProgressBars
from dexio.whautomate.client import Whautomate
from dexio.whautomate.destination import WhautomateDestination

SOURCES = ("dex", "ghl", "whautomate")
DESTINATIONS = ("dex", "ghl", "whautomate")


@dataclass
class SourceRead:
    """What a source gave: records to plan, and records carried over unchanged."""

    frame: pl.DataFrame
    carried: pl.DataFrame
    input_records: int
    requests: int


def _iso(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


_CARRIED = (
    "source",
    "row",
    "source_key",
    "action",
    "state",
    "dest_id",
    "content_hash",
    "reason",
    "full_name",
    "email",
    "company",
)


def _carried_items(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return items_frame(rows, _CARRIED)


def _read_ghl(
    ghl: GoHighLevel,
    idmap: dict[str, tuple[str, str | None]],
    since: float | None,
    concurrency: int,
    *,
    console: Console | None = None,
    quiet: bool = True,
) -> SourceRead:
    from dexio.http import bounded_map

    before = ghl.stats["requests"]
    contacts = list(ghl.iter_contacts())
    since_iso = _iso(since) if since is not None else None
    fresh: list[tuple[int, Any]] = []
    carried: list[dict[str, Any]] = []
    for row, contact in enumerate(contacts, 1):
        known = idmap.get(f"id:{contact.id}")
        stale = (
            since_iso is not None
            and known is not None
            and contact.dateUpdated is not None
            and contact.dateUpdated <= since_iso
        )
        if stale and known is not None:
            carried.append(
                {
                    "source": "ghl",
                    "row": row,
                    "source_key": f"id:{contact.id}",
                    "action": "unchanged",
                    "state": "done",
                    "dest_id": known[0],
                    "content_hash": known[1],
                    "reason": "unchanged in GoHighLevel since the last run",
                    "full_name": contact.name
                    or " ".join(p for p in (contact.firstName, contact.lastName) if p)
                    or None,
                    "email": contact.email,
                    "company": contact.companyName,
                }
            )
        else:
            fresh.append((row, contact))
    ids = [c.id for _, c in fresh]
    # Two calls per contact at GoHighLevel's 10 calls/s: minutes for a big location.
    with ProgressBars(console, quiet) as bar:
        advance = bar.task("reading GoHighLevel notes and tasks", len(ids))

        def timeline(contact_id: str) -> tuple[list[Note], list[Task]]:
            found = ghl.notes(contact_id), ghl.tasks(contact_id)
            advance(1)
            return found

        fetched = bounded_map(timeline, ids, concurrency)
    notes = [n for n, _ in fetched]
    tasks = [t for _, t in fetched]
    names = {f.id: f.name for f in ghl.custom_fields()}
    records: list[Mapping[str, Any]] = [
        contact_record(c, n, t, names, source="ghl", row=row)
        for (row, c), n, t in zip(fresh, notes, tasks, strict=True)
    ]
    return SourceRead(
        from_records(records),
        _carried_items(carried),
        len(contacts),
        ghl.stats["requests"] - before,
    )


def _read_whautomate(wa: Whautomate, stage_tags: bool) -> SourceRead:
    before = wa.stats["requests"]
    frame = wa.read(stage_tags=stage_tags)
    return SourceRead(frame, _carried_items([]), frame.height, wa.stats["requests"] - before)


def _keyed(
    items: pl.DataFrame, frame: pl.DataFrame, hashes: dict[tuple[str, int], str]
) -> pl.DataFrame:
    """Ledger items keyed by source id (the id map's key) and hashed on the source's content."""
    ids = frame.select(
        pl.col("source"),
        pl.col("row").cast(pl.Int64),
        pl.col("source_id").alias("_sid"),
    )
    hash_frame = pl.DataFrame(
        {
            "source": [k[0] for k in hashes],
            "row": [k[1] for k in hashes],
            "_hash": list(hashes.values()),
        },
        schema={"source": pl.String, "row": pl.Int64, "_hash": pl.String},
    )
    return (
        items.join(ids, on=["source", "row"], how="left")
        .join(hash_frame, on=["source", "row"], how="left")
        .with_columns(
            source_key=pl.when(pl.col("_sid").is_not_null())
            .then(pl.concat_str([pl.lit("id:"), pl.col("_sid")]))
            .otherwise(pl.col("source_key")),
            content_hash=pl.coalesce("_hash", "content_hash"),
        )
        .drop("_sid", "_hash")
    )


def plan_migration(
    read: SourceRead,
    destination: Any,
    idmap: dict[str, tuple[str, str | None]],
    *,
    region: str | None,
) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Ledger items for one run: known records planned with the source winning, new ones
    filling blanks only, carried-over records as ``unchanged``; then numbered in order."""
    frame = conform(read.frame)
    if hasattr(destination, "fit"):  # plan only on what the destination can hold
        frame = conform(destination.fit(frame))
    hashes = dict(
        zip(
            zip(frame["source"].to_list(), frame["row"].cast(pl.Int64).to_list(), strict=True),
            content_hash(frame).to_list(),
            strict=True,
        )
    )
    known_ids = [key[3:] for key in idmap if key.startswith("id:")]
    known = frame["source_id"].is_in(known_ids).fill_null(False)
    parts: list[pl.DataFrame] = []
    before: list[tuple[str, str]] = []
    for subset, overwrite in ((frame.filter(known), True), (frame.filter(~known), False)):
        if subset.height == 0:
            continue
        items, images = prepare(
            subset, destination, region=region, match_on="full", overwrite=overwrite
        )
        parts.append(_keyed(items, subset, hashes).drop("seq", "attempts", strict=False))
        before += images
    if read.carried.height:
        parts.append(read.carried)
    if not parts:
        return _carried_items([]).with_columns(
            pl.lit(0, pl.Int64).alias("seq"), pl.lit(0, pl.Int64).alias("attempts")
        ), before
    items = (
        pl.concat(parts, how="diagonal_relaxed")
        .sort(["source", "row"])
        .with_row_index("seq")
        .with_columns(pl.col("seq").cast(pl.Int64), pl.lit(0, pl.Int64).alias("attempts"))
    )
    return items, before


def _account(side: str, clients: dict[str, Any]) -> str:
    """Who ``side`` is, for the run's fingerprint: the account, not the address (a sandbox
    on another port is still the same account)."""
    client = clients[side]
    if side == "ghl":
        return f"ghl location {client.location_id}"
    if side == "whautomate":
        return f"whautomate {httpx.URL(client.api.base_url).host}"
    return f"dex {httpx.URL(client.http.base_url).host}"


def migrate(
    source: str,
    destination: str = "dex",
    *,
    dry_run: bool = False,
    report_dir: str | Path | None = None,
    dex: Any = None,
    ghl: GoHighLevel | None = None,
    whautomate: Whautomate | None = None,
    region: str | None = None,
    full: bool = False,
    stage_tags: bool = False,
    batch_size: int = 100,
    concurrency: int = 4,
    quiet: bool = False,
    console: Console | None = None,
) -> ImportResult:
    """Move contacts (with notes, reminders/tasks and tags) from ``source`` to ``destination``.

    ``source`` is ``"dex"``, ``"ghl"``, ``"whautomate"`` or a file path (a file into Dex is
    :func:`dexio.import_files`); ``destination`` is ``"dex"``, ``"ghl"`` or
    ``"whautomate"``. Clients not given are built from the environment (``GHL_TOKEN`` /
    ``GHL_LOCATION_ID``, ``WHAUTOMATE_API_KEY`` / ``WHAUTOMATE_HOST`` /
    ``WHAUTOMATE_LOCATION_ID``, ``DEX_API_KEY``). Same result files, exit codes, dry run
    and resume as ``import``.
    """
    if destination not in DESTINATIONS:
        raise UsageError(
            f"--to {destination!r}: choose one of {', '.join(DESTINATIONS)} "
            "(to write files, use `dexio export`)"
        )
    if source not in SOURCES:
        path = Path(source)
        if not path.is_file():
            raise UsageError(
                f"--from {source!r} is neither {', '.join(SOURCES)} nor an existing file"
            )
        if destination != "dex":
            raise UsageError("a file migrates into Dex only (`--to dex`, same as `dexio import`)")
        return import_files(
            path, dry_run=dry_run, report_dir=report_dir, dex=dex, region=region,
            match="full", batch_size=batch_size, concurrency=concurrency, quiet=quiet,
            console=console,
        )  # fmt: skip
    if source == destination:
        raise UsageError(f"--from and --to are both {source!r}")
    console = console or Console(stderr=True, quiet=quiet)
    own: list[Any] = []
    clients: dict[str, Any] = {"dex": dex, "ghl": ghl, "whautomate": whautomate}
    try:
        for side in (source, destination):
            if clients[side] is None:
                if side == "ghl":
                    clients[side] = GoHighLevel(concurrency=concurrency)
                elif side == "whautomate":
                    clients[side] = Whautomate()
                else:
                    from dexio.dex import Dex

                    clients[side] = Dex(concurrency=concurrency)
                own.append(clients[side])
        options = {"region": region, "stage_tags": stage_tags}
        identity = {
            "from": _account(source, clients),
            "to": _account(destination, clients),
            "options": options,
        }
        print_ = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
        folder = (
            Path(report_dir)
            if report_dir
            else Path.cwd() / f"dexio-migrate-{source}-to-{destination}-{print_[:10]}"
        )
        target: Any
        if destination == "dex":
            target = DexDestination(clients["dex"])
        elif destination == "ghl":
            target = GhlDestination(clients["ghl"])
        else:
            target = WhautomateDestination(clients["whautomate"])
        return run(
            folder,
            print_,
            target,
            _planner(source, target, clients, region=region, full=full, stage_tags=stage_tags,
                     print_=print_, options=options, concurrency=concurrency, quiet=quiet,
                     console=console),
            command=f"migrate {source}",
            extra={"source": source, "destination": target.name, "options": options},
            dry_run=dry_run,
            read_in_summary=True,
            batch_size=batch_size,
            concurrency=concurrency,
            quiet=quiet,
            console=console,
        )  # fmt: skip
    finally:
        for client in own:
            client.close()


def _read_dex(dex: Any) -> SourceRead:
    """Every Dex contact with its notes and reminders, through the import's Dex adapter."""
    reader = DexDestination(dex)
    before = dex.stats["requests"] if hasattr(dex, "stats") else 0
    frame = reader.lookup(empty_frame(), match="full")
    frame = reader.with_timeline(frame, frame["id"].to_list())
    frame = conform(frame.drop("id", "raw")).with_columns(
        source=pl.lit("dex"), row=pl.int_range(1, frame.height + 1, dtype=pl.UInt32)
    )
    after = dex.stats["requests"] if hasattr(dex, "stats") else 0
    return SourceRead(frame, _carried_items([]), frame.height, after - before)


def _planner(
    source: str,
    target: Any,
    clients: dict[str, Any],
    *,
    region: str | None,
    full: bool,
    stage_tags: bool,
    print_: str,
    options: dict[str, Any],
    concurrency: int,
    quiet: bool,
    console: Console,
) -> PlanSource:
    """The migration's source for :func:`dexio.pipeline.run`: read the source account
    (GoHighLevel incrementally against the id map of earlier runs) and plan it."""

    def plan(ledger: Ledger | None) -> Planned:
        idmap: dict[str, tuple[str, str | None]] = {}
        since = None
        if ledger is not None:
            idmap = {key: (dest, digest) for key, dest, digest in ledger.idmap()}
            finished = [
                r for r in ledger.runs() if r.fingerprint == print_ and r.status == "finished"
            ]
            since = None if full or not finished else finished[-1].started_at
        if source == "ghl":
            read = _read_ghl(
                clients["ghl"], idmap, since, concurrency, console=console, quiet=quiet
            )
        elif source == "whautomate":
            read = _read_whautomate(clients["whautomate"], stage_tags)
        else:
            read = _read_dex(clients["dex"])
        items, before = plan_migration(read, target, idmap, region=region)
        meta = {
            "input_records": read.input_records,
            "source_requests": read.requests,
            "carried_unchanged": read.carried.height,
            "options": options,
        }
        return Planned(items, before, meta)

    return plan


def parse_side(value: str) -> str:
    """Normalise a ``--from``/``--to`` value (``GHL``, ``gohighlevel`` -> ``ghl``)."""
    key = re.sub(r"[^a-z]", "", value.lower())
    aliases = {"gohighlevel": "ghl", "highlevel": "ghl", "leadconnector": "ghl", "wa": "whautomate"}
    if key in ("dex", "ghl", "whautomate") or key in aliases:
        return aliases.get(key, key)
    return value
