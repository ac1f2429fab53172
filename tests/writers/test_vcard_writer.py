"""vCard output: RFC 6350 escaping, folding at 75 octets, 4.0 and 3.0 properties."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dexio.schema import from_records
from dexio.writers import write
from dexio.writers.vcf import card_lines, escape, fold


def _unfold(data: bytes) -> list[str]:
    text = data.decode("utf-8")
    assert text.endswith("\r\n")
    return text.replace("\r\n ", "").split("\r\n")[:-1]


@given(st.text(min_size=0, max_size=400))
def test_folding_keeps_lines_short_and_utf8_whole(value: str) -> None:
    line = "NOTE:" + escape(value)
    data = fold(line)
    physical = data.split(b"\r\n")[:-1]
    for i, part in enumerate(physical):
        assert len(part) <= 75
        if i:
            assert part.startswith(b" ")
        part.decode("utf-8")  # no multi-byte character was cut in two
    assert _unfold(data) == [line]


def test_escaping_of_text_values() -> None:
    assert escape("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"


def _ana() -> dict[str, object]:
    return {
        "source_id": "c-1",
        "first_name": "Ana",
        "last_name": "Lima; Souza",
        "full_name": "Ana Lima; Souza",
        "company": "Acme, Inc.",
        "job_title": "CTO",
        "website": "https://ana.example",
        "description": "Met at PyCon\nLikes jazz",
        "birthday": "1990-01-02",
        "legacy_location": "Lisbon, Portugal",
        "linkedin": "analima",
        "tags": ["Friends", "a,b"],
        "emails": [
            {"email": "ana@work.example", "label": "work", "ranking": 2},
            {"email": "ana@home.example", "label": "home", "ranking": 1},
            {"email": "ana@club.example", "label": "Chess club", "ranking": 3},
        ],
        "phones": [
            {"phone_number": "+14155550100", "label": "mobile", "ranking": 1},
            {"phone_number": "+1 (415) 555-0101 ext 2", "label": "work", "ranking": 2},
        ],
    }


def test_vcard4_properties() -> None:
    lines = card_lines(_ana(), 4)
    assert lines[:2] == ["BEGIN:VCARD", "VERSION:4.0"] and lines[-1] == "END:VCARD"
    assert "FN:Ana Lima\\; Souza" in lines
    assert "N:Lima\\; Souza;Ana;;;" in lines
    assert "ORG:Acme\\, Inc." in lines
    assert "NOTE:Met at PyCon\\nLikes jazz" in lines
    assert "BDAY:19900102" in lines
    assert "EMAIL;TYPE=home;PREF=1:ana@home.example" in lines
    assert lines.index("EMAIL;TYPE=home;PREF=1:ana@home.example") < lines.index(
        "EMAIL;TYPE=work:ana@work.example"
    )
    assert "item1.EMAIL:ana@club.example" in lines
    assert "item1.X-ABLabel:Chess club" in lines
    assert "TEL;VALUE=uri;TYPE=cell;PREF=1:tel:+14155550100" in lines
    assert "TEL;VALUE=text;TYPE=work:+1 (415) 555-0101 ext 2" in lines
    assert "ADR;TYPE=home:;;Lisbon\\, Portugal;;;;" in lines
    assert (
        "X-SOCIALPROFILE;TYPE=linkedin;X-USER=analima:https://www.linkedin.com/in/analima" in lines
    )
    assert "CATEGORIES:Friends,a\\,b" in lines
    assert "UID:c-1" in lines


def test_vcard3_properties() -> None:
    lines = card_lines({**_ana(), "birthday": "--03-14"}, 3)
    assert lines[1] == "VERSION:3.0"
    assert "EMAIL;TYPE=INTERNET,HOME,pref:ana@home.example" in lines
    assert "TEL;TYPE=CELL,pref:+14155550100" in lines
    assert "BDAY;X-APPLE-OMIT-YEAR=1604:1604-03-14" in lines
    assert "BDAY:--0314" in card_lines({"birthday": "--03-14"}, 4)
    assert "BDAY:1990-01-02" in card_lines({"birthday": "1990-01-02"}, 3)


def test_one_file_with_every_card_crlf_and_folded(tmp_path: Path) -> None:
    long_note = "Ünïcödé " * 40
    frame = from_records([{**_ana(), "description": long_note}, {"first_name": "Bob"}])
    out = write(frame, tmp_path / "all.vcf").path
    data = out.read_bytes()
    assert data.count(b"BEGIN:VCARD\r\n") == 2 and data.count(b"END:VCARD\r\n") == 2
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))
    assert b"\n" not in data.replace(b"\r\n", b"")
    logical = _unfold(data)
    assert "NOTE:" + long_note in logical
    assert "FN:Bob" in logical


@pytest.mark.parametrize("version", [4, 3])
def test_cards_read_back_with_the_vcard_reader(tmp_path: Path, version: int) -> None:
    pytest.importorskip("dexio.readers.vcard", reason="the vCard reader has not landed yet")
    import dexio

    long_note = "Ünïcödé, with; specials\\ and\nnewlines " * 5 + "end"
    ana = {**_ana(), "description": long_note}
    bob = {"first_name": "Bob", "last_name": "Stone", "birthday": "--03-14"}
    out = write(from_records([ana, bob]), tmp_path / "c.vcf", vcard_version=version).path
    first, second = dexio.read(out).to_dicts()
    for field in ("first_name", "last_name", "company", "job_title", "website"):
        assert first[field] == ana[field], field
    assert first["description"] == long_note
    assert first["legacy_location"] == "Lisbon, Portugal"
    assert first["linkedin"] == "analima"
    assert first["tags"] == ["Friends", "a,b"]
    assert [e["email"] for e in first["emails"]] == [
        "ana@home.example",
        "ana@work.example",
        "ana@club.example",
    ]
    assert first["phones"][0]["phone_number"] == "+14155550100"
    assert first["birthday"] == "1990-01-02" and second["birthday"] == "--03-14"
