"""Account cleanup over HTTP to the sandbox: review the duplicates in Dex, merge the approved
groups (also after a killed run and a lost answer), flag rejected ones, fix formats."""

from __future__ import annotations

import importlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

import dexio
from dexio.cleanup import _fingerprint, _plan_merge, fix, merge, read_review, review_duplicates
from dexio.cli import main
from dexio.dex import Dex
from dexio.dex.convert import to_wire
from dexio.errors import InputError
from dexio.ledger import Ledger
from dexio.sandbox import Sandbox

FILLERS = 40
TOTAL = 11 + FILLERS
BENCH = Path(__file__).resolve().parent.parent / "bench"


def _people(dex: Dex) -> dict[str, str]:
    """A small account: duplicates by e-mail, by phone, by name+company, a same-name pair
    with nothing else in common, and singles. Returns label -> contact id (oldest first)."""
    items: list[tuple[str, dict[str, Any]]] = [
        ("ana1", {"full_name": "Ana Lopez", "contact_emails": [{"email": "ana@example.com"}]}),
        ("ana2", {"full_name": "Ana López", "contact_emails": [{"email": "ANA@example.com"}]}),
        (
            "bo1",
            {
                "full_name": "Bo Chen",
                "contact_phone_numbers": [{"phone_number": "+14155550101"}],
            },
        ),
        (
            "bo2",
            {
                "full_name": "Bo Chen",
                "job_title": "CTO",
                "contact_phone_numbers": [{"phone_number": "+1 (415) 555-0101"}],
            },
        ),
        ("cy1", {"full_name": "Cyrus Okafor", "company": "Globex", "job_title": "Buyer"}),
        ("cy2", {"full_name": "Cyrus Okafor", "company": "Globex"}),
        ("di1", {"full_name": "Dina Sato", "contact_emails": [{"email": "dina@one.example"}]}),
        ("di2", {"full_name": "Dina Sato", "contact_emails": [{"email": "dina@two.example"}]}),
        ("ed", {"full_name": "Ed Nowak", "contact_emails": [{"email": "ed@example.org"}]}),
        ("fa1", {"full_name": "Fay Reed", "contact_emails": [{"email": "fay@example.net"}]}),
        ("fa2", {"full_name": "Fay Reed", "contact_emails": [{"email": "fay@example.net"}]}),
    ]
    # A shared company is evidence only when same-name people there by chance are rare,
    # so the account holds other people too (as a real one does).
    items += [(f"x{n}", {"full_name": f"Person {n} Filler{n}"}) for n in range(FILLERS)]
    created = dex.create_contacts([{k: v for k, v in i.items() if v} for _, i in items])
    return {label: c.id for (label, _), c in zip(items, created, strict=True)}


def _groups(review: pl.DataFrame) -> set[frozenset[str]]:
    return {frozenset(m.split("; ")) for m in review["member_ids"].to_list()}


def _approve(review_csv: Path, answers: dict[frozenset[str], str], out: Path) -> Path:
    frame = pl.read_csv(review_csv, infer_schema=False)
    frame = frame.with_columns(
        approve=pl.col("member_ids").map_elements(
            lambda m: answers.get(frozenset(m.split("; ")), ""), return_dtype=pl.String
        )
    )
    frame.write_csv(out)
    return out


def test_review_proposes_the_groups_and_changes_nothing(
    box: Sandbox, dex: Dex, tmp_path: Path
) -> None:
    ids = _people(dex)
    before = box.stats()["requests"]
    review = review_duplicates(tmp_path / "review", dex=dex)

    assert _groups(review.groups) == {
        frozenset({ids["ana1"], ids["ana2"]}),
        frozenset({ids["bo1"], ids["bo2"]}),
        frozenset({ids["cy1"], ids["cy2"]}),
        frozenset({ids["fa1"], ids["fa2"]}),
    }  # the Dina Satos share a name and nothing else: never proposed
    row = review.groups.filter(pl.col("member_ids").str.contains(ids["ana1"])).row(0, named=True)
    assert "email" in row["reason"] and row["emails"] == "ana@example.com; ANA@example.com"
    assert row["proposed_survivor"] in (ids["ana1"], ids["ana2"]) and row["approve"] == ""
    assert review.duplicates == 4 and review.contacts == TOTAL

    writes = {
        route
        for route in box.stats()["requests"]
        if not route.startswith("GET") and route not in before
    }
    assert writes == set() and dex.count() == TOTAL
    csv = pl.read_csv(tmp_path / "review" / "review.csv", infer_schema=False)
    book = load_workbook(tmp_path / "review" / "review.xlsx")
    sheet = book["Review"]
    header = [c.value for c in sheet[1]]
    assert header == csv.columns and sheet.max_row == 5 == csv.height + 1
    assert "approve" in header and sheet.data_validations.dataValidation  # yes/no list


def test_merge_applies_approved_groups_flags_rejected_and_keeps_notes(
    box: Sandbox, dex: Dex, tmp_path: Path
) -> None:
    ids = _people(dex)
    tag = dex.create_tag("met at conf")
    dex.add_tags([ids["ana2"]], [tag.id])
    note = dex.create_note(ids["ana2"], "lunch in May")
    reminder = dex.create_reminder(ids["bo2"], "send deck", due_at_date="2030-01-01")
    review = review_duplicates(tmp_path / "review", dex=dex)
    answers = {
        frozenset({ids["ana1"], ids["ana2"]}): "yes",
        frozenset({ids["bo1"], ids["bo2"]}): "Y",
        frozenset({ids["cy1"], ids["cy2"]}): "no",
    }  # Fay's group left blank
    approved = _approve(review.files[0], answers, tmp_path / "approved.csv")

    result = merge(approved, dex=dex, report_dir=tmp_path / "merge")

    assert (result.merged, result.removed, result.rejected) == (2, 2, 1)
    assert result.skipped == {"not approved (approve column empty)": ["4"]}
    assert result.problems == []
    assert dex.count() == TOTAL - 2
    # The survivor is what Dex answered (the sandbox keeps the oldest), not the first id.
    assert set(result.survivors.values()) == {ids["ana1"], ids["bo1"]}
    moved = [ref.contact_id for n in dex.iter_notes() for ref in n.timeline_items_contacts]
    assert moved == [ids["ana1"]]
    assert {n.id for n in dex.iter_notes(contact_id=ids["ana1"])} == {note.id}
    assert {r.id for r in dex.iter_reminders(contact_id=ids["bo1"])} == {reminder.id}
    assert [t.name for t in dex.get_contact(ids["ana1"]).tags or []] == ["met at conf"]
    assert dex.get_contact(ids["bo1"]).job_title == "CTO"
    assert dex.get_contact(ids["cy1"]).ignore_merge and dex.get_contact(ids["cy2"]).ignore_merge

    # Rejected groups are not proposed again; the blank one still is.
    again = review_duplicates(tmp_path / "review2", dex=dex)
    assert _groups(again.groups) == {frozenset({ids["fa1"], ids["fa2"]})}
    assert again.ignored == 2
    results = pl.read_csv(tmp_path / "merge" / "merge-results.csv", infer_schema=False)
    assert results["outcome"].to_list() == [
        "merged",
        "merged",
        "flagged ignore_merge",
        "not approved (approve column empty)",
    ]
    summary = json.loads((tmp_path / "merge" / "merge-summary.json").read_text())
    assert summary["groups_merged"] == 2 and summary["contacts_removed"] == 2

    # The same file again merges nothing twice: its groups are already merged.
    rerun = merge(approved, dex=dex, report_dir=tmp_path / "merge")
    assert rerun.merged == 0 and dex.count() == TOTAL - 2
    assert sum(len(v) for k, v in rerun.skipped.items() if k.startswith("already merged")) == 2


def test_merge_reads_an_xlsx_review_edited_by_hand(dex: Dex, tmp_path: Path) -> None:
    ids = _people(dex)
    review = review_duplicates(tmp_path / "review", dex=dex)
    book = load_workbook(review.files[1])
    sheet = book["Review"]
    for row in sheet.iter_rows(min_row=2):
        if ids["fa1"] in str(row[6].value):
            row[1].value = "yes"
    book.save(tmp_path / "edited.xlsx")
    result = merge(tmp_path / "edited.xlsx", dex=dex, report_dir=tmp_path / "merge", dry_run=True)
    assert result.dry_run and result.merged == 1 and dex.count() == TOTAL
    assert sum(len(v) for v in result.skipped.values()) == 3
    done = merge(tmp_path / "edited.xlsx", dex=dex, report_dir=tmp_path / "merge")
    assert done.survivors == {"4": ids["fa1"]} and dex.count() == TOTAL - 1


def test_a_lost_merge_answer_is_looked_up_not_merged_twice(
    dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    box = dex_sandbox()
    with Dex(api_key=box.api_key, base_url=box.base_url) as dex:
        ids = _people(dex)
        review = review_duplicates(tmp_path / "review", dex=dex)
        approved = review.groups.with_columns(approve=pl.lit("yes"))
        approved.write_csv(tmp_path / "approved.csv")
        box.faults.drop_after_commit = 1.0  # every merge commits, then the answer is lost
        result = merge(tmp_path / "approved.csv", dex=dex, report_dir=tmp_path / "m", batch_size=2)
        box.faults.drop_after_commit = 0.0
        assert result.merged == 4 and result.removed == 4 and dex.count() == TOTAL - 4
        assert set(result.survivors.values()) == {ids["ana1"], ids["bo1"], ids["cy1"], ids["fa1"]}
    merges = box.stats()["requests"]["POST /v1/contacts/merge"]
    assert sum(merges.values()) == 2  # two batches, each sent once and settled by lookup


def test_groups_journaled_sent_are_settled_from_what_dex_holds(dex: Dex, tmp_path: Path) -> None:
    """The three ways a merge sent without an answer can have ended: applied, not applied,
    applied in part. Resuming merges each group exactly once."""
    ids = _people(dex)
    third = dex.create_contacts(
        [{"full_name": "Ana Lopez", "contact_emails": [{"email": "ana@example.com"}]}]
    )[0].id
    review = review_duplicates(tmp_path / "review", dex=dex)
    review.groups.with_columns(approve=pl.lit("yes")).write_csv(tmp_path / "ok.csv")
    rows = read_review(tmp_path / "ok.csv")
    report = tmp_path / "merge"
    with Ledger(report) as ledger:
        items = _plan_merge(rows, dex, "ok.csv")
        run_id = ledger.start_run(_fingerprint(rows), items, command="merge", meta={"review": ""})
        ledger.mark_sent(run_id, items["seq"].to_list())  # all sent, no answer recorded
    dex.merge([[ids["bo1"], ids["bo2"]]])  # applied, answer lost
    dex.merge([[ids["ana1"], third]])  # Ana's group of three: applied in part
    # Cyrus's and Fay's groups: not applied at all.

    result = merge(tmp_path / "ok.csv", dex=dex, report_dir=report)

    assert result.resumed and result.merged == 4 and result.removed == 5
    assert dex.count() == TOTAL + 1 - 5
    assert result.survivors["2"] == ids["bo1"] and result.survivors["1"] == ids["ana1"]
    held = {c.id for c in dex.iter_contacts(take=500)}
    assert {ids["ana2"], third, ids["bo2"], ids["cy2"], ids["fa2"]}.isdisjoint(held)


def _done(ledger: Path) -> int:
    try:
        with sqlite3.connect(ledger, timeout=1) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM items WHERE action = 'merge' AND state = 'done'"
            ).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def test_killed_merge_run_resumes_without_merging_a_group_twice(
    dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    generator = importlib.import_module("generate") if str(BENCH) in sys.path else None
    if generator is None:
        sys.path.insert(0, str(BENCH))
        generator = importlib.import_module("generate")
    box = dex_sandbox()
    records = generator.generate(120, 0.2, 11)
    generator.write_csv(tmp_path / "seed.csv", records)
    with Dex(api_key=box.api_key, base_url=box.base_url) as dex:
        created = dex.create_contacts(to_wire(dexio.normalize(dexio.read(tmp_path / "seed.csv"))))
        for contact in created[:40]:
            dex.create_note(contact.id, f"note of {contact.id}")
        review = review_duplicates(tmp_path / "review", dex=dex)
        groups = review.groups.height
        assert groups >= 10
        review.groups.with_columns(approve=pl.lit("yes")).write_csv(tmp_path / "approved.csv")
        count = dex.count()
        notes = {n.id for n in dex.iter_notes()}
        box.faults.latency = 0.1  # slow merges down so the kill lands mid-run

        report = tmp_path / "merge"
        env = {**os.environ, "DEX_BASE_URL": box.base_url, "DEX_API_KEY": "dex_sandbox_key"}
        command = [sys.executable, "-m", "dexio", "merge", str(tmp_path / "approved.csv"),
                   "--report", str(report), "--batch-size", "1"]  # fmt: skip
        victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while _done(report / "ledger.sqlite") < 3:
            assert victim.poll() is None, victim.communicate()
            assert time.monotonic() < deadline, "merge made no progress"
            time.sleep(0.01)
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        box.faults.latency = 0.0
        partial = _done(report / "ledger.sqlite")
        assert 3 <= partial < groups

        result = merge(tmp_path / "approved.csv", dex=dex, report_dir=report, batch_size=1)
        assert result.resumed and result.problems == []
        assert result.merged == groups  # counted over the whole run, killed part included
        assert dex.count() == count - result.removed == count - review.duplicates
        assert {n.id for n in dex.iter_notes()} == notes
        held = {c.id for c in dex.iter_contacts(take=500)}
        for members in review.groups["member_ids"].to_list():
            assert len([m for m in members.split("; ") if m in held]) == 1
    # A group merged twice would be refused with 404 (its other members are gone). (The
    # request cut by the kill shows up as a 500 of the sandbox's disconnected reader.)
    statuses = box.stats()["requests"]["POST /v1/contacts/merge"]
    assert "404" not in statuses and "400" not in statuses


def test_review_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-review.csv"
    bad.write_text("name,email\nAna,ana@example.com\n")
    with pytest.raises(InputError) as caught:
        read_review(bad)
    assert "not-a-review.csv" in str(caught.value) and "approve" in str(caught.value)
    with pytest.raises(SystemExit) as code:
        main(["merge", str(tmp_path / "missing.csv")])
    assert code.value.code == 2


def test_review_reads_yes_no_blank_and_nonsense(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    pl.DataFrame(
        {
            "group": ["1", "2", "3", "4"],
            "approve": ["Yes ", "n", None, "maybe"],
            "member_ids": ["a; b", "c;d", "e; f", "g; h"],
        }
    ).write_csv(path)
    frame = read_review(path)
    assert frame["approve"].to_list() == ["yes", "no", "", "?maybe"]
    assert frame["member_ids"].to_list()[1] == ["c", "d"]


def test_fix_normalises_phones_and_emails_dry_run_first(dex: Dex, tmp_path: Path) -> None:
    messy = dex.create_contacts(
        [
            {
                "full_name": "Gil Ortiz",
                "contact_emails": [
                    {"email": "Gil@Example.COM"},
                    {"email": "gil@example.com"},
                ],
                "contact_phone_numbers": [
                    {"phone_number": "(415) 555-0134"},
                    {"phone_number": "+1 415 555 0134"},
                ],
            },
            {
                "full_name": "Clean Person",
                "contact_emails": [{"email": "clean@example.com"}],
                "contact_phone_numbers": [{"phone_number": "+14155550199"}],
            },
        ]
    )
    gil = messy[0].id
    dry = fix(dex=dex, region="US", report_dir=tmp_path / "fix")
    assert not dry.applied and dry.scanned == 2 and dry.changes.height == 1
    row = dry.changes.row(0, named=True)
    assert row["contact_id"] == gil and row["phones_after"] == "+14155550134"
    assert row["emails_before"] == "Gil@Example.COM; gil@example.com"
    assert row["emails_after"] == "Gil@example.com"
    assert dex.get_contact(gil).contact_phone_numbers[0].phone_number == "(415) 555-0134"
    assert (tmp_path / "fix" / "fix-changes.csv").is_file()

    done = fix(dex=dex, region="US", apply=True, report_dir=tmp_path / "fix")
    assert done.updated == 1
    contact = dex.get_contact(gil)
    assert [p.phone_number_sanitized for p in contact.contact_phone_numbers or []] == [
        "+14155550134"
    ]
    assert [e.email for e in contact.contact_emails or []] == ["Gil@example.com"]
    assert fix(dex=dex, region="US", report_dir=tmp_path / "fix").changes.height == 0


def test_cli_cleanup_then_merge(
    dex_sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Dex() as dex:
        _people(dex)
    with pytest.raises(SystemExit) as code:
        main(["cleanup", "--out", str(tmp_path / "c")])
    assert code.value.code == 0
    assert "groups proposed: 4" in capsys.readouterr().out
    review = pl.read_csv(tmp_path / "c" / "review.csv", infer_schema=False)
    review.with_columns(approve=pl.lit("yes")).write_csv(tmp_path / "ok.csv")
    with pytest.raises(SystemExit) as code:
        main(["merge", str(tmp_path / "ok.csv"), "--report", str(tmp_path / "m")])
    assert code.value.code == 0
    out = capsys.readouterr().out
    assert "groups merged: 4; contacts removed: 4" in out
    with Dex() as dex:
        assert dex.count() == TOTAL - 4
