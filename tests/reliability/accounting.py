"""Shared checks for "nothing lost, nothing twice": result files against input and Dex."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

from dexio.report import BUCKETS


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def result_files(report: Path, input_records: int) -> dict[str, list[dict[str, str]]]:
    """The five result files; asserts each input record is in exactly one of them."""
    parts = {name: read_rows(report / f"{name}.csv") for name in BUCKETS}
    summary = json.loads((report / "summary.json").read_text())
    assert summary["input_records"] == input_records
    assert {name: len(rows) for name, rows in parts.items()} == summary["counts"]
    keys = Counter((r["source"], r["row"]) for rows in parts.values() for r in rows)
    assert sum(keys.values()) == input_records, (sum(keys.values()), input_records)
    assert not [k for k, n in keys.items() if n > 1], "a record is in two result files"
    return parts


def assert_dex_matches(
    parts: dict[str, list[dict[str, str]]], before: set[str], after: set[str]
) -> None:
    """Dex now holds exactly what it held before plus one contact per created record;
    updates and unchanged rows point at contacts that were already there."""
    created = [r["dest_id"] for r in parts["created"]]
    assert all(created) and len(set(created)) == len(created), "a created row without its own id"
    assert not set(created) & before
    assert after == before | set(created), (
        f"missing: {len(before | set(created) - after)}, unexpected: "
        f"{len(after - before - set(created))}"
    )
    for name in ("updated", "unchanged"):
        assert {r["dest_id"] for r in parts[name]} <= before, name
