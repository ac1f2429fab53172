"""``mark_first`` marks the entries a sort would put first of their key, without the sort.

It orders only ``ROW`` and ``__key`` and scatters the marks back; this test holds it to
the version that sorted every column, on entries with repeated keys, tied and null
rankings.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.normalize._annotate import ROW, mark_first


def _sorted_version(items: pl.DataFrame, *order: str | pl.Expr) -> pl.DataFrame:
    ordered = items.sort(ROW, "__key", *order, nulls_last=True)
    repeat = (pl.col(ROW) == pl.col(ROW).shift(1)) & (pl.col("__key") == pl.col("__key").shift(1))
    return ordered.with_columns(repeat.fill_null(False).not_().alias("__first"))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 4),
            st.sampled_from(["a", "b", "A", "c"]),
            st.one_of(st.none(), st.integers(1, 3)),
            st.booleans(),
        ),
        max_size=30,
    )
)
def test_marks_equal_the_sorted_version(entries: list[tuple[int, str, int | None, bool]]) -> None:
    items = pl.DataFrame(
        {
            ROW: [row for row, _, _, _ in entries],
            "__key": [key for _, key, _, _ in entries],
            "ranking": [ranking for _, _, ranking, _ in entries],
            "__preferred": [preferred for _, _, _, preferred in entries],
        },
        schema={ROW: pl.UInt32, "__key": pl.String, "ranking": pl.Int32, "__preferred": pl.Boolean},
    ).with_row_index("__position")
    order = (pl.col("__preferred").not_(), "ranking", "__position")
    got = mark_first(items, *order)
    assert got.drop("__first").equals(items)  # the entries keep their place
    expected = _sorted_version(items, *order).sort("__position")
    assert got["__first"].to_list() == expected["__first"].to_list()
