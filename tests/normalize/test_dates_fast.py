"""Plain ISO birthdays are read by polars exactly as read_birthday reads them.

And the step, which reads each distinct spelling once and rewrites only the rows whose
spelling changes, gives every row what read_birthday gives its value.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.normalize import dates
from dexio.normalize.dates import _plain_iso, normalize_birthdays, read_birthday
from dexio.schema import from_records

TODAY = dt.date.today()


@st.composite
def iso_like(draw: st.DrawFn) -> str:
    # Years around the no-year markers, the first years and today; impossible months and
    # days; near-misses in shape (one digit, other separators, time, spaces, non-ASCII).
    year = draw(
        st.one_of(
            st.sampled_from([0, 1, 999, 1603, 1604, 1605, TODAY.year, TODAY.year + 1]),
            st.integers(min_value=0, max_value=9999),
        )
    )
    month = draw(st.integers(min_value=0, max_value=13))
    day = draw(st.integers(min_value=0, max_value=32))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    shape = draw(
        st.sampled_from(
            ["{}"] * 8
            + ["{} ", "{}T10:00", "+{}", "{}x"]
            + ["today", "one digit", "slashes", "arabic"]
        )
    )
    if shape == "today":
        return (TODAY + dt.timedelta(days=draw(st.integers(-2, 2)))).isoformat()
    if shape == "one digit":
        return f"{year:04d}-{month}-{day}"
    if shape == "slashes":
        return text.replace("-", "/")
    if shape == "arabic":
        return text.replace("1", "\u0661")
    return shape.format(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(iso_like(), min_size=1, max_size=20))
def test_plain_iso_equals_read_birthday_where_it_answers(texts: list[str]) -> None:
    answered = _plain_iso(pl.Series(texts, dtype=pl.String), TODAY).to_list()
    for text, iso in zip(texts, answered, strict=True):
        if iso is not None:
            for month_first in (True, False):
                assert read_birthday(text, month_first=month_first, today=TODAY) == (iso, None)


def test_plain_iso_answers_for_plain_dates_and_leaves_the_rest() -> None:
    future = (TODAY + dt.timedelta(days=1)).isoformat()
    texts = ["1985-03-07", "0999-12-31", "1604-11-02", "0000-01-01", "2023-02-29", future]
    assert _plain_iso(pl.Series(texts), TODAY).to_list() == [
        "1985-03-07",
        "0999-12-31",
        None,  # a no-year marker: read_birthday writes --11-02
        None,
        None,  # not a real date
        None,  # in the future
    ]


@pytest.mark.parametrize("region", ["US", "GB"])
def test_step_output_is_the_same_with_and_without_the_fast_path(
    region: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [
        "1985-03-07", " 1985-03-07 ", "1604-11-02", "2023-02-29", "03/07/1985", "7 March 1985",
        "19850307", "--11-02", "not a date", "", None, "2001-1-2", (TODAY + dt.timedelta(days=3)).isoformat(),
    ]  # fmt: skip
    frame = from_records(
        [{"source": "s.csv", "row": i, "birthday": text} for i, text in enumerate(texts * 3)]
    )
    outputs = []
    for on in (True, False):
        monkeypatch.setattr(dates, "_FAST_PATH", on)
        outputs.append(normalize_birthdays(frame, region))
    assert outputs[0].equals(outputs[1])
    assert outputs[0].write_ndjson() == outputs[1].write_ndjson()


SPELLINGS = [
    "1985-03-07", " 1985-03-07", "1985-03-07\t", "03/07/1985", "1604-11-02", "2023-02-30",
    "not a date", "", "  ", "7 March 1985", (TODAY + dt.timedelta(days=3)).isoformat(),
]  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.sampled_from(SPELLINGS)), max_size=15))
def test_each_row_gets_what_read_birthday_gives_its_value(texts: list[str | None]) -> None:
    frame = from_records(
        [{"source": "s.csv", "row": i, "birthday": text} for i, text in enumerate(texts)]
    )
    out = normalize_birthdays(frame, "US")
    for text, (birthday, issues, extra) in zip(
        texts, out.select("birthday", "issues", "extra").iter_rows(), strict=True
    ):
        value = text.strip() if text else None
        expected, problem = (
            read_birthday(value, month_first=True, today=TODAY) if value else (None, None)
        )
        assert birthday == expected
        if problem:
            line = f"birthday '{value}' {problem}; kept in extra.birthday_raw"
            assert issues == [line]
            assert json.loads(extra) == {"birthday_raw": value}
        else:
            assert not issues
            assert not extra
