"""dexio.dedupe: a shared birthday is evidence only while a coincidence is unlikely."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from dexio import dedupe
from dexio.schema import from_records


def record(row: int, first: str, last: str, birthday: str) -> dict:
    return {
        "source": "crm.csv",
        "row": row,
        "first_name": first,
        "last_name": last,
        "birthday": birthday,
    }


def merged_rows(records: list[dict]) -> set[frozenset[int]]:
    clusters = dedupe(from_records(records)).clusters
    return {
        frozenset(rows)
        for rows in clusters.group_by("cluster_id").agg(pl.col("row"))["row"].to_list()
    }


def test_a_birthday_shared_by_a_very_common_name_is_not_evidence_enough() -> None:
    # 120 John Smiths, each born on another day, but two of them on the same day: with that
    # many of the name, two sharing a birthday is no longer a coincidence worth a merge.
    start = date(1950, 1, 1)
    crowd = [
        record(i + 1, "John", "Smith", (start + timedelta(days=97 * i)).isoformat())
        for i in range(120)
    ]
    crowd[1]["birthday"] = crowd[0]["birthday"]
    pair = [record(121, "Ana", "Lopez", "1980-05-17"), record(122, "Ana", "Lopez", "1980-05-17")]
    assert merged_rows([*crowd, *pair]) == {frozenset({121, 122})}
    # a handful of John Smiths: the same birthday does make them one person
    assert merged_rows([*crowd[:3], *pair]) == {frozenset({1, 2}), frozenset({121, 122})}
