"""Property: whatever the file holds, every record lands in exactly one result bucket and
Dex ends up holding what it held before plus exactly the created contacts."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import dexio
from dexio.pipeline import import_files
from dexio.sandbox import Sandbox, embedded

from .accounting import assert_dex_matches, result_files

HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Birthday", "Notes"]
FIRST = ["Ana", "Bo", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana"]
LAST = ["Lima", "Okafor", "Sato", "Varga", "Moreau", "Quist"]
ODD = ["", " ", "=1+1", "@SUM(A1)", "x\x07y", "Łódź", "a\u202eb", "\t", "none", "-"]

person = st.tuples(
    st.integers(0, 11),  # identity: same number, same e-mail -> a duplicate within the file
    st.sampled_from(FIRST + ODD),
    st.sampled_from(LAST + ODD),
    st.sampled_from(["mail", "none", "bad", "upper"]),
    st.sampled_from(["", "+1 415 555 0100", "0044 20 7946 0000", "12", "phone?"]),
    st.sampled_from(["", "Acme", "Globex", '=HYPERLINK("x")']),
    st.sampled_from(["", "1990-02-30", "1985-07-14", "--04-12", "soon"]),
    st.sampled_from(["", "met at a fair", "line1\nline2"]),
)


def email(identity: int, style: str) -> str:
    address = f"person{identity}@example.org"
    return {"mail": address, "none": "", "bad": "person@@nowhere", "upper": address.upper()}[style]


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with embedded(db=tmp_path_factory.mktemp("acct") / "dex.sqlite") as sandbox:
        yield sandbox


def dex_ids(client: dexio.Dex) -> set[str]:
    return {c.id for c in client.iter_contacts(take=500)}


RUNS = itertools.count()


@pytest.mark.timeout(170)
@settings(max_examples=10, phases=[Phase.explicit, Phase.generate], deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(
    rows=st.lists(person, min_size=1, max_size=25),
    existing=st.sets(st.integers(0, 11), max_size=4),
    second_pass=st.booleans(),
)
def test_every_record_in_one_bucket_and_dex_holds_created_plus_before(
    box: Sandbox,
    tmp_path: Path,
    rows: list[tuple[int, str, str, str, str, str, str, str]],
    existing: set[int],
    second_pass: bool,
) -> None:
    box.reset()
    run = next(RUNS)
    source = tmp_path / f"people-{run}.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for identity, first, last, style, phone, company, birthday, note in rows:
            out.writerow([first, last, email(identity, style), phone, company, birthday, note])
    with dexio.Dex(api_key=box.api_key, base_url=box.base_url) as client:
        if existing:  # some people are already in Dex, some with another employer
            client.create_contacts(
                [
                    {"first_name": "Old", "last_name": f"Entry{i}",
                     "contact_emails": [{"email": f"person{i}@example.org"}],
                     "company": "Acme" if i % 2 else "Earlier Employer"}
                    for i in sorted(existing)
                ]
            )  # fmt: skip
        passes = 2 if second_pass else 1
        for attempt in range(passes):
            before = dex_ids(client)
            report = tmp_path / f"report-{run}-{attempt}"
            result = import_files(source, dex=client, report_dir=report, quiet=True)
            parts = result_files(report, len(rows))
            assert result.counts == {name: len(v) for name, v in parts.items()}
            assert_dex_matches(parts, before, dex_ids(client))
        if second_pass:  # the same file again creates nobody it can recognise
            # (docs/import.md: "A name alone never matches", so rows with neither an email,
            # a valid phone nor a name + company come back: counted, never lost)
            again = [r for r in parts["created"] if r["email"]]
            assert not again, (again, (tmp_path / f"people-{run}.csv").read_text())
