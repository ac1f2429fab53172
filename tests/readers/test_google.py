"""Google Contacts CSV, current and older layout: labels, primary markers, ::: values."""

from __future__ import annotations

import json
from pathlib import Path

import dexio
from dexio.schema import check

SAMPLES = Path(__file__).parents[2] / "samples" / "google"


def by_first_name(frame: object, name: str) -> dict:
    import polars as pl

    assert isinstance(frame, pl.DataFrame)
    return frame.filter(pl.col("first_name") == name).row(0, named=True)


def test_current_layout() -> None:
    reading = dexio.inspect(SAMPLES / "contacts.csv")
    check(reading.frame)
    assert reading.mapping is not None and reading.mapping.name == "google"
    assert reading.frame.height == 6
    priya = by_first_name(reading.frame, "Priya")
    assert priya["company"] == "Tidewater Robotics"
    assert priya["job_title"] == "CTO"
    # "* myContacts" and "* starred" are Google's system groups, not tags.
    assert priya["tags"] == ["Investors", "Boston"]
    assert priya["emails"] == [
        {"email": "priya@tidewater-robotics.example", "label": "work", "ranking": 1},
        {"email": "priya.r@mailbox.example", "label": "home", "ranking": 2},
    ]
    assert [p["country_code"] for p in priya["phones"]] == ["US", "US"]
    assert priya["legacy_location"] == "200 Seaport Blvd, Boston, MA 02210, US"
    assert priya["linkedin"] == "https://www.linkedin.com/in/priya-raghunathan"
    assert priya["website"] == "https://priya.example"
    assert priya["description"] == "Intro via Marta. Interested in the pilot."


def test_multi_values_and_primary_marker() -> None:
    frame = dexio.read(SAMPLES / "contacts.csv")
    kenji = by_first_name(frame, "Kenji")
    assert [e["email"] for e in kenji["emails"]] == [
        "kenji.watanabe@post.example",
        "ken.w@old-isp.example",
    ]
    assert kenji["birthday"] == "--07-09"
    elodie = by_first_name(frame, "Élodie")
    assert [p["phone_number"] for p in elodie["phones"]] == ["01 42 68 53 00", "06 12 34 56 78"]
    assert json.loads(elodie["extra"])["Relation 1 - Value"] == "Luc Marchand"
    # Hannah's home phone is listed second but marked "* Home": primary.
    hannah = by_first_name(frame, "Hannah")
    assert [(p["phone_number"], p["label"], p["ranking"]) for p in hannah["phones"]] == [
        ("030 12345678", "home", 1),
        ("0151 23456789", "mobile", 2),
    ]
    assert hannah["phones"][0]["country_code"] == "DE"


def test_legacy_layout() -> None:
    reading = dexio.inspect(SAMPLES / "contacts-legacy.csv")
    assert reading.mapping is not None and reading.mapping.name == "google"
    assert reading.frame.height == 4
    tomas = by_first_name(reading.frame, "Tomás")
    assert tomas["tags"] == ["Suppliers"]
    assert tomas["company"] == "Ferretería Herrera"
    assert tomas["emails"][0] == {"email": "tomas.h@correo.example", "label": "home", "ranking": 1}
    grace = by_first_name(reading.frame, "Grace")
    assert grace["tags"] == ["Book club"]
    assert grace["phones"][0]["country_code"] == "NL"
