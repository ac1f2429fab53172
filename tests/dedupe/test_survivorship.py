"""dexio.dedupe._survivorship: the survivor ranking agrees with the whole-frame sort it
replaced, with and without a trust order."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.dedupe._survivorship import MERGED_SCALARS, rank_members
from dexio.schema import SCHEMA


def reference_rank_members(frame: pl.DataFrame, trust: Sequence[str] | None) -> pl.DataFrame:
    """rank_members as it was: the whole frame sorted, ranks from a window per label."""
    order = list(trust or [])
    positions = {name: i for i, name in enumerate(order)}
    base = pl.col("source").str.extract(r"([^/\\]+)$", 1)
    unknown = len(order)
    trust_rank = pl.min_horizontal(
        pl.col("source").replace_strict(positions, default=unknown, return_dtype=pl.Int64),
        base.replace_strict(positions, default=unknown, return_dtype=pl.Int64),
    ).fill_null(unknown)
    filled = pl.sum_horizontal(
        *[pl.col(f).is_not_null() & (pl.col(f).str.strip_chars() != "") for f in MERGED_SCALARS],
        pl.col("emails").list.len().fill_null(0) > 0,
        pl.col("phones").list.len().fill_null(0) > 0,
    )
    ranked = frame.with_columns(_trust=trust_rank, _filled=filled).sort(
        ["label", "_trust", "_filled", "_i"], descending=[False, False, True, False]
    )
    return ranked.with_columns(mrank=pl.int_range(pl.len(), dtype=pl.UInt32).over("label")).drop(
        "_trust", "_filled"
    )


SOURCES = ["crm.csv", "/data/crm.csv", "phone.vcf", "c:\\x\\phone.vcf", None]


@st.composite
def members(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 30))
    text = st.one_of(st.none(), st.sampled_from(["", "  ", "Ann", "x"]))
    rows = {
        "_i": list(range(n)),
        "label": draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)),
        "source": draw(st.lists(st.sampled_from(SOURCES), min_size=n, max_size=n)),
        **{f: draw(st.lists(text, min_size=n, max_size=n)) for f in MERGED_SCALARS[:4]},
    }
    schema = {"_i": pl.UInt32, "label": pl.UInt32, **{f: pl.String for f in list(rows)[2:]}}
    frame = pl.DataFrame(rows, schema=schema)
    has = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    emails = [[{"email": "a@x.com", "label": None, "ranking": 1}] if h else [] for h in has]
    return frame.with_columns(
        *[pl.lit(None, dtype=pl.String).alias(f) for f in MERGED_SCALARS[4:]],
        emails=pl.Series(emails, dtype=SCHEMA["emails"]),
        phones=pl.lit([], dtype=SCHEMA["phones"]),
    )


@settings(max_examples=200, deadline=None)
@given(members(), st.sampled_from([None, [], ["phone.vcf"], ["crm.csv", "phone.vcf"]]))
def test_rank_members_equals_the_whole_frame_sort(
    frame: pl.DataFrame, trust: list[str] | None
) -> None:
    assert rank_members(frame, trust).equals(reference_rank_members(frame, trust))


@settings(max_examples=200, deadline=None)
@given(members(), st.sampled_from([None, ["phone.vcf"]]), st.integers(0, 5))
def test_rank_members_of_some_rows_equals_ranking_a_filtered_copy(
    frame: pl.DataFrame, trust: list[str] | None, skipped: int
) -> None:
    # (dedupe ranks the records of groups of two or more among all records, in place)
    where = pl.col("label") != skipped
    now = rank_members(frame, trust, where=where)
    assert now.equals(reference_rank_members(frame.filter(where), trust))
