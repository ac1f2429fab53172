"""Broken, truncated, mutated and hostile workbooks: a frame or a clear InputError, never
a traceback, a hang or a blown memory budget."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dexio
from dexio.errors import InputError

from .conftest import read_or_clear_error, small_workbook

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
WORKBOOK = small_workbook()
PARTS = [i.filename for i in zipfile.ZipFile(io.BytesIO(WORKBOOK)).infolist()]


def rebuild(parts: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out.getvalue()


def original_parts() -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(WORKBOOK)) as archive:
        return {name: archive.read(name) for name in PARTS}


@pytest.mark.timeout(60)
@FUZZ
@given(st.integers(min_value=4, max_value=len(WORKBOOK) - 1))
def test_truncated_workbook(cut: int) -> None:
    result = read_or_clear_error(WORKBOOK[:cut], ".xlsx")
    assert result != "ok" or cut > len(WORKBOOK) - 200  # only the tail is optional


@pytest.mark.timeout(60)
@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(WORKBOOK) - 1), st.integers(0, 255)), max_size=8))
def test_flipped_bytes_anywhere_in_the_zip(flips: list[tuple[int, int]]) -> None:
    data = bytearray(WORKBOOK)
    for where, value in flips:
        data[where] = value
    read_or_clear_error(bytes(data), ".xlsx")


def test_a_zip_entry_needing_a_newer_zip_version_is_a_clear_error() -> None:
    # Found by the test above with random examples: zipfile refuses an entry whose
    # "version needed to extract" it does not know with NotImplementedError.
    data = bytearray(WORKBOOK)
    central = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, central + 6, 64)  # version needed: 6.4
    message = read_or_clear_error(bytes(data), ".xlsx")
    assert "damaged" in message and "zip file version 6.4" in message


XML_NOISE = st.sampled_from(
    [b"<", b">", b"</row>", b"<c r=\"A1\" t=\"s\"><v>99</v></c>", b"<v>", b"&", b"&amp;",
     b"\x00", b"\xff\xfe", b"<?xml version=\"1.0\"?>", b"]]>", b"<!DOCTYPE x>", b"t=\"e\"",
     b"<row r=\"1048577\">", b"<c r=\"XFE1\">", b"9" * 40, b"\"", b"\n"]
)  # fmt: skip


@pytest.mark.timeout(60)
@FUZZ
@given(
    st.sampled_from(PARTS),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 40), XML_NOISE), min_size=1, max_size=6),
)
def test_mutated_xml_inside_a_valid_zip(part: str, edits: list[tuple[float, int, bytes]]) -> None:
    parts = original_parts()
    data = parts[part]
    for where, cut, noise in edits:
        at = int(where * len(data))
        data = data[:at] + noise + data[at + cut :]
    parts[part] = data
    read_or_clear_error(rebuild(parts), ".xlsx")


@pytest.mark.timeout(60)
@FUZZ
@given(st.sets(st.sampled_from(PARTS), min_size=1, max_size=3))
def test_parts_missing(missing: set[str]) -> None:
    parts = {k: v for k, v in original_parts().items() if k not in missing}
    read_or_clear_error(rebuild(parts), ".xlsx")


def test_a_plain_zip_bomb_is_refused_before_inflating(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    parts = original_parts()
    parts["xl/media/padding.bin"] = b"\0" * 50_000_000
    message = read_or_clear_error(rebuild(parts), ".xlsx")
    assert "zip bomb" in message


def lie_about_size(data: bytes, name: str, claimed: int) -> bytes:
    """Patch the local and central headers of ``name`` to claim ``claimed`` bytes unpacked."""
    raw = bytearray(data)
    encoded = name.encode()
    for signature, name_len_at, name_at, size_at in ((b"PK\x03\x04", 26, 30, 22),
                                                     (b"PK\x01\x02", 28, 46, 24)):  # fmt: skip
        at = raw.find(signature)
        while at != -1:
            length = struct.unpack_from("<H", raw, at + name_len_at)[0]
            if raw[at + name_at : at + name_at + length] == encoded:
                struct.pack_into("<I", raw, at + size_at, claimed)
            at = raw.find(signature, at + 4)
    return bytes(raw)


@pytest.mark.timeout(60)
def test_a_zip_bomb_that_lies_about_its_size_is_refused() -> None:
    # Found by this suite: calamine trusted the header and held ~1 GB for a 1 MB file.
    parts = original_parts()
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b"<sheetData>", b"<sheetData>" + b" " * 60_000_000)
    message = read_or_clear_error(lie_about_size(rebuild(parts), sheet, 2000), ".xlsx")
    assert "zip bomb" in message or "larger than they claim" in message


def test_xml_entity_tricks_are_not_expanded(tmp_path: Path) -> None:
    parts = original_parts()
    laughs = b"".join(
        b'<!ENTITY l%d "&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;&l%d;">' % ((i, *[i - 1] * 10))
        for i in range(1, 10)
    )
    dtd = (
        b'<!DOCTYPE x [<!ENTITY l0 "lol">' + laughs + b'<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    )
    strings = (
        b'<?xml version="1.0"?>' + dtd + b'<sst xmlns="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main" count="2" uniqueCount="2"><si><t>First Name</t></si>'
        b"<si><t>&l9;&xxe;</t></si></sst>"
    )
    parts["xl/sharedStrings.xml"] = strings
    path = tmp_path / "entities.xlsx"
    path.write_bytes(rebuild(parts))
    try:
        frame = dexio.read(path)
    except InputError as exc:
        assert "root:" not in str(exc) and "lollollol" not in str(exc)
        return
    text = frame.write_csv()  # every value the reader produced, as one text
    assert "root:" not in text and "lollollol" not in text
