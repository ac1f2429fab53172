"""Parquet writer: the canonical frame with its nested columns, streamed by polars.

The pages feed a polars IO source, and ``sink_parquet`` writes row groups as they come, so
memory stays flat whatever the number of contacts.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import polars as pl
from polars.io.plugins import register_io_source

from dexio.schema import SCHEMA, conform

ROW_GROUP_ROWS = 10_000


def write_parquet(pages: Iterable[pl.DataFrame], path: Path) -> int:
    """Write canonical ``pages`` to ``path``; return the number of rows."""
    rows = 0

    def source(
        with_columns: list[str] | None,
        predicate: pl.Expr | None,
        n_rows: int | None,
        batch_size: int | None,
    ) -> Iterator[pl.DataFrame]:
        nonlocal rows
        for page in pages:
            frame = conform(page).select(list(SCHEMA))
            rows += frame.height
            if with_columns is not None:
                frame = frame.select(with_columns)
            yield frame

    lazy = register_io_source(source, schema=pl.Schema(SCHEMA))
    # polars buffers a whole row group before writing it; its default (hundreds of
    # thousands of rows) would make memory grow with the account, so keep groups small.
    lazy.sink_parquet(path, row_group_size=ROW_GROUP_ROWS)
    return rows
