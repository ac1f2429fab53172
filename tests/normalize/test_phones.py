"""Phones: E.164, region hints, labels, repeats, and numbers that will not parse."""

from __future__ import annotations

from typing import Any

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio import normalize
from dexio.errors import UsageError
from dexio.normalize import phones
from dexio.normalize.phones import default_region, read_label
from dexio.schema import check, from_records


def phone(number: str | None, label: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"phone_number": number, "label": label, **fields}


def contact(*phones: dict[str, Any], row: int = 1) -> dict[str, Any]:
    return {"source": "contacts.csv", "row": row, "phones": list(phones)}


def phones_of(frame: pl.DataFrame, index: int = 0) -> list[dict[str, Any]]:
    return frame["phones"][index].to_list()


def test_national_numbers_become_e164_in_the_given_region() -> None:
    frame = from_records(
        [
            contact(phone("020 7946 0958", "Work"), phone("07911 123456", "Mobile")),
            contact(phone("(415) 555-0132", "cell"), row=2),
        ]
    )
    gb = normalize(frame, region="GB")
    assert [p["phone_number"] for p in phones_of(gb)] == ["+442079460958", "+447911123456"]
    assert [p["country_code"] for p in phones_of(gb)] == ["+44", "+44"]
    us = normalize(frame, region="us")
    assert phones_of(us, 1)[0]["phone_number_sanitized"] == "+14155550132"
    assert phones_of(us, 1)[0]["country_code"] == "+1"


def test_per_phone_hint_in_country_code_beats_the_default_region() -> None:
    frame = from_records(
        [
            contact(
                phone("030 1234567", country_code="DE"),
                phone("06 12 34 56 78", country_code="+33"),
                phone("0612 345 678", country_code="31"),
                phone("+44 20 7946 0958", country_code="US"),
            )
        ]
    )
    got = phones_of(normalize(frame, region="US"))
    assert [p["phone_number_sanitized"] for p in got] == [
        "+49301234567",
        "+33612345678",
        "+31612345678",
        "+442079460958",  # a number written with + ignores the hint
    ]
    assert [p["country_code"] for p in got] == ["+49", "+33", "+31", "+44"]


def test_extension_is_kept_in_phone_number_but_not_in_sanitized() -> None:
    frame = from_records([contact(phone("+1 415-555-0132 ext. 204"), phone("020 7946 0958 x12"))])
    got = phones_of(normalize(frame, region="GB"))
    assert got[0]["phone_number"] == "+14155550132 ext. 204"
    assert got[0]["phone_number_sanitized"] == "+14155550132"
    assert got[1]["phone_number"] == "+442079460958 ext. 12"


def test_same_number_with_another_extension_is_not_a_repeat() -> None:
    frame = from_records(
        [contact(phone("+1 415 555 0132"), phone("+1 415 555 0132 x 7"), phone("(415) 555-0132"))]
    )
    got = phones_of(normalize(frame, region="US"))
    assert [p["phone_number"] for p in got] == ["+14155550132", "+14155550132 ext. 7"]


def test_unparseable_number_is_kept_as_written_and_flagged() -> None:
    frame = from_records(
        [contact(phone("12", "cell"), phone("call reception"), phone("+44 20 7946 0958"))]
    )
    out = normalize(frame, region="GB")
    got = phones_of(out)
    assert [p["phone_number"] for p in got] == ["12", "call reception", "+442079460958"]
    assert [p["phone_number_sanitized"] for p in got] == [None, None, "+442079460958"]
    assert [p["ranking"] for p in got] == [1, 2, 3]
    assert out["issues"][0].to_list() == [
        "phone '12' could not be parsed: too short",
        "phone 'call reception' could not be parsed: not a phone number",
    ]


def test_repeats_within_one_contact_are_removed_and_rankings_renumbered() -> None:
    frame = from_records(
        [
            contact(
                phone("020 7946 0958", None, ranking=1),
                phone("07911 123456", "Mobile", ranking=2),
                phone("+44 (0)20 7946 0958", "Work", ranking=3),
                phone("+442079460958", "Home", ranking=4),
            ),
            # The same number in another contact is not a repeat (that is dedupe's business).
            contact(phone("+44 20 7946 0958"), row=2),
        ]
    )
    out = normalize(frame, region="GB")
    got = phones_of(out)
    assert [(p["phone_number"], p["label"], p["ranking"]) for p in got] == [
        ("+442079460958", "work", 1),  # the repeat lends the label the first one lacked
        ("+447911123456", "mobile", 2),
    ]
    assert out["issues"][0].to_list() == [
        "duplicate phone '+44 (0)20 7946 0958' removed",
        "duplicate phone '+442079460958' removed",
    ]
    assert phones_of(out, 1)[0]["phone_number"] == "+442079460958"


def test_source_rankings_order_the_result() -> None:
    frame = from_records(
        [
            contact(
                phone("07911 123456", "Mobile", ranking=2),
                phone("020 7946 0958", "Work", ranking=1),
            )
        ]
    )
    got = phones_of(normalize(frame, region="GB"))
    assert [(p["label"], p["ranking"]) for p in got] == [("work", 1), ("mobile", 2)]


@pytest.mark.parametrize(
    ("written", "unified"),
    [
        ("_$!<Mobile>!$_", "mobile"),
        ("iPhone", "mobile"),
        ("Mobile Phone", "mobile"),
        ("cell", "mobile"),
        ("Business Phone", "work"),
        ("_$!<Work>!$_", "work"),
        ("Home Phone 2", "home"),
        ("_$!<HomeFAX>!$_", "fax"),
        ("Business Fax", "fax"),
        ("* Main", "main"),
        ("Pager", "pager"),
        ("Other", "other"),
        ("CELL,VOICE", "mobile"),
        ("WORK,FAX", "fax"),
        ("HOME,VOICE,PREF", "home"),
        ("Grandma's", "Grandma's"),  # a label of the user's own is kept
        ("  ", None),
        (None, None),
    ],
)
def test_labels_are_unified(written: str | None, unified: str | None) -> None:
    assert read_label(written)[0] == unified


def test_a_number_marked_preferred_comes_first() -> None:
    frame = from_records(
        [contact(phone("020 7946 0958", "WORK,VOICE"), phone("07911 123456", "CELL,VOICE,PREF"))]
    )
    got = phones_of(normalize(frame, region="GB"))
    assert [(p["phone_number"], p["label"], p["ranking"]) for p in got] == [
        ("+447911123456", "mobile", 1),
        ("+442079460958", "work", 2),
    ]


def test_empty_and_null_lists_stay_as_they_were() -> None:
    frame = from_records(
        [contact(row=1), {"source": "c.csv", "row": 2}, contact(phone("  "), row=3)]
    )
    out = normalize(frame, region="GB")
    assert out["phones"].to_list() == [[], None, []]
    assert out["issues"].to_list() == [None, None, None]


def test_parsing_runs_once_per_distinct_number_and_region(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, region: str | None = None, *args: Any, **kwargs: Any) -> Any:
        calls.append((number, str(region)))
        return real_parse(number, region, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    # The fast path takes plain numbers in bulk (6,000 phones in two regions are enough
    # for it); this test is about what goes to phonenumbers, so all of them do here.
    monkeypatch.setattr(phones, "_FAST_PATH", False)
    # Spellings that differ only in punctuation are one number to parse.
    numbers = ["020 7946 0958", "(07911) 123456", "12", "020-7946-0958", "07911 123 456"]
    records = [
        contact(phone(numbers[i % 5]), phone(numbers[(i + 1) % 5], country_code="IE"), row=i + 1)
        for i in range(3000)
    ]
    out = normalize(from_records(records), region="GB")
    # Three numbers in two regions: six parses for 6,000 phones.
    assert len(calls) == len(set(calls)) == 6
    assert {region for _, region in calls} == {"GB", "IE"}
    assert out.height == 3000
    assert all(len(p) == 2 for p in out["phones"].to_list())


def test_plain_numbers_in_bulk_are_parsed_without_calling_phonenumbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real_parse = phonenumbers.parse

    def counting_parse(number: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(number)
        return real_parse(number, *args, **kwargs)

    monkeypatch.setattr(phonenumbers, "parse", counting_parse)
    written = [f"+1 415 555 {i:04d}" if i % 2 else f"(212) 555-{i:04d}" for i in range(1200)]
    records = [contact(phone(number), row=i + 1) for i, number in enumerate(written)]
    records.append(contact(phone("+1 415 555 0132 ext. 9"), phone("020 7946 0958"), row=1201))
    out = normalize(from_records(records), region="US")
    assert phones_of(out, 1)[0]["phone_number"] == "+14155550001"
    assert phones_of(out, 2)[0]["phone_number"] == "+12125550002"
    # Only the number with an extension and the lone national one (a group too small to
    # be worth the column-wise path) went through phonenumbers.
    assert sorted(calls) == ["+1 415 555 0132 ext. 9", "02079460958"]


def test_default_region_comes_from_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_TELEPHONE", raising=False)
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    assert default_region() == "GB"
    monkeypatch.setenv("LC_ALL", "de_DE.UTF-8")
    assert default_region() == "DE"


def test_unknown_region_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown region 'XX'"):
        normalize(from_records([contact(phone("12"))]), region="XX")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(
            st.one_of(
                st.text(alphabet="0123456789 +-()x.ext", max_size=20),
                st.sampled_from(["020 7946 0958", "+44 20 7946 0958", "12", "n/a"]),
            ),
            max_size=4,
        ),
        min_size=1,
        max_size=8,
    )
)
def test_no_number_is_ever_lost(rows: list[list[str]]) -> None:
    frame = from_records(
        [contact(*(phone(n) for n in numbers), row=i + 1) for i, numbers in enumerate(rows)]
    )
    out = normalize(frame, region="GB")
    check(out)
    assert out.height == frame.height
    assert out["row"].to_list() == frame["row"].to_list()
    for numbers, kept, issues in zip(
        rows, out["phones"].to_list(), out["issues"].to_list(), strict=True
    ):
        written = [n.strip() for n in numbers if n.strip()]
        removed = sum(
            int(i.split(" ")[-2]) if i.endswith(" times") else 1
            for i in issues or []
            if i.startswith("duplicate phone")
        )
        # Every non-blank number either survives (parsed or as written) or is a named repeat.
        assert len(kept) + removed == len(written)
        assert [p["ranking"] for p in kept] == list(range(1, len(kept) + 1))
        # No two lines left for the same number and extension.
        parsed = [p["phone_number"] for p in kept if p["phone_number_sanitized"]]
        assert len(parsed) == len(set(parsed))


def test_possible_but_unassigned_number_is_kept_with_a_warning() -> None:
    # 07700 900xxx is the UK range set aside for drama: well-formed, never in use.
    out = normalize(from_records([contact(phone("07700 900123", "Mobile"))]), region="GB")
    assert phones_of(out)[0]["phone_number_sanitized"] == "+447700900123"
    assert out["issues"][0].to_list() == [
        "phone '07700 900123' (+447700900123) is not a number in use in any region; kept"
    ]
