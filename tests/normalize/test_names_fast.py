"""Names are tidied and re-cased only where one regex says they may change, as if everywhere.

``normalize_names`` rewrites the rows ``_SUSPECT`` picks out (``_cleaned``); these tests
hold that to the former step, which tidied every name of a column and then looked up
every name in the table of re-cased ones, on names full of odd whitespace and odd case.
"""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from dexio.normalize._annotate import ROW, add_issue, quoted
from dexio.normalize.names import _FIELDS, _cleaned, recase
from dexio.schema import from_records


def _tidied_everywhere(column: str) -> pl.Expr:
    return pl.col(column).str.replace_all(r"\s+", " ").str.strip_chars().replace("", None)


def _needs_recase(column: str) -> pl.Expr:
    value = pl.col(column)
    shouted = value.str.contains(r"^[^\p{Ll}]*\p{Lu}[^\p{Ll}]*$")
    quiet = value.str.contains(r"^[^\p{Lu}\p{Lt}]*\p{Ll}[^\p{Lu}\p{Lt}]*$")
    return shouted | quiet


def _tidied_and_recased_everywhere(frame: pl.DataFrame) -> pl.DataFrame:
    """The first part of the former step: every value tidied, then every value looked up."""
    present = [c for c in _FIELDS if frame[c].null_count() < frame.height]
    frame = frame.with_columns(_tidied_everywhere(c) for c in present)
    for column in present:
        targets = frame.select(pl.col(column).filter(_needs_recase(column)).unique())
        fixed = {t: recase(t, family=column == "last_name") for t in targets[column].to_list()}
        fixed = {t: f for t, f in fixed.items() if f != t}
        if not fixed:
            continue
        new = pl.col(column).replace(fixed)
        message = pl.format(
            "{} {} re-cased to {}", pl.lit(column), quoted(pl.col(column)), quoted(new)
        )
        frame = add_issue(frame, pl.col(column).is_in(list(fixed)), message)
        frame = frame.with_columns(new.alias(column))
    return frame


SPACES = [" ", "  ", "\t", "\n", "\u00a0", "\u3000"]
WORDS = ["ana", "ANA", "Ana", "de", "LA", "mcdonald", "O'NEIL", "jr", "É", "ß", "ǅ", "1", "-"]
names = st.one_of(
    st.none(),
    st.lists(st.sampled_from(WORDS + SPACES), max_size=5).map("".join),
    st.text(max_size=6),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(names, names, names), min_size=1, max_size=12))
def test_only_suspect_names_are_rewritten_as_if_every_name_were(
    rows: list[tuple[str | None, str | None, str | None]],
) -> None:
    frame = from_records(
        [
            {"source": "a.csv", "row": i, "first_name": first, "last_name": last, "full_name": full}
            for i, (first, last, full) in enumerate(rows)
        ]
    ).with_row_index(ROW)
    before = frame.to_dicts()
    got = frame
    for column in _FIELDS:
        if frame[column].null_count() < frame.height:
            got = _cleaned(got, column)
    assert_frame_equal(got, _tidied_and_recased_everywhere(frame))
    assert frame.to_dicts() == before  # the input columns are not written to


def test_a_step_on_clean_names_changes_nothing() -> None:
    frame = from_records(
        [{"source": "a.csv", "row": 1, "first_name": "Ana", "last_name": "de la Cruz"}]
    ).with_row_index(ROW)
    assert _cleaned(frame, "first_name") is frame
