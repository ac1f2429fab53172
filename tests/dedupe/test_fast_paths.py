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
    _distinctive,
    distinctive_user,
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


first_names = st.sampled_from(["mark", "robert", "bob", "mary", "ann", "de la", "jo", "x", None])
last_names = st.sampled_from(["smith", "smih", "garcia lopez", "ng", "ann", "the", "li", None])
digits_text = st.sampled_from(["", "7", "83", "122", "1984", "00001"])
fragment = st.sampled_from(["family", "home", "the", "m", "ms", "sparkle", "bob", "rob", "ii"])


@st.composite
def user_rows(draw: st.DrawFn) -> tuple[str, str | None, str | None]:
    first, last = draw(first_names), draw(last_names)
    pieces = [p.replace(" ", "") for p in (first, last) if p]
    # whole name parts, slices of them (typos, leftovers), household words, other letters
    piece = st.sampled_from(pieces or ["q"])
    sliced = st.tuples(piece, st.integers(0, 6), st.integers(1, 12)).map(
        lambda t: t[0][t[1] : t[2]]
    )
    other = st.text("abcdeghiklmnorstxyz", max_size=5)
    shape = draw(st.lists(st.one_of(piece, sliced, fragment, other), min_size=1, max_size=3))
    user = "".join(shape) + draw(digits_text)
    return (user or "z", first, last)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(user_rows(), min_size=1, max_size=40))
def test_distinctive_equals_distinctive_user(
    rows: list[tuple[str, str | None, str | None]],
) -> None:
    frame = pl.DataFrame(
        [(i, u, f, l) for i, (u, f, l) in enumerate(rows)],  # noqa: E741
        schema={"_i": pl.UInt32, "users": pl.String, "fn": pl.String, "ln": pl.String},
        orient="row",
    )
    kept = _distinctive(frame).explode("users")
    got = set(kept.iter_rows())
    expected = {(i, u) for i, (u, f, l) in enumerate(rows) if distinctive_user(u, f, l)}  # noqa: E741
    assert got == expected
