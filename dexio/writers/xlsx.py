"""XLSX writer: one of the flat layouts, in openpyxl's write-only (streaming) mode.

Rows go to disk as they are appended, so memory does not grow with the row count (only
openpyxl's table of distinct strings does). Every value is written as text: a cell is never
stored as a formula, even with ``raw=True``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import polars as pl
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from dexio.schema import empty_frame
from dexio.writers.layouts import flatten

SHEET_TITLE = "Contacts"


def _cell(sheet: WriteOnlyWorksheet, value: str | None) -> object:
    if value is None:
        return None
    # XML cannot carry most control characters; openpyxl would refuse the whole row.
    text = ILLEGAL_CHARACTERS_RE.sub("", value)
    if text.startswith("="):
        # openpyxl stores any string starting with "=" as a formula; force plain text.
        cell = WriteOnlyCell(sheet, value=text)
        cell.data_type = "s"
        return cell
    return text


def write_xlsx(
    pages: Iterable[pl.DataFrame], path: Path, *, layout: str = "dexio", raw: bool = False
) -> int:
    """Write canonical ``pages`` to ``path`` as one sheet in ``layout``; return the rows."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(SHEET_TITLE)
    rows = 0
    header: list[str] | None = None
    try:
        for page in pages:
            flat = flatten(page, layout, raw=raw)
            if header is None:
                header = flat.columns
                sheet.append(header)
            for record in flat.iter_rows():
                sheet.append([_cell(sheet, value) for value in record])
            rows += flat.height
        if header is None:
            sheet.append(flatten(empty_frame(), layout, raw=raw).columns)
    except BaseException:
        _discard(sheet)
        raise
    book.save(path)
    return rows


def _discard(sheet: WriteOnlyWorksheet) -> None:
    """Close an abandoned sheet and remove the temporary file openpyxl streams rows into."""
    writer = getattr(sheet, "_writer", None)
    if writer is None:
        return
    with contextlib.suppress(Exception):
        sheet.close()
    with contextlib.suppress(Exception):
        writer.cleanup()
