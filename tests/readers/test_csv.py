"""Delimited text: encodings, delimiters, preambles, ragged rows, embedded newlines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import dexio
from dexio.errors import InputError
from dexio.schema import check

HEADER = "First Name,Last Name,Email,Phone,Company\n"
ROWS = [
    ("Zoë", "Dubois", "zoe@dubois.example", "+33 6 12 34 56 78", "Café Crème SARL"),
    ("Jürgen", "Maß", "j.mass@example.de", "0171 2345678", "Müller & Söhne"),
]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def table(delimiter: str = ",") -> str:
    lines = [HEADER.replace(",", delimiter)]
    lines += [delimiter.join(row) + "\n" for row in ROWS]
    return "".join(lines)


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", b"\xef\xbb\xbf"),
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b"\xfe\xff"),
        ("cp1252", b""),
    ],
)
def test_encodings_are_detected(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    text = table("\t" if encoding.startswith("utf-16") else ",")
    path = write(tmp_path, "people.csv", prefix + text.encode(encoding))
    frame = dexio.read(path)
    check(frame)
    assert frame["first_name"].to_list() == ["Zoë", "Jürgen"]
    assert frame["last_name"].to_list() == ["Dubois", "Maß"]
    assert frame["company"].to_list() == ["Café Crème SARL", "Müller & Söhne"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path: Path, delimiter: str) -> None:
    path = write(tmp_path, "people.txt", table(delimiter).encode())
    reading = dexio.inspect(path)
    assert reading.frame.height == 2
    assert reading.frame["emails"].to_list()[1][0]["email"] == "j.mass@example.de"
    assert reading.frame["phones"].to_list()[0][0]["phone_number"] == "+33 6 12 34 56 78"


def test_quoted_newlines_blank_lines_and_short_rows(tmp_path: Path) -> None:
    data = (
        "First Name,Last Name,Notes,Email\r\n"
        '"Ana","Lima","Met at PyCon\r\nlikes climbing",ana@lima.example\r\n'
        "\r\n"
        "Ben,Okoro\r\n"
        ",,,\r\n"
        "Cleo,Park,,cleo@park.example\r\n"
    )
    frame = dexio.read(write(tmp_path, "n.csv", data.encode()))
    assert frame["first_name"].to_list() == ["Ana", "Ben", "Cleo"]
    assert frame["row"].to_list() == [1, 2, 3]
    assert frame["notes"][0].to_list()[0]["body"].splitlines() == ["Met at PyCon", "likes climbing"]
    assert frame["emails"][1].to_list() == []


def test_row_with_too_many_values_keeps_them_and_flags_the_row(tmp_path: Path) -> None:
    data = "Name,Email\nAna Lima,ana@lima.example\nBen Okoro,ben@okoro.example,surplus,more\n"
    frame = dexio.read(write(tmp_path, "r.csv", data.encode()))
    assert frame.height == 2
    assert frame["issues"][0].to_list() == []
    assert "more values than the header" in frame["issues"][1][0]
    assert json.loads(frame["extra"][1])["_overflow"] == "surplus,more"


def test_preamble_lines_before_the_header_are_skipped(tmp_path: Path) -> None:
    data = (
        "Exported from SomeCRM on 2024-05-01\n"
        "Confidential\n"
        "\n"
        "Name;Email;City\n"
        "Ana Lima;ana@lima.example;Lisboa\n"
    )
    reading = dexio.inspect(write(tmp_path, "p.csv", data.encode()))
    assert reading.details["header line"] == "4"
    assert reading.frame["full_name"].to_list() == ["Ana Lima"]
    assert reading.frame["legacy_location"].to_list() == ["Lisboa"]


def test_unclaimed_columns_go_to_extra_and_are_reported(tmp_path: Path) -> None:
    data = "Email,Shoe Size,Favourite Colour,Empty\na@b.example,44,,\nc@d.example,,green,\n"
    reading = dexio.inspect(write(tmp_path, "x.csv", data.encode()))
    assert reading.mapping is not None and reading.mapping.name == "generic"
    assert reading.unclaimed == ["Shoe Size", "Favourite Colour", "Empty"]
    assert [json.loads(e) for e in reading.frame["extra"]] == [
        {"Shoe Size": "44"},
        {"Favourite Colour": "green"},
    ]
    assert any("Shoe Size" in p for p in reading.problems)


def test_oversized_field_is_cut_with_a_row_issue(tmp_path: Path) -> None:
    big = "x" * (1024 * 1024 + 10)
    data = f"Name,Notes\nAna Lima,{big}\nBen Okoro,short\n"
    frame = dexio.read(write(tmp_path, "big.csv", data.encode()))
    assert frame["notes"][0].to_list() == []
    assert "longer than 1 MB" in frame["issues"][0][0]
    assert frame["notes"][1][0]["body"] == "short"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"First Name,Last Name,Email\n", "no contacts"),
        (bytes(range(256)) * 20, "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, ".xls"),
    ],
)
def test_unreadable_files_raise_input_error_naming_the_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = write(tmp_path, "bad.csv", content)
    with pytest.raises(InputError) as caught:
        dexio.read(path)
    assert str(path) in str(caught.value)
    assert message in str(caught.value)


def test_missing_file_exits_2_without_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    result = subprocess.run(
        [sys.executable, "-m", "dexio", "inspect", str(missing)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "file not found" in result.stderr
    assert "Traceback" not in result.stderr
