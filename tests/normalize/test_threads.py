"""Running steps in a thread of their own changes nothing in the output.

:func:`dexio.normalize` runs the phone, birthday and social steps on a copy without
issues, next to names and emails, appends the lines they wrote afterwards and merges the
unread birthdays into ``extra``. These tests hold it to the steps
run one after another, in the order the stage documents, on the generated contacts, on
every sample file, and on issues a reader already wrote (repeated lines, nulls).
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

import dexio
from dexio.normalize._annotate import ROW, add_issues_of, without_issues
from dexio.normalize.dates import normalize_birthdays
from dexio.normalize.emails import normalize_emails
from dexio.normalize.names import normalize_names
from dexio.normalize.phones import normalize_phones
from dexio.normalize.social import normalize_social
from dexio.schema import conform


def one_after_another(frame: pl.DataFrame, region: str) -> pl.DataFrame:
    """The stage as it ran before the phone step got a thread: each step in turn."""
    out = conform(frame).with_row_index(ROW)
    out = normalize_names(out)
    out = normalize_emails(out)
    out = normalize_phones(out, region)
    out = normalize_birthdays(out, region)
    return conform(normalize_social(out).drop(ROW))


def test_the_generated_contacts_come_out_as_from_the_steps_in_turn(
    generated: pl.DataFrame,
) -> None:
    out = dexio.normalize(generated, region="US")
    assert_frame_equal(out, one_after_another(generated, "US"))


def test_lines_and_extra_keys_come_in_the_order_of_the_steps() -> None:
    frame = dexio.schema.from_records(
        [
            {
                "source": "a.csv",
                "row": 1,
                "full_name": "ANA LOPEZ",
                "emails": [{"email": "ana@"}],
                "phones": [{"phone_number": "ext 12"}],
                "birthday": "31/02/1990",
                "twitter": "https://facebook.com/ana",
                "website": "not a site",
                "extra": '{"person_id": "7"}',
                "issues": ["row had 41 columns, header has 40"],
            }
        ]
    )
    out = dexio.normalize(frame, region="GB")
    assert_frame_equal(out, one_after_another(frame, "GB"))
    kinds = [line.split(" ")[0] for line in out["issues"][0]]
    assert kinds == [
        "row", "full_name", "full_name", "email", "phone", "birthday", "twitter", "website"
    ]  # fmt: skip
    assert list(json.loads(out["extra"][0])) == ["person_id", "invalid_emails", "birthday_raw"]


def test_each_sample_comes_out_as_from_the_steps_in_turn(sample_path: Path) -> None:
    frame = dexio.read(sample_path)
    assert_frame_equal(dexio.normalize(frame, region="GB"), one_after_another(frame, "GB"))


def test_phone_lines_are_appended_to_a_readers_lines_as_in_place() -> None:
    frame = dexio.schema.from_records(
        [
            # A reader's line, repeated; the phone step writes one of its own.
            {"source": "a.csv", "row": 1, "issues": ["x", "x"], "phones": [{"phone_number": "12"}]},
            # Already noted by an earlier run: not added again.
            {
                "source": "a.csv",
                "row": 2,
                "issues": ["phone '12' is not a valid number; kept as written"],
                "phones": [{"phone_number": "12"}],
            },
            {"source": "a.csv", "row": 3, "phones": [{"phone_number": "12"}]},  # no issues yet
            {"source": "a.csv", "row": 4, "issues": ["y"]},  # nothing for the phone step
            {"source": "a.csv", "row": 5},
        ]
    ).with_row_index(ROW)
    in_place = normalize_phones(frame, "US")
    apart = normalize_phones(without_issues(frame), "US")
    together = add_issues_of(frame.with_columns(apart["phones"]), apart)
    assert_frame_equal(together, in_place)
    assert in_place["issues"][0].len() == 2  # the phone step did write a line
    assert together["issues"][4] is None
