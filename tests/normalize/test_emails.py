"""Emails: validation without DNS, invalid ones kept in extra, ranking, repeats, labels."""

from __future__ import annotations

import json
from typing import Any

import email_validator
import polars as pl
import pytest

from dexio import normalize
from dexio.normalize import emails
from dexio.normalize.emails import read_label
from dexio.schema import from_records


def email(address: str | None, label: str | None = None, **fields: Any) -> dict[str, Any]:
    return {"email": address, "label": label, **fields}


def contact(*emails: dict[str, Any], row: int = 1, **fields: Any) -> dict[str, Any]:
    return {"source": "google.csv", "row": row, "emails": list(emails), **fields}


def emails_of(frame: pl.DataFrame, index: int = 0) -> list[tuple[str, str | None, int]]:
    return [(e["email"], e["label"], e["ranking"]) for e in frame["emails"][index].to_list()]


def test_addresses_are_trimmed_and_domains_lower_cased_local_part_kept() -> None:
    frame = from_records(
        [contact(email("  Ana.Lopez@GMAIL.COM ", "Home"), email("mailto:ana@Acme.Example.com"))]
    )
    assert emails_of(normalize(frame, region="GB")) == [
        ("Ana.Lopez@gmail.com", "personal", 1),
        ("ana@acme.example.com", None, 2),
    ]


def test_display_name_form_is_reduced_to_the_address() -> None:
    frame = from_records([contact(email("Ana López <ana.lopez@example.org>", "Work"))])
    assert emails_of(normalize(frame, region="GB")) == [("ana.lopez@example.org", "work", 1)]


def test_invalid_address_moves_to_extra_with_a_row_issue() -> None:
    frame = from_records(
        [
            contact(
                email("ana.lopez@", "Work"),
                email("ana lopez@example.org"),
                email("ana@example.org", "Home"),
                extra=json.dumps({"Nickname": "Annie"}),
            )
        ]
    )
    out = normalize(frame, region="GB")
    assert emails_of(out) == [("ana@example.org", "personal", 1)]
    assert json.loads(out["extra"][0]) == {
        "Nickname": "Annie",
        "invalid_emails": ["ana.lopez@", "ana lopez@example.org"],
    }
    issues = out["issues"][0].to_list()
    assert len(issues) == 2
    assert issues[0].startswith("email 'ana.lopez@' is not valid (There must be something after")
    assert issues[0].endswith("kept in extra.invalid_emails")
    assert issues[1].startswith("email 'ana lopez@example.org' is not valid")


def test_empty_null_and_emptied_lists() -> None:
    # No list stays null, an empty one stays empty, and one whose every address is invalid
    # or blank becomes empty; their neighbours keep their own addresses.
    frame = from_records(
        [
            contact(email("ana@example.org"), row=1),
            {"source": "c.csv", "row": 2},
            contact(row=3),
            contact(email("not an address"), email("  "), row=4),
            contact(email("bo@example.org"), email("BO@example.org"), row=5),
        ]
    )
    out = normalize(frame, region="GB")
    assert [None if e is None else [a["email"] for a in e] for e in out["emails"].to_list()] == [
        ["ana@example.org"],
        None,
        [],
        [],
        ["bo@example.org"],
    ]


def test_explicit_preference_then_personal_before_work_then_source_order() -> None:
    frame = from_records(
        [
            # Google marks the primary address with "* ".
            contact(
                email("ana@acme.com", "Work"),
                email("ana.l@gmail.com", "Home"),
                email("ana@old.example.net", "* Work"),
            ),
            # vCard marks it with pref among the types.
            contact(
                email("b@acme.com", "INTERNET,WORK"), email("b@home.net", "INTERNET,HOME"), row=2
            ),
            contact(email("c@acme.com", "WORK,pref"), email("c@home.net", "HOME"), row=3),
            # No labels at all: the order of the source.
            contact(
                email("d2@x.com", ranking=2), email("d1@x.com", ranking=1), email("d3@x.com"), row=4
            ),
        ]
    )
    out = normalize(frame, region="GB")
    assert emails_of(out, 0) == [
        ("ana@old.example.net", "work", 1),
        ("ana.l@gmail.com", "personal", 2),
        ("ana@acme.com", "work", 3),
    ]
    assert emails_of(out, 1) == [("b@home.net", "personal", 1), ("b@acme.com", "work", 2)]
    assert emails_of(out, 2) == [("c@acme.com", "work", 1), ("c@home.net", "personal", 2)]
    assert [e for e, _, _ in emails_of(out, 3)] == ["d1@x.com", "d2@x.com", "d3@x.com"]


def test_a_ranking_from_the_source_wins_over_personal_before_work() -> None:
    # A reader ranks a Google "* Work" primary 1 and strips the star from the label.
    frame = from_records(
        [
            contact(
                email("ana@acme.com", "work", ranking=1), email("ana@gmail.com", "home", ranking=2)
            )
        ]
    )
    assert emails_of(normalize(frame, region="GB")) == [
        ("ana@acme.com", "work", 1),
        ("ana@gmail.com", "personal", 2),
    ]


def test_repeats_compare_case_insensitively_and_keep_the_first_spelling() -> None:
    frame = from_records(
        [
            contact(
                email("Ana.Lopez@Example.com"),
                email("ana.lopez@example.com", "Work"),
                email("ANA.LOPEZ@EXAMPLE.COM", "* Home"),
            )
        ]
    )
    out = normalize(frame, region="GB")
    assert emails_of(out) == [("Ana.Lopez@example.com", "work", 1)]
    assert out["issues"][0].to_list() == [
        "duplicate email 'ana.lopez@example.com' removed",
        "duplicate email 'ANA.LOPEZ@EXAMPLE.COM' removed",
    ]


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Home", ("personal", False)),
        ("* Home", ("personal", True)),
        ("_$!<Work>!$_", ("work", False)),
        ("INTERNET,WORK,PREF", ("work", True)),
        ("pref", (None, True)),
        ("Other", ("other", False)),
        ("Newsletter", ("Newsletter", False)),
        (None, (None, False)),
    ],
)
def test_labels_are_unified(written: str | None, expected: tuple[str | None, bool]) -> None:
    assert read_label(written) == expected


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = email_validator.validate_email

    def counting(address: str, **kwargs: Any) -> Any:
        calls.append(address)
        assert kwargs["check_deliverability"] is False  # never a DNS lookup
        return real(address, **kwargs)

    monkeypatch.setattr(email_validator, "validate_email", counting)
    return calls


@pytest.mark.parametrize("fast_path", [False, True])
def test_validation_runs_once_per_distinct_address(
    monkeypatch: pytest.MonkeyPatch, fast_path: bool
) -> None:
    calls = _count_validations(monkeypatch)
    monkeypatch.setattr(emails, "_FAST_PATH", fast_path)
    addresses = ["ana@example.com", "bo@example.org", "broken@", "cy@example.net"]
    records = [
        contact(email(addresses[i % 4]), email(addresses[(i + 1) % 4]), row=i + 1)
        for i in range(2000)
    ]
    out = normalize(from_records(records), region="GB")
    # With the fast path, plain addresses are normalized without email-validator.
    assert sorted(calls) == (["broken@"] if fast_path else sorted(addresses))
    assert out.height == 2000
    kept = sum(len(e) for e in out["emails"].to_list())
    moved = sum(len(json.loads(x)["invalid_emails"]) for x in out["extra"].drop_nulls().to_list())
    assert kept + moved == 4000  # nothing lost


def test_only_addresses_that_are_not_plain_reach_email_validator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = _count_validations(monkeypatch)
    frame = from_records(
        [
            contact(
                email("Info@Acme.COM"),
                email("Ana López <ana@acme.com>"),
                email("ana@bücher.de"),
                email("ana@host.test"),
                email("ana.lopez@acme.com"),
            )
        ]
    )
    out = normalize(frame, region="GB")
    assert sorted(calls) == sorted(
        ["Ana López <ana@acme.com>", "ana@acme.com", "ana@bücher.de", "ana@host.test"]
    )
    assert [e for e, _, _ in emails_of(out)] == [
        "info@acme.com",  # an RFC 2142 mailbox name: lower-cased like email-validator does
        "ana@acme.com",
        "ana@bücher.de",
        "ana.lopez@acme.com",
    ]
    assert json.loads(out["extra"][0]) == {"invalid_emails": ["ana@host.test"]}
