"""dexio.dedupe's column-at-a-time computations agree with their one-value definitions.

Each vectorized step keeps a plain Python function as its definition (``name_similarity``,
``is_nickname_pair``, ``distinctive_user``); these tests check that the fast versions give
the same answer on random inputs and on every row of a generated file.
"""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dexio.dedupe._features import (
    fold,
    is_nickname_pair,
    name_similarities,
    name_similarity,
)
from dexio.nicknames import GROUPS

#: Names people type, nicknames among them, and the kinds of damage dedupe must see through.
KNOWN = [*sorted(GROUPS)[:80], "smith", "garcia lopez", "garcia", "j", "jo", "de la cruz"]
name_text = st.one_of(
    st.sampled_from(KNOWN),
    st.text(alphabet="abcjoné -", min_size=1, max_size=8),
    st.text(min_size=1, max_size=12),
)


def folded(values: list[str]) -> list[str | None]:
    return (
        pl.DataFrame({"v": values}, schema={"v": pl.String})
        .select(fold(pl.col("v")))["v"]
        .to_list()
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(name_text, name_text), min_size=1, max_size=40))
def test_name_similarities_equal_name_similarity(pairs: list[tuple[str, str]]) -> None:
    xs, ys = folded([x for x, _ in pairs]), folded([y for _, y in pairs])
    rows = [(x, y) for x, y in zip(xs, ys, strict=True) if x is not None and y is not None]
    if not rows:
        return
    frame = pl.DataFrame(rows, schema={"x": pl.String, "y": pl.String}, orient="row").unique()
    out = name_similarities(frame)
    for x, y, s, nick in out.select("x", "y", "s", "nick").iter_rows():
        expected = pl.Series([name_similarity(x, y)], dtype=pl.Float32)[0]
        assert s == expected, (x, y)
        assert nick == is_nickname_pair(x, y), (x, y)


def test_every_nickname_pair_of_the_table_is_found() -> None:
    names = sorted(GROUPS)
    frame = pl.DataFrame(
        [(x, y) for x in names for y in names],
        schema={"x": pl.String, "y": pl.String},
        orient="row",
    )
    out = name_similarities(frame)
    expected = [is_nickname_pair(x, y) for x, y in out.select("x", "y").iter_rows()]
    assert out["nick"].to_list() == expected
    assert sum(expected) > 500  # the table is really in use
