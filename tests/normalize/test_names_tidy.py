"""Whitespace tidying of names rewrites only untidy values, with the regex it replaced.

``_tidied`` runs the replacement over the values ``_UNTIDY`` picks out; these tests hold
it to the replacement run over every value, on names full of odd whitespace.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.normalize.names import _UNTIDY, _tidied


def _everywhere(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)


SPACES = [" ", "\t", "\n", "\u00a0", "\u2009", "\u3000", "\u200b", "\x1c"]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from(["a", "É", "-", "'", *SPACES]), max_size=8),
            st.text(max_size=8),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_tidied_equals_the_replacement_over_every_value(names: list[str | None]) -> None:
    frame = pl.DataFrame({"name": names}, schema={"name": pl.String})
    untidy = frame.select(pl.col("name").str.contains(_UNTIDY).fill_null(False)).to_series()
    got = _tidied(frame["name"], untidy)
    assert got.to_list() == frame.select(_everywhere("name")).to_series().to_list()
    assert frame["name"].to_list() == names  # the input column is not written to


def test_tidy_names_are_the_same_series() -> None:
    values = pl.Series("name", ["Ana", "Mary Ann", None])
    untidy = values.str.contains(_UNTIDY).fill_null(False)
    assert not untidy.any()
    assert _tidied(values, untidy) is values
