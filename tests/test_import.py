"""`dexio import` end to end against the sandbox over 127.0.0.1: result files that add up,
re-runs that create nobody, 400 bisection, faults, and resume after kill -9."""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest

import dexio
from dexio import ledger as ledger_module
from dexio import upload as upload_module
from dexio.cli import main
from dexio.dex.models import Contact
from dexio.ledger import Ledger
from dexio.pipeline import DexDestination, import_files, items_from_plan
from dexio.plan import plan
from dexio.report import BUCKETS
from dexio.sandbox import Sandbox, embedded
from dexio.schema import from_records
from dexio.upload import upload

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
HEADER = ["First Name", "Last Name", "Email", "Phone", "Company", "Notes", "Tags"]


SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tu", "vel", "no", "dri", "ax", "pe", "zor"]


def invented_name(i: int, salt: int) -> str:
    """A distinct made-up name per ``i`` (digits in base 12 -> syllables)."""
    parts, n = [], i * 7 + salt
    for _ in range(4):
        n, digit = divmod(n, len(SYLLABLES))
        parts.append(SYLLABLES[digit])
    return "".join(parts).capitalize()


def write_people(path: Path, n: int, *, start: int = 0, notes: bool = False) -> Path:
    """``n`` invented people with distinct names, emails and employers; every 7th with a
    note, every 5th with two tags, every 3rd with a phone."""
    kinds = ["Logistics", "Labs", "Studio", "Partners"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for i in range(start, start + n):
            first, last = invented_name(i, 3), invented_name(i, 11)
            out.writerow(
                [
                    first,
                    last,
                    f"{first.lower()}.{last.lower()}{i}@example.org",
                    f"+1 415 555 {i % 10000:04d}" if i % 3 == 0 else "",
                    f"{invented_name(i, 5)} {kinds[i % len(kinds)]}",
                    f"Met {first} at the spring fair" if notes and i % 7 == 0 else "",
                    "friends;spring" if i % 5 == 0 else "",
                ]
            )
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def assert_files_add_up(report: Path, input_records: int) -> dict[str, list[dict[str, str]]]:
    """Every input record in exactly one result file; summary counts match the files."""
    parts = {name: read_csv(report / f"{name}.csv") for name in BUCKETS}
    summary = json.loads((report / "summary.json").read_text())
    assert summary["input_records"] == input_records
    assert {name: len(rows) for name, rows in parts.items()} == summary["counts"]
    keys = Counter((r["source"], r["row"]) for rows in parts.values() for r in rows)
    assert sum(keys.values()) == input_records
    assert max(keys.values()) == 1, [k for k, n in keys.items() if n > 1][:5]
    return parts


def dex_contacts(box: Sandbox) -> list[Contact]:
    with dexio.Dex(api_key=box.api_key, base_url=box.base_url) as dex:
        return list(dex.iter_contacts(take=500, full=True))


def sample_files() -> list[Path]:
    """Every contact file in samples/ (not the other CRMs' account dumps or generators)."""
    folders = ("linkedin", "google", "outlook", "vcard", "excel", "generic", "json")
    suffixes = {".csv", ".tsv", ".txt", ".xlsx", ".vcf", ".jsonl"}
    return sorted(
        p
        for folder in folders
        if (SAMPLES / folder).is_dir()
        for p in (SAMPLES / folder).iterdir()
        if p.suffix.lower() in suffixes
    )


@pytest.fixture
def dex_for(
    dex_sandbox: Callable[..., Sandbox],
) -> Iterator[Callable[..., tuple[Sandbox, dexio.Dex]]]:
    clients: list[dexio.Dex] = []

    def start(**faults: object) -> tuple[Sandbox, dexio.Dex]:
        box = dex_sandbox(**faults)
        client = dexio.Dex(api_key=box.api_key, base_url=box.base_url)
        clients.append(client)
        return box, client

    yield start
    for client in clients:
        client.close()


def test_importing_the_samples_twice_creates_nobody_the_second_time(
    tmp_path: Path, dex_for: Callable[..., tuple[Sandbox, dexio.Dex]]
) -> None:
    files = sample_files()
    assert files, "samples/ holds no contact files"
    _, dex = dex_for()
    first = import_files(files, dex=dex, report_dir=tmp_path / "first", quiet=True)
    assert first.counts["created"] > 0 and first.input_records > 0
    assert_files_add_up(tmp_path / "first", first.input_records)
    held = dex.count()
    assert held == first.counts["created"]

    second = import_files(files, dex=dex, report_dir=tmp_path / "second", quiet=True)
    assert second.counts["created"] == 0
    assert second.counts["updated"] == 0
    assert dex.count() == held
    parts = assert_files_add_up(tmp_path / "second", second.input_records)
    created_ids = {r["dest_id"] for r in read_csv(tmp_path / "first" / "created.csv")}
    assert {r["dest_id"] for r in parts["unchanged"]} <= created_ids


def test_dry_run_sends_nothing_and_writes_the_same_files(
    tmp_path: Path, dex_for: Callable[..., tuple[Sandbox, dexio.Dex]]
) -> None:
    people = write_people(tmp_path / "people.csv", 40, notes=True)
    _, dex = dex_for()
    dry = import_files(people, dex=dex, dry_run=True, report_dir=tmp_path / "dry", quiet=True)
    assert dex.count() == 0
    assert dry.dry_run and dry.run_id is None
    dry_parts = assert_files_add_up(tmp_path / "dry", 40)
    assert {r["action"] for r in dry_parts["created"]} == {"would create"}

    real = import_files(people, dex=dex, report_dir=tmp_path / "real", quiet=True)
    assert real.counts == dry.counts
    real_parts = assert_files_add_up(tmp_path / "real", 40)
    assert [(r["source"], r["row"]) for r in real_parts["created"]] == [
        (r["source"], r["row"]) for r in dry_parts["created"]
    ]
    assert dex.count() == real.counts["created"]


def test_cli_import_with_notes_tags_rejections_and_exit_codes(
    tmp_path: Path,
    dex_for: Callable[..., tuple[Sandbox, dexio.Dex]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    box, dex = dex_for()
    monkeypatch.setenv("DEX_BASE_URL", box.base_url)
    monkeypatch.setenv("DEX_API_KEY", box.api_key.reveal())
    people = write_people(tmp_path / "people.csv", 30, notes=True)
    with people.open("a", encoding="utf-8") as handle:
        handle.write(",,,,,just a note about nobody,\n")  # row 31: nobody to create
    report = tmp_path / "report"
    args = ["import", str(people), "--tag", "Spring import", "--report", str(report), "-q"]

    with pytest.raises(SystemExit) as first:
        main(args)
    assert first.value.code == 1  # one record rejected
    parts = assert_files_add_up(report, 31)
    assert len(parts["created"]) == 30
    assert [(r["row"], bool(r["reason"])) for r in parts["rejected"]] == [("31", True)]
    counts = box.app.store.counts() if box.app else {}
    assert counts["notes"] == len([i for i in range(30) if i % 7 == 0])
    everyone = dex_contacts(box)
    assert all("Spring import" in {t.name for t in c.tags or []} for c in everyone)
    tagged = [c for c in everyone if "friends" in {t.name for t in c.tags or []}]
    assert len(tagged) == 6

    # The same command again: a new run (the first finished) that creates nobody and
    # adds no note twice; still exit 1 for the same rejected row.
    with pytest.raises(SystemExit) as again:
        main(args)
    assert again.value.code == 1
    parts = assert_files_add_up(report, 31)
    assert len(parts["created"]) == 0 and len(parts["unchanged"]) == 30
    assert box.app.store.counts()["notes"] == counts["notes"] if box.app else False
    assert dex.count() == 30

    with pytest.raises(SystemExit) as missing:
        main(["import", str(tmp_path / "nope.csv"), "--report", str(report)])
    assert missing.value.code == 2


def test_a_chunk_refused_with_400_is_bisected_to_the_bad_records(
    tmp_path: Path, dex_for: Callable[..., tuple[Sandbox, dexio.Dex]]
) -> None:
    _, dex = dex_for()
    records = [
        {
            "source": "people.csv",
            "row": i,
            "full_name": f"Person {i}",
            "emails": [{"email": f"p{i}@example.org", "label": None, "ranking": 1}],
            # Dex refuses a date that does not exist; the reader and normalizer are
            # bypassed here on purpose so the bad value reaches the wire.
            "birthday": "1990-02-30" if i in (17, 70) else "1990-02-03",
        }
        for i in range(1, 101)
    ]
    planned = plan(from_records(records), None)
    with Ledger(tmp_path) as ledger:
        run = ledger.start_run("fp", items_from_plan(planned))
        stats = upload(
            ledger, run, DexDestination(dex), since=time.time(), batch_size=100, quiet=True
        )
        items = ledger.items(run)
    assert stats.created == 98 and stats.failed == 2
    # 1 chunk, halves down to the two bad records: far fewer requests than one per record.
    assert stats.requests <= 2 * 2 * 7 + 1
    failed = items.filter(pl.col("state") == "failed")
    assert failed["row"].to_list() == [17, 70]
    assert all("birthday" in r and "not a date" in r for r in failed["reason"])
    assert failed["field"].to_list() == ["birthday", "birthday"]
    assert dex.count() == 98


def test_faults_every_contact_lands_exactly_once(
    tmp_path: Path, dex_for: Callable[..., tuple[Sandbox, dexio.Dex]]
) -> None:
    box, dex = dex_for(fail_rate=0.1, rate_limit=20, drop_after_commit=0.05, seed=7)
    people = write_people(tmp_path / "people.csv", 200, notes=True)
    result = import_files(
        people, dex=dex, batch_size=10, concurrency=4, report_dir=tmp_path / "r", quiet=True
    )
    parts = assert_files_add_up(tmp_path / "r", 200)
    assert result.counts["created"] == 200, parts["rejected"][:3]
    box.faults.fail_rate = box.faults.drop_after_commit = 0.0
    box.faults.rate_limit = None
    emails = Counter(e.email for c in dex_contacts(box) for e in c.contact_emails or [])
    assert len(emails) == 200 and max(emails.values()) == 1
    assert {r["dest_id"] for r in parts["created"]} == {c.id for c in dex_contacts(box)}
    stats = box.app.stats.snapshot() if box.app else {}
    assert stats  # the sandbox did inject faults during the run
    assert box.app is not None and box.app.store.counts()["notes"] == 200 // 7 + 1


def test_an_upload_read_from_the_ledger_in_pages_lands_everyone_once(
    tmp_path: Path,
    dex_for: Callable[..., tuple[Sandbox, dexio.Dex]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of 7 items (and of 7 rows when the report reads the ledger) under faults:
    retried chunks go out in a later sweep, follow-ups are journaled and sent page by page,
    and nothing is lost or sent twice."""
    monkeypatch.setattr(upload_module, "PAGE_ROWS", 7)
    monkeypatch.setattr(ledger_module, "PAGE_ROWS", 7)
    box, dex = dex_for(fail_rate=0.1, drop_after_commit=0.05, seed=3)
    people = write_people(tmp_path / "people.csv", 60, notes=True)
    result = import_files(
        people, dex=dex, batch_size=4, concurrency=2, tags=["Paged"],
        report_dir=tmp_path / "r", quiet=True,
    )  # fmt: skip
    parts = assert_files_add_up(tmp_path / "r", 60)
    assert result.counts["created"] == 60, parts["rejected"][:3]
    box.faults.fail_rate = box.faults.drop_after_commit = 0.0
    everyone = dex_contacts(box)
    emails = Counter(e.email for c in everyone for e in c.contact_emails or [])
    assert len(emails) == 60 and max(emails.values()) == 1
    assert all("Paged" in {t.name for t in c.tags or []} for c in everyone)
    assert len([c for c in everyone if "friends" in {t.name for t in c.tags or []}]) == 12
    assert box.app is not None and box.app.store.counts()["notes"] == 60 // 7 + 1


def _serve(tmp_path: Path, db: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp_path / f"port-{time.monotonic_ns()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "dexio", "sandbox", "serve", "--port", "0", "--db", str(db),
         "--port-file", str(port_file), *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 20
    while not (port_file.exists() and port_file.read_text().strip()):
        assert time.monotonic() < deadline, "sandbox did not start"
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def _done(ledger_file: Path) -> int:
    if not ledger_file.exists():
        return 0
    try:
        with sqlite3.connect(ledger_file, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM items WHERE state = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def _signal_midway(
    command: list[str], env: dict[str, str], ledger_file: Path, n: int, sig: int
) -> subprocess.Popen[bytes]:
    """Start the import and send ``sig`` once a fifth of it is acknowledged (some contacts
    landed, others not yet sent); returns the process, not yet waited for."""
    victim = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while _done(ledger_file) < n // 5:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "import made no progress"
        time.sleep(0.02)
    victim.send_signal(sig)
    return victim


@pytest.mark.slow
def test_killed_with_sigkill_and_rerun_lands_everyone_once(tmp_path: Path) -> None:
    n = 5000
    people = write_people(tmp_path / "people.csv", n)
    db = tmp_path / "dex.sqlite"
    server, base_url = _serve(tmp_path, db, "--latency", "0.02")
    report = tmp_path / "report"
    env = {
        **os.environ,
        "DEX_BASE_URL": base_url,
        "DEX_API_KEY": "dex_sandbox_key",
        "PYTHONUNBUFFERED": "1",
    }
    command = [sys.executable, "-m", "dexio", "import", str(people), "--report", str(report),
               "--batch-size", "100", "-q"]  # fmt: skip
    try:
        victim = _signal_midway(command, env, report / "ledger.sqlite", n, signal.SIGKILL)
        victim.wait(timeout=10)
        assert victim.returncode == -signal.SIGKILL
        assert _done(report / "ledger.sqlite") < n

        rerun = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=10)

    summary = json.loads((report / "summary.json").read_text())
    assert summary["resumed"] is True and summary["counts"]["created"] == n
    assert_files_add_up(report, n)
    with embedded(db=db) as box:
        contacts = dex_contacts(box)
    emails = Counter(e.email for c in contacts for e in c.contact_emails or [])
    assert len(contacts) == n
    assert len(emails) == n and max(emails.values()) == 1


@pytest.mark.slow
def test_ctrl_c_stops_cleanly_with_exit_130_and_the_same_command_resumes(tmp_path: Path) -> None:
    n = 400
    people = write_people(tmp_path / "people.csv", n)
    db = tmp_path / "dex.sqlite"
    server, base_url = _serve(tmp_path, db, "--latency", "0.05")
    report = tmp_path / "report"
    env = {**os.environ, "DEX_BASE_URL": base_url, "DEX_API_KEY": "dex_sandbox_key"}
    command = [sys.executable, "-m", "dexio", "import", str(people), "--report", str(report),
               "--batch-size", "10", "-q"]  # fmt: skip
    try:
        victim = _signal_midway(command, env, report / "ledger.sqlite", n, signal.SIGINT)
        _, stderr = victim.communicate(timeout=30)
        assert victim.returncode == 130, stderr.decode()[-2000:]
        assert b"Traceback" not in stderr
        assert b"run the same command" in stderr and str(report).encode() in stderr
        # Ctrl-C settles what was in flight: nothing is left "sent" without an answer.
        with sqlite3.connect(report / "ledger.sqlite") as ledger:
            states = dict(ledger.execute("SELECT state, COUNT(*) FROM items GROUP BY state"))
        assert states.get("sent", 0) == 0 and 0 < states["done"] < n

        rerun = subprocess.run(command, env=env, capture_output=True, timeout=120)
        assert rerun.returncode == 0, rerun.stderr.decode()[-2000:]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert_files_add_up(report, n)
    with embedded(db=db) as box:
        emails = Counter(e.email for c in dex_contacts(box) for e in c.contact_emails or [])
    assert len(emails) == n and max(emails.values()) == 1


def test_update_appends_to_dex_lists_and_keeps_a_before_image(
    tmp_path: Path, dex_for: Callable[..., tuple[Sandbox, dexio.Dex]]
) -> None:
    _, dex = dex_for()
    (old,) = dex.create_chunk(
        [
            {
                "first_name": "Ana",
                "last_name": "Lima",
                "company": "Old Co",
                "contact_emails": [{"email": "ana@lima.example", "label": "home", "ranking": 1}],
            }
        ]
    )
    people = tmp_path / "people.csv"
    people.write_text(
        "First Name,Last Name,Email,Work Email,Company,Job Title,Notes\n"
        "Ana,Lima,ANA@lima.example,ana.lima@newco.example,New Co,CTO,Prefers mornings\n",
        encoding="utf-8",
    )
    result = import_files(people, dex=dex, report_dir=tmp_path / "r", quiet=True)
    assert result.counts["updated"] == 1 and result.ok
    (row,) = read_csv(tmp_path / "r" / "updated.csv")
    assert row["dest_id"] == old.id and "job_title" in row["reason"]

    now = dex.get_contact(old.id)
    assert now.company == "Old Co"  # not overwritten without --overwrite
    assert now.job_title == "CTO"
    assert [(e.email, e.label) for e in now.contact_emails or []] == [
        ("ana@lima.example", "home"),
        ("ana.lima@newco.example", "work"),
    ]
    assert [n.note for n in dex.iter_notes(old.id)] == ["Prefers mornings"]
    with Ledger(tmp_path / "r") as ledger:
        image = ledger.before_images(str(result.run_id))[old.id]
    assert image["company"] == "Old Co" and "job_title" not in image
    assert [e["email"] for e in image["contact_emails"]] == ["ana@lima.example"]

    again = import_files(people, dex=dex, report_dir=tmp_path / "r2", quiet=True)
    assert again.counts["unchanged"] == 1  # the note and the email are there now
    assert len(list(dex.iter_notes(old.id))) == 1
