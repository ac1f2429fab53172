"""Delimited text files (CSV, TSV, semicolon and pipe files) -> a table of raw strings.

Encoding, delimiter and the header line are sniffed from the start of the file; the bulk is
parsed by polars, a few MB at a time (:func:`parse_block` of each of :func:`piece_blocks`,
worked on two at a time by :func:`dexio.readers.read_in_pieces`), so the raw strings of a large
file never exist all at once. Files polars refuses (rows with more fields than the header,
stray quotes) are read whole (:func:`read_delimited`) and go through the standard csv module
instead, so those rows keep every value and get a row issue rather than stopping the file.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from dexio.errors import InputError
from dexio.mapping import ISSUES_COLUMN, ROW_COLUMN

DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 256 * 1024
SAMPLE_RECORDS = 200
#: A cell longer than this is not contact data; it is cut out with a row issue.
MAX_FIELD_BYTES = 1024 * 1024
OVERFLOW_COLUMN = "_overflow"


@dataclass
class RawTable:
    """Raw string cells as found in a file, before any mapping.

    ``frame`` has one String column per header column plus ``ROW_COLUMN`` (1-based record
    number) and ``ISSUES_COLUMN`` (list of strings).
    """

    frame: pl.DataFrame
    format: str
    details: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def decode(data: bytes, file: str, *, validate: bool = True) -> tuple[bytes, str]:
    """Return the content as UTF-8 bytes and the name of the encoding it was in.

    With ``validate=False`` only the start of a UTF-8-looking file is checked; the caller
    must be ready for invalid UTF-8 further on.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :], "utf-8-sig"
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _recode(data[len(bom) :], name, file), "utf-16"
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        # UTF-16 without a BOM: ASCII text leaves every other byte zero.
        even_zeros = head[0::2].count(0)
        odd_zeros = head[1::2].count(0)
        if odd_zeros > even_zeros * 4:
            return _recode(data, "utf-16-le", file), "utf-16-le"
        if even_zeros > odd_zeros * 4:
            return _recode(data, "utf-16-be", file), "utf-16-be"
        raise InputError("this is binary data, not a text table (CSV/TSV)", file=file)
    if _looks_binary(head):
        raise InputError("this is binary data, not a text table (CSV/TSV)", file=file)
    # Checking a whole large file costs as much as parsing it: check the start here and let
    # the parser (which refuses invalid UTF-8) catch the rest; see read_delimited.
    checked = data if validate else data[:SAMPLE_BYTES]
    try:
        checked.decode("utf-8")
    except UnicodeDecodeError as exc:
        if validate or exc.start < len(checked) - 4:  # not just a character cut in half
            return from_cp1252(data), "cp1252"
    return data, "utf-8"


def from_cp1252(data: bytes) -> bytes:
    """Excel on Windows writes "CSV" in the ANSI code page; cp1252 is a superset of Latin-1
    for printable text, and the few bytes it leaves undefined become U+FFFD."""
    return data.decode("cp1252", errors="replace").encode("utf-8")


def _recode(data: bytes, encoding: str, file: str) -> bytes:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InputError(f"not valid {encoding} text (byte {exc.start})", file=file) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.encode("utf-8")


def _looks_binary(head: bytes) -> bool:
    # A stray NUL or escape in one cell of a real export is not a binary file: that cell
    # gets cleaned and the rest still goes through; many of them are.
    if head.count(b"\x00") > max(2, len(head) // 100):
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls > max(2, len(head) // 50)


@dataclass
class Layout:
    delimiter: str
    header_line: int  # 0-based line index where the header record starts
    header: list[str]
    width: int


def sniff(text: str, file: str) -> Layout:
    """Find the delimiter and the header record in the first part of the file."""
    lines = text.splitlines(keepends=True)
    if len(text) >= SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut in half
    best: tuple[int, int, int, str, int, list[str]] | None = None
    for delimiter in DELIMITERS:
        records = _records(lines, delimiter)
        if not records:
            continue
        widths = Counter(len(r) for _, r in records if len(r) > 1)
        if not widths:
            continue
        width, count = max(widths.items(), key=lambda kv: (kv[1], kv[0]))
        # The header is the first record as wide as the body with at least two names.
        for line_no, record in records:
            named = sum(1 for v in record if v.strip())
            if len(record) >= width and named >= min(2, width):
                candidate = (count, width, -line_no, delimiter, line_no, record)
                if best is None or candidate[:3] > best[:3]:
                    best = candidate
                break
    if best is None:
        stripped = [ln.strip() for ln in lines if ln.strip()]
        if not stripped:
            raise InputError("the file has no header row (it is empty or blank)", file=file)
        # One column only: a list of names or emails with a one-word header.
        first = next(i for i, ln in enumerate(lines) if ln.strip())
        return Layout(",", first, [stripped[0]], 1)
    _, width, _, delimiter, line_no, record = best
    return Layout(delimiter, line_no, [h.strip() for h in record], width)


def _records(lines: list[str], delimiter: str) -> list[tuple[int, list[str]]]:
    """Parse the sample with the csv module, keeping the line each record starts on."""
    out: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO("".join(lines), newline=""), delimiter=delimiter, strict=False)
    start = 0
    try:
        for record in reader:
            if record and any(v.strip() for v in record):
                out.append((start, record))
            start = reader.line_num
            if len(out) >= SAMPLE_RECORDS:
                break
    except csv.Error:
        pass
    return out


@dataclass
class Delimited:
    """A delimited file sniffed and ready for polars: what to parse, and how.

    ``body`` is the text from the header record on, as UTF-8 bytes, or ``None`` when the
    file itself is that (plain UTF-8, header on the first line) and polars reads it from
    disk, so the file never has to sit in memory as a whole.
    """

    body: bytes | None
    layout: Layout
    header: list[str]
    encoding: str

    @property
    def details(self) -> dict[str, str]:
        details = {
            "encoding": self.encoding,
            "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[
                self.layout.delimiter
            ],
        }
        if self.layout.header_line:
            details["header line"] = str(self.layout.header_line + 1)
        return details


def sniff_delimited(data: bytes, file: str) -> tuple[Delimited, int]:
    """Decode and sniff a whole file; also return the byte offset of the header record."""
    if not data or data.isspace():
        raise InputError("the file is empty", file=file)
    utf8, encoding = decode(data, file, validate=False)
    sample = utf8[:SAMPLE_BYTES].decode("utf-8", errors="replace")
    layout = sniff(sample, file)
    offset = 0
    if layout.header_line:
        offset = len(
            "".join(sample.splitlines(keepends=True)[: layout.header_line]).encode("utf-8")
        )
    body = utf8[offset:] if offset else utf8
    return Delimited(body, layout, unique_names(layout.header), encoding), offset


def sniff_plain(head: bytes, file: str) -> Delimited | None:
    """A :class:`Delimited` with ``body=None`` when the first ``HEAD_BYTES`` of a file show
    plain UTF-8 (a UTF-8 BOM allowed: polars drops it just as :func:`decode` does) with
    the header on the first line; ``None`` for anything else (other encodings, a preamble,
    a blank or binary start), which :func:`sniff_delimited` handles from the whole file.

    Exact: :func:`decode` and :func:`sniff` only ever look at the first ``SAMPLE_BYTES``
    after the BOM, which ``head`` holds, and for these files they change nothing else.
    """
    if not head or head.isspace() or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    first = head[:4096]
    if (len(first) >= 4 and first.count(0) >= len(first) // 4) or _looks_binary(first):
        return None  # UTF-16 without a BOM or binary: the whole-file path decides
    utf8, encoding = decode(head, file, validate=False)
    if encoding not in ("utf-8", "utf-8-sig"):
        return None
    layout = sniff(utf8[:SAMPLE_BYTES].decode("utf-8", errors="replace"), file)
    if layout.header_line:
        return None
    return Delimited(None, layout, unique_names(layout.header), encoding)


#: What :func:`sniff_plain` needs from the start of a file.
HEAD_BYTES = SAMPLE_BYTES + len(codecs.BOM_UTF8)


def read_delimited(data: bytes, file: str) -> RawTable:
    """Read CSV/TSV bytes into a :class:`RawTable` of trimmed strings (empty -> null).

    The whole file at once; :func:`parse_block` of each of :func:`piece_blocks` is the
    same, piece by piece.
    """
    delimited, offset = sniff_delimited(data, file)
    layout, header, encoding = delimited.layout, delimited.header, delimited.encoding
    body = delimited.body
    assert body is not None
    problems: list[str] = []
    try:
        frame = _parse(body, layout.delimiter, header)
    except _NotUtf8:
        utf8, encoding = from_cp1252(data), "cp1252"
        body = utf8[offset:] if offset else utf8
        frame = _parse(body, layout.delimiter, header)
    if frame is None:
        frame = _read_with_csv_module(body, layout.delimiter, header, file)
        problems.append("some rows have more values than the header has columns (kept in extra)")
    frame = tidy(frame)
    if frame.height == 0:
        raise InputError("the file has a header but no contacts", file=file)
    delimited.encoding = encoding
    return RawTable(frame=frame, format="csv", details=delimited.details, problems=problems)


#: Bytes of the file per piece in :func:`piece_blocks` (~74,000 generated contacts): a
#: piece's raw strings and the mapping's intermediates stay a few dozen MB. Pieces of
#: 4 MB cost ~0.1 s CPU more over 1M generated rows (twice the polars calls, each with
#: its setup) for ~20 MB less at the peak of the read, far below dedupe's.
PIECE_BYTES = 8 * 1024 * 1024


class Refused(Exception):
    """polars refused a piece (ragged rows, stray quotes, invalid UTF-8): read the file
    whole with :func:`read_delimited`, which knows what to do with each."""


def piece_blocks(
    source: Path, delimited: Delimited, piece_bytes: int | None = None
) -> Generator[bytes, None, None]:
    """:func:`record_blocks` of about ``piece_bytes`` (default :data:`PIECE_BYTES`) of the
    text: ``delimited.body``, or the file itself when that is ``None`` (see
    :func:`sniff_plain`). Only one block of the text is read at a time."""
    size = piece_bytes or PIECE_BYTES
    if delimited.body is not None:
        yield from record_blocks(io.BytesIO(delimited.body).read, size)
        return
    with source.open("rb") as handle:
        yield from record_blocks(handle.read, size)


def parse_block(
    block: bytes, number: int, delimited: Delimited, *, width_known: bool, first_row: int = 1
) -> pl.DataFrame | None:
    """Block ``number`` (from 0) of :func:`piece_blocks`, parsed and tidied, its rows
    numbered from ``first_row``: the rows the whole file makes of it. ``width_known`` says
    an earlier block held a record; ``None`` for a first block holding the header alone.
    Raises :class:`Refused` where polars refuses the block. Why the pieces make the same
    cells as the whole file:

    * a block ends after a line feed outside quotes, counting every ``"`` as a toggle
      (:func:`record_blocks`), which is how polars itself splits a file into lines, and
      each line is parsed on its own;
    * the first block is parsed exactly as the whole file (header skipped, width from the
      first record); the others start with a filler record of that width (dropped again),
      so each line is read against the width it has inside the whole file;
    * every rewrite in :func:`tidy` is per cell and leaves a cell that does not need it as
      it is, so choosing per piece which columns to rewrite gives the same cells.
    """
    header = delimited.header
    delimiter = delimited.layout.delimiter
    options = _csv_options(delimiter, header)
    if number:
        options["skip_rows"] = 0
    # A record of empty quoted cells as wide as the header, put before every block after
    # the first record and dropped after parsing: polars takes a piece's width from its
    # first line, which inside the whole file it would not.
    filler = delimiter.join(['""'] * len(header)).encode() + b"\n"
    try:
        piece = pl.read_csv(filler + block if width_known else block, **options)
    except pl.exceptions.PolarsError:
        raise Refused from None
    if number == 0 and piece.width == 0:
        return None
    if piece.columns != header:
        raise Refused
    if width_known:
        piece = piece.slice(1)
    # Cells are cut from these bytes: none can hold a byte the block lacks.
    controls = bool(block.translate(None, _NOT_CONTROL_BYTES))
    quotes = b"'" in block
    return tidy(
        piece.with_columns(pl.lit(None, pl.List(pl.String)).alias(ISSUES_COLUMN)),
        first_row=first_row,
        controls=controls,
        quotes=quotes,
    )


def record_blocks(read: Callable[[int], bytes], size: int) -> Iterator[bytes]:
    """The bytes ``read`` returns, in blocks of about ``size`` or more that end after a line
    feed outside quotes (an even number of ``"`` before it); the last block holds the rest.

    A quote left open (a malformed file) keeps the block growing to the end of the file,
    so such a file is parsed in one piece, as it would be whole.
    """
    rest = b""  # read, not handed out yet, and holding no record end
    while True:
        chunk = read(size)
        if not chunk:
            if rest:
                yield rest
            return
        block = rest + chunk if rest else chunk
        cut = _last_record_end(block, len(rest))
        if cut == 0:
            rest = block
            continue
        rest = block[cut:]
        yield block[:cut]


def _last_record_end(block: bytes, since: int) -> int:
    """Offset just after the last line feed outside quotes in ``block[since:]``; 0 if none.
    (Line feeds before ``since`` are known to be inside quotes: not looked at again.)"""
    if b'"' not in block:  # most files: found ~30x faster than counted
        return block.rfind(b"\n", since) + 1
    quotes = block.count(b'"')
    end = len(block)
    while True:
        feed = block.rfind(b"\n", since, end)
        if feed < 0:
            return 0
        quotes -= block.count(b'"', feed + 1, end)
        if quotes % 2 == 0:
            return feed + 1
        end = feed


class _NotUtf8(Exception):
    """The parser met invalid UTF-8 past the part of the file that was checked."""


def _csv_options(delimiter: str, header: list[str]) -> dict[str, Any]:
    # Empty cells are read as null (polars' default); a quoted empty cell ("") stays "",
    # which tidy() makes null like a cell of spaces. null_values=[""] would make it null
    # here too, at the cost of comparing every cell: 16% of the parse (0.50 -> 0.41 s CPU
    # over the 1M generated rows).
    return {
        "separator": delimiter,
        "has_header": False,
        "skip_rows": 1,
        "new_columns": header,
        "infer_schema": False,
        "quote_char": '"',
        "truncate_ragged_lines": False,
        "raise_if_empty": False,
    }


def _parse(body: bytes, delimiter: str, header: list[str]) -> pl.DataFrame | None:
    """polars' parser; None when it refuses the file's shape (ragged rows, stray quotes)."""
    try:
        # bytes as they are: a BytesIO around them is copied again by polars.
        frame = pl.read_csv(body, **_csv_options(delimiter, header))
    except pl.exceptions.PolarsError as exc:
        if "utf-8" in str(exc).lower() or "utf8" in str(exc).lower():
            raise _NotUtf8 from None
        return None
    if frame.width != len(header):
        return None
    return frame.with_columns(pl.lit(None, pl.List(pl.String)).alias(ISSUES_COLUMN))


def safe_name(name: str) -> str:
    """polars reads the column name "*" as every column and "^...$" as a regex: wrap those."""
    if name == "*" or (name.startswith("^") and name.endswith("$")):
        return f"({name})"
    return name


def unique_names(header: list[str]) -> list[str]:
    """Header cells as column names: trimmed, blank ones numbered, repeats told apart."""
    seen: Counter[str] = Counter()
    names = []
    for i, raw in enumerate(header):
        name = safe_name(raw.strip().lstrip("\ufeff")) or f"column_{i + 1}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def _read_with_csv_module(
    body: bytes, delimiter: str, header: list[str], file: str
) -> pl.DataFrame:
    """Slow path for files polars refuses: keep every value, flag the rows that overflow."""
    text = body.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    width = len(header)
    columns: list[list[str | None]] = [[] for _ in range(width)]
    overflow: list[str | None] = []
    issues: list[list[str] | None] = []
    try:
        next(reader, None)
        records = list(reader)
    except csv.Error as exc:
        raise InputError(
            f"cannot be read as delimited text near line {reader.line_num}: {exc}", file=file
        ) from None
    for record in records:
        if not record or not any(v.strip() for v in record):
            continue
        padded = record[:width] + [None] * (width - len(record))
        for i, value in enumerate(padded):
            columns[i].append(value)
        if len(record) > width:
            rest = [v for v in record[width:] if v.strip()]
            overflow.append(delimiter.join(rest) if rest else None)
            issues.append([f"{len(record) - width} more values than the header has columns"])
        else:
            overflow.append(None)
            issues.append(None)
    data: dict[str, list[object]] = {
        name: list(col) for name, col in zip(header, columns, strict=True)
    }
    data[OVERFLOW_COLUMN] = list(overflow)
    data[ISSUES_COLUMN] = list(issues)
    schema = {name: pl.String for name in header}
    schema[OVERFLOW_COLUMN] = pl.String
    frame = pl.DataFrame(data, schema={**schema, ISSUES_COLUMN: pl.List(pl.String)})
    if frame[OVERFLOW_COLUMN].null_count() == frame.height:
        frame = frame.drop(OVERFLOW_COLUMN)
    return frame


#: Control characters other than tab, line feed and carriage return.
CONTROLS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
#: Every byte but those of CONTROLS (all ASCII, so never part of a longer UTF-8 character):
#: ``block.translate(None, _NOT_CONTROL_BYTES)`` keeps just the control bytes, ~20x faster
#: than searching the cells for them.
_NOT_CONTROL_BYTES = bytes(
    b for b in range(256) if not (b < 9 or b in (11, 12) or 14 <= b < 32 or b == 127)
)


def clean_cell(cell: pl.Expr) -> pl.Expr:
    """Trim a raw cell and drop control characters; an empty cell becomes null."""
    trimmed = cell.str.replace_all(CONTROLS, "").str.strip_chars()
    return pl.when(trimmed.str.len_bytes() > 0).then(trimmed)


#: The apostrophe spreadsheet exports (and dexio's writers) put before a cell that starts
#: like a formula: "'+1 415..." means "+1 415...".
FORMULA_QUOTE = r"^'([=+\-@\t\r])"


def unquote_formulas(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Drop that apostrophe in ``columns`` (those with a cell starting with "'")."""
    if not columns or frame.height == 0:
        return frame
    found = frame.select(pl.col(c).str.contains(FORMULA_QUOTE).any() for c in columns).row(0)
    quoted = [c for c, hit in zip(columns, found, strict=True) if hit]
    return frame.with_columns(
        pl.col(c).str.replace(FORMULA_QUOTE, "$1").pipe(clean_cell).alias(c) for c in quoted
    )


def tidy(
    frame: pl.DataFrame, first_row: int = 1, *, controls: bool = True, quotes: bool = True
) -> pl.DataFrame:
    """Trim cells, turn empty cells into nulls, drop blank records, number the rest from
    ``first_row``, undo formula-quoting apostrophes, and cut oversized cells out with a row
    issue.

    Whatever needs fixing is found first in one pass over the trimmed columns, so a clean
    file pays for the trimming and that one pass only. ``controls=False`` / ``quotes=False``
    say the caller knows that no cell holds a control character / an apostrophe (the bytes
    the cells came from have none), so the search for them, the costliest part of the pass,
    is skipped.
    """
    data = [c for c in frame.columns if c != ISSUES_COLUMN]
    if ISSUES_COLUMN not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.List(pl.String)).alias(ISSUES_COLUMN))
    frame = frame.with_columns(pl.col(c).str.strip_chars() for c in data)
    if data:
        found = frame.select(
            *[(pl.col(c) == "").any().alias(f"blank{i}") for i, c in enumerate(data)],
            *[
                (pl.col(c).str.starts_with("'").any() if quotes else pl.lit(False)).alias(
                    f"quote{i}"
                )
                for i, c in enumerate(data)
            ],
            *[pl.col(c).str.len_bytes().max().alias(f"long{i}") for i, c in enumerate(data)],
            *[
                (pl.col(c).str.contains(CONTROLS).any() if controls else pl.lit(False)).alias(
                    f"ctl{i}"
                )
                for i, c in enumerate(data)
            ],
            pl.all_horizontal(pl.col(c).is_null() for c in data).any().alias("empty_record"),
        ).row(0, named=True)
        # NUL, ESC, BEL...: no meaning in a contact, and NUL is refused by databases (Dex's
        # too), so they go; a cell of nothing else becomes empty like a blank one.
        controlled = [c for i, c in enumerate(data) if found[f"ctl{i}"]]
        frame = frame.with_columns(
            pl.col(c).str.replace_all(CONTROLS, "").str.strip_chars() for c in controlled
        )
        # Only cells of spaces, and quoted empty ones, are "" (the parser reads empty cells as null).
        emptied = [c for i, c in enumerate(data) if found[f"blank{i}"] or c in controlled]
        frame = frame.with_columns(
            pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in emptied
        )
        frame = unquote_formulas(frame, [c for i, c in enumerate(data) if found[f"quote{i}"]])
        if found["empty_record"] or emptied:
            frame = frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in data))
        too_long = [c for i, c in enumerate(data) if (found[f"long{i}"] or 0) > MAX_FIELD_BYTES]
    else:
        too_long = []
    frame = frame.with_columns(
        pl.int_range(first_row, pl.len() + first_row, dtype=pl.UInt32).alias(ROW_COLUMN),
        pl.col(ISSUES_COLUMN).fill_null(pl.lit([], pl.List(pl.String))),
    )
    for c in too_long:
        big = pl.col(c).str.len_bytes() > MAX_FIELD_BYTES
        frame = frame.with_columns(
            pl.when(big)
            .then(
                pl.col(ISSUES_COLUMN).list.concat(
                    pl.lit([f"field {c!r} longer than 1 MB, left out"])
                )
            )
            .otherwise(pl.col(ISSUES_COLUMN))
            .alias(ISSUES_COLUMN),
            pl.when(big).then(None).otherwise(pl.col(c)).alias(c),
        )
    return frame
