"""Pieces of a delimited file worked on two at a time: the same Reading as one at a time,
whichever piece finishes first, and an error in any piece stops the rest."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from unittest import mock

import polars as pl
import pytest

import dexio.readers as readers
from dexio.readers import Reading, _map_tables, _read_head, read_in_pieces, text
from dexio.readers.text import read_delimited, sniff_plain


def write(tmp_path: Path, rows: int, header: str = "First Name,Email,Phone") -> Path:
    lines = [header] + [f"P{i}, p{i}@example.org ,+1 415 555 {i % 10000:04d}" for i in range(rows)]
    lines[rows // 2] = ",,"  # a blank record in the middle: dropped
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def in_pieces(path: Path, piece_bytes: int) -> Reading | None:
    delimited = sniff_plain(_read_head(path), str(path))
    assert delimited is not None
    with mock.patch.object(text, "PIECE_BYTES", piece_bytes):
        return read_in_pieces(path, str(path), None, delimited)


def whole(path: Path) -> Reading:
    return _map_tables(path, str(path), [read_delimited(path.read_bytes(), str(path))], None)


def assert_same(pieced: Reading | None, reference: Reading) -> None:
    assert isinstance(pieced, Reading)
    assert pieced.frame.equals(reference.frame)
    for name in ("mapping", "mapping_detected", "columns", "unclaimed", "dropped", "problems"):
        assert getattr(pieced, name) == getattr(reference, name), name


def no_workers_left() -> bool:
    return not any(t.name.startswith("dexio-read") for t in threading.enumerate())


def test_a_slow_early_piece_keeps_its_place_and_the_numbering(tmp_path: Path) -> None:
    path = write(tmp_path, 3000)
    parse = text.parse_block

    def slow_first(block: bytes, number: int, *args: object, **kwargs: object) -> object:
        if number == 0:
            time.sleep(0.3)  # every later piece is parsed meanwhile
        return parse(block, number, *args, **kwargs)  # type: ignore[arg-type]

    with mock.patch.object(readers, "parse_block", side_effect=slow_first):
        pieced = in_pieces(path, 4096)
    assert_same(pieced, whole(path))
    assert isinstance(pieced, Reading)
    assert pieced.frame["row"].to_list() == list(range(1, 3000))
    assert no_workers_left()


def test_a_first_block_holding_the_header_alone(tmp_path: Path) -> None:
    """The header longer than a piece: the second block is parsed without the filler."""
    header = "First Name,Email," + ",".join(f"Column {i}" for i in range(40))
    lines = [header] + [f"P{i},p{i}@example.org" + "," * 40 for i in range(200)]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(lines) + "\n")
    assert_same(in_pieces(path, len(header) // 2), whole(path))


def test_an_error_while_mapping_a_late_piece_is_raised_and_stops_the_rest(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, 3000)
    calls = 0
    map_piece = readers._map_piece

    def failing(*args: object) -> object:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("mapping failed")
        return map_piece(*args)  # type: ignore[arg-type]

    with (
        mock.patch.object(readers, "_map_piece", side_effect=failing),
        pytest.raises(RuntimeError, match="mapping failed"),
    ):
        in_pieces(path, 2048)
    assert calls < 20  # the pieces after it were not all worked on
    assert no_workers_left()


def test_a_piece_polars_refuses_stops_the_pieces_after_it(tmp_path: Path) -> None:
    lines = ["First Name,Email"] + [f"P{i},p{i}@example.org" for i in range(3000)]
    lines[200] += ",surplus"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    parsed: list[int] = []
    parse = text.parse_block

    def counting(block: bytes, number: int, *args: object, **kwargs: object) -> object:
        parsed.append(number)
        return parse(block, number, *args, **kwargs)  # type: ignore[arg-type]

    with mock.patch.object(readers, "parse_block", side_effect=counting):
        assert in_pieces(path, 1024) is None
    assert len(parsed) < 10  # of ~40 blocks
    assert no_workers_left()
    assert pl.Series(parsed).is_unique().all()
