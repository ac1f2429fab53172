"""Outlook CSV: cp1252, every column quoted, 0/0/00 birthdays, one column per phone kind."""

from __future__ import annotations

from pathlib import Path

import polars as pl

import dexio
from dexio.schema import check

SAMPLE = Path(__file__).parents[2] / "samples" / "outlook" / "contacts.csv"


def test_outlook_sample() -> None:
    reading = dexio.inspect(SAMPLE)
    check(reading.frame)
    assert reading.mapping is not None and reading.mapping.name == "outlook"
    assert reading.details["encoding"] == "cp1252"
    assert reading.frame.height == 5
    assert "E-mail Display Name" in reading.dropped
    frame = reading.frame
    gareth = frame.filter(pl.col("last_name") == "Llewellyn").row(0, named=True)
    assert gareth["birthday"] == "3/17/1975"
    assert gareth["tags"] == ["Clients", "Wales"]
    assert [(p["label"], p["country_code"]) for p in gareth["phones"]] == [
        ("mobile", "GB"),
        ("work", "GB"),
    ]
    francoise = frame.filter(pl.col("first_name") == "Françoise").row(0, named=True)
    assert francoise["birthday"] is None  # "0/0/00" is Outlook's empty date
    assert len(francoise["emails"]) == 2
    assert francoise["legacy_location"] == "14 rue des Martyrs, Paris, 75009, France"
    dentist = frame.filter(pl.col("company") == "Riverside Dental Practice").row(0, named=True)
    assert [p["label"] for p in dentist["phones"]] == ["work", "work fax"]
    ingrid = frame.filter(pl.col("first_name") == "Ingrid").row(0, named=True)
    assert ingrid["description"].splitlines() == ["Neighbour of Tobias.", "Has a spare key."]
