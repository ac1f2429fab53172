"""SQLite journal of a run: what was planned, what was sent, what came back.

The ledger is what makes a write run safe to repeat when the destination has no
idempotency key. Every operation is written down *before* it is sent (state ``sent``) and
its outcome after (``done`` / ``failed``), so that re-running the same command after a
crash, ``kill -9`` or Ctrl-C:

* never re-sends acknowledged work (``done`` rows are skipped),
* reconciles anything found ``sent`` by looking its contacts up in the destination before
  sending again (the answer may have been lost after the destination committed).

Tables (one file, ``ledger.sqlite``, in the report directory):

``runs``
    one row per run: id, fingerprint of the inputs and options, times, status.
``items``
    one row per input record of a run: its source/row, the planned action, the payload
    (canonical record or patch, JSON), content hash, state, destination id, outcome.
``followups``
    notes, reminders and tag links to add to a contact once it exists, with their state.
``before_images``
    the destination's record of every contact a run updated, as it was, for undo.
``added``
    what a run added to existing or new contacts (notes, reminders, tags), for undo.
``idmap``
    source key (file+row, or source system id) -> destination id and content hash, kept
    across runs, for re-runs and migrations.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

LEDGER_NAME = "ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    command TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running',  -- running | finished | dry-run
    meta TEXT
);
CREATE TABLE IF NOT EXISTS items (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,            -- plan order
    source TEXT NOT NULL,
    row INTEGER NOT NULL,
    source_key TEXT NOT NULL,
    action TEXT NOT NULL,            -- create | update | unchanged | rejected | merged
    state TEXT NOT NULL,             -- planned | sent | done | failed
    dest_id TEXT,
    payload TEXT,                    -- create: the canonical record; update: the patch
    followups TEXT,                  -- JSON: tags / notes / reminders to add afterwards
    content_hash TEXT,
    reason TEXT,
    field TEXT,
    full_name TEXT,
    email TEXT,
    company TEXT,
    survivor_source TEXT,
    survivor_row INTEGER,
    cluster_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    sent_at REAL,
    done_at REAL,
    PRIMARY KEY (run_id, seq)
);
CREATE INDEX IF NOT EXISTS items_state ON items (run_id, state, action);
CREATE TABLE IF NOT EXISTS followups (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,            -- the item it belongs to
    kind TEXT NOT NULL,              -- tags | note | reminder
    n INTEGER NOT NULL,              -- position among the item's follow-ups of that kind
    contact_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,             -- planned | sent | done | failed
    remote_id TEXT,
    message TEXT,
    PRIMARY KEY (run_id, seq, kind, n)
);
CREATE TABLE IF NOT EXISTS before_images (
    run_id TEXT NOT NULL,
    contact_id TEXT NOT NULL,
    image TEXT NOT NULL,
    taken_at REAL NOT NULL,
    PRIMARY KEY (run_id, contact_id)
);
CREATE TABLE IF NOT EXISTS added (
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,              -- contact | note | reminder | tag
    contact_id TEXT NOT NULL,
    remote_id TEXT,                  -- note / reminder id, tag name
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS idmap (
    source_key TEXT PRIMARY KEY,
    dest_id TEXT NOT NULL,
    content_hash TEXT,
    run_id TEXT,
    at REAL NOT NULL
);
"""

ITEM_COLUMNS = (
    "seq",
    "source",
    "row",
    "source_key",
    "action",
    "state",
    "dest_id",
    "payload",
    "followups",
    "content_hash",
    "reason",
    "field",
    "full_name",
    "email",
    "company",
    "survivor_source",
    "survivor_row",
    "cluster_id",
    "attempts",
)
_INT_COLUMNS = frozenset({"seq", "row", "survivor_row", "attempts"})
#: Rows read (or written) per page when a whole run's items are streamed: bounded memory
#: for a run of any size.
PAGE_ROWS = 20_000


def items_frame(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> pl.DataFrame:
    """Ledger items made row by row in Python: ``columns`` (names of :data:`ITEM_COLUMNS`)
    with the types the ledger stores them as (numbers Int64, the rest String)."""
    return pl.DataFrame(
        rows, schema={c: pl.Int64 if c in _INT_COLUMNS else pl.String for c in columns}
    )


@dataclass(frozen=True)
class Run:
    """One run recorded in a ledger."""

    run_id: str
    fingerprint: str
    status: str
    started_at: float
    finished_at: float | None


def source_key(source: str, row: int | None, source_id: str | None = None) -> str:
    """The key a record is known by across runs: its source system id, else file and row."""
    if source_id:
        return f"id:{source_id}"
    return f"{source}#{row}"


class Ledger:
    """The journal of one report directory (``ledger.sqlite``); use as a context manager."""

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if path.is_dir() or not path.suffix:
            path.mkdir(parents=True, exist_ok=True)
            path = path / LEDGER_NAME
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # Autocommit off: each method commits its own unit of work, so a kill -9 leaves the
        # file at the last committed step (WAL keeps readers and a crash safe).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    # -- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _tx(self, sql: str, rows: Iterable[Sequence[Any]] | None = None) -> None:
        self._db.execute("BEGIN")
        try:
            if rows is None:
                self._db.execute(sql)
            else:
                self._db.executemany(sql, rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- runs --------------------------------------------------------------------------
    def start_run(
        self,
        fingerprint: str,
        items: pl.DataFrame,
        *,
        before_images: Sequence[tuple[str, str]] = (),
        command: str = "",
        meta: dict[str, Any] | None = None,
    ) -> str:
        """Record a new run with all its planned items (columns of ``ITEM_COLUMNS``) and the
        before-images of the contacts it will update, in one commit; returns the run id.

        One commit matters: a run is either absent or complete in the ledger, never a run
        without its items (which a resume would "finish" having done nothing).
        """
        run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        defaults = {"attempts": pl.lit(0, pl.Int64), "state": pl.lit("planned")}
        frame = items.select(
            [
                pl.col(c).fill_null(defaults[c])
                if c in defaults and c in items.columns
                else pl.col(c)
                if c in items.columns
                else defaults.get(c, pl.lit(None)).alias(c)
                for c in ITEM_COLUMNS
            ]
        )
        placeholders = ",".join("?" * (len(ITEM_COLUMNS) + 1))
        now = time.time()
        self._db.execute("BEGIN")
        try:
            self._db.execute(
                "INSERT INTO runs (run_id, fingerprint, command, started_at, meta) "
                "VALUES (?,?,?,?,?)",
                (run_id, fingerprint, command, now, json.dumps(meta or {})),
            )
            self._db.executemany(
                f"INSERT INTO items (run_id, {', '.join(ITEM_COLUMNS)}) VALUES ({placeholders})",
                ((run_id, *row) for row in frame.iter_rows()),
            )
            self._db.executemany(
                "INSERT OR IGNORE INTO before_images (run_id, contact_id, image, taken_at) "
                "VALUES (?,?,?,?)",
                ((run_id, cid, image, now) for cid, image in before_images),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return run_id

    def run(self, run_id: str) -> Run:
        row = self._db.execute(
            "SELECT run_id, fingerprint, status, started_at, finished_at FROM runs "
            "WHERE run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            raise KeyError(run_id)
        return Run(*row)

    def unfinished_run(self, fingerprint: str) -> Run | None:
        """The latest run with this fingerprint that never finished (to resume), if any."""
        row = self._db.execute(
            "SELECT run_id, fingerprint, status, started_at, finished_at FROM runs "
            "WHERE fingerprint = ? ORDER BY started_at DESC LIMIT 1",
            (fingerprint,),
        ).fetchone()
        if row is None or row[2] != "running":
            return None
        return Run(*row)

    def runs(self) -> list[Run]:
        rows = self._db.execute(
            "SELECT run_id, fingerprint, status, started_at, finished_at FROM runs "
            "ORDER BY started_at"
        ).fetchall()
        return [Run(*r) for r in rows]

    def finish_run(self, run_id: str, status: str = "finished") -> None:
        self._db.execute(
            "UPDATE runs SET status = ?, finished_at = ? WHERE run_id = ?",
            (status, time.time(), run_id),
        )

    def run_meta(self, run_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT meta FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    # -- items -------------------------------------------------------------------------
    def items(self, run_id: str, columns: Sequence[str] = ITEM_COLUMNS) -> pl.DataFrame:
        """Every item of a run, in plan order: ``columns`` of :data:`ITEM_COLUMNS` (all by
        default; a report needs neither ``payload`` nor ``followups``, the bulk of a row).

        Read :data:`PAGE_ROWS` rows at a time into frames, so the Python tuples of a
        whole run never exist at once."""
        unknown = [c for c in columns if c not in ITEM_COLUMNS]
        if unknown:
            raise ValueError(f"not item columns: {unknown}")
        schema = {c: pl.Int64 if c in _INT_COLUMNS else pl.String for c in columns}
        cursor = self._db.execute(
            f"SELECT {', '.join(columns)} FROM items WHERE run_id = ? ORDER BY seq", (run_id,)
        )
        parts = []
        while rows := cursor.fetchmany(PAGE_ROWS):
            parts.append(pl.DataFrame(rows, schema=schema, orient="row"))
        cursor.close()
        if not parts:
            return pl.DataFrame(schema=schema)
        return pl.concat(parts)

    def pending(
        self, run_id: str, action: str, state: str, *, after: int = -1, limit: int | None = None
    ) -> list[tuple[int, str | None, str]]:
        """``(seq, dest_id, payload)`` of the items of one action still in ``state``, in
        plan order: those after ``seq`` ``after``, at most ``limit`` of them (a page)."""
        return self._db.execute(
            "SELECT seq, dest_id, payload FROM items WHERE run_id = ? AND action = ? AND state = ? "
            "AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, action, state, after, -1 if limit is None else limit),
        ).fetchall()

    def count(self, run_id: str, action: str, state: str) -> int:
        """How many items of one action are in ``state``."""
        row = self._db.execute(
            "SELECT COUNT(*) FROM items WHERE run_id = ? AND action = ? AND state = ?",
            (run_id, action, state),
        ).fetchone()
        return int(row[0])

    def done_with_followups(
        self, run_id: str, *, after: int = -1, limit: int = 5000
    ) -> list[tuple[int, str, str]]:
        """``(seq, dest_id, followups)`` of created or updated items that are done and
        have follow-ups, after ``seq`` ``after``, at most ``limit`` (a page)."""
        return self._db.execute(
            "SELECT seq, dest_id, followups FROM items WHERE run_id = ? AND state = 'done' "
            "AND followups IS NOT NULL AND action IN ('create', 'update') AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (run_id, after, limit),
        ).fetchall()

    def mark_sent(self, run_id: str, seqs: Sequence[int]) -> None:
        """Journal that these items are about to be sent (call before sending)."""
        now = time.time()
        self._tx(
            "UPDATE items SET state = 'sent', sent_at = ?, attempts = attempts + 1 "
            "WHERE run_id = ? AND seq = ?",
            ((now, run_id, s) for s in seqs),
        )

    def mark_planned(self, run_id: str, seqs: Sequence[int]) -> None:
        """Back to ``planned``: reconciled as not applied, safe to send again."""
        self._tx(
            "UPDATE items SET state = 'planned' WHERE run_id = ? AND seq = ?",
            ((run_id, s) for s in seqs),
        )

    def mark_done(self, run_id: str, outcomes: Sequence[tuple[int, str]]) -> None:
        """``(seq, dest_id)`` acknowledged; also records them in the id map and ``added``."""
        now = time.time()
        self._db.execute("BEGIN")
        try:
            self._db.executemany(
                "UPDATE items SET state = 'done', dest_id = ?, done_at = ? "
                "WHERE run_id = ? AND seq = ?",
                ((dest, now, run_id, seq) for seq, dest in outcomes),
            )
            self._db.executemany(
                "INSERT INTO idmap (source_key, dest_id, content_hash, run_id, at) "
                "SELECT source_key, dest_id, content_hash, run_id, ? FROM items "
                "WHERE run_id = ? AND seq = ? "
                "ON CONFLICT(source_key) DO UPDATE SET dest_id = excluded.dest_id, "
                "content_hash = excluded.content_hash, run_id = excluded.run_id, at = excluded.at",
                ((now, run_id, seq) for seq, _ in outcomes),
            )
            self._db.executemany(
                "INSERT INTO added (run_id, kind, contact_id, at) "
                "SELECT run_id, 'contact', dest_id, ? FROM items "
                "WHERE run_id = ? AND seq = ? AND action = 'create'",
                ((now, run_id, seq) for seq, _ in outcomes),
            )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def mark_failed(self, run_id: str, failures: Sequence[tuple[int, str, str | None]]) -> None:
        """``(seq, reason, field)``: the destination refused it, or it could not be sent."""
        now = time.time()
        self._tx(
            "UPDATE items SET state = 'failed', reason = ?, field = ?, done_at = ? "
            "WHERE run_id = ? AND seq = ?",
            ((reason, field, now, run_id, seq) for seq, reason, field in failures),
        )

    def attempts(self, run_id: str, seq: int) -> int:
        row = self._db.execute(
            "SELECT attempts FROM items WHERE run_id = ? AND seq = ?", (run_id, seq)
        ).fetchone()
        return int(row[0]) if row else 0

    def before_images(self, run_id: str) -> dict[str, dict[str, Any]]:
        rows = self._db.execute(
            "SELECT contact_id, image FROM before_images WHERE run_id = ?", (run_id,)
        )
        return {cid: json.loads(image) for cid, image in rows}

    def added(self, run_id: str) -> list[tuple[str, str, str | None]]:
        """``(kind, contact_id, remote_id)`` of everything the run added."""
        return self._db.execute(
            "SELECT kind, contact_id, remote_id FROM added WHERE run_id = ? ORDER BY rowid",
            (run_id,),
        ).fetchall()

    # -- follow-ups --------------------------------------------------------------------
    def add_followups(self, run_id: str, rows: Sequence[tuple[int, str, int, str, str]]) -> None:
        """``(seq, kind, n, contact_id, payload JSON)``; already recorded ones are kept."""
        self._tx(
            "INSERT OR IGNORE INTO followups (run_id, seq, kind, n, contact_id, payload, state) "
            "VALUES (?,?,?,?,?,?,'planned')",
            ((run_id, *r) for r in rows),
        )

    def followups(
        self,
        run_id: str,
        states: Sequence[str],
        *,
        kinds: Sequence[str] | None = None,
        seqs: tuple[int, int] | None = None,
        limit: int | None = None,
    ) -> list[tuple[int, str, int, str, str, str]]:
        """``(seq, kind, n, contact_id, payload, state)`` of follow-ups in ``states``, in
        ``(seq, kind, n)`` order; only ``kinds`` when given, only items ``seqs`` (first,
        last, inclusive) when given, at most ``limit`` of them."""
        where = "run_id = ? AND state IN ({})".format(",".join("?" * len(states)))
        args: list[Any] = [run_id, *states]
        if kinds is not None:
            where += " AND kind IN ({})".format(",".join("?" * len(kinds)))
            args += kinds
        if seqs is not None:
            where += " AND seq BETWEEN ? AND ?"
            args += seqs
        return self._db.execute(
            "SELECT seq, kind, n, contact_id, payload, state FROM followups "
            f"WHERE {where} ORDER BY seq, kind, n LIMIT ?",
            (*args, -1 if limit is None else limit),
        ).fetchall()

    def count_followups(self, run_id: str, states: Sequence[str]) -> int:
        """How many follow-ups of a run are in ``states``."""
        marks = ",".join("?" * len(states))
        row = self._db.execute(
            f"SELECT COUNT(*) FROM followups WHERE run_id = ? AND state IN ({marks})",
            (run_id, *states),
        ).fetchone()
        return int(row[0])

    def followup_seqs(
        self, run_id: str, states: Sequence[str], kinds: Sequence[str], *, after: int, limit: int
    ) -> list[int]:
        """The items (``seq``, ascending, after ``after``, at most ``limit``) that have
        follow-ups of ``kinds`` in ``states``: a page of contacts to work on."""
        marks, kind_marks = ",".join("?" * len(states)), ",".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT DISTINCT seq FROM followups WHERE run_id = ? AND state IN ({marks}) "
            f"AND kind IN ({kind_marks}) AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, *states, *kinds, after, limit),
        ).fetchall()
        return [r[0] for r in rows]

    def mark_followups(
        self,
        run_id: str,
        state: str,
        entries: Sequence[tuple[tuple[int, str, int], str | None, str | None]],
    ) -> None:
        """Set ``state`` on follow-ups ``((seq, kind, n), remote_id, message)``, in one commit;
        ``done`` ones are also recorded in ``added`` (for undo)."""
        now = time.time()
        self._db.execute("BEGIN")
        try:
            for (seq, kind, n), remote_id, message in entries:
                self._db.execute(
                    "UPDATE followups SET state = ?, remote_id = COALESCE(?, remote_id), "
                    "message = ? WHERE run_id = ? AND seq = ? AND kind = ? AND n = ?",
                    (state, remote_id, message, run_id, seq, kind, n),
                )
                if state != "done":
                    continue
                contact_id, payload = self._db.execute(
                    "SELECT contact_id, payload FROM followups "
                    "WHERE run_id = ? AND seq = ? AND kind = ? AND n = ?",
                    (run_id, seq, kind, n),
                ).fetchone()
                added = (
                    [("tag", name) for name in json.loads(payload)]
                    if kind == "tags"
                    else [(kind, remote_id)]
                )
                self._db.executemany(
                    "INSERT INTO added (run_id, kind, contact_id, remote_id, at) "
                    "VALUES (?,?,?,?,?)",
                    ((run_id, k, contact_id, rid, now) for k, rid in added),
                )
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def followup_failures(self, run_id: str) -> dict[int, list[str]]:
        rows = self._db.execute(
            "SELECT seq, kind, message FROM followups WHERE run_id = ? AND state = 'failed'",
            (run_id,),
        )
        out: dict[int, list[str]] = {}
        for seq, kind, message in rows:
            out.setdefault(seq, []).append(f"{kind}: {message}")
        return out

    # -- id map ------------------------------------------------------------------------
    def dest_id(self, key: str) -> tuple[str, str | None] | None:
        """``(dest_id, content_hash)`` last recorded for a source key, if any."""
        row = self._db.execute(
            "SELECT dest_id, content_hash FROM idmap WHERE source_key = ?", (key,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def idmap(self) -> Iterator[tuple[str, str, str | None]]:
        yield from self._db.execute("SELECT source_key, dest_id, content_hash FROM idmap")

    def forget(self, run_id: str) -> None:
        """Drop the id-map entries a run wrote (after ``dexio undo``): their contacts are
        deleted or restored, so a re-run must plan against Dex again, not trust the map."""
        self._tx("DELETE FROM idmap WHERE run_id = ?", [(run_id,)])
