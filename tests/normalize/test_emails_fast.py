"""The plain-address fast path gives exactly what email-validator gives, and so does the step.

``_plain_normalized`` answers for plain ASCII addresses without calling email-validator;
these tests hold it to :func:`check_email` on generated addresses and near misses, and
hold ``normalize_emails`` to the same output with the fast path on and off.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import email_validator
import polars as pl
import pytest
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES
from hypothesis import event, given, settings
from hypothesis import strategies as st

import dexio
from dexio.normalize import emails
from dexio.normalize.emails import (
    _check_text,
    _plain_normalized,
    _without_mailto,
    check_email,
    normalize_emails,
)
from dexio.schema import from_records

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"

ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
# Characters that make an address non-plain or invalid: the fast path must leave them.
ODD = ' "(),:;<>@[\\]\t\n.éÄ\u212a\u00a0\uff20\u0301ß'
LDH = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
SPECIAL_TLDS = ["test", "local", "localhost", "onion", "arpa", "invalid", "example"]


def _recased(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def local_parts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["atoms"] * 6 + ["mailbox"] * 2 + ["long", "odd"]))
    if kind == "mailbox":  # RFC 2142 names, which email-validator lower-cases
        name = draw(st.sampled_from([*CASE_INSENSITIVE_MAILBOX_NAMES, "infos", "admin"]))
        return _recased(draw, name)
    if kind == "long":  # around the 64-octet local part limit
        return draw(st.text(alphabet="aB.", min_size=60, max_size=70))
    alphabet = ATEXT if kind == "atoms" else ATEXT + ODD
    atoms = draw(
        st.lists(st.text(alphabet=alphabet, min_size=1, max_size=8), min_size=1, max_size=4)
    )
    local = ".".join(atoms)
    # Dots at the ends, doubled dots.
    return draw(st.sampled_from(["{}"] * 6 + [".{}", "{}.", "{}..x"])).format(local)


@st.composite
def labels(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["plain"] * 8 + ["hyphens", "long", "punycode", "odd"]))
    if kind == "long":  # around the 63-octet label limit
        return draw(st.text(alphabet="aZ9", min_size=60, max_size=66))
    if kind == "punycode":  # xn-- labels take the IDNA round trip; ab-- labels are refused
        return draw(st.sampled_from(["xn--p1ai", "xn--bcher-kva", "xn--zz", "ab--c", "axn--b"]))
    alphabet = {"plain": LDH, "hyphens": "a-", "odd": LDH + ODD}[kind]
    return draw(st.text(alphabet=alphabet, min_size=0 if kind == "odd" else 1, max_size=12))


@st.composite
def domains(draw: st.DrawFn) -> str:
    # Mostly two or more labels; sometimes one (no period: refused).
    parts = draw(st.lists(labels(), min_size=draw(st.sampled_from([1] * 5 + [0])), max_size=3))
    alphabetic = st.text(alphabet="abcXYZ", min_size=2, max_size=6)
    odd = st.sampled_from([*SPECIAL_TLDS, "c", "c1", "123", "co-", "COM", "Test"])
    tld = draw(st.one_of(*[alphabetic] * 4, odd, labels()))
    # Some long domains, so that the 253/254 limits come into play.
    repeat = draw(st.sampled_from([1, 1, 1, 4]))
    return ".".join(parts * repeat + [tld])


@st.composite
def addresses(draw: st.DrawFn) -> str:
    address = f"{draw(local_parts())}@{draw(domains())}"
    shape = draw(st.sampled_from(["{}"] * 12 + [" {}", "{}\n", "{}@x.com", "Ana <{}>", '"a"{}']))
    return shape.format(address)


def fast(texts: list[str]) -> list[str | None]:
    return _plain_normalized(pl.Series(texts, dtype=pl.String)).to_list()


@settings(max_examples=150, deadline=None)
@given(st.lists(addresses(), min_size=1, max_size=30))
def test_fast_path_equals_email_validator_on_every_address_it_takes(texts: list[str]) -> None:
    taken = fast(texts)
    event(f"{round(10 * sum(n is not None for n in taken) / len(texts)) * 10} % taken")
    # The step calls email-validator with the domain lower-cased (``_check_text``).
    checked_texts = pl.select(_check_text(pl.lit(pl.Series(texts, dtype=pl.String))))
    for text, checked_text, normalized in zip(texts, checked_texts.to_series(), taken, strict=True):
        if normalized is not None:
            assert check_email(text) == (normalized, None), text
            assert check_email(checked_text) == (normalized, None), text


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.text(alphabet=ATEXT, min_size=1, max_size=10), min_size=1, max_size=3),
    st.lists(st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True)),
    st.from_regex(r"[a-zA-Z]{2,8}", fullmatch=True),
)
def test_fast_path_takes_plain_addresses(atoms: list[str], names: list[str], tld: str) -> None:
    """Not vacuous: plain addresses email-validator accepts never reach it."""
    domain = ".".join([*names, "example", tld])
    address = f"{'.'.join(atoms)}@{domain}"
    normalized, _ = check_email(address)
    taken = fast([address])[0]
    left = (
        normalized is None
        or tld.lower() in email_validator.SPECIAL_USE_DOMAIN_NAMES
        or "xn--" in domain.lower()
        or any(n[2:4] == "--" for n in names)
    )
    assert taken == (None if left else normalized)


HAND_PICKED = [
    ("Ana.Lopez@GMAIL.COM", "Ana.Lopez@gmail.com"),
    ("Info@Acme.com", "info@acme.com"),
    ("POSTMASTER@acme.com", "postmaster@acme.com"),
    ("Infos@acme.com", "Infos@acme.com"),
    ("o'neil+news@mail.acme.co.uk", "o'neil+news@mail.acme.co.uk"),
    ("ana@b.test", None),  # special-use: refused by email-validator
    ("ana@host.localhost", None),
    ("ana@xn--bcher-kva.de", None),  # IDNA: email-validator gives a Unicode domain
    ("ana@ab--cd.com", None),  # R-LDH label: refused
    ("ana@acme.c0m", None),  # TLD not alphabetic
    ("ana..lopez@acme.com", None),
    ("ana@acme.com\n", None),
    ("Ana <ana@acme.com>", None),  # display name: email-validator's job
    ("\u212a@acme.com", None),  # Kelvin sign, not a K
    ("a" * 65 + "@acme.com", None),
    ("a@" + "b" * 64 + ".com", None),
]


@pytest.mark.parametrize(("text", "expected"), HAND_PICKED)
def test_fast_path_on_hand_picked_addresses(text: str, expected: str | None) -> None:
    assert fast([text]) == [expected]
    if expected is not None:
        assert check_email(text) == (expected, None)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("STRICT", True),
        ("ALLOW_SMTPUTF8", False),
        ("GLOBALLY_DELIVERABLE", False),
        ("TEST_ENVIRONMENT", True),
    ],
)
def test_fast_path_holds_whatever_email_validator_defaults_are_set_to(
    option: str, value: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(email_validator, option, value)
    texts = [text for text, _ in HAND_PICKED]
    taken = fast(texts)
    assert sum(normalized is not None for normalized in taken) == 5
    for text, normalized in zip(texts, taken, strict=True):
        if normalized is not None:
            assert check_email(text) == (normalized, None)


def _outputs(frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> tuple[pl.DataFrame, ...]:
    results = []
    for on in (True, False):
        monkeypatch.setattr(emails, "_FAST_PATH", on)
        results.append(normalize_emails(frame))
    return tuple(results)


def _assert_same_either_way(frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    with_fast_path, without = _outputs(frame, monkeypatch)
    assert with_fast_path.equals(without)
    assert with_fast_path.write_ndjson() == without.write_ndjson()


def test_step_output_is_the_same_with_and_without_the_fast_path_on_a_generated_file(
    generated: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert generated["emails"].list.len().sum() > 4000
    _assert_same_either_way(generated, monkeypatch)


def test_step_output_is_the_same_with_and_without_the_fast_path_on_samples(
    sample_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _assert_same_either_way(dexio.read(sample_path), monkeypatch)


def _strings_with_at(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings_with_at(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings_with_at(item)
    elif isinstance(value, str) and "@" in value:
        yield value


def test_step_output_is_the_same_on_the_crm_samples_and_on_awkward_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = [
        text
        for path in (SAMPLES / "ghl" / "location.json", SAMPLES / "whautomate" / "account.json")
        for text in _strings_with_at(json.loads(path.read_text(encoding="utf-8")))
    ]
    assert found
    awkward = [
        "Info@Acme.com",
        "info@acme.com",  # a repeat of the one above once normalized
        "ana@b.test",
        "ana@xn--bcher-kva.de",
        "Ana López <ana.lopez@example.org>",
        "mailto:Ana@Example.COM",
        "ana@ab--cd.com",
        "broken@",
        "ana@acme.c0m",
    ]
    records = [
        {"source": "s.csv", "row": i + 1, "emails": [{"email": text}, {"email": awkward[i % 9]}]}
        for i, text in enumerate(found + awkward)
    ]
    _assert_same_either_way(from_records(records), monkeypatch)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.lists(
                st.sampled_from([" ", "\t", "\u00a0", "mailto:", "MailTo:", "m", "M", "a@b.co"]),
                max_size=5,
            ).map("".join),
        ),
        max_size=12,
    )
)
def test_mailto_is_taken_off_the_few_texts_that_start_with_m_as_off_all(
    texts: list[str | None],
) -> None:
    values = pl.Series("email", texts, dtype=pl.String)
    everywhere = (
        values.str.strip_chars().str.replace(r"(?i)^mailto:", "").str.strip_chars().to_list()
    )
    assert _without_mailto(values.str.strip_chars()).to_list() == everywhere
