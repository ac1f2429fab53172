"""``dexio migrate`` from the GoHighLevel and Whautomate emulators into a Dex sandbox."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from dexio.dex import Dex
from dexio.ghl.models import ContactIn
from dexio.http import RetryPolicy
from dexio.migrate import _read_dex, migrate
from dexio.sandbox import Sandbox, embedded
from dexio.sandbox.whautomate import seed_file as seed_whautomate
from dexio.whautomate import Whautomate

from .conftest import SAMPLE, GhlServer, generated_location

Start = Callable[..., GhlServer]
FAST = RetryPolicy(base_delay=0.05, max_delay=1.0, max_total_seconds=60.0)
BUCKETS = ("created", "updated", "merged", "unchanged", "rejected")
WA_SAMPLE = Path(__file__).parents[2] / "samples" / "whautomate" / "account.json"


def _rows(folder: Path) -> int:
    total = 0
    for bucket in BUCKETS:
        with (folder / f"{bucket}.csv").open(newline="", encoding="utf-8") as handle:
            total += sum(1 for _ in csv.DictReader(handle))
    return total


def _dex(sandbox: Sandbox) -> Dex:
    return Dex(api_key=sandbox.api_key, base_url=sandbox.base_url, policy=FAST)


@pytest.mark.slow
def test_ghl_to_dex_lands_everyone_once_then_reruns_are_incremental(
    ghl_server: Start, dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    source = ghl_server(generated_location(60, duplicate_every=10))
    target = dex_sandbox(fail_rate=0.1, seed=4)
    report = tmp_path / "report"
    with source.client() as ghl, _dex(target) as dex:
        first = migrate("ghl", dex=dex, ghl=ghl, report_dir=report, quiet=True)
        assert first.counts["created"] + first.counts["merged"] == 60
        assert first.counts["merged"] == 5  # every 10th contact repeats an email or phone
        assert _rows(report) == 60  # the result files add up to the source
        people = list(dex.iter_contacts())
        assert len(people) == first.counts["created"] == 55
        assert len(list(dex.iter_notes())) == 60  # merged people keep their notes
        assert len(list(dex.iter_reminders())) == 60  # GHL tasks -> Dex reminders
        assert target.stats()["server_errors"] > 0

        second = migrate("ghl", dex=dex, ghl=ghl, report_dir=report, quiet=True)
        assert second.counts["created"] == 0 and second.counts["updated"] == 0
        assert second.summary["read"]["carried_unchanged"] == 55  # notes/tasks not re-read

        for contact in list(ghl.iter_contacts())[:5]:
            ghl.update_contact(contact.id, ContactIn(companyName="Edited Co"))
        third = migrate("ghl", dex=dex, ghl=ghl, report_dir=report, quiet=True)
        assert third.counts["updated"] == 5 and third.counts["created"] == 0
        edited = [c for c in dex.iter_contacts() if c.company == "Edited Co"]
        assert len(edited) == 5
        assert len(list(dex.iter_contacts())) == 55


def test_dry_run_plans_and_sends_nothing(
    ghl_server: Start, dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    source = ghl_server()
    target = dex_sandbox()
    with source.client() as ghl, _dex(target) as dex:
        result = migrate("ghl", dex=dex, ghl=ghl, report_dir=tmp_path / "r", dry_run=True)
        assert result.counts["created"] == 9 and result.counts["merged"] == 1
        assert dex.count() == 0


def test_whautomate_contacts_and_clients_to_dex(
    dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    db = tmp_path / "wa.sqlite"
    seed_whautomate(db, WA_SAMPLE)
    with embedded(db=db, api="whautomate") as box, _dex(dex_sandbox()) as dex:
        wa = Whautomate(api_key=box.api_key, host=box.base_url, policy=FAST)
        first = migrate("whautomate", dex=dex, whautomate=wa, report_dir=tmp_path / "r")
        # Siti is a contact and a client with the same phone: one person in Dex
        assert first.counts == {
            "created": 8,
            "updated": 0,
            "merged": 1,
            "unchanged": 0,
            "rejected": 0,
        }
        siti = [c for c in dex.iter_contacts() if c.full_name == "Siti Rahmawati"]
        assert len(siti) == 1
        assert [e.email for e in siti[0].contact_emails or []] == ["siti.rahmawati@example.co.id"]
        again = migrate("whautomate", dex=dex, whautomate=wa, report_dir=tmp_path / "r")
        assert again.counts["created"] == 0 and again.counts["updated"] == 0
        wa.close()


@pytest.mark.slow
def test_cli_migrates_the_seeded_sandbox_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    for key in ("DEX_API_KEY", "GHL_TOKEN", "GHL_LOCATION_ID"):
        env.pop(key, None)

    def dexio(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dexio", *args],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            timeout=120,
        )

    seeded = dexio("sandbox", "seed", "--api", "ghl", str(SAMPLE))
    assert seeded.returncode == 0, seeded.stderr
    assert "GHL_LOCATION_ID=Xq3pLm8RtV2nK7sWdE4a" in seeded.stdout
    run = dexio("migrate", "--from", "ghl", "--to", "dex", "--sandbox", "--report", "r")
    assert run.returncode == 0, run.stderr
    assert _rows(tmp_path / "r") == 10
    assert "Traceback" not in run.stderr


def _held(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """What both Dex and GoHighLevel hold, per person, in a comparable shape."""
    rows = []
    for r in frame.sort("full_name").iter_rows(named=True):
        rows.append(
            (
                r["first_name"],
                r["last_name"],
                r["company"],
                r["website"],
                r["birthday"],
                (r["emails"] or [{}])[0].get("email", "").lower() if r["emails"] else None,
                r["phones"][0]["phone_number_sanitized"] if r["phones"] else None,
                sorted(r["tags"] or []),
                sorted(n["body"] for n in r["notes"] or []),
                sorted((m["text"], m["due_date"], m["is_complete"]) for m in r["reminders"] or []),
            )
        )
    return rows


def test_dex_to_ghl_to_dex_keeps_what_both_can_hold(
    ghl_server: Start, dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sample, empty = ghl_server(), ghl_server(None)
    with (
        sample.client() as src,
        empty.client() as middle,
        _dex(dex_sandbox()) as first_dex,
        _dex(dex_sandbox()) as second_dex,
    ):
        migrate("ghl", dex=first_dex, ghl=src, report_dir=tmp_path / "a", quiet=True)
        there = migrate("dex", "ghl", dex=first_dex, ghl=middle, report_dir=tmp_path / "b")
        assert there.counts["created"] == 9 and there.counts["rejected"] == 0
        assert there.summary["not_held_by_destination"]["emails"] == 2  # second emails
        again = migrate("dex", "ghl", dex=first_dex, ghl=middle, report_dir=tmp_path / "b")
        assert again.counts["created"] == 0 and again.counts["updated"] == 0
        back = migrate("ghl", dex=second_dex, ghl=middle, report_dir=tmp_path / "c", quiet=True)
        assert back.counts["created"] == 9
        before, after = _read_dex(first_dex).frame, _read_dex(second_dex).frame
    assert _held(after) == _held(before)


def test_dex_to_whautomate_rejects_phoneless_contacts_with_a_reason(
    ghl_server: Start, dex_sandbox: Callable[..., Sandbox], tmp_path: Path
) -> None:
    sample = ghl_server()
    with (
        sample.client() as src,
        _dex(dex_sandbox()) as dex,
        embedded(db=tmp_path / "wa.sqlite", api="whautomate") as box,
    ):
        migrate("ghl", dex=dex, ghl=src, report_dir=tmp_path / "a", quiet=True)
        wa = Whautomate(api_key=box.api_key, host=box.base_url, location_id="loc_main", policy=FAST)
        result = migrate("dex", "whautomate", dex=dex, whautomate=wa, report_dir=tmp_path / "b")
        assert result.counts["created"] == 7 and result.counts["rejected"] == 2
        assert result.exit_code == 1
        with (tmp_path / "b" / "rejected.csv").open(encoding="utf-8") as handle:
            reasons = {r["full_name"]: r["reason"] for r in csv.DictReader(handle)}
        assert reasons == {
            "Aiyana Redcloud": "no phone number: a Whautomate contact needs one",
            "Olumide Adeyemi": "no phone number: a Whautomate contact needs one",
        }
        lost = result.summary["not_held_by_destination"]
        assert lost["emails"] == 6 and lost["reminders"] >= 1 and lost["company"] >= 1
        again = migrate("dex", "whautomate", dex=dex, whautomate=wa, report_dir=tmp_path / "b")
        assert (again.counts["created"], again.counts["updated"]) == (0, 0)
        maren = next(c for c in wa.iter_contacts() if c.name == "Maren Okafor")
        assert maren.phoneNumber == "+14155550142"
        assert sorted(maren.tags) == ["knee rehab", "vip"]
        assert "First assessment" in (maren.notes or "") and "group classes" in (maren.notes or "")
        wa.close()
