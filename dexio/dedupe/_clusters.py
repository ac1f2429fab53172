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


def split_contradictions(
    labels: pl.DataFrame, edges: pl.DataFrame, contradicting: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Undo transitive merges of records that contradict each other.

    A chain can join two people no link would join directly (John -[email]- a nameless
    record -[phone]- Jane). ``contradicting`` holds pairs (``a``, ``b``) of one cluster that
    must not end together; those clusters (few, small) are rebuilt in Python from their
    links, strongest first (``prio``, then ``score``), skipping any link that would put a
    contradicting pair together. Returns the new labels and the links skipped.
    """
    if contradicting.height == 0:
        return labels, edges.clear()
    bad_labels = contradicting.join(labels.rename({"_i": "a"}), on="a").select("label").unique()
    members = labels.join(bad_labels, on="label", how="semi")
    inside = edges.join(members.rename({"_i": "a"}), on="a", how="semi").sort(
        "prio", pl.col("score").fill_null(2.0), descending=[False, True]
    )
    apart: dict[int, set[int]] = {}
    for a, b in contradicting.select("a", "b").iter_rows():
        apart.setdefault(a, set()).add(b)
        apart.setdefault(b, set()).add(a)
    parent: dict[int, int] = {i: i for i in members["_i"].to_list()}
    groups: dict[int, set[int]] = {i: {i} for i in parent}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    skipped: list[tuple[int, int]] = []
    for a, b in inside.select("a", "b").iter_rows():
        ra, rb = root(a), root(b)
        if ra == rb:
            continue
        small, big = sorted((groups[ra], groups[rb]), key=len)
        if any(apart.get(x, set()) & big for x in small):
            skipped.append((a, b))
            continue
        low, high = min(ra, rb), max(ra, rb)
        parent[high] = low
        groups[low] |= groups.pop(high)
    fixed = pl.DataFrame(
        {"_i": list(parent), "new": [root(i) for i in parent]},
        schema={"_i": pl.UInt32, "new": pl.UInt32},
    )
    out = labels.join(fixed, on="_i", how="left").select("_i", label=pl.coalesce("new", "label"))
    cut = pl.DataFrame(skipped, schema={"a": pl.UInt32, "b": pl.UInt32}, orient="row")
    return out, edges.join(cut, on=["a", "b"], how="semi")
