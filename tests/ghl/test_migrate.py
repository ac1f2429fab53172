"""``dexio migrate`` from the GoHighLevel and Whautomate emulators into a Dex sandbox."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from dexio.dex import Dex
from dexio.ghl.models import ContactIn
from dexio.http import RetryPolicy
from dexio.migrate import migrate
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
