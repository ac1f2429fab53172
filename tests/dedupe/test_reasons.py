"""dexio.dedupe._reasons: finding each record's link by position agrees with the joins it
replaced, on a generated file."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from dexio.dedupe import Options, _groups, _match, _reasons
from dexio.dedupe._survivorship import rank_members
from dexio.normalize import normalize
from dexio.readers import read
from dexio.schema import COLUMNS, conform

BENCH = Path(__file__).resolve().parents[2] / "bench"


def reference_reasons(members: pl.DataFrame, edges: pl.DataFrame) -> pl.DataFrame:
    """_reasons as it was: each end's label, survivor and other end found by joins."""
    survivor = members.select("label", "mrank", s_i="_i").filter(pl.col("mrank") == 0)
    where = members.select("_i", "source", "row")
    ends = pl.concat(
        [
            edges.select(x="a", other="b", prio="prio", reason="reason"),
            edges.select(x="b", other="a", prio="prio", reason="reason"),
        ]
    )
    ends = (
        ends.join(members.select(x="_i", label="label"), on="x")
        .join(survivor, on="label")
        .with_columns(direct=pl.col("other") != pl.col("s_i"))
        .sort("x", "direct", "prio")
        .unique("x", keep="first")
        .join(where.rename({"_i": "other", "source": "o_src", "row": "o_row"}), on="other")
    )
    via = pl.concat_str(
        [
            pl.col("reason"),
            pl.lit(" (via "),
            pl.col("o_src").fill_null("?"),
            pl.lit(" row "),
            pl.col("o_row").cast(pl.String).fill_null("?"),
            pl.lit(")"),
        ]
    )
    return ends.select(
        _i="x", merge_reason=pl.when(pl.col("direct")).then(via).otherwise(pl.col("reason"))
    )


@pytest.mark.parametrize("trust", [None, ["gen-3000.csv"]])
def test_reasons_equal_the_joins_they_replaced_on_a_generated_file(
    tmp_path: Path, trust: list[str] | None
) -> None:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    generator = importlib.import_module("generate")
    path = tmp_path / "gen-3000.csv"
    generator.write_csv(path, generator.generate(3000, 0.15, 5))
    frame = conform(normalize(read(path, mapping="generic"), region="US")).select(COLUMNS)
    matched = _match(frame, Options())
    members = rank_members(matched.base, trust, where=pl.col("size") > 1)
    now = _reasons(matched.base, members, matched.edges).sort("_i")
    before = reference_reasons(members, matched.edges).sort("_i")
    assert now.height > 100
    assert_frame_equal(now, before)
    # _groups puts each member's reason beside it by position: as a join on ``_i`` does
    grouped, _ = _groups(matched, trust)
    assert grouped["merge_reason"].null_count() < grouped.height
    assert_frame_equal(grouped, members.join(now, on="_i", how="left", maintain_order="left"))
