"""`dexio undo` over HTTP to the sandbox: an import into a non-empty account is taken back
to an identical export, also after a killed import; later edits are left alone and listed."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import dexio
from dexio.cleanup import merge, review_duplicates
from dexio.cli import main
from dexio.dex import Dex
from dexio.errors import InputError
from dexio.sandbox import Sandbox
from dexio.undo import undo

HEADER = ["First Name", "Last Name", "Email", "Mobile", "Company", "Job Title", "Notes"]


def seed(dex: Dex, n: int = 20) -> list[str]:
    """An account that already holds people, with a note, a reminder and a tag."""
    created = dex.create_contacts(
        [
            {
                "full_name": f"Held Person{i}",
                "first_name": "Held",
                "last_name": f"Person{i}",
                "company": "Initech" if i % 2 else None,
                "contact_emails": [{"email": f"held{i}@example.com"}],
            }
            for i in range(n)
        ]
    )
    ids = [c.id for c in created]
    dex.create_note(ids[0], "met at the fair")
    dex.create_reminder(ids[1], "call back", due_at_date="2030-05-01")
    tag = dex.create_tag("friends")
    dex.add_tags(ids[:3], [tag.id])
    return ids


def write_file(path: Path, new: int, existing: int = 0, start: int = 0) -> Path:
    """``new`` people Dex lacks, then ``existing`` people it holds (same e-mail) with a
    job title, a phone and a note the import adds."""
    rows = [
        [
            "New",
            f"Person{start + i}",
            f"new{start + i}@example.org",
            f"+1 415 555 {start + i:04d}",
            "Hooli",
            "",
            "imported note" if i % 3 == 0 else "",
        ]
        for i in range(new)
    ]
    rows += [
        ["Held", f"Person{i}", f"held{i}@example.com", f"+44 7700 900{i:03d}", "", "Chef", "again"]
        for i in range(existing)
    ]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def snapshot(dex: Dex, path: Path) -> pl.DataFrame:
    """The account exported with notes and reminders, minus ``updated_at`` (a restored
    contact was written again, which Dex stamps), sorted by id."""
    dexio.export(path, dex=dex, include=("notes", "reminders"), progress=False, force=True)
    frame = pl.read_ndjson(path)
    return (
        frame.with_columns(
            pl.col("extra").map_elements(
                lambda text: json.dumps(
                    {k: v for k, v in json.loads(text).items() if k != "updated_at"},
                    sort_keys=True,
                ),
                return_dtype=pl.String,
            )
        )
        .drop("row")
        .sort("source_id")
    )


def test_undo_of_an_import_gives_back_the_account_as_it_was(dex: Dex, tmp_path: Path) -> None:
    seed(dex)
    before = snapshot(dex, tmp_path / "before.jsonl")
    people = write_file(tmp_path / "people.csv", new=15, existing=5)
    report = tmp_path / "report"
    imported = dexio.import_files(people, dex=dex, report_dir=report, tags=["batch-7"], quiet=True)
    assert imported.counts["created"] == 15 and imported.counts["updated"] == 5
    after_import = snapshot(dex, tmp_path / "mid.jsonl")
    assert not after_import.equals(before)

    dry = undo(report, dex=dex)
    assert dry.dry_run and snapshot(dex, tmp_path / "dry.jsonl").equals(after_import)
    assert dry.count("contact", "would be deleted") == 15
    assert dry.count("update", "would be restored") == 5
    assert dry.count("tag", "would be removed") == 20

    done = undo(report, dex=dex, yes=True)
    assert done.exit_code == 0 and done.failed.height == 0 and done.left_alone.height == 0
    assert done.count("contact", "deleted") == 15 and done.count("update", "restored") == 5
    assert done.count("note", "deleted") == 5 + 5  # one per third new person, one per held
    assert snapshot(dex, tmp_path / "after.jsonl").equals(before)
    actions = pl.read_csv(report / "undo" / "undo-actions.csv", infer_schema=False)
    assert actions.height == done.actions.height
    assert json.loads((report / "undo" / "undo-summary.json").read_text())["failed"] == 0

    again = undo(report, dex=dex, yes=True)  # every run is marked undone
    assert again.runs == [] and again.actions.height == 0
    # The id map of the undone run is forgotten: importing again creates them again.
    rerun = dexio.import_files(people, dex=dex, report_dir=report, tags=["batch-7"], quiet=True)
    assert rerun.counts["created"] == 15 and rerun.counts["updated"] == 5


def test_work_done_in_dex_after_the_import_is_left_alone(
    dex: Dex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The sandbox stamps in milliseconds; an edit right after creation must still count.
    # (dexio.undo is also the function's name, so reach the module through sys.modules.)
    monkeypatch.setattr(sys.modules["dexio.undo"], "EDIT_SLACK_S", 0.0)
    seed(dex)
    report = tmp_path / "report"
    people = write_file(tmp_path / "people.csv", new=6, existing=3)
    dexio.import_files(people, dex=dex, report_dir=report, quiet=True)
    by_email = {c.contact_emails[0].email: c for c in dex.iter_contacts() if c.contact_emails}
    edited_new = by_email["new1@example.org"].id
    noted_new = by_email["new2@example.org"].id
    edited_held = by_email["held0@example.com"].id
    time.sleep(0.01)
    dex.update_contact(edited_new, {"job_title": "Head of Sales"})
    dex.create_note(noted_new, "my own note, written after the import")
    dex.update_contact(edited_held, {"description": "changed by hand"})

    result = undo(report, dex=dex, yes=True)

    left = {(r["kind"], r["contact_id"]) for r in result.left_alone.iter_rows(named=True)}
    assert {("contact", edited_new), ("contact", noted_new), ("update", edited_held)} <= left
    assert result.exit_code == 1
    assert dex.get_contact(edited_new).job_title == "Head of Sales"
    assert dex.get_contact(noted_new).full_name == "New Person2"
    held = dex.get_contact(edited_held)
    assert held.description == "changed by hand" and held.job_title == "Chef"
    assert result.count("contact", "deleted") == 4 and result.count("update", "restored") == 2
    reasons = " ".join(result.left_alone["reason"].drop_nulls().to_list())
    assert "edited in Dex after the import" in reasons and "notes/reminders" in reasons


def _done(ledger: Path) -> int:
    try:
        with sqlite3.connect(ledger, timeout=1) as db:
            row = db.execute("SELECT COUNT(*) FROM items WHERE state = 'done'").fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def test_undo_after_a_killed_import(box: Sandbox, dex: Dex, tmp_path: Path) -> None:
    seed(dex)
    before = snapshot(dex, tmp_path / "before.jsonl")
    people = write_file(tmp_path / "people.csv", new=300, existing=10)
    report = tmp_path / "report"
    box.faults.latency = 0.05
    env = {**os.environ, "DEX_BASE_URL": box.base_url, "DEX_API_KEY": "dex_sandbox_key"}
    command = [sys.executable, "-m", "dexio", "import", str(people), "--report", str(report),
               "--batch-size", "10", "--concurrency", "2", "-q"]  # fmt: skip
    victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _done(report / "ledger.sqlite") < 60:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "import made no progress"
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    box.faults.latency = 0.0
    landed = dex.count() - 20
    assert 0 < landed < 300  # a partial import: some created, the rest never sent

    result = undo(report, dex=dex, yes=True)
    assert result.failed.height == 0 and result.left_alone.height == 0
    assert result.count("contact", "deleted") == landed
    assert snapshot(dex, tmp_path / "after.jsonl").equals(before)
    # The killed run is closed: the same import starts afresh instead of "resuming" it.
    redo = dexio.import_files(people, dex=dex, report_dir=report, quiet=True)
    assert not redo.resumed and redo.counts["created"] == 300


def test_an_interrupted_undo_finishes_when_run_again(dex: Dex, tmp_path: Path) -> None:
    seed(dex)
    before = snapshot(dex, tmp_path / "before.jsonl")
    report = tmp_path / "report"
    dexio.import_files(write_file(tmp_path / "p.csv", 9), dex=dex, report_dir=report, quiet=True)
    # What a first undo stopped half-way would have left: some contacts and notes gone.
    new = [
        c.id
        for c in dex.iter_contacts()
        if (c.last_name or "").startswith("Person") and c.company == "Hooli"
    ]
    notes = [n.id for n in dex.iter_notes() if n.note == "imported note"]
    dex.http.request("DELETE", f"timeline/{notes[0]}")
    dex.delete_contacts(new[:4])

    result = undo(report, dex=dex, yes=True)
    assert result.failed.height == 0
    assert result.count("contact", "already gone") == 4
    assert result.count("contact", "deleted") == 5
    assert result.count("note", "already gone") >= 1
    assert snapshot(dex, tmp_path / "after.jsonl").equals(before)


def test_merges_are_reported_as_not_undoable(dex: Dex, tmp_path: Path) -> None:
    dex.create_contacts(
        [
            {"full_name": "Ana Lopez", "contact_emails": [{"email": "ana@example.com"}]},
            {"full_name": "Ana Lopez", "contact_emails": [{"email": "ana@example.com"}]},
        ]
    )
    review = review_duplicates(tmp_path / "review", dex=dex)
    review.groups.with_columns(approve=pl.lit("yes")).write_csv(tmp_path / "ok.csv")
    merged = merge(tmp_path / "ok.csv", dex=dex, report_dir=tmp_path / "merge")
    assert merged.merged == 1
    result = undo(tmp_path / "merge", dex=dex, yes=True)
    assert result.actions["outcome"].to_list() == ["not undoable"]
    assert "Dex deleted the merged contacts" in result.actions["reason"][0]
    assert dex.count() == 1


def test_undo_needs_a_report_folder(
    dex_sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(InputError):
        undo(tmp_path, dex=None)
    with pytest.raises(SystemExit) as code:
        main(["undo", str(tmp_path / "nowhere")])
    assert code.value.code == 2
    assert "ledger.sqlite" in capsys.readouterr().err


def test_cli_undo_is_a_dry_run_without_yes(
    dex_sandbox_env: Sandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Dex() as dex:
        seed(dex, 3)
        report = tmp_path / "r"
        dexio.import_files(
            write_file(tmp_path / "p.csv", 4), dex=dex, report_dir=report, quiet=True
        )
    with pytest.raises(SystemExit) as code:
        main(["undo", str(report)])
    assert code.value.code == 0
    out = capsys.readouterr().out
    assert "contact: would be deleted: 4" in out and "add --yes" in out
    with Dex() as dex:
        assert dex.count() == 7
    with pytest.raises(SystemExit) as code:
        main(["undo", str(report), "--yes"])
    assert code.value.code == 0
    with Dex() as dex:
        assert dex.count() == 3
