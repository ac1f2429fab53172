"""Whatever bytes arrive, the reader returns a canonical frame or raises InputError."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dexio
from dexio.errors import InputError
from dexio.schema import check

CSV_PIECES = st.sampled_from(
    [",", ";", "\t", "|", '"', "\n", "\r\n", " ", "a", "Ä", "x@y.example", "+1 555", "* ", ":::"]
)
VCARD_LINES = st.sampled_from(
    [
        "BEGIN:VCARD",
        "END:VCARD",
        "VERSION:3.0",
        "FN:Ana",
        "N:Lima;Ana;;;",
        "EMAIL;TYPE=pref:a@b.example",
        "TEL;CELL:+1 555",
        "NOTE;ENCODING=QUOTED-PRINTABLE:caf=C3=A9=",
        " folded",
        "item1.X-ABLabel:_$!<Other>!$_",
        "BDAY:--0412",
        "PHOTO;ENCODING=b:AAAA",
        "junk line",
        "",
    ]
)


def read_or_input_error(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            frame = dexio.read(path)
        except InputError as exc:
            assert str(path) in str(exc)
        else:
            check(frame)
            assert frame["row"].to_list() == list(range(1, frame.height + 1))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes(data: bytes) -> None:
    read_or_input_error(data, ".csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CSV_PIECES, min_size=1, max_size=80))
def test_random_delimited_text(pieces: list[str]) -> None:
    read_or_input_error("".join(pieces).encode(), ".csv")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(VCARD_LINES, min_size=1, max_size=30))
def test_random_vcards(lines: list[str]) -> None:
    read_or_input_error(("BEGIN:VCARD\r\n" + "\r\n".join(lines)).encode(), ".vcf")


def test_cp1252_byte_far_into_a_utf8_looking_file(tmp_path: Path) -> None:
    rows = "".join(f"Person {i},p{i}@x.example\n" for i in range(20000))
    data = ("Name,Email\n" + rows).encode() + "Zoë Café,zoe@x.example\n".encode("cp1252")
    path = tmp_path / "late.csv"
    path.write_bytes(data)
    reading = dexio.inspect(path)
    assert reading.details["encoding"] == "cp1252"
    assert reading.frame.height == 20001
    assert reading.frame["full_name"][-1] == "Zoë Café"


@pytest.mark.parametrize("suffix", [".xlsx", ".vcf", ".json"])
def test_wrong_extension_is_read_by_content(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"really-a-csv{suffix}"
    path.write_text("Name,Email\nAna Lima,ana@lima.example\n")
    frame = dexio.read(path)
    assert frame["emails"][0][0]["email"] == "ana@lima.example"
