"""Contacts with a single e-mail or phone skip the sort / repeat / re-rank work: same output.

``_annotate.split_lone`` hands lone entries their final form directly; these tests hold
the emails and phones steps (and the whole stage) to the output of the general path
(``LONE_FAST_PATH`` off) on messy generated lists and on a generated file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import dexio
from dexio.normalize import _annotate, emails, phones
from dexio.normalize.emails import normalize_emails
from dexio.normalize.phones import normalize_phones
from dexio.schema import from_records

ROOT = Path(__file__).resolve().parents[2]

# Few values, so that repeats (also in other spellings) and invalid entries are common.
EMAIL_TEXTS = [
    "ana@example.com",
    " Ana@EXAMPLE.com ",
    "mailto:ana@example.com",
    "bo@example.org",
    "Info@Acme.com",
    "info@acme.com",
    "not an address",
    "ana@",
    "",
    None,
    "Ana López <ana@example.com>",
]
EMAIL_LABELS = [None, "Home", "* Work", "INTERNET,PREF", "Newsletter", "work"]
PHONE_TEXTS = [
    "+1 713 212 8698",
    "713-212-8698",
    "(713) 212 8698",
    "+44 20 7946 0958",
    "020 7946 0958",
    "12",
    "ext 12",
    "+1 713 212 8698 ext. 5",
    "",
    None,
]
PHONE_LABELS = [None, "Mobile", "_$!<Home>!$_", "* work", "CELL,VOICE,PREF", "Grandma's"]
HINTS = [None, "GB", "+44", "US", "xx"]
RANKINGS = st.one_of(st.none(), st.integers(min_value=1, max_value=3))


def email_entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "email": st.sampled_from(EMAIL_TEXTS),
            "label": st.sampled_from(EMAIL_LABELS),
            "ranking": RANKINGS,
        }
    )


def phone_entries() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "phone_number": st.sampled_from(PHONE_TEXTS),
            "country_code": st.sampled_from(HINTS),
            "label": st.sampled_from(PHONE_LABELS),
            "ranking": RANKINGS,
        }
    )


def lists_of(entries: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[Any]:
    # Mostly one entry, as in real exports; also none, a null list, and several.
    return st.one_of(
        st.lists(entries, min_size=1, max_size=1),
        st.lists(entries, max_size=4),
        st.none(),
    )


@st.composite
def contacts(draw: st.DrawFn) -> pl.DataFrame:
    records = draw(
        st.lists(
            st.fixed_dictionaries(
                {"emails": lists_of(email_entries()), "phones": lists_of(phone_entries())}
            ),
            min_size=1,
            max_size=25,
        )
    )
    for index, record in enumerate(records):
        record.update(source="s.csv", row=index + 1)
    return from_records(records)


def _both_ways(run: Any, frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    outputs = []
    for on in (True, False):
        monkeypatch.setattr(_annotate, "LONE_FAST_PATH", on)
        outputs.append(run(frame))
    fast, general = outputs
    assert fast.equals(general)
    assert fast.write_ndjson() == general.write_ndjson()


@settings(max_examples=30, deadline=None)
@given(contacts())
def test_lone_entries_come_out_as_the_general_path_makes_them(frame: pl.DataFrame) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        _both_ways(normalize_emails, frame, monkeypatch)
        _both_ways(lambda f: normalize_phones(f, "US"), frame, monkeypatch)
        # The value fast paths off too: every entry then comes from the validators.
        monkeypatch.setattr(emails, "_FAST_PATH", False)
        monkeypatch.setattr(phones, "_FAST_PATH", False)
        _both_ways(lambda f: dexio.normalize(f, region="GB"), frame, monkeypatch)


def test_a_lone_entry_is_ranked_first_and_keeps_its_label() -> None:
    frame = from_records(
        [
            {
                "source": "s.csv",
                "row": 1,
                "emails": [{"email": "ana@example.com", "label": "* Work", "ranking": 3}],
                "phones": [{"phone_number": "+1 713 212 8698", "label": "CELL", "ranking": 2}],
            },
            {
                "source": "s.csv",
                "row": 2,
                # One valid entry left after the invalid one is taken out: also lone.
                "emails": [{"email": "ana@"}, {"email": "bo@example.org", "label": "Home"}],
            },
        ]
    )
    out = dexio.normalize(frame, region="US")
    assert out["emails"].to_list() == [
        [{"email": "ana@example.com", "label": "work", "ranking": 1}],
        [{"email": "bo@example.org", "label": "personal", "ranking": 1}],
    ]
    assert out["phones"].to_list()[0] == [
        {
            "phone_number": "+17132128698",
            "country_code": "+1",
            "phone_number_sanitized": "+17132128698",
            "label": "mobile",
            "ranking": 1,
        }
    ]


def test_the_stage_is_the_same_either_way_on_a_generated_file(
    generated: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    lengths = generated["emails"].list.len()
    assert (lengths == 1).sum() > 1000 and (lengths > 1).sum() > 500  # both paths used
    _both_ways(lambda f: dexio.normalize(f, region="US"), generated, monkeypatch)
