"""Delimited files read piece by piece: the same Reading as the whole file read at once."""

from __future__ import annotations

import csv
import importlib
import io
import os
import sys
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import dexio
from dexio.errors import InputError
from dexio.readers import Reading, _map_tables, _read_head, read_in_pieces, text
from dexio.readers.text import (
    piece_blocks,
    read_delimited,
    record_blocks,
    sniff_delimited,
    sniff_plain,
)

BENCH = Path(__file__).resolve().parents[2] / "bench"

HEADERS = ["First Name", "Last Name", "Email", "Work Email", "E-mail Address", "Mobile",
           "Phone", "Company", "Job Title", "Birthday", "Notes", "Tags", "City", "Country",
           "LinkedIn", "Labels", "Connected On", "URL", "person_id", "Given Name",
           "E-mail 1 - Value", "E-mail 1 - Label", "Phone 1 - Value", "Phone 1 - Label", ""]  # fmt: skip
PLAIN = st.sampled_from(["", " ", "ana@example.org", " bo@Example.ORG ", "+44 20 7946 0000",
                         "0171 2345678", "\u00a0Zoë\u00a0", "* work", "* Mobile", "a ::: b",
                         "customer; newsletter", "33000", "Germany", "x" * 40, "Lima",
                         "https://www.linkedin.com/in/ana-lima/", "line\nbreak", "a\r\nb"])  # fmt: skip
ODD = st.sampled_from(["'=1+1", "'+1 415 555 0100", "'plain", "\x00", "x\x1by", '"', 'x"y',
                       "::: :::", "\t", "\r"])  # fmt: skip
CELLS = st.one_of(PLAIN, PLAIN, PLAIN, ODD, st.text(max_size=8))
# PIECES_EXAMPLES=1500 for a deeper run (~80 s); 100 keep the suite quick.
PIECES = settings(
    max_examples=int(os.environ.get("PIECES_EXAMPLES", "100")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    database=None,
)


def whole(path: Path) -> Reading | str:
    """The reference: the file read at once, as before pieces existed (or its error)."""
    try:
        table = read_delimited(path.read_bytes(), str(path))
        return _map_tables(path, str(path), [table], None)
    except InputError as exc:
        return str(exc)


def in_pieces(path: Path, piece_bytes: int) -> Reading | str | None:
    """The piecewise reading, as ``dexio.read`` starts it (None when polars refused a
    piece, the message when the file cannot be read at all)."""
    delimited = sniff_plain(_read_head(path), str(path))
    try:
        if delimited is None:
            delimited, _ = sniff_delimited(path.read_bytes(), str(path))
    except InputError as exc:
        return str(exc)
    with mock.patch.object(text, "PIECE_BYTES", piece_bytes):
        return read_in_pieces(path, str(path), None, delimited)


def assert_same(pieced: Reading, reference: Reading | str) -> None:
    assert isinstance(reference, Reading), reference
    assert pieced.frame.schema == reference.frame.schema
    assert pieced.frame.equals(reference.frame)
    for name in ("format", "mapping", "mapping_detected", "columns", "unclaimed", "dropped"):
        assert getattr(pieced, name) == getattr(reference, name), name
    assert pieced.details == reference.details
    assert pieced.problems == reference.problems


@pytest.mark.timeout(120)
@PIECES
@given(
    header=st.lists(st.sampled_from(HEADERS), min_size=1, max_size=8),
    rows=st.lists(
        st.tuples(
            st.lists(CELLS, max_size=9),
            st.integers(0, 39).map(lambda n: n == 0),  # one in 40 unquoted
            st.integers(0, 5).map(lambda n: n == 0),  # a sixth shorter than the header
        ),
        min_size=0,
        max_size=25,
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1252", "utf-16"]),
    preamble=st.sampled_from(["", "", "Contacts export\n\n", 'Report,"x\ny"\n']),
    crlf=st.booleans(),
    piece_bytes=st.integers(1, 400),
)
def test_pieces_equal_the_whole_file(
    tmp_path_factory: pytest.TempPathFactory,
    header: list[str],
    rows: list[tuple[list[str], bool, bool]],
    delimiter: str,
    encoding: str,
    preamble: str,
    crlf: bool,
    piece_bytes: int,
) -> None:
    """Random shapes, cut into pieces of 1-400 bytes (so a piece is often one record):
    quoted line breaks, stray quotes, control characters, formula apostrophes, blank and
    short rows, preference markers and split cells in some pieces but not others, other
    encodings and lines before the header."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(header)
    for cells, raw, short in rows:
        if raw:  # unquoted on purpose: stray quotes, bare line breaks, too many values
            out.write(delimiter.join(cells) + ("\r\n" if crlf else "\n"))
        else:
            width = len(header) - 1 if short else len(header)
            writer.writerow((cells + [""] * width)[:width])
    path = tmp_path_factory.mktemp("pieces") / "input.csv"
    path.write_bytes((preamble + out.getvalue()).encode(encoding, errors="replace"))
    pieced = in_pieces(path, piece_bytes)
    reference = whole(path)
    if isinstance(pieced, str):
        event("cannot be read")
        assert pieced == reference
        return
    if pieced is None:
        event("refused, read whole")
        return
    event("read in pieces")
    assert_same(pieced, reference)


def _generate(tmp_path: Path, rows: int) -> Path:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    generator = importlib.import_module("generate")
    path = tmp_path / "gen.csv"
    generator.write_csv(path, generator.generate(rows, 0.15, 7))
    return path


def test_a_generated_file_in_many_pieces_equals_it_read_whole(tmp_path: Path) -> None:
    path = _generate(tmp_path, 4000)
    delimited = sniff_plain(_read_head(path), str(path))
    assert delimited is not None
    assert len(list(piece_blocks(path, delimited, 16 * 1024))) > 20
    pieced = in_pieces(path, 16 * 1024)
    assert isinstance(pieced, Reading)
    # rows numbered on across the pieces, though two are worked on at once
    assert pieced.frame["row"].to_list() == list(range(1, 4001))
    assert_same(pieced, whole(path))


def test_read_takes_a_plain_file_in_pieces_without_the_whole_file_path(tmp_path: Path) -> None:
    path = _generate(tmp_path, 300)
    reference = whole(path)
    with mock.patch("dexio.readers.read_delimited", side_effect=AssertionError("read whole")):
        reading = dexio.inspect(path)
    assert_same(reading, reference)


def test_a_ragged_row_late_in_the_file_falls_back_to_the_whole_file(tmp_path: Path) -> None:
    lines = ["First Name,Email"] + [f"P{i},p{i}@example.org" for i in range(2000)]
    lines[1500] += ",surplus"
    path = tmp_path / "ragged.csv"
    path.write_text("\n".join(lines) + "\n")
    assert in_pieces(path, 4096) is None  # refused partway
    reading = dexio.inspect(path)
    assert reading.frame.height == 2000
    assert "some rows have more values than the header has columns (kept in extra)" in (
        reading.problems
    )
    assert_same(reading, whole(path))


def test_control_characters_and_apostrophes_only_in_a_late_piece(tmp_path: Path) -> None:
    """The cheap byte checks per piece must not skip the cleaning where a piece needs it."""
    lines = ["First Name,Phone"] + [f"P{i},+1 415 555 {i:04d}" for i in range(3000)]
    lines[2900] = "Bad\x00Name\x1b,'+1 415 555 0199"
    path = tmp_path / "late.csv"
    path.write_text("\n".join(lines) + "\n")
    pieced = in_pieces(path, 2048)
    assert isinstance(pieced, Reading)
    assert_same(pieced, whole(path))
    row = pieced.frame.row(2899, named=True)
    assert row["first_name"] == "BadName"
    assert row["phones"][0]["phone_number"] == "+1 415 555 0199"


def test_record_blocks_end_outside_quotes_and_cover_everything() -> None:
    data = b'a,b\n"x\ny",1\n2,3\n"q""\n",4\n5,6\n'
    blocks = list(record_blocks(io.BytesIO(data).read, 3))
    assert b"".join(blocks) == data
    assert all(block.endswith(b"\n") and block.count(b'"') % 2 == 0 for block in blocks)
    assert b'"x\ny",1\n' in blocks and b'"q""\n",4\n' in blocks
    # An unbalanced quote: no record end can be trusted after it, the rest is one block.
    broken = b'a,b\n1,2\n"3,4\n5,6\n7,8\n'
    blocks = list(record_blocks(io.BytesIO(broken).read, 4))
    assert blocks == [b"a,b\n", b"1,2\n", b'"3,4\n5,6\n7,8\n']
