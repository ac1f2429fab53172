"""JSON Lines writer: one canonical record per line, nested lists kept as JSON arrays.

``dexio.read`` reads the file back into the same canonical frame.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import polars as pl

from dexio.schema import SCHEMA, conform


def write_jsonl(pages: Iterable[pl.DataFrame], path: Path) -> int:
    """Write canonical ``pages`` to ``path``, one JSON object per contact; return the rows."""
    rows = 0
    with path.open("wb") as out:
        for page in pages:
            if page.height:
                conform(page).select(list(SCHEMA)).write_ndjson(out)
                rows += page.height
    return rows
