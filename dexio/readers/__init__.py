"""Read any supported contact file into the canonical frame: ``dexio.read(path)``.

The format is taken from the content, not the extension (CSV/TSV, xlsx, vCard, JSON/JSONL);
the mapping from ``mapping=`` or, when not given, from the header signature. Readers place
values, they do not clean them: that is :func:`dexio.normalize`'s job.

Records that cannot be read are kept as rows whose ``issues`` start with
:data:`REJECTED`, so they reach the rejected result file with their row number instead of
vanishing.
"""

from __future__ import annotations

import json
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from dexio.errors import InputError, MappingError
from dexio.mapping import (
    ISSUES_COLUMN,
    ROW_COLUMN,
    Mapping,
    apply_mapping,
    available_mappings,
    load_mapping,
)
from dexio.readers.text import (
    HEAD_BYTES,
    Delimited,
    RawTable,
    Refused,
    parse_block,
    piece_blocks,
    read_delimited,
    sniff_delimited,
    sniff_plain,
)
from dexio.schema import SCALAR_FIELDS, Frame, conform

#: Prefix of an ``issues`` entry that marks a record the reader could not use.
REJECTED = "rejected: "
GENERIC = "generic"
#: Refuse files that cannot be contact exports, before reading them into memory.
MAX_FILE_BYTES = 2 * 1024**3

__all__ = [
    "REJECTED",
    "Reading",
    "detect_mapping",
    "inspect",
    "read",
    "read_file",
]


@dataclass
class Reading:
    """A file read into the canonical frame, with what the reader found out on the way."""

    path: Path
    format: str
    mapping: Mapping | None
    frame: pl.DataFrame
    mapping_detected: bool = False
    columns: list[str] = field(default_factory=list)
    unclaimed: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    details: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """How many records the reader could not use (kept as rows with a reason)."""
        issues = self.frame["issues"]
        return int(issues.list.eval(pl.element().str.starts_with(REJECTED)).list.any().sum())


def read(
    path: str | Path,
    mapping: str | Path | Mapping | None = None,
    sheet: str | int | None = None,
) -> pl.DataFrame:
    """Read a contact file into the canonical frame (see :mod:`dexio.schema`).

    ``mapping`` is a mapping name (``"linkedin"``), a path to a TOML mapping file, or a
    :class:`Mapping`; when omitted it is chosen from the header. ``sheet`` picks one sheet of
    a workbook (name or 0-based index); by default every non-empty sheet is read.
    Raises :class:`~dexio.errors.InputError` when the file cannot be read at all.
    """
    return read_file(path, mapping=mapping, sheet=sheet).frame


def read_file(
    path: str | Path,
    mapping: str | Path | Mapping | None = None,
    sheet: str | int | None = None,
) -> Reading:
    """Like :func:`read`, but also say which format and mapping were used and what was left
    over (what ``dexio inspect`` shows)."""
    file = Path(path)
    chosen = load_mapping(mapping) if mapping is not None else None
    kind = sniff_format(file)
    if kind == "xlsx":
        from dexio.readers.excel import read_workbook

        tables = read_workbook(file, sheet=sheet)
    elif kind == "vcard":
        from dexio.readers.vcard import read_vcards

        tables = [read_vcards(file)]
        if chosen is None:
            chosen = load_mapping("vcard")
    elif kind == "json":
        from dexio.readers.jsonl import read_json

        canonical = read_json(file)
        if isinstance(canonical, Reading):
            return canonical
        tables = [canonical]
    else:
        return _read_delimited(file, str(path), chosen)
    return _map_tables(file, str(path), tables, chosen)


def inspect(
    path: str | Path,
    mapping: str | Path | Mapping | None = None,
    sheet: str | int | None = None,
) -> Reading:
    """What ``dexio inspect`` shows: the :class:`Reading` of a file (format, mapping chosen,
    unclaimed columns, problems, the frame itself); see also :func:`fill_rates`."""
    return read_file(path, mapping=mapping, sheet=sheet)


def _read_delimited(file: Path, source: str, chosen: Mapping | None) -> Reading:
    """A CSV/TSV file, piece by piece (:func:`read_in_pieces`): from disk when it is plain
    UTF-8 with the header on top, else from its text decoded in memory (other encodings,
    a preamble). Whole when polars refuses a piece (ragged rows, stray quotes, invalid
    UTF-8 past the start), which is also the reading the pieces must equal."""
    data = None
    delimited = sniff_plain(_read_head(file), source)
    if delimited is None:
        content = _read_bytes(file)
        delimited, _ = sniff_delimited(content, source)  # what read_delimited starts with
        # Recoded or cut, the text is a second copy: keep that one only (and read the file
        # again should polars refuse a piece).
        data = content if delimited.body is content else None
        del content
    reading = read_in_pieces(file, source, chosen, delimited)
    if reading is not None:
        return reading
    del delimited  # read_delimited decodes anew
    data = data if data is not None else _read_bytes(file)
    return _map_tables(file, source, [read_delimited(data, source)], chosen)


#: Pieces parsed, tidied and mapped at once by :func:`read_in_pieces`: one per core here.
READ_WORKERS = 2


def read_in_pieces(
    file: Path, source: str, chosen: Mapping | None, delimited: Delimited
) -> Reading | None:
    """Parse, tidy and map the file a block at a time (:func:`~dexio.readers.text.parse_block`
    of each of :func:`~dexio.readers.text.piece_blocks`); ``None`` when polars refuses one.

    Two blocks are worked on at once, in threads (polars releases the GIL while it parses
    and maps), so both cores stay busy: with the next piece parsed in one thread while the
    previous was mapped in another, the mapping (~2/3 of the work) kept one core waiting.
    The pieces' frames are kept in file order; rows are numbered on from the count of the
    pieces before, which each waits for only between its tidying and its mapping. A few
    pieces of raw strings exist at a time next to the canonical frame being built (the two
    worked on, one block waiting); reading the whole raw table first cost more than the
    canonical frame. The mapping is per row and decides nothing from the data that would
    not hold for any part of it (see :func:`~dexio.mapping.apply_mapping`), so the pieces
    map to the rows the whole table would.
    """
    mapping = chosen if chosen is not None else detect_mapping(delimited.header)
    reading = Reading(
        path=file,
        format="csv",
        mapping=mapping,
        frame=pl.DataFrame(),
        mapping_detected=chosen is None,
        details=delimited.details,
    )
    opened: Future[bool] = Future()  # the first block held a record, not the header alone

    def work(number: int, block: bytes, before: Future[int], after: Future[int]) -> Mapped | None:
        try:
            # Once a block held a record, the width is the header's.
            width_known = number > 1 or (number == 1 and opened.result())
            piece = parse_block(block, number, delimited, width_known=width_known)
            if number == 0:
                opened.set_result(piece is not None)
            del block
            rows = before.result()  # rows of the pieces before this one
        except BaseException as exc:  # the pieces after this one stop too
            if number == 0 and not opened.done():
                opened.set_exception(exc)
            after.set_exception(exc)
            raise
        after.set_result(rows + (piece.height if piece is not None else 0))
        if piece is None or piece.height == 0:
            return None
        return _map_piece(mapping, piece, source, rows)

    frames: list[pl.DataFrame] = []
    before: Future[int] = Future()
    before.set_result(0)
    started: deque[Future[Mapped | None]] = deque()

    def take() -> None:
        mapped = started.popleft().result()
        if mapped is not None:
            _note(reading, mapped)
            frames.append(mapped.frame)

    pool = ThreadPoolExecutor(max_workers=READ_WORKERS, thread_name_prefix="dexio-read")
    try:
        for number, block in enumerate(piece_blocks(file, delimited)):
            after: Future[int] = Future()
            started.append(pool.submit(work, number, block, before, after))
            before = after
            del block
            # One block waiting for a free thread, not the whole file.
            while len(started) > READ_WORKERS:
                take()
        while started:
            take()
        if before.result() == 0:
            return None  # no records: read_delimited says which error that is
    except Refused:
        return None
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    # One chunk per column: normalize and dedupe gather, sort and join these columns many
    # times, and each of those walks every chunk (14 at 1M rows). The copy costs ~0.1 s
    # and holds the pieces twice for a moment, well below dedupe's later peak, which it
    # lowers (figures in docs/performance.md).
    return _finish(reading, pl.concat(frames, how="vertical", rechunk=True))


def _map_tables(file: Path, source: str, tables: list[RawTable], chosen: Mapping | None) -> Reading:
    frames: list[pl.DataFrame] = []
    reading = Reading(path=file, format=tables[0].format, mapping=chosen, frame=pl.DataFrame())
    offset = 0
    for table in tables:
        raw = table.frame
        if chosen is None:
            header = [c for c in raw.columns if c not in (ROW_COLUMN, ISSUES_COLUMN)]
            reading.mapping = detect_mapping(header)
            reading.mapping_detected = True
        assert reading.mapping is not None
        mapped = _map_piece(reading.mapping, raw, source, offset)
        _note(reading, mapped)
        frames.append(mapped.frame)
        offset += raw.height
        reading.details.update(table.details)
        reading.problems += table.problems
    frame = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return _finish(reading, frame)


@dataclass
class Mapped:
    """One raw table (or piece of one) in canonical columns, and what the mapping saw."""

    frame: pl.DataFrame
    columns: list[str]
    unclaimed: list[str]
    dropped: list[str]


def _map_piece(mapping: Mapping, raw: pl.DataFrame, source: str, offset: int) -> Mapped:
    """Map one raw table (or piece of one) into canonical columns, its rows numbered on
    from ``offset``."""
    header = [c for c in raw.columns if c not in (ROW_COLUMN, ISSUES_COLUMN)]
    applied = apply_mapping(mapping, raw)
    # One query for the finishing steps: three eager ones cost twice the CPU.
    frame = applied.frame.lazy().with_columns(
        pl.lit(source).alias("source"), (pl.col("row") + offset).alias("row")
    )
    return Mapped(
        with_empty_lists(conform(frame)).collect(), header, applied.unclaimed, applied.dropped
    )


def _note(reading: Reading, mapped: Mapped) -> None:
    """Note in ``reading`` the columns a piece had and what the mapping left over."""
    reading.columns += [c for c in mapped.columns if c not in reading.columns]
    reading.unclaimed += [c for c in mapped.unclaimed if c not in reading.unclaimed]
    reading.dropped += [c for c in mapped.dropped if c not in reading.dropped]


def _finish(reading: Reading, frame: pl.DataFrame) -> Reading:
    reading.frame = frame
    if reading.unclaimed:
        reading.problems.append(
            f"{len(reading.unclaimed)} column(s) no mapping rule claims, kept in extra: "
            + ", ".join(reading.unclaimed)
        )
    return reading


def with_empty_lists(frame: Frame) -> Frame:
    """List columns hold ``[]`` rather than null, so later stages need not check both."""
    schema = frame.collect_schema()
    lists = [name for name, dtype in schema.items() if isinstance(dtype, pl.List)]
    return frame.with_columns(pl.col(name).fill_null([]) for name in lists)


def detect_mapping(header: list[str]) -> Mapping:
    """The shipped mapping whose header signature matches best; ``generic`` when none does."""
    best: tuple[int, Mapping] | None = None
    for candidate in available_mappings():
        score = candidate.score(header)
        if score and (best is None or score > best[0]):
            best = (score, candidate)
    if best is not None:
        return best[1]
    try:
        return load_mapping(GENERIC)
    except MappingError:
        # No shipped mappings (an unusual install): every column goes to extra.
        return Mapping(name=GENERIC)


def _read_head(file: Path) -> bytes:
    try:
        with file.open("rb") as handle:
            return handle.read(HEAD_BYTES)
    except IsADirectoryError:
        raise InputError("is a folder, not a file", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=file) from None


def _read_bytes(file: Path) -> bytes:
    try:
        return file.read_bytes()
    except IsADirectoryError:
        raise InputError("is a folder, not a file", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=file) from None


def sniff_format(file: Path) -> str:
    """``csv``, ``xlsx``, ``vcard`` or ``json``, from the first bytes of the file."""
    if not file.exists():
        raise InputError("file not found", file=file)
    if file.is_dir():
        raise InputError("is a folder, not a file", file=file)
    size = file.stat().st_size
    if size == 0:
        raise InputError("the file is empty", file=file)
    if size > MAX_FILE_BYTES:
        raise InputError("the file is larger than 2 GiB; split it into smaller files", file=file)
    try:
        with file.open("rb") as handle:
            head = handle.read(4096)
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", file=file) from None
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputError(
            "this is an old Excel .xls workbook; save it as .xlsx or CSV and try again", file=file
        )
    text = _head_text(head)
    if text.lstrip().upper().startswith("BEGIN:VCARD"):
        return "vcard"
    if text.lstrip()[:1] in ("{", "["):
        return "json"
    return "csv"


def _head_text(head: bytes) -> str:
    for bom, encoding in ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[2:].decode(encoding, errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff")


def fill_rates(frame: pl.DataFrame) -> dict[str, float]:
    """Share of rows with a value, per canonical field (lists count when non-empty)."""
    if frame.height == 0:
        return {}
    fields = [*SCALAR_FIELDS, "emails", "phones", "tags", "notes", "extra"]
    exprs = []
    for name in fields:
        col = pl.col(name)
        filled = (
            col.list.len() > 0 if isinstance(frame.schema[name], pl.List) else col.is_not_null()
        )
        exprs.append(filled.fill_null(False).mean().alias(name))
    return {k: float(v or 0.0) for k, v in frame.select(exprs).row(0, named=True).items()}


def row_extra(frame: pl.DataFrame, index: int) -> dict[str, object]:
    """The ``extra`` object of one row, decoded (empty dict when none)."""
    value = frame["extra"][index]
    return json.loads(value) if value else {}
