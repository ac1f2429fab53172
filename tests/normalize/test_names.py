"""Names: whitespace, re-casing only when shouted or all lower, splitting and building."""

from __future__ import annotations

from typing import Any

import pytest

from dexio import normalize
from dexio.normalize.names import recase
from dexio.schema import from_records


def names(**fields: Any) -> tuple[str | None, str | None, str | None, list[str]]:
    out = normalize(from_records([{"source": "people.csv", "row": 1, **fields}]), region="GB")
    first, last, full, issues = out.select("first_name", "last_name", "full_name", "issues").row(0)
    return first, last, full, issues or []


def test_whitespace_is_trimmed_and_collapsed_and_blanks_become_null() -> None:
    assert names(first_name="  Ana\u00a0 Maria ", last_name="\tLópez  ", full_name="   ")[:3] == (
        "Ana Maria",
        "López",
        "Ana Maria López",
    )


@pytest.mark.parametrize(
    ("full", "first", "last"),
    [
        ("Ana López", "Ana", "López"),
        ("Mary Ann Smith", "Mary Ann", "Smith"),
        ("Vincent van Gogh", "Vincent", "van Gogh"),
        ("Ana de la Cruz", "Ana", "de la Cruz"),
        ("Ursula von der Leyen", "Ursula", "von der Leyen"),
        ("Martin Luther King Jr.", "Martin Luther", "King Jr."),
        ("Henry Ford III", "Henry", "Ford III"),
        ("Jane Doe, PhD", "Jane", "Doe, PhD"),
        ("López, Ana", "Ana", "López"),
        ("Dr. Priya Raman", "Priya", "Raman"),
        ("Cher", "Cher", None),
    ],
)
def test_full_name_is_split_when_first_and_last_are_missing(
    full: str, first: str, last: str | None
) -> None:
    got_first, got_last, got_full, issues = names(full_name=full)
    assert (got_first, got_last, got_full) == (first, last, full)
    if last is not None:
        assert issues == [
            f"full_name '{full}' split into first_name '{first}' and last_name '{last}'"
        ]


def test_full_name_is_not_split_when_a_part_is_already_there() -> None:
    assert names(first_name="Ana", full_name="Ana María López García")[:3] == (
        "Ana",
        None,
        "Ana María López García",
    )


def test_full_name_is_built_from_the_parts_when_missing() -> None:
    assert names(first_name="Ana", last_name="de la Cruz") == (
        "Ana",
        "de la Cruz",
        "Ana de la Cruz",
        [],
    )
    assert names(last_name="Okafor")[:3] == (None, "Okafor", "Okafor")


def test_shouted_and_lower_case_names_are_fixed_and_reported() -> None:
    first, last, full, issues = names(first_name="SEÁN", last_name="o'neil")
    assert (first, last, full) == ("Seán", "O'Neil", "Seán O'Neil")
    assert issues == [
        "first_name 'SEÁN' re-cased to 'Seán'",
        "last_name 'o'neil' re-cased to 'O'Neil'",
    ]


def test_mixed_case_names_are_left_exactly_as_written() -> None:
    for first, last in [
        ("Ronald", "McDonald"),
        ("Ana", "de la Cruz"),
        ("Siobhán", "O'Neil"),
        ("Jean-luc", "Picard"),
        ("Zoë 🌸", "DiCaprio"),
        ("Ōtani", "Shōhei"),
    ]:
        assert names(first_name=first, last_name=last) == (first, last, f"{first} {last}", [])


@pytest.mark.parametrize(
    ("written", "family", "fixed"),
    [
        ("ANNE-MARIE", False, "Anne-Marie"),
        ("MCDONALD", True, "McDonald"),
        ("DE LA CRUZ", True, "de la Cruz"),
        ("VAN DER BERG", True, "van der Berg"),
        ("JOHN SMITH III", False, "John Smith III"),
        ("jane doe phd", False, "Jane Doe PhD"),
        ("ÉLODIE 🌸", False, "Élodie 🌸"),
        ("DE SOUSA", False, "De Sousa"),  # a first word keeps its capital outside a last name
    ],
)
def test_recase(written: str, family: bool, fixed: str) -> None:
    assert recase(written, family=family) == fixed


def test_names_without_letter_case_are_untouched() -> None:
    assert names(full_name="李小龍") == ("李小龍", None, "李小龍", [])
