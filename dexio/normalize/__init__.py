"""Normalize: clean a canonical contact frame so the same person looks the same everywhere.

:func:`normalize` is a pure function, canonical frame in, canonical frame out, usable on
its own from a cleanup script. One module per concern: :mod:`~dexio.normalize.phones`,
:mod:`~dexio.normalize.emails`, :mod:`~dexio.normalize.names`,
:mod:`~dexio.normalize.dates`, :mod:`~dexio.normalize.social`. Slow per-value work
(phonenumbers, email-validator, date reading) runs once per distinct value.

Nothing is dropped: a value that cannot be cleaned stays as written (phones, handles,
websites) or moves to ``extra`` (invalid emails, unreadable birthdays), and every such
case, and every change of meaning (a re-cased or split name, a removed repeat), adds a
sentence to the row's ``issues``. Plain reformatting (E.164, ISO dates, handles out of
URLs) is the stage's job and is not listed.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import polars as pl

from dexio.normalize._annotate import ROW, add_issues_of, merge_extra, without_issues
from dexio.normalize.dates import birthdays_kept_apart
from dexio.normalize.emails import normalize_emails
from dexio.normalize.names import normalize_names
from dexio.normalize.phones import default_region, normalize_phones, resolve_region
from dexio.normalize.social import SITES, normalize_social
from dexio.schema import SCHEMA, conform

__all__ = ["default_region", "normalize"]


def normalize(frame: pl.DataFrame, *, region: str | None = None) -> pl.DataFrame:
    """Return ``frame`` with names, emails, phones, birthday and social fields cleaned.

    ``region`` (ISO 3166 alpha-2, e.g. ``"GB"``) is how numbers without a ``+`` and
    numeric dates are read; it defaults to the locale's country, else US. A phone whose
    ``country_code`` holds a region (``"DE"``) or calling code (``"+49"``) is read in that
    region instead. Row count, row order and columns outside the schema are preserved.

    Raises :class:`dexio.errors.UsageError` for an unknown region.
    """
    code = resolve_region(region)
    if ROW in frame.columns:
        raise ValueError(f"column {ROW!r} is reserved for normalize")
    out = conform(frame).with_row_index(ROW)
    # Names and emails run here while phones, and birthdays then social, run in two more
    # threads, over the same columns: polars leaves the GIL during its work, so the steps
    # share the cores that one step alone keeps only partly busy (three threads rather
    # than two let whichever finishes last have both). The steps there write columns of
    # their own and their issue lines, which are appended afterwards in the same order,
    # as if they had run after emails; the birthdays they could not read are merged into
    # ``extra`` (which emails writes too) here.
    with ThreadPoolExecutor(max_workers=2) as pool:
        alone = without_issues(out)
        phones = pool.submit(normalize_phones, alone, code)
        dates_and_social = pool.submit(_dates_and_social, alone, code)
        del alone
        out = normalize_emails(normalize_names(out))
        done = phones.result()
        out = add_issues_of(out.with_columns(done["phones"]), done)
        done, unread_birthdays = dates_and_social.result()
    out = add_issues_of(out.with_columns(done.select(_DATES_AND_SOCIAL)), done)
    del done
    out = merge_extra(out, unread_birthdays).drop(ROW)
    # The steps keep the canonical columns, dtypes and order; conform would only cast
    # every column to the dtype it already has (a copy of the nested ones).
    if list(out.schema.items())[: len(SCHEMA)] == list(SCHEMA.items()):
        return out
    return conform(out)


#: The columns :func:`_dates_and_social` writes, besides the issues.
_DATES_AND_SOCIAL = ("birthday", *SITES, "website")


def _dates_and_social(frame: pl.DataFrame, region: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Birthdays then social fields, for a thread of their own (see :func:`normalize`).

    Returns the frame they made and the birthdays to merge into ``extra`` (see
    :func:`~dexio.normalize.dates.birthdays_kept_apart`).
    """
    frame, unread = birthdays_kept_apart(frame, region)
    return normalize_social(frame), unread
