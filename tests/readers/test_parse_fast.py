"""The parser's options leave null_values out (polars compares every cell with them):
tidied, its tables are the ones ``null_values=[""]`` gives, quoted empty cells included."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.readers.text import ISSUES_COLUMN, _csv_options, tidy

CELLS = st.one_of(
    st.sampled_from(["", " ", "  ", "a", " a ", "x,y", 'x"y', "\t", "line\nbreak", "'=1", "\x00"]),
    st.text(max_size=5),
)


def csv_line(cells: list[tuple[str, bool]]) -> str:
    out = []
    for cell, quoted in cells:
        plain = not any(c in cell for c in ',"\r\n') and cell.strip() == cell
        out.append(cell if plain and not quoted else '"' + cell.replace('"', '""') + '"')
    return ",".join(out)


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 4),
    rows=st.lists(st.lists(st.tuples(CELLS, st.booleans()), min_size=4, max_size=4), max_size=12),
)
def test_tidied_tables_are_those_of_empty_cells_as_nulls(
    width: int, rows: list[list[tuple[str, bool]]]
) -> None:
    header = [f"h{i}" for i in range(width)]
    body = "\n".join([",".join(header), *(csv_line(row[:width]) for row in rows)]) + "\n"
    options = _csv_options(",", header)
    assert "null_values" not in options
    tables = []
    for extra in ({}, {"null_values": [""]}):
        frame = pl.read_csv(body.encode(), **options, **extra)
        tables.append(
            tidy(frame.with_columns(pl.lit(None, pl.List(pl.String)).alias(ISSUES_COLUMN)))
        )
    assert tables[0].equals(tables[1])
