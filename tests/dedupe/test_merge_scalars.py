"""dexio.dedupe._survivorship.merge_scalars: the kept texts and the conflicts (their order
too) agree with the computation over every field of every record, on groups whose fields
clash in several ways at once (spellings, birthdays with and without a year, blanks)."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_fast_paths import reference_merge_scalars

from dexio.dedupe._survivorship import MERGED_SCALARS, merge_scalars

TEXTS = {
    "first_name": ["Ann", "ann", "Anna", " Ann ", "", None],
    "last_name": ["López", "Lopez", "Stone", None],
    "full_name": ["Ann López", "Anna Stone", "ann lopez", None],
    "company": ["Acme Inc.", "ACME", "Beta", "Inc.", None],
    "birthday": ["1990-01-02", "--01-02", "1980-05-05", "--05-05", None],
    "job_title": ["CEO", "ceo", "  ", None],
}


@st.composite
def members(draw: st.DrawFn) -> pl.DataFrame:
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=8))
    labels = [label for label, size in enumerate(sizes) for _ in range(size)]
    ranks = [rank for size in sizes for rank in range(size)]
    n = len(labels)
    texts = {
        f: draw(st.lists(st.sampled_from(v), min_size=n, max_size=n)) for f, v in TEXTS.items()
    }
    return pl.DataFrame(
        {
            "label": pl.Series(labels, dtype=pl.UInt32),
            "mrank": pl.Series(ranks, dtype=pl.UInt32),
            "source": draw(
                st.lists(st.sampled_from(["a.csv", "b.vcf", None]), min_size=n, max_size=n)
            ),
            "row": pl.Series(range(n), dtype=pl.UInt32),
            **{f: pl.Series(texts.get(f, [None] * n), dtype=pl.String) for f in MERGED_SCALARS},
        }
    )


@settings(max_examples=300, deadline=None)
@given(members())
def test_merge_scalars_equals_the_computation_over_every_field(frame: pl.DataFrame) -> None:
    wide, conflicts = merge_scalars(frame)
    ref_wide, ref_conflicts = reference_merge_scalars(frame)
    assert wide.sort("label").equals(ref_wide.sort("label"))
    assert conflicts.sort("label").equals(ref_conflicts.sort("label"))


def test_conflicts_are_listed_by_field_name() -> None:
    frame = pl.DataFrame(
        {
            "label": pl.Series([0, 0], dtype=pl.UInt32),
            "mrank": pl.Series([0, 1], dtype=pl.UInt32),
            "source": ["a.csv", "b.csv"],
            "row": pl.Series([1, 2], dtype=pl.UInt32),
            **{f: pl.Series([None, None], dtype=pl.String) for f in MERGED_SCALARS},
        }
    ).with_columns(
        job_title=pl.Series(["CEO", "CTO"]),
        company=pl.Series(["Acme", "Beta"]),
        birthday=pl.Series(["--01-02", "1990-01-02"]),
    )
    wide, conflicts = merge_scalars(frame)
    # the birthday with the year is kept, and agrees with the one without it
    assert wide["birthday"].to_list() == ["1990-01-02"]
    assert conflicts["conflicts"].to_list() == [
        [
            "company: 'Acme' vs 'Beta' (kept 'Acme' from a.csv row 1)",
            "job_title: 'CEO' vs 'CTO' (kept 'CEO' from a.csv row 1)",
        ]
    ]
