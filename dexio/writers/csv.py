"""CSV writer: one of the flat layouts, streamed page by page, UTF-8 with a BOM.

The BOM makes Excel open accented names correctly; Google, Outlook and dexio's own reader
all accept it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from dexio.schema import empty_frame
from dexio.writers.layouts import flatten


def write_csv(
    pages: Iterable[pl.DataFrame], path: Path, *, layout: str = "dexio", raw: bool = False
) -> int:
    """Write canonical ``pages`` to ``path`` in ``layout``; return the number of rows."""
    rows = 0
    with path.open("wb") as out:
        out.write(b"\xef\xbb\xbf")
        header_written = False
        for page in pages:
            flat = flatten(page, layout, raw=raw)
            if header_written and flat.height == 0:
                continue
            flat.write_csv(out, include_header=not header_written)
            header_written = True
            rows += flat.height
        if not header_written:
            flatten(empty_frame(), layout, raw=raw).write_csv(out)
    return rows
