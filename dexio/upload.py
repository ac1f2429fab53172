"""Send a planned run to a destination through the ledger: chunked, concurrent, resumable.

The engine (:func:`upload`) knows nothing about Dex. It drives a :class:`Destination`, a
small protocol any CRM connector implements (:class:`dexio.destinations.DexDestination`
for Dex): look contacts up, create a chunk, update a chunk, add notes / reminders / tags,
and find records again after a lost answer. All ledger writes happen on the calling
thread; worker threads only talk HTTP.

Order of work, each step journaled before it is sent:

1. reconcile what an earlier, interrupted attempt left ``sent`` (look it up, never resend
   blindly);
2. creates in chunks (a chunk refused with 400 is split in halves until the bad records
   are isolated: the good ones land, the bad ones fail with the destination's message);
3. updates in chunks (read-merge-write patches: sending one twice gives the same result);
4. follow-ups of every contact now known: notes, reminders, tags.
"""

from __future__ import annotations

import json
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from dexio.errors import ApiError, AuthError, ConnectionFailed, OutcomeUnknown, PayloadRejected
from dexio.ledger import PAGE_ROWS, Ledger

#: How many times one record may be sent without a known outcome before it is given up.
MAX_ATTEMPTS = 5


T = TypeVar("T")


class Destination(Protocol):
    """What the import engine needs from a CRM. Records are canonical dicts."""

    name: str

    def lookup(self, contacts: pl.DataFrame, *, match: str) -> pl.DataFrame:
        """Destination contacts that may be these people, as a canonical frame with ``id``
        and ``raw`` (the record as the destination returned it, JSON)."""
        ...

    def with_timeline(self, existing: pl.DataFrame, ids: Sequence[str]) -> pl.DataFrame:
        """``existing`` with the notes and reminders of contacts ``ids`` filled in."""
        ...

    def create(self, records: Sequence[dict[str, Any]]) -> list[str]:
        """Create one chunk; the new ids in order. Raises PayloadRejected / OutcomeUnknown."""
        ...

    def update(self, patches: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Apply ``(id, patch)`` pairs (see :mod:`dexio.plan` for the patch shape)."""
        ...

    def find(self, records: Sequence[dict[str, Any]], *, since: float) -> list[str | None]:
        """Ids of records created by us at or after ``since`` (reconcile), None if absent."""
        ...

    def add_note(self, contact_id: str, note: dict[str, Any]) -> str: ...

    def add_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str: ...

    def find_note(self, contact_id: str, note: dict[str, Any]) -> str | None: ...

    def find_reminder(self, contact_id: str, reminder: dict[str, Any]) -> str | None: ...

    def add_tags(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> int:
        """Give each contact id of ``pairs`` its tag names (idempotent); requests made."""
        ...


@dataclass
class Outcome:
    """What a worker learned about one chunk; applied to the ledger by the caller."""

    done: list[tuple[int, str]] = field(default_factory=list)
    failed: list[tuple[int, str, str | None]] = field(default_factory=list)
    retry: list[int] = field(default_factory=list)
    requests: int = 0


@dataclass
class UploadStats:
    """Counters of one upload, for the summary and the benchmark."""

    requests: int = 0
    created: int = 0
    updated: int = 0
    failed: int = 0
    reconciled: int = 0
    resent: int = 0
    followups: int = 0
    seconds: float = 0.0


class Interrupted(Exception):
    """Ctrl-C during an upload: in-flight work was settled, the rest is left for a resume."""


_ITEM_PATH = re.compile(r"\b(?:contacts|data)?\[\d+\]\.((?:[A-Za-z_]+(?:\[\d+\])?\.?)+):")


def _field_from_message(message: str) -> str | None:
    """``...: contacts[3].contact_emails[0].email: bad`` -> ``contact_emails.email``."""
    found = _ITEM_PATH.search(message)
    if not found:
        return None
    return ".".join(p.split("[", 1)[0] for p in found[1].strip(".").split(".")) or None


def _one_record(message: str) -> str:
    """The server's message without the position inside a chunk (meaningless to a user)."""
    return re.sub(r"\b(?:contacts|data)?\[\d+\]\.", "", message)


def _chunks(seq: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]


class ProgressBars:
    """A rich progress bar with rate and ETA, silent when quiet or not on a terminal."""

    def __init__(self, console: Console | None, quiet: bool) -> None:
        console = console or Console(stderr=True)
        self.enabled = not quiet and console.is_terminal
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            disable=not self.enabled,
            transient=False,
        )

    def __enter__(self) -> ProgressBars:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def task(self, label: str, total: int) -> Callable[[int], None]:
        task_id = self.bar.add_task(label, total=total, rate="")
        started = time.monotonic()
        done = 0

        def advance(n: int) -> None:
            nonlocal done
            done += n
            rate = done / max(time.monotonic() - started, 1e-6)
            self.bar.update(task_id, advance=n, rate=f"{rate:,.0f}/s")

        return advance


class _Runner:
    """Bounded concurrency with a clean Ctrl-C: stop feeding, settle what is in flight.

    While :meth:`catching_sigint` is active, the first Ctrl-C only sets a flag (so it can
    never land between journaling a chunk and recording its answer); the loop then sends
    nothing new, waits for the requests in flight, records their answers and raises
    :class:`Interrupted`. A second Ctrl-C raises ``KeyboardInterrupt`` at once (abandon:
    whatever was in flight stays ``sent`` and is reconciled on resume).
    """

    def __init__(self, concurrency: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="dexio")
        self.limit = max(1, concurrency)
        self.stop = threading.Event()

    @contextmanager
    def catching_sigint(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: object) -> None:
            if self.stop.is_set():
                raise KeyboardInterrupt
            self.stop.set()

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def check(self) -> None:
        """Raise :class:`Interrupted` if Ctrl-C was pressed (call between steps)."""
        if self.stop.is_set():
            raise Interrupted

    def run(
        self,
        jobs: Sequence[tuple[Callable[[], Outcome], Callable[[], None]]],
        apply: Callable[[Outcome], None],
    ) -> None:
        """Each job is (work, before): ``before`` journals on this thread, then work runs."""
        pending: set[Future[Outcome]] = set()
        queue = list(jobs)
        queue.reverse()
        while pending or (queue and not self.stop.is_set()):
            while queue and len(pending) < self.limit * 2 and not self.stop.is_set():
                work, before = queue.pop()
                before()
                pending.add(self.pool.submit(work))
            if not pending:
                break
            # A timeout, so a Ctrl-C flag is noticed even while every request is slow.
            finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for future in finished:
                apply(future.result())
                pending.discard(future)
        self.check()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _bisecting(
    outcome: Outcome,
    seqs: Sequence[int],
    items: Sequence[T],
    send: Callable[[Sequence[T]], Any],
    *,
    done: Callable[[Sequence[int], Sequence[T], Any], None],
    unknown: Callable[[Sequence[int], Sequence[T]], None],
    error: Callable[[Sequence[int], Sequence[T], ApiError], None],
) -> Outcome:
    """Send ``items`` as one request; on a 400 split them in halves and send each again,
    until every refused record is alone and failed with the server's message. ``done``,
    ``unknown`` (the answer was lost) and ``error`` (retries exhausted) record the rest."""

    def attempt(part_seqs: Sequence[int], part: Sequence[T]) -> None:
        outcome.requests += 1
        try:
            result = send(part)
        except PayloadRejected as exc:
            if len(part) == 1:
                outcome.failed.append(
                    (part_seqs[0], _one_record(exc.message), _field_from_message(exc.message))
                )
                return
            half = len(part) // 2
            attempt(part_seqs[:half], part[:half])
            attempt(part_seqs[half:], part[half:])
            return
        except OutcomeUnknown:
            unknown(part_seqs, part)
            return
        except (AuthError, ConnectionFailed):
            raise
        except ApiError as exc:
            error(part_seqs, part, exc)
            return
        done(part_seqs, part, result)

    attempt(seqs, items)
    return outcome


def _create_chunk(
    destination: Destination, seqs: Sequence[int], records: Sequence[dict[str, Any]], since: float
) -> Outcome:
    """Create a chunk; bisect on 400; on a lost answer, reconcile by lookup."""
    outcome = Outcome()

    def unknown(part_seqs: Sequence[int], part: Sequence[dict[str, Any]]) -> None:
        outcome.requests += 1
        found = destination.find(part, since=since)
        for seq, dest_id in zip(part_seqs, found, strict=True):
            if dest_id is None:
                outcome.retry.append(seq)
            else:
                outcome.done.append((seq, dest_id))

    def error(part_seqs: Sequence[int], part: Sequence[dict[str, Any]], exc: ApiError) -> None:
        # Retries are exhausted (5xx, 429): the records may or may not exist. Look.
        try:
            found = destination.find(part, since=since)
        except ApiError:
            outcome.retry.extend(part_seqs)
            return
        for seq, dest_id in zip(part_seqs, found, strict=True):
            if dest_id is None:
                outcome.failed.append((seq, f"not sent: {exc.message}", None))
            else:
                outcome.done.append((seq, dest_id))

    def done(part_seqs: Sequence[int], _: Sequence[dict[str, Any]], ids: list[str]) -> None:
        outcome.done.extend(zip(part_seqs, ids, strict=True))

    return _bisecting(
        outcome, seqs, records, destination.create, done=done, unknown=unknown, error=error
    )


def _update_chunk(
    destination: Destination, seqs: Sequence[int], patches: Sequence[tuple[str, dict[str, Any]]]
) -> Outcome:
    """Apply a chunk of patches; bisect on 400. A patch is idempotent, so resend on doubt."""
    outcome = Outcome()

    def done(part_seqs: Sequence[int], part: Sequence[tuple[str, dict[str, Any]]], _: Any) -> None:
        outcome.done.extend((s, p[0]) for s, p in zip(part_seqs, part, strict=True))

    def error(part_seqs: Sequence[int], _: Sequence[Any], exc: ApiError) -> None:
        outcome.failed.extend((s, f"not sent: {exc.message}", None) for s in part_seqs)

    return _bisecting(
        outcome,
        seqs,
        patches,
        destination.update,
        done=done,
        unknown=lambda part_seqs, _: outcome.retry.extend(part_seqs),
        error=error,
    )


def _followup_job(
    destination: Destination, rows: Sequence[tuple[int, str, int, str, str, str]]
) -> Callable[[], Outcome]:
    """Notes and reminders of one contact (tags go in bulk elsewhere)."""

    def work() -> Outcome:
        outcome = Outcome()
        for seq, kind, n, contact_id, payload, state in rows:
            body = json.loads(payload)
            key = _fkey(seq, kind, n)
            try:
                remote: str | None = None
                if state == "sent":  # sent before without an answer: look first
                    outcome.requests += 1
                    remote = (
                        destination.find_note(contact_id, body)
                        if kind == "note"
                        else destination.find_reminder(contact_id, body)
                    )
                if remote is None:
                    outcome.requests += 1
                    remote = (
                        destination.add_note(contact_id, body)
                        if kind == "note"
                        else destination.add_reminder(contact_id, body)
                    )
                outcome.done.append((key, remote))
            except OutcomeUnknown:
                outcome.retry.append(key)
            except (AuthError, ConnectionFailed):
                raise
            except ApiError as exc:
                outcome.failed.append((key, exc.message, kind))
        return outcome

    return work


# Follow-ups are addressed by one int in Outcome; pack (seq, kind, n) reversibly.
_KINDS = {"note": 1, "reminder": 2, "tags": 3}
_KIND_NAMES = {v: k for k, v in _KINDS.items()}


def _fkey(seq: int, kind: str, n: int) -> int:
    return (seq * 4 + _KINDS[kind]) * 100_000 + n


def _unfkey(key: int) -> tuple[int, str, int]:
    head, n = divmod(key, 100_000)
    seq, kind = divmod(head, 4)
    return seq, _KIND_NAMES[kind], n


def reconcile(ledger: Ledger, run_id: str, destination: Destination, since: float) -> int:
    """Settle items an interrupted attempt left ``sent``; returns how many were found."""
    found_count = 0
    after = -1
    while chunk := ledger.pending(run_id, "create", "sent", after=after, limit=50):
        after = chunk[-1][0]
        seqs = [s for s, _, _ in chunk]
        records = [json.loads(p) for _, _, p in chunk]
        found = destination.find(records, since=since)
        done = [(s, d) for s, d in zip(seqs, found, strict=True) if d is not None]
        ledger.mark_done(run_id, done)
        ledger.mark_planned(run_id, [s for s, d in zip(seqs, found, strict=True) if d is None])
        found_count += len(done)
    # A patch is idempotent (whole lists, filled fields): sending it again is safe.
    after = -1
    while page := ledger.pending(run_id, "update", "sent", after=after, limit=PAGE_ROWS):
        after = page[-1][0]
        ledger.mark_planned(run_id, [s for s, _, _ in page])
    return found_count


def _settle_followups(ledger: Ledger, run_id: str) -> None:
    """Journal the follow-ups of every contact that now has a destination id, a page of
    items per commit (journaling is idempotent: a resume journals the rest)."""
    after = -1
    while page := ledger.done_with_followups(run_id, after=after, limit=PAGE_ROWS):
        after = page[-1][0]
        rows: list[tuple[int, str, int, str, str]] = []
        for seq, dest_id, followups in page:
            body = json.loads(followups)
            if body.get("tags"):
                rows.append((seq, "tags", 0, dest_id, json.dumps(body["tags"])))
            for n, note in enumerate(body.get("notes") or []):
                rows.append((seq, "note", n, dest_id, json.dumps(note)))
            for n, reminder in enumerate(body.get("reminders") or []):
                rows.append((seq, "reminder", n, dest_id, json.dumps(reminder)))
        ledger.add_followups(run_id, rows)


def upload(
    ledger: Ledger,
    run_id: str,
    destination: Destination,
    *,
    since: float,
    batch_size: int = 100,
    concurrency: int = 4,
    quiet: bool = False,
    console: Console | None = None,
) -> UploadStats:
    """Send every planned item of ``run_id`` and record the outcomes in ``ledger``.

    ``since`` is when the run started (reconciling only claims contacts created after
    it). Raises :class:`Interrupted` on Ctrl-C once in-flight work is settled.
    """
    stats = UploadStats()
    started = time.monotonic()
    runner = _Runner(concurrency)
    try:
        with runner.catching_sigint(), ProgressBars(console, quiet) as progress:
            stats.reconciled = reconcile(ledger, run_id, destination, since)
            runner.check()
            _run_writes(
                ledger,
                run_id,
                "create",
                lambda chunk: _create_chunk(
                    destination,
                    [s for s, _, _ in chunk],
                    [json.loads(p) for _, _, p in chunk],
                    since,
                ),
                runner,
                progress,
                stats,
                batch_size,
            )
            runner.check()
            _run_writes(
                ledger,
                run_id,
                "update",
                lambda chunk: _update_chunk(
                    destination,
                    [s for s, _, _ in chunk],
                    [(str(d), json.loads(p)) for _, d, p in chunk],
                ),
                runner,
                progress,
                stats,
                batch_size,
            )
            runner.check()
            _run_followups(ledger, run_id, destination, runner, progress, stats, batch_size)
    finally:
        runner.close()
        stats.seconds = time.monotonic() - started
    return stats


#: A chunk of one action's items, ``(seq, dest_id, payload)`` each, sent as one job.
SendChunk = Callable[[Sequence[tuple[int, str | None, str]]], Outcome]


def _run_writes(
    ledger: Ledger,
    run_id: str,
    action: str,
    send: SendChunk,
    runner: _Runner,
    progress: ProgressBars,
    stats: UploadStats,
    batch_size: int,
) -> None:
    """Send the planned items of ``action`` (``create`` or ``update``) in chunks until none
    is left planned: each chunk is marked sent, then done, failed, or planned again after
    an unknown outcome (failed once it has had :data:`MAX_ATTEMPTS`)."""
    creating = action == "create"
    total = ledger.count(run_id, action, "planned")
    advance = progress.task("creating" if creating else "updating", total) if total else None

    def apply(outcome: Outcome) -> None:
        stats.requests += outcome.requests
        ledger.mark_done(run_id, outcome.done)
        ledger.mark_failed(run_id, outcome.failed)
        if creating:
            stats.created += len(outcome.done)
        else:
            stats.updated += len(outcome.done)
        stats.failed += len(outcome.failed)
        give_up = [s for s in outcome.retry if ledger.attempts(run_id, s) >= MAX_ATTEMPTS]
        ledger.mark_failed(
            run_id,
            [(s, "no answer from the destination after several attempts", None) for s in give_up],
        )
        stats.failed += len(give_up)
        again = [s for s in outcome.retry if s not in set(give_up)]
        ledger.mark_planned(run_id, again)
        if creating:  # an update is safe to repeat; only a create is "resent"
            stats.resent += len(again)
        if advance:
            advance(len(outcome.done) + len(outcome.failed) + len(give_up))

    # Sweeps in plan order until nothing is left planned (a retried item is planned again
    # and goes out in the next sweep). A sweep reads the ledger a page at a time, so only
    # one page of payloads is held, never a whole run's.
    while True:
        after, swept = -1, False
        while page := ledger.pending(run_id, action, "planned", after=after, limit=PAGE_ROWS):
            after, swept = page[-1][0], True
            jobs = []
            for chunk in _chunks(page, batch_size):
                seqs = [s for s, _, _ in chunk]
                jobs.append(
                    (
                        lambda chunk=chunk: send(chunk),
                        lambda seqs=seqs: ledger.mark_sent(run_id, seqs),
                    )
                )
            del page
            runner.run(jobs, apply)
        if not swept:
            return


def _run_followups(
    ledger: Ledger,
    run_id: str,
    destination: Destination,
    runner: _Runner,
    progress: ProgressBars,
    stats: UploadStats,
    batch_size: int,
) -> None:
    _settle_followups(ledger, run_id)
    total = ledger.count_followups(run_id, ("planned", "sent"))
    if not total:
        return
    advance = progress.task("notes, reminders, tags", total)

    # Tags: idempotent, so sent in bulk and simply re-sent after an interruption. Each
    # chunk ends done or failed, so asking the ledger for the next one always moves on.
    while chunk := ledger.followups(
        run_id, ("planned", "sent"), kinds=("tags",), limit=max(batch_size, 1)
    ):
        runner.check()
        keys = [(seq, kind, n) for seq, kind, n, _, _, _ in chunk]
        pairs = [(contact, json.loads(payload)) for _, _, _, contact, payload, _ in chunk]
        ledger.mark_followups(run_id, "sent", [(k, None, None) for k in keys])
        try:
            stats.requests += destination.add_tags(pairs)
            ledger.mark_followups(run_id, "done", [(k, None, None) for k in keys])
        except (AuthError, ConnectionFailed):
            raise
        except ApiError as exc:
            ledger.mark_followups(run_id, "failed", [(k, None, exc.message) for k in keys])
        stats.followups += len(chunk)
        advance(len(chunk))

    def apply(outcome: Outcome) -> None:
        stats.requests += outcome.requests
        ledger.mark_followups(
            run_id, "done", [(_unfkey(key), remote, None) for key, remote in outcome.done]
        )
        ledger.mark_followups(
            run_id, "failed", [(_unfkey(key), None, msg) for key, msg, _ in outcome.failed]
        )
        stats.followups += len(outcome.done) + len(outcome.failed)
        advance(len(outcome.done) + len(outcome.failed))

    # Notes and reminders are not idempotent: one answered "unknown" stays 'sent' and the
    # next pass looks it up before adding it again. A few passes, then it is left for a
    # resume (and reported). A pass reads a page of contacts at a time.
    states, kinds = ("planned", "sent"), ("note", "reminder")
    for _ in range(MAX_ATTEMPTS):
        after, passed = -1, False
        while seqs := ledger.followup_seqs(
            run_id, states, kinds, after=after, limit=max(PAGE_ROWS // 10, 1)
        ):
            after, passed = seqs[-1], True
            by_contact: dict[int, list[tuple[int, str, int, str, str, str]]] = {}
            for r in ledger.followups(run_id, states, kinds=kinds, seqs=(seqs[0], seqs[-1])):
                by_contact.setdefault(r[0], []).append(r)
            jobs = []
            for group in by_contact.values():
                to_mark = [
                    (seq, kind, n) for seq, kind, n, _, _, state in group if state == "planned"
                ]

                def before(to_mark: list[tuple[int, str, int]] = to_mark) -> None:
                    ledger.mark_followups(run_id, "sent", [(k, None, None) for k in to_mark])

                jobs.append((_followup_job(destination, group), before))
            runner.run(jobs, apply)
        if not passed:
            break
