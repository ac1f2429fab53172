"""dexio.dedupe._clusters: the numpy components and cluster columns agree with the polars
joins and windows they replaced, on random link graphs."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.dedupe._clusters import cluster_columns, components


def reference_components(n: int, edges: pl.DataFrame) -> pl.DataFrame:
    """components as it was: min-label propagation with pointer jumping as polars joins."""
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


@st.composite
def graphs(draw: st.DrawFn) -> tuple[int, pl.DataFrame]:
    n = draw(st.integers(1, 60))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=80))
    # Links as _match builds them: a < b (long chains come from consecutive indexes too).
    links = [(min(a, b), max(a, b)) for a, b in pairs if a != b]
    if draw(st.booleans()):
        links += [(i, i + 1) for i in range(0, n - 1, 2)]
    edges = pl.DataFrame(links, schema={"a": pl.UInt32, "b": pl.UInt32}, orient="row")
    return n, edges


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_components_equal_the_joins(graph: tuple[int, pl.DataFrame]) -> None:
    n, edges = graph
    fast = components(n, edges)
    assert fast.equals(reference_components(n, edges).sort("_i"))
    # Every link ends inside one component, and a component's label is one of its records.
    label = fast["label"]
    if edges.height:
        assert (label.gather(edges["a"]) == label.gather(edges["b"])).all()
    assert (label.gather(label) == label).all()


@settings(max_examples=200, deadline=None)
@given(graphs())
def test_cluster_columns_equal_the_windows(graph: tuple[int, pl.DataFrame]) -> None:
    n, edges = graph
    labels = components(n, edges)
    expected = labels.select(
        "label",
        size=pl.len().over("label").cast(pl.UInt32),
        cluster_id=pl.col("label").rank("dense").cast(pl.UInt32),
    )
    assert cluster_columns(labels["label"]).equals(expected)
