"""Excel workbooks (.xlsx) -> raw string tables, one per non-empty sheet.

Cells are read with calamine (through fastexcel), which is fast and gives whole numbers
without a trailing ``.0`` or an exponent. A number shown through a format that adds leading
zeros or a "+" (a postal code "01234" stored as 1234 with format ``00000``, a phone stored
as a number with format ``"+"0``) is re-read with openpyxl for that column only and
formatted as Excel shows it, so neither the zero nor the "+" is lost.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from dexio.errors import InputError
from dexio.mapping import ISSUES_COLUMN, ROW_COLUMN
from dexio.readers.text import RawTable, tidy, unique_names

#: Rows looked at to find the header (title rows and blank rows may come first).
HEADER_SCAN_ROWS = 30
#: Rows whose number formats are looked at to decide whether a column needs openpyxl.
FORMAT_SCAN_ROWS = 200
#: Refuse a workbook that inflates beyond this (zip bomb) before any XML is parsed.
MAX_UNPACKED_BYTES = 2 * 1024**3
MAX_RATIO = 200
MIDNIGHT = r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?$"


def read_workbook(file: Path, sheet: str | int | None = None) -> list[RawTable]:
    """Every non-empty sheet (or just ``sheet``) as a :class:`RawTable`."""
    _check_zip(file)
    try:
        reader = fastexcel.read_excel(str(file))
    except Exception as exc:  # fastexcel raises its own types for every broken workbook
        raise InputError(f"not a readable Excel workbook ({_reason(exc)})", file=file) from None
    names = list(reader.sheet_names)
    if sheet is not None:
        if isinstance(sheet, int):
            if not 0 <= sheet < len(names):
                raise InputError(
                    f"the workbook has no sheet number {sheet} (sheets: {', '.join(names)})",
                    file=file,
                )
            wanted = [names[sheet]]
        elif sheet in names:
            wanted = [sheet]
        else:
            raise InputError(f"no sheet named {sheet!r} (sheets: {', '.join(names)})", file=file)
    else:
        wanted = names
    tables: list[RawTable] = []
    spans: list[str] = []
    first_row = 1
    for name in wanted:
        table = _read_sheet(reader, file, name)
        if table is None:
            continue
        rows = table.frame.height
        header_row = table.details["header row"]
        spans.append(f"{name} (header row {header_row}, rows {first_row}-{first_row + rows - 1})")
        first_row += rows
        tables.append(table)
    if not tables:
        which = f"sheet {wanted[0]!r}" if sheet is not None else "the workbook"
        raise InputError(f"{which} holds no table with a header row and contacts", file=file)
    if len(tables) > 1:
        # Rows are numbered through the whole workbook; say where each sheet's rows are.
        for t in tables:
            t.details = {"sheets": ", ".join(spans)}
    return tables


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def _check_zip(file: Path) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            entries = archive.infolist()
            names = {e.filename for e in entries}
            packed = sum(e.compress_size for e in entries) or 1
            unpacked = sum(e.file_size for e in entries)
    # (zipfile refuses an entry that claims to need a zip version it does not know with
    # NotImplementedError: a damaged header, as far as a workbook goes)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        raise InputError(
            f"damaged or truncated workbook, or not an .xlsx at all ({_why(exc)})", file=file
        ) from None
    if "xl/workbook.xml" not in names:
        raise InputError("a zip file, but not an Excel .xlsx workbook", file=file)
    if unpacked > MAX_UNPACKED_BYTES or unpacked / packed > MAX_RATIO:
        raise InputError(
            f"refusing to unpack: the workbook would grow to {unpacked:,} bytes "
            f"({unpacked / packed:.0f}x its size); is it a zip bomb?",
            file=file,
        )
    _check_declared_sizes(file)


def _why(exc: BaseException) -> str:
    """zipfile's own words, short: a damaged header makes it quote raw file-name bytes,
    which would turn the message into kilobytes of escaped binary."""
    text = str(exc)
    return text if len(text) <= 160 else text[:160] + "..."


def _check_declared_sizes(file: Path) -> None:
    """Inflate every part once, in 1 MiB steps, to prove the sizes checked above are true.

    A zip header can claim a small size for a part that inflates to gigabytes; calamine
    would believe it and hold the whole part in memory. zipfile stops at the declared size
    and then fails the CRC, so a lie costs at most the declared size (~5% of a read).
    """
    try:
        with zipfile.ZipFile(file) as archive:
            for entry in archive.infolist():
                with archive.open(entry) as part:
                    while part.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise InputError(
            f"damaged workbook, or a zip bomb whose parts are larger than they claim ({_why(exc)})",
            file=file,
        ) from None


def _read_sheet(reader: Any, file: Path, name: str) -> RawTable | None:
    try:
        head = reader.load_sheet(
            name, header_row=None, n_rows=HEADER_SCAN_ROWS, dtypes="string"
        ).to_polars()
    except Exception as exc:
        raise InputError(f"sheet {name!r} cannot be read ({_reason(exc)})", file=file) from None
    header_index = find_header(head)
    if header_index is None:
        return None
    try:
        frame = reader.load_sheet(name, header_row=header_index, dtypes="string").to_polars()
    except Exception as exc:
        raise InputError(f"sheet {name!r} cannot be read ({_reason(exc)})", file=file) from None
    names = ["" if c.startswith("__UNNAMED__") else c for c in frame.columns]
    frame = frame.rename(dict(zip(frame.columns, unique_names(names), strict=True)))
    if frame.height == 0:
        return None
    frame = frame.with_columns(pl.col(c).cast(pl.String) for c in frame.columns)
    frame = _apply_number_formats(file, name, header_index, frame)
    # Date cells arrive as "YYYY-MM-DD 00:00:00": a date is all a contact field needs.
    frame = frame.with_columns(pl.col(c).str.replace(MIDNIGHT, "$1") for c in frame.columns)
    frame = frame.with_columns(pl.lit(None, pl.List(pl.String)).alias(ISSUES_COLUMN))
    frame = tidy(frame)
    if frame.height == 0:
        return None
    details = {"sheet": name, "header row": str(header_index + 1)}
    return RawTable(frame=frame, format="xlsx", details=details)


def find_header(head: pl.DataFrame) -> int | None:
    """Index of the first row that names at least half as many columns as the widest row."""
    if head.width == 0 or head.height == 0:
        return None
    filled = head.select(
        pl.sum_horizontal(
            (pl.col(c).is_not_null() & (pl.col(c).str.strip_chars() != "")).cast(pl.Int32)
            for c in head.columns
        ).alias("n")
    )["n"]
    counts: list[int] = [int(n or 0) for n in filled.to_list()]
    widest = max(counts, default=0)
    if widest == 0:
        return None
    need = max(min(2, widest), (widest + 1) // 2)
    for index, count in enumerate(counts):
        if count >= need:
            return index
    return None


def _apply_number_formats(
    file: Path, sheet: str, header_index: int, frame: pl.DataFrame
) -> pl.DataFrame:
    """Re-read, with openpyxl, the columns whose numbers are shown with padding or a prefix."""
    if not _has_shaping_formats(file):
        return frame  # the usual case: nothing to re-read, and openpyxl is never opened
    import openpyxl

    try:
        book = openpyxl.load_workbook(file, read_only=True, data_only=True)
    except Exception:
        return frame  # calamine read it; styles are a nicety, not a reason to fail
    try:
        ws = book[sheet]
        first = header_index + 2  # 1-based, the row after the header
        formats: dict[int, str] = {}
        for row in ws.iter_rows(min_row=first, max_row=first + FORMAT_SCAN_ROWS - 1):
            for cell in row:
                column = getattr(cell, "column", None)
                if column is None or cell.data_type != "n" or cell.value is None:
                    continue
                if isinstance(cell.value, int | float) and _shapes_digits(cell.number_format):
                    formats.setdefault(column - 1, cell.number_format)
        columns = [i for i in formats if i < frame.width]
        if not columns:
            return frame
        replaced: dict[str, list[str | None]] = {frame.columns[i]: [] for i in columns}
        for row in ws.iter_rows(min_row=first, max_row=first + frame.height - 1):
            cells = {getattr(c, "column", 0) - 1: c for c in row}
            for i in columns:
                found = cells.get(i)
                value = found.value if found is not None else None
                shown: str | None
                if isinstance(value, int | float) and not isinstance(value, bool):
                    shown = format_number(value, found.number_format if found is not None else "")
                else:
                    shown = None if value is None else str(value)
                replaced[frame.columns[i]].append(shown)
        updates = []
        for name, values in replaced.items():
            values += [None] * (frame.height - len(values))
            updates.append(pl.Series(name, values[: frame.height], dtype=pl.String))
        return frame.with_columns(updates)
    finally:
        book.close()


_LITERAL = re.compile(r'"([^"]*)"|\\(.)')


def _has_shaping_formats(file: Path) -> bool:
    """Whether the workbook defines any custom number format that pads or decorates whole
    numbers. Excel's built-in formats never do, so styles.xml alone answers it, cheaply."""
    from defusedxml import ElementTree

    try:
        with zipfile.ZipFile(file) as archive:
            styles = archive.read("xl/styles.xml")
    except (KeyError, zipfile.BadZipFile, OSError):
        return False
    try:
        root = ElementTree.fromstring(styles)
    except Exception:  # a broken or hostile styles part: the values are still readable
        return False
    codes = [el.get("formatCode", "") for el in root.iter() if el.tag.endswith("}numFmt")]
    return any(_shapes_digits(code) for code in codes)


def _shapes_digits(number_format: str) -> bool:
    """A format that adds zeros or characters around a whole number ("00000", "+0",
    "(000) 000-0000"), as opposed to General, decimals, percentages or dates."""
    if not number_format or number_format == "General" or ";" in number_format:
        return False
    bare = _LITERAL.sub("", number_format)
    if re.search(r"[.,%EeyYmMdDhHsS@]", bare) or "0" not in bare:
        return False
    has_literal = _LITERAL.search(number_format) is not None or bare.strip("0#") != ""
    return bare.count("0") > 1 or has_literal


def format_number(value: float, number_format: str) -> str:
    """Show a whole number the way Excel does through a digit-placeholder format."""
    if not float(value).is_integer() or not _shapes_digits(number_format):
        text = repr(float(value)) if isinstance(value, float) else str(value)
        return text[:-2] if text.endswith(".0") else text
    digits = str(abs(int(value)))
    tokens: list[tuple[str, str]] = []  # ("digit", "0"|"#") or ("text", literal)
    pos = 0
    while pos < len(number_format):
        m = _LITERAL.match(number_format, pos)
        if m:
            tokens.append(("text", m.group(1) if m.group(1) is not None else m.group(2)))
            pos = m.end()
            continue
        ch = number_format[pos]
        tokens.append(("digit", ch) if ch in "0#" else ("text", ch))
        pos += 1
    slots = [i for i, (kind, _) in enumerate(tokens) if kind == "digit"]
    required = sum(1 for i in slots if tokens[i][1] == "0")
    digits = digits.rjust(required, "0")
    out = [t if kind == "text" else "" for kind, t in tokens]
    remaining = digits
    for i in reversed(slots):
        if remaining:
            out[i] = remaining[-1]
            remaining = remaining[:-1]
    if remaining:  # more digits than placeholders: Excel puts them in front of the first
        out[slots[0]] = remaining + out[slots[0]]
    return ("-" if value < 0 else "") + "".join(out)


__all__ = ["ROW_COLUMN", "find_header", "format_number", "read_workbook"]
