"""JSON Lines as `dexio export` writes them read back losslessly; bad lines rejected alone."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import dexio
from dexio.readers import REJECTED
from dexio.writers.jsonl import write_jsonl

SAMPLES = Path(__file__).parents[2] / "samples"


def test_round_trip_through_the_jsonl_writer(tmp_path: Path) -> None:
    original = dexio.read(SAMPLES / "google" / "contacts.csv")
    original = original.with_columns(
        pl.lit("dex-1").alias("source_id"),
        pl.lit([{"body": "Lunch", "created_at": "2024-01-02T10:00:00Z"}]).alias("notes"),
    )
    path = tmp_path / "export.jsonl"
    write_jsonl([original], path)
    back = dexio.read(path)
    assert back.drop("source").equals(original.drop("source"))
    assert back["source"].unique().to_list() == [str(path)]


def test_bad_lines_are_rejected_with_their_line(tmp_path: Path) -> None:
    good = {"first_name": "Ana", "emails": [{"email": "a@x.example", "label": None, "ranking": 1}]}
    lines = [
        json.dumps(good),
        '{"first_name": "Broken"',
        json.dumps({"first_name": "Ben", "phones": "555"}),
        json.dumps(good | {"first_name": "Cleo"}),
    ]
    path = tmp_path / "c.jsonl"
    path.write_text("\n".join(lines) + "\n")
    reading = dexio.inspect(path)
    frame = reading.frame
    assert frame.height == 4
    assert reading.rejected == 2
    assert frame["first_name"].to_list() == ["Ana", None, None, "Cleo"]
    assert frame["issues"][1][0].startswith(REJECTED + "line 2 is not valid JSON")
    assert "field 'phones'" in frame["issues"][2][0]


def test_other_json_goes_through_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "people.json"
    path.write_text(
        json.dumps(
            [{"name": "Ana Lima", "email": "a@x.example", "phone": 5551234, "groups": ["VIP"]}]
        )
    )
    reading = dexio.inspect(path)
    assert reading.mapping is not None and reading.mapping.name == "generic"
    row = reading.frame.row(0, named=True)
    assert (row["first_name"], row["last_name"]) == ("Ana", "Lima")
    assert row["phones"][0]["phone_number"] == "5551234"
    assert row["tags"] == ["VIP"]
