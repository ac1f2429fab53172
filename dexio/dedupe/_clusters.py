"""Transitive clusters from pairwise links: connected components without a Python loop per row.

Min-label propagation with pointer jumping over numpy arrays: every record starts as its own
label, each round every link hands the smaller label of its two ends to both, and every
label jumps to its own label's label. It stops when nothing changes; the label of a
component is then the smallest record index in it. Rounds grow with the log of the longest
chain, and real duplicate chains are short; a round is a few vector operations over the
links and the records (the same rounds as joins cost 50x more).
"""

from __future__ import annotations

import numpy as np
import polars as pl


def components(n: int, edges: pl.DataFrame) -> pl.DataFrame:
    """``_i`` (0..n-1) -> ``label`` (smallest ``_i`` of its component), both UInt32, in
    ``_i`` order."""
    label = np.arange(n, dtype=np.uint32)
    a = edges["a"].cast(pl.UInt32).to_numpy()
    b = edges["b"].cast(pl.UInt32).to_numpy()
    while True:
        low = np.minimum(label[a], label[b])
        step = label.copy()
        np.minimum.at(step, a, low)
        np.minimum.at(step, b, low)
        # A label is never above its record's index, so the jump only ever lowers it.
        step = step[step]
        if np.array_equal(step, label):
            break
        label = step
    return pl.DataFrame(
        {"_i": np.arange(n, dtype=np.uint32), "label": label},
        schema={"_i": pl.UInt32, "label": pl.UInt32},
    )


def cluster_columns(label: pl.Series) -> pl.DataFrame:
    """``label`` (a record's component, in ``_i`` order) with ``size`` (records in that
    component) and ``cluster_id`` (1, 2, ... in label order), both UInt32."""
    labels = label.cast(pl.UInt32).to_numpy()
    size = np.bincount(labels, minlength=len(labels)).astype(np.uint32)[labels]
    # A component's label is the index of its first record: the labels in order are the
    # records that are their own label, so a label's rank is how many of those precede it.
    first = labels == np.arange(len(labels), dtype=np.uint32)
    cluster_id = np.cumsum(first, dtype=np.uint32)[labels]
    return pl.DataFrame(
        {"label": labels, "size": size, "cluster_id": cluster_id},
        schema={"label": pl.UInt32, "size": pl.UInt32, "cluster_id": pl.UInt32},
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
    out = labels.join(fixed, on="_i", how="left", maintain_order="left").select(
        "_i", label=pl.coalesce("new", "label")
    )
    cut = pl.DataFrame(skipped, schema={"a": pl.UInt32, "b": pl.UInt32}, orient="row")
    return out, edges.join(cut, on=["a", "b"], how="semi")
