"""Every sample file reads into the canonical frame with the expected counts and mapping."""

from __future__ import annotations

from pathlib import Path

import pytest

import dexio
from dexio.schema import check

SAMPLES = Path(__file__).parents[2] / "samples"

EXPECTED = {
    "linkedin/Connections.csv": ("linkedin", 9),
    "google/contacts.csv": ("google", 6),
    "google/contacts-legacy.csv": ("google", 4),
    "outlook/contacts.csv": ("outlook", 5),
    "excel/contacts.xlsx": ("generic", 8),
    "vcard/iphone.vcf": ("vcard", 4),
    "vcard/android-2.1.vcf": ("vcard", 3),
    "vcard/v4.vcf": ("vcard", 2),
    "generic/kontakte-excel-de.csv": ("generic", 3),
    "generic/contacts-unicode-text.txt": ("generic", 4),
    "generic/tinycrm-pipe.csv": ("generic", 3),
}


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_sample_reads(name: str, expected: tuple[str, int]) -> None:
    mapping, rows = expected
    reading = dexio.inspect(SAMPLES / name)
    check(reading.frame)
    assert reading.mapping is not None and reading.mapping.name == mapping
    assert reading.frame.height == rows
    assert reading.rejected == 0
    assert reading.frame["row"].to_list() == list(range(1, rows + 1))
    has_contact = (
        reading.frame["first_name"].is_not_null()
        | reading.frame["full_name"].is_not_null()
        | reading.frame["company"].is_not_null()
    )
    assert has_contact.all()


def test_generic_samples_quirks() -> None:
    de = dexio.inspect(SAMPLES / "generic" / "kontakte-excel-de.csv")
    assert de.details == {"encoding": "cp1252", "delimiter": "semicolon"}
    assert de.frame["first_name"].to_list() == ["Jörg", "Renée", "Ömer"]
    assert de.frame["notes"][2][0]["body"] == "Kunde seit 2019; bucht jährlich"
    utf16 = dexio.inspect(SAMPLES / "generic" / "contacts-unicode-text.txt")
    assert utf16.details == {"encoding": "utf-16", "delimiter": "tab"}
    assert utf16.frame["full_name"][3] == "山田 太郎"
    pipe = dexio.inspect(SAMPLES / "generic" / "tinycrm-pipe.csv")
    assert pipe.details["header line"] == "2"
    assert pipe.frame["notes"][2][0]["body"] == 'Asked about the "engine" project|needs follow-up'
    assert pipe.frame["tags"][0].to_list() == ["speaker", "vip"]
