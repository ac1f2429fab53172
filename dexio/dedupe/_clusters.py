"""Transitive clusters from pairwise links: connected components without a Python loop per row.

Min-label propagation with pointer jumping, as polars joins: every record starts as its own
label, each round every link hands the smaller label of its two ends to both, and every
label jumps to its own label's label. It stops when nothing changes; the label of a
component is then the smallest record index in it. Rounds grow with the log of the longest
chain, and real duplicate chains are short.
"""

from __future__ import annotations

import polars as pl


def components(n: int, edges: pl.DataFrame) -> pl.DataFrame:
    """``_i`` (0..n-1) -> ``label`` (smallest ``_i`` of its component), both UInt32."""
    everyone = pl.DataFrame({"_i": pl.int_range(n, dtype=pl.UInt32, eager=True)})
    if edges.height == 0:
        return everyone.with_columns(label=pl.col("_i"))
    links = edges.select(pl.col("a").cast(pl.UInt32), pl.col("b").cast(pl.UInt32)).unique()
    nodes = pl.concat([links["a"], links["b"]]).unique().sort()
    labels = pl.DataFrame({"node": nodes, "label": nodes})
    while True:
        ends = links.join(labels.rename({"node": "a", "label": "la"}), on="a").join(
            labels.rename({"node": "b", "label": "lb"}), on="b"
        )
        low = ends.select("a", "b", m=pl.min_horizontal("la", "lb"))
        offers = (
            pl.concat([low.select(node="a", m="m"), low.select(node="b", m="m")])
            .group_by("node")
            .agg(pl.col("m").min())
        )
        step = labels.join(offers, on="node", how="left").select(
            "node", label=pl.min_horizontal("label", "m")
        )
        step = step.join(
            step.rename({"node": "label", "label": "jump"}), on="label", how="left"
        ).select("node", label=pl.min_horizontal("label", "jump"))
        step = step.sort("node")
        if step["label"].equals(labels["label"]):
            break
        labels = step
    return everyone.join(labels.rename({"node": "_i"}), on="_i", how="left").select(
        "_i", label=pl.coalesce("label", "_i")
    )
