"""vCard 2.1/3.0/4.0: folding, QUOTED-PRINTABLE, item labels, PREF, BDAY forms, photos."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import dexio
from dexio.errors import InputError
from dexio.readers import REJECTED
from dexio.schema import check

SAMPLES = Path(__file__).parents[2] / "samples" / "vcard"


def person(frame: pl.DataFrame, first: str) -> dict:
    return frame.filter(pl.col("first_name") == first).row(0, named=True)


def test_iphone_export() -> None:
    reading = dexio.inspect(SAMPLES / "iphone.vcf")
    check(reading.frame)
    assert reading.mapping is not None and reading.mapping.name == "vcard"
    assert reading.frame.height == 4
    ada = person(reading.frame, "Adaeze")
    assert ada["emails"][0] == {
        "email": "adaeze@sunbird-energy.example",
        "label": "other",
        "ranking": 1,
    }
    assert [(p["label"], p["country_code"]) for p in ada["phones"]] == [
        ("mobile", "NG"),
        ("lagos office", "NG"),
    ]
    assert ada["birthday"] == "--05-17"  # Apple's X-APPLE-OMIT-YEAR=1604
    assert ada["description"] == (
        "Met at the West Africa solar summit, Abuja.\nFollow up about the pilot in May."
    )
    assert ada["linkedin"] == "adaeze-okonkwo"
    assert ada["legacy_location"] == "12 Admiralty Way, Lekki, Lagos, 106104, Nigeria"
    assert ada["issues"] == ["photo skipped (embedded base64)"]
    ciaran = person(reading.frame, "Ciarán")
    assert ciaran["tags"] == ["Friends", "Dublin"]
    assert ciaran["twitter"] == "ciaranfitz"
    assert ciaran["website"] == "https://ciaranfitz.example"
    assert ciaran["phones"][0]["label"] == "mobile"
    shop = reading.frame.filter(pl.col("company") == "Green Leaf Dry Cleaners").row(0, named=True)
    assert shop["full_name"] is None  # an organisation card, not a person's name


def test_android_2_1_quoted_printable() -> None:
    frame = dexio.read(SAMPLES / "android-2.1.vcf")
    assert frame.height == 3
    jurgen = person(frame, "Jürgen")
    assert jurgen["last_name"] == "Müller"
    assert jurgen["company"] == "Müller Immobilien GmbH"
    assert jurgen["description"].startswith("Rückruf wegen Angebot für die Praxisräume;")
    assert jurgen["description"].endswith("beim Hausmeister.")
    assert jurgen["legacy_location"] == "Schillerstraße 7, Berlin, 10625, Deutschland"
    assert [p["label"] for p in jurgen["phones"]] == ["mobile", "home", "work"]
    ananya = person(frame, "Ananya")
    assert ananya["issues"] == ["photo skipped (embedded base64)"]
    assert len(ananya["emails"]) == 2


def test_v4_pref_uri_and_yearless_birthday() -> None:
    frame = dexio.read(SAMPLES / "v4.vcf")
    li = person(frame, "Na")
    # PREF=1 wins over the order in the file.
    assert [e["email"] for e in li["emails"]] == [
        "lina.home@postal.example",
        "li.na@brightpath-edu.example",
    ]
    assert [p["phone_number"] for p in li["phones"]] == [
        "+86-138-0013-8000",
        "+86-10-5555-0100 ext. 12",
    ]
    assert li["birthday"] == "--04-12"
    assert li["tags"] == ["Education", "Partners"]
    mateo = person(frame, "Mateo")
    assert mateo["birthday"] == "1988-02-15"
    assert mateo["instagram"] == "mateorossi.photo"
    assert mateo["image_url"] == "https://rossi-studio.example/team/mateo.jpg"
    assert mateo["source_id"] == "dex-7c1e"


@pytest.mark.parametrize("version", [3, 4])
def test_round_trip_through_the_vcard_writer(tmp_path: Path, version: int) -> None:
    writers = pytest.importorskip("dexio.writers")
    original = dexio.read(SAMPLES / "iphone.vcf")
    path = tmp_path / "out.vcf"
    writers.write(original, path, vcard_version=version)
    back = dexio.read(path)
    for name in ("first_name", "last_name", "company", "job_title", "birthday", "tags", "linkedin"):
        assert back[name].to_list() == original[name].to_list(), name
    assert [[e["email"] for e in es] for es in back["emails"].to_list()] == [
        [e["email"] for e in es] for es in original["emails"].to_list()
    ]
    assert [[p["label"] for p in ps] for ps in back["phones"].to_list()] == [
        [p["label"] for p in ps] for ps in original["phones"].to_list()
    ]


def test_broken_card_is_rejected_and_the_rest_read(tmp_path: Path) -> None:
    text = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ana Lima\r\nN:Lima;Ana;;;\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cut Off\r\nthis line is junk\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ben Okoro\r\n"
        "EMAIL;TYPE=INTERNET:ben@\r\n okoro.example\r\nEND:VCARD\r\n"
    )
    path = tmp_path / "mixed.vcf"
    path.write_text(text)
    reading = dexio.inspect(path)
    frame = reading.frame
    assert frame["full_name"].to_list() == ["Ana Lima", "Cut Off", "Ben Okoro"]
    assert reading.rejected == 1
    assert frame["issues"][1][0].startswith(REJECTED)
    assert "no END:VCARD" in frame["issues"][1][0]
    assert frame["emails"][2][0]["email"] == "ben@okoro.example"  # folded line joined


def test_no_cards_at_all(tmp_path: Path) -> None:
    path = tmp_path / "empty.vcf"
    path.write_text("BEGIN:VCARDX\r\n")
    with pytest.raises(InputError):
        dexio.read(path)
