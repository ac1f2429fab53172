"""The Dex <-> canonical conversion: round trip on every field Dex holds, and the edge rules."""

from __future__ import annotations

import json

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from dexio.dex.convert import DIRECT_FIELDS, to_canonical, to_wire
from dexio.dex.models import Contact, ContactIn, LegacyContact
from dexio.schema import check, from_records

# Columns whose values Dex stores (notes/reminders/tags travel through their own calls).
HELD = [*DIRECT_FIELDS, "birthday", "emails", "phones"]

word = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÀÉßøΩ-'", min_size=1, max_size=10)
text = st.one_of(st.none(), st.text(min_size=1, max_size=20).map(str.strip).filter(bool))
email = st.builds(lambda a, b: f"{a}@{b}.example", word, word)
label = st.one_of(st.none(), st.sampled_from(["work", "home", "Mobile"]))


@st.composite
def names(draw: st.DrawFn) -> dict[str, str | None]:
    first = draw(st.one_of(st.none(), word))
    last = draw(st.one_of(st.none(), word))
    full = " ".join(p for p in (first, last) if p) or None
    if first is None and last is None:
        full = draw(st.one_of(st.none(), word))
        first = full  # a one-word full name is a first name
    return {"first_name": first, "last_name": last, "full_name": full}


@st.composite
def birthdays(draw: st.DrawFn) -> str | None:
    month, day = draw(st.integers(1, 12)), draw(st.integers(1, 28))
    year = draw(st.one_of(st.none(), st.integers(1900, 2020)))
    if draw(st.booleans()):
        return None
    return f"{year:04d}-{month:02d}-{day:02d}" if year else f"--{month:02d}-{day:02d}"


@st.composite
def records(draw: st.DrawFn) -> dict[str, object]:
    record: dict[str, object] = {"source": "in.csv", "row": 1, **draw(names())}
    for name in DIRECT_FIELDS:
        if name not in record:
            record[name] = draw(text)
    record["birthday"] = draw(birthdays())
    emails = draw(st.lists(email, max_size=3, unique=True))
    record["emails"] = [
        {"email": e, "label": draw(label), "ranking": i + 1} for i, e in enumerate(emails)
    ]
    phones = draw(st.lists(st.from_regex(r"\+1415555\d{4}", fullmatch=True), max_size=2))
    record["phones"] = [
        {
            "phone_number": p,
            "country_code": "US",
            "phone_number_sanitized": p,
            "label": draw(label),
            "ranking": i + 1,
        }
        for i, p in enumerate(phones)
    ]
    return record


@settings(max_examples=60, deadline=None)
@given(st.lists(records(), min_size=1, max_size=5))
def test_round_trip_keeps_every_field_dex_holds(rows: list[dict[str, object]]) -> None:
    frame = from_records(rows)
    wire = to_wire(frame)
    for item in wire:  # every payload is a valid POST item
        ContactIn.model_validate(item)
    back = to_canonical(wire)
    check(back)
    assert back.select(HELD).to_dicts() == frame.select(HELD).to_dicts()


def test_names_are_made_consistent() -> None:
    frame = from_records(
        [
            {"source": "f", "row": 1, "full_name": "Mary Ann van Dyke"},
            {"source": "f", "row": 2, "first_name": "Li", "last_name": "Wei"},
            {"source": "f", "row": 3, "last_name": "Okafor"},
        ]
    )
    wire = to_wire(frame)
    assert wire[0] == {
        "full_name": "Mary Ann van Dyke",
        "first_name": "Mary Ann van",
        "last_name": "Dyke",
    }
    assert wire[1] == {"full_name": "Li Wei", "first_name": "Li", "last_name": "Wei"}
    assert wire[2] == {"full_name": "Okafor", "last_name": "Okafor"}


def test_birthday_year_travels_separately() -> None:
    frame = from_records(
        [
            {"source": "f", "row": 1, "first_name": "A", "birthday": "1984-02-29"},
            {"source": "f", "row": 2, "first_name": "B", "birthday": "--12-24"},
        ]
    )
    wire = to_wire(frame)
    assert (wire[0]["birthday"], wire[0]["birthday_year"]) == ("1984-02-29", 1984)
    assert wire[1]["birthday"] == "--12-24" and "birthday_year" not in wire[1]
    # Dex may keep a placeholder year in `birthday` and the real one in `birthday_year`.
    back = to_canonical([{"id": "x", "birthday": "--03-05", "birthday_year": 1971}])
    assert back["birthday"].to_list() == ["1971-03-05"]


def test_extra_passthrough_only_for_values_of_the_right_type() -> None:
    frame = from_records(
        [
            {
                "source": "f",
                "row": 1,
                "first_name": "A",
                "extra": json.dumps(
                    {"starred": True, "frequency": "1 mon", "Connected On": "2020-01-01"}
                ),
            },
            {"source": "f", "row": 2, "first_name": "B", "extra": json.dumps({"starred": "yes"})},
        ]
    )
    wire = to_wire(frame)
    assert wire[0]["starred"] is True and wire[0]["frequency"] == "1 mon"
    assert "Connected On" not in wire[0]
    assert "starred" not in wire[1]


def test_dex_records_to_canonical_keep_provenance_tags_and_extras() -> None:
    contact = Contact.model_validate(
        {
            "id": "c-1",
            "full_name": "Ada Lovelace",
            "first_name": "Ada",
            "last_name": "Lovelace",
            "starred": True,
            "frequency": "3 mons",
            "source": "linkedin_sync",
            "created_at": "2024-01-01T00:00:00Z",
            "contact_emails": [{"email": "ada@example.org", "label": "work", "ranking": 1}],
            "contact_phone_numbers": [],
            "tags": [{"id": "t1", "name": "VIP"}, {"id": "t2", "name": "Math"}],
            "whatsapp_message_link": "https://wa.me/1",
        }
    )
    frame = to_canonical([contact])
    check(frame)
    row = frame.row(0, named=True)
    assert (row["source"], row["row"], row["source_id"]) == ("dex", 1, "c-1")
    assert row["tags"] == ["VIP", "Math"]
    assert row["emails"] == [{"email": "ada@example.org", "label": "work", "ranking": 1}]
    extra = json.loads(row["extra"])
    assert extra["starred"] is True and extra["frequency"] == "3 mons"
    assert extra["dex_source"] == "linkedin_sync"
    assert extra["whatsapp_message_link"] == "https://wa.me/1"
    assert "id" not in extra


def test_legacy_contacts_convert_too() -> None:
    legacy = LegacyContact.model_validate(
        {
            "id": "l-1",
            "first_name": "Kay",
            "last_name": "Ag",
            "emails": [{"email": "kay@example.com"}],
            "phones": [{"phone_number": "9660077249"}],
        }
    )
    frame = to_canonical([legacy])
    assert frame["emails"].to_list() == [
        [{"email": "kay@example.com", "label": None, "ranking": 1}]
    ]
    assert frame["phones"].to_list()[0][0]["phone_number"] == "9660077249"


def test_empty_input_gives_an_empty_canonical_frame() -> None:
    frame = to_canonical([])
    check(frame)
    assert frame.height == 0
    assert to_wire(frame) == []
    assert isinstance(frame, pl.DataFrame)
