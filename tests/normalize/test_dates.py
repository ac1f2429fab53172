"""Birthdays: the formats real exports use, the region's day/month order, impossible dates."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dexio import normalize
from dexio.normalize.dates import read_birthday
from dexio.schema import from_records

TODAY = dt.date(2026, 11, 24)


@pytest.mark.parametrize(
    ("written", "region", "expected"),
    [
        ("1985-03-07", "GB", "1985-03-07"),
        ("03/07/1985", "US", "1985-03-07"),
        ("03/07/1985", "GB", "1985-07-03"),
        ("25/12/1985", "US", "1985-12-25"),  # 25 can only be the day
        ("07.03.1985", "US", "1985-03-07"),  # dots are always day first
        ("7 March 1985", "GB", "1985-03-07"),
        ("March 7, 1985", "US", "1985-03-07"),
        ("7-Mar-85", "GB", "1985-03-07"),
        ("March 7", "US", "--03-07"),
        ("7th March", "GB", "--03-07"),
        ("--03-07", "GB", "--03-07"),
        ("--0307", "GB", "--03-07"),
        ("19850307", "GB", "1985-03-07"),
        ("1604-03-07", "GB", "--03-07"),  # Apple Contacts: year not known
        ("31113", "GB", "1985-03-07"),  # Excel serial stored as text
        ("31113.0", "GB", "1985-03-07"),
        ("1985-03-07T00:00:00Z", "GB", "1985-03-07"),
        ("1985-03-07 00:00:00", "GB", "1985-03-07"),
        ("--02-29", "GB", "--02-29"),
    ],
)
def test_formats(written: str, region: str, expected: str) -> None:
    frame = from_records([{"source": "a.csv", "row": 1, "birthday": written}])
    out = normalize(frame, region=region)
    assert out["birthday"][0] == expected
    assert out["issues"][0] is None


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("1985-02-30", "is not a real date"),
        ("31/31/1985", "is not a real date"),
        ("--13-01", "is not a real date"),
        ("2031-05-01", "is in the future"),
        ("soon", "is not in a date format dexio reads"),
        ("1985", "is not in a date format dexio reads"),
    ],
)
def test_impossible_dates_are_cleared_flagged_and_kept_in_extra(written: str, why: str) -> None:
    frame = from_records(
        [{"source": "a.csv", "row": 1, "birthday": written, "extra": json.dumps({"Team": "Ops"})}]
    )
    out = normalize(frame, region="GB")
    assert out["birthday"][0] is None
    assert json.loads(out["extra"][0]) == {"Team": "Ops", "birthday_raw": written}
    assert out["issues"][0].to_list() == [f"birthday '{written}' {why}; kept in extra.birthday_raw"]


def test_two_digit_years_fall_in_the_past() -> None:
    assert read_birthday("03/07/85", month_first=True, today=TODAY) == ("1985-03-07", None)
    assert read_birthday("03/07/19", month_first=True, today=TODAY) == ("2019-03-07", None)
    assert read_birthday("03/07/27", month_first=True, today=TODAY) == ("1927-03-07", None)


def test_blank_birthdays_become_null_without_issue() -> None:
    out = normalize(from_records([{"source": "a.csv", "row": 1, "birthday": "  "}]), region="GB")
    assert out.select("birthday", "issues", "extra").row(0) == (None, None, None)
