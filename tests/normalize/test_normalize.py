"""The stage as a whole: pure, canonical in and out, nothing lost, safe to run twice."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from dexio import normalize
from dexio.schema import check, from_records

MESSY: list[dict[str, Any]] = [
    {
        "source": "outlook.csv",
        "row": 2,
        "full_name": "  PRIYA   RAMAN ",
        "company": "Northwind Traders",
        "emails": [
            {"email": "priya@NORTHWIND.example.com", "label": "Work", "ranking": 1},
            {"email": "priya.raman@", "label": "Home", "ranking": 2},
            {"email": "Priya.Raman@gmail.com", "label": "Home", "ranking": 3},
        ],
        "phones": [
            {"phone_number": "020 7946 0321", "label": "Business Phone", "ranking": 1},
            {"phone_number": "+44 20 7946 0321", "label": "Mobile Phone", "ranking": 2},
            {"phone_number": "ext 12", "label": "Other", "ranking": 3},
        ],
        "birthday": "31/02/1990",
        "linkedin": "https://www.linkedin.com/in/priya-raman-4b1/",
        "website": "Northwind.example.com/",
        "extra": json.dumps({"Department": "Sales"}),
        "issues": ["row had 41 columns, header has 40"],
    },
    {
        "source": "outlook.csv",
        "row": 3,
        "first_name": "Tomás",
        "last_name": "de la Vega",
        "emails": [{"email": "tomas@vega.example.org"}],
        "phones": [{"phone_number": "(212) 555-0187", "country_code": "US", "label": "cell"}],
        "birthday": "1604-11-02",
        "twitter": "@tomasdlv",
    },
    {"source": "outlook.csv", "row": 4},
]


def test_a_messy_outlook_export_comes_out_clean() -> None:
    frame = from_records(MESSY).with_columns(pl.Series("import_batch", ["a", "b", "c"]))
    before = frame.clone()
    out = normalize(frame, region="GB")

    assert frame.equals(before)  # the input frame is not modified
    check(out)
    assert out["row"].to_list() == [2, 3, 4]
    assert out["import_batch"].to_list() == ["a", "b", "c"]  # other columns ride along

    priya = out.row(0, named=True)
    assert (priya["first_name"], priya["last_name"], priya["full_name"]) == (
        "Priya",
        "Raman",
        "Priya Raman",
    )
    # Outlook's reader ranked the columns in file order; that order stands.
    assert [(e["email"], e["label"], e["ranking"]) for e in priya["emails"]] == [
        ("priya@northwind.example.com", "work", 1),
        ("Priya.Raman@gmail.com", "personal", 2),
    ]
    assert [(p["phone_number"], p["label"], p["ranking"]) for p in priya["phones"]] == [
        ("+442079460321", "work", 1),
        ("ext 12", "other", 2),
    ]
    assert priya["birthday"] is None
    assert json.loads(priya["extra"]) == {
        "Department": "Sales",
        "invalid_emails": ["priya.raman@"],
        "birthday_raw": "31/02/1990",
    }
    assert priya["linkedin"] == "priya-raman-4b1"
    assert priya["website"] == "https://northwind.example.com"
    assert priya["issues"][0] == "row had 41 columns, header has 40"  # a reader's issue stays
    assert len(priya["issues"]) == 7

    tomas = out.row(1, named=True)
    assert tomas["full_name"] == "Tomás de la Vega"
    assert tomas["phones"][0]["phone_number"] == "+12125550187"
    assert tomas["birthday"] == "--11-02"
    assert tomas["twitter"] == "tomasdlv"
    assert tomas["issues"] is None

    assert out.row(2, named=True)["issues"] is None


def test_running_twice_changes_nothing_more() -> None:
    once = normalize(from_records(MESSY), region="GB")
    twice = normalize(once, region="GB")
    assert twice.equals(once)


def test_an_empty_frame_passes_through() -> None:
    out = normalize(from_records([]), region="GB")
    check(out)
    assert out.height == 0


def test_a_frame_with_only_some_columns_is_conformed() -> None:
    out = normalize(pl.DataFrame({"source": ["a.csv"], "row": [1], "full_name": ["ana lópez"]}))
    check(out)
    assert out.select("first_name", "last_name").row(0) == ("Ana", "López")


def test_each_step_also_runs_alone_on_a_canonical_frame() -> None:
    from dexio.normalize.dates import normalize_birthdays
    from dexio.normalize.emails import normalize_emails
    from dexio.normalize.names import normalize_names
    from dexio.normalize.phones import normalize_phones
    from dexio.normalize.social import normalize_social

    frame = from_records(MESSY)
    assert normalize_names(frame)["first_name"].to_list() == ["Priya", "Tomás", None]
    assert normalize_emails(frame)["emails"].list.len().to_list() == [2, 1, None]
    assert normalize_phones(frame, "GB")["phones"].list.len().to_list() == [2, 1, None]
    assert normalize_birthdays(frame, "GB")["birthday"].to_list() == [None, "--11-02", None]
    assert normalize_social(frame)["linkedin"].to_list() == ["priya-raman-4b1", None, None]
    for step in (normalize_names, normalize_emails, normalize_social):
        assert step(frame).columns == frame.columns
