"""Birthdays: the formats real exports use -> ``YYYY-MM-DD``, or ``--MM-DD`` without a year.

Each distinct spelling is read once, and only the rows whose spelling changes are
rewritten: plain ISO dates (most of them) are read by polars (:func:`_plain_iso`), the
rest by :func:`read_birthday`. A value that is not a
real date (or not a date at all) is cleared from ``birthday``, kept in
``extra["birthday_raw"]``, and flagged in ``issues``.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from dexio.normalize._annotate import ROW, append_row_issues, merge_extra, step

#: Regions that write numeric dates month first (03/07/1985 is March 7).
MONTH_FIRST_REGIONS = frozenset({"US", "PR", "GU", "VI", "AS", "MP", "UM", "PH", "FM", "MH", "PW"})

#: Apple Contacts stores a birthday without a year in the year 1604.
NO_YEAR_MARKERS = frozenset({1604, 0})

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ],
        start=1,
    )
    for name in names
}
_EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 is 1900-01-01 after Excel's 1900 leap bug

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?\S*)?$")
_NO_YEAR = re.compile(r"^--(\d{2})-?(\d{2})$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")  # 10000 is 1927-05-18; four digits are a year
_NUMERIC = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})$")
_NUMERIC_NO_YEAR = re.compile(r"^(\d{1,2})([/.])(\d{1,2})\.?$")
_ORDINAL = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


class _NotADate(ValueError):
    """The text is not in any format dexio reads."""


def read_birthday(raw: str, *, month_first: bool, today: dt.date) -> tuple[str | None, str | None]:
    """(``YYYY-MM-DD`` / ``--MM-DD``, None) or (None, why it could not be read) for one value."""
    text = raw.strip()
    try:
        year, month, day = _parts(text, month_first=month_first, today=today)
    except _NotADate:
        return None, "is not in a date format dexio reads"
    if year is None or year in NO_YEAR_MARKERS:
        try:
            dt.date(2000, month, day)  # a leap year, so --02-29 is fine
        except ValueError:
            return None, "is not a real date"
        return f"--{month:02d}-{day:02d}", None
    try:
        date = dt.date(year, month, day)
    except ValueError:
        return None, "is not a real date"
    if date > today:
        return None, "is in the future"
    return date.isoformat(), None


def _parts(text: str, *, month_first: bool, today: dt.date) -> tuple[int | None, int, int]:
    for pattern in (_ISO, _COMPACT):
        match = pattern.match(text)
        if match:
            return int(match[1]), int(match[2]), int(match[3])
    match = _NO_YEAR.match(text)
    if match:
        return None, int(match[1]), int(match[2])
    match = _SERIAL.match(text)
    if match and int(match[1]) > 0:
        date = _EXCEL_EPOCH + dt.timedelta(days=int(match[1]))
        return date.year, date.month, date.day
    match = _NUMERIC.match(text)
    if match:
        first, second = int(match[1]), int(match[3])
        month, day = _order(first, second, month_first=month_first and match[2] != ".")
        return _full_year(match[4], today), month, day
    match = _NUMERIC_NO_YEAR.match(text)
    if match:
        month, day = _order(
            int(match[1]), int(match[3]), month_first=month_first and match[2] != "."
        )
        return None, month, day
    return _with_month_name(text, today)


def _order(first: int, second: int, *, month_first: bool) -> tuple[int, int]:
    """(month, day): the region's order unless one number can only be a day."""
    if first > 12 >= second:
        return second, first
    if second > 12 >= first:
        return first, second
    return (first, second) if month_first else (second, first)


def _full_year(text: str, today: dt.date) -> int:
    if len(text) == 4:
        return int(text)
    two = int(text)
    # A birthday is in the past: "85" is 1985, "07" is 2007 (if 2007 has been).
    return 2000 + two if 2000 + two <= today.year else 1900 + two


def _with_month_name(text: str, today: dt.date) -> tuple[int | None, int, int]:
    """ "7 March 1985", "March 7th, 1985", "7-Mar-85", "Mar 7" and the like."""
    year = month = day = None
    for token in re.split(r"[\s,./\-]+", text.lower()):
        if not token:
            continue
        ordinal = _ORDINAL.match(token)
        if token in _MONTHS and month is None:
            month = _MONTHS[token]
        elif ordinal and day is None:
            day = int(ordinal[1])
        elif re.fullmatch(r"\d{4}|\d{2}", token) and year is None:
            year = _full_year(token, today)
        else:
            raise _NotADate(text)
    if month is None or day is None:
        raise _NotADate(text)
    return year, month, day


#: Private switch for tests: False sends every distinct value to :func:`read_birthday`.
_FAST_PATH = True


def _plain_iso(values: pl.Series, today: dt.date) -> pl.Series:
    """What :func:`read_birthday` returns for each plain ``YYYY-MM-DD`` value; null for the rest.

    Exact: such a text (ASCII digits, nothing else) matches ``_ISO`` first in ``_parts``,
    so read_birthday takes it as (year, month, day). When that is a real date (polars'
    ``to_date`` refuses 2023-02-30 as ``dt.date`` does), not in the future and not in a
    no-year marker year (0000 and 1604, left to read_birthday), it returns
    ``date.isoformat()``, which is the text itself: four-digit year, two-digit month and
    day. ``tests/normalize/test_dates_fast.py`` holds it to read_birthday.
    """
    parsed = values.str.to_date("%Y-%m-%d", strict=False)
    plain = (
        values.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        & parsed.is_not_null()
        & (parsed <= today)
        & ~values.str.head(4).is_in([f"{year:04d}" for year in NO_YEAR_MARKERS])
    )
    return values.to_frame("value").select(
        pl.when(pl.lit(plain)).then(pl.col("value")).alias("value")
    )["value"]


@step
def normalize_birthdays(frame: pl.DataFrame, region: str) -> pl.DataFrame:
    """Rewrite ``birthday`` of a frame carrying ``ROW`` (see :func:`dexio.normalize`)."""
    frame, kept = birthdays_kept_apart(frame, region)
    return merge_extra(frame, kept)


def birthdays_kept_apart(frame: pl.DataFrame, region: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(``frame`` with ``birthday`` rewritten and its issue lines, the unread values for ``extra``).

    The values are :func:`merge_extra`'s additions (``ROW``, ``key``, ``value``): kept
    apart, so that :func:`dexio.normalize` can run this next to the e-mail step, which
    writes ``extra`` too, and merge them into its output.
    """
    # Per distinct spelling, not per row: most rows have no birthday, and nearly all the
    # rest are ISO dates already, which only need finding.
    column = frame["birthday"]
    spellings = column.drop_nulls().unique()  # nulls first: unique over them costs 4x
    raw = spellings.str.strip_chars().replace("", None)
    distinct = raw.drop_nulls().unique()
    if distinct.is_empty():
        nothing = pl.DataFrame(
            schema={ROW: frame.schema[ROW], "key": pl.String, "value": pl.String}
        )
        return frame.with_columns(pl.lit(None, pl.String).alias("birthday")), nothing
    month_first = region in MONTH_FIRST_REGIONS
    today = dt.date.today()
    iso = (
        _plain_iso(distinct, today)
        if _FAST_PATH
        else pl.repeat(None, len(distinct), dtype=pl.String, eager=True)
    )
    rest = distinct.filter(iso.is_null()).to_list()
    read = [read_birthday(value, month_first=month_first, today=today) for value in rest]
    results = pl.concat(
        [
            pl.DataFrame(
                {"__raw": distinct, "__birthday": iso, "__problem": iso.clear(len(iso))}
            ).filter(pl.col("__birthday").is_not_null()),
            pl.DataFrame(
                {
                    "__raw": rest,
                    "__birthday": [value for value, _ in read],
                    "__problem": [problem for _, problem in read],
                },
                schema={"__raw": pl.String, "__birthday": pl.String, "__problem": pl.String},
            ),
        ]
    )
    # The spellings that change (reformatted, or cleared as unreadable), and their rows.
    changed = (
        pl.DataFrame({"birthday": spellings, "__raw": raw})
        .join(results, on="__raw", how="left")
        .filter(pl.col("__birthday").ne_missing(pl.col("birthday")))
    )
    rows = column.is_in(changed["birthday"].implode()).arg_true()
    found = (
        frame.select(ROW, "birthday")
        .gather(rows)
        .join(changed, on="birthday", how="left", maintain_order="left")
    )
    birthdays = column.clone()  # scatter writes in place: not into the caller's column
    birthdays.scatter(rows, found["__birthday"])
    failed = found.filter(pl.col("__problem").is_not_null())
    frame = append_row_issues(
        frame,
        failed.select(
            ROW,
            pl.format("birthday '{}' {}; kept in extra.birthday_raw", "__raw", "__problem").alias(
                "issue"
            ),
        ),
    )
    additions = failed.select(
        ROW, pl.lit("birthday_raw").alias("key"), pl.col("__raw").alias("value")
    )
    return frame.with_columns(birthdays.alias("birthday")), additions
