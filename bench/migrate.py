"""Benchmark ``dexio migrate --from ghl --to dex`` on emulators: first run, re-run, edits.

A GoHighLevel emulator holding N invented contacts (10% repeat an earlier email or phone;
one note, one task and two tags each; several search pages) is migrated into a Dex sandbox
that rate limits and fails on purpose. Then the same migration runs again (must create
nobody), 5 contacts are edited in GoHighLevel, and it runs a third time (must update 5).
The GoHighLevel client paces itself to the published 100 requests / 10 s, and the emulator
enforces that limit, so the 429 count shows whether pacing works.

    python bench/migrate.py --contacts 2000 --dex-rate-limit 20 --fail-rate 0.1
    python bench/migrate.py --contacts 300 --unpaced   # the Dex client without adaptive pacing

With ``--back`` it measures the way back instead: a Dex sandbox of N people (a note and a
reminder each) into an empty GoHighLevel emulator enforcing 100 requests / 10 s, counting
requests and 429s (bench/out/migrate-back.json).

Prints a table and writes bench/out/migrate.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from dexio.dex import Dex
from dexio.ghl import GoHighLevel
from dexio.ghl.models import ContactIn
from dexio.http import Pacer
from dexio.migrate import migrate
from dexio.sandbox import embedded
from dexio.sandbox.ghl import seed_file


def location(count: int) -> dict[str, Any]:
    contacts = []
    for i in range(count):
        contact: dict[str, Any] = {
            "id": f"bench{i:06d}",
            "firstName": f"Person{i}",
            "lastName": f"Family{i % 97}",
            "email": f"person{i}@example.com",
            "phone": f"+1415{i:07d}",
            "tags": ["bench", f"batch{i % 5}"],
            "dateAdded": f"2024-01-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
            "notes": [{"body": f"Note for person {i}"}],
            "tasks": [{"title": f"Call person {i}", "dueDate": "2024-09-01T00:00:00.000Z"}],
        }
        if i and i % 10 == 0:  # 10% duplicates, alternately by email and by phone
            if i % 20 == 0:
                contact["email"] = f"person{i - 1}@example.com"
            else:
                contact["phone"] = f"+1415{i - 1:07d}"
        contacts.append(contact)
    return {"location": {"id": "locBench0001"}, "contacts": contacts}


def back(count: int) -> None:
    """Dex -> GoHighLevel: a Dex sandbox holding ``count`` people (a note and a reminder
    each) migrated into an empty GHL emulator that enforces 100 requests / 10 s."""
    from dexio.http import bounded_map

    work = Path(tempfile.mkdtemp(prefix="dexio-bench-migrate-back-"))
    with (
        embedded(db=work / "dex.sqlite") as dex_box,
        embedded(db=work / "ghl.sqlite", api="ghl") as ghl_box,
    ):
        ghl_box.store.enforce = True
        dex = Dex(api_key=dex_box.api_key, base_url=dex_box.base_url, concurrency=8)
        people = [
            {
                "first_name": f"Back{i}",
                "last_name": f"Family{i % 89}",
                "contact_emails": [{"email": f"back{i}@example.org"}],
                "contact_phone_numbers": [{"phone_number": f"+1212{i:07d}"}],
                "company": f"Company {i % 40}",
            }
            for i in range(count)
        ]
        made = dex.create_contacts(people)
        bounded_map(lambda c: dex.create_note(c.id, f"Note about {c.first_name}"), made, 8)
        bounded_map(
            lambda c: dex.create_reminder(c.id, f"Call {c.first_name}", due_at_date="2025-05-01"),
            made,
            8,
        )
        ghl = GoHighLevel(token=ghl_box.api_key, location_id=ghl_box.store.store.location_id,
                          base_url=ghl_box.base_url)  # fmt: skip
        started = time.perf_counter()
        result = migrate("dex", "ghl", dex=dex, ghl=ghl, report_dir=work / "report", quiet=True)
        seconds = time.perf_counter() - started
        out = {
            "direction": "dex -> ghl",
            "contacts": count,
            "seconds": round(seconds, 1),
            "contacts_per_minute": round(count / seconds * 60, 1),
            **result.counts,
            "ghl_requests": ghl.stats["requests"],
            "ghl_429_seen_by_client": ghl.stats["rate_limited"],
            "ghl_emulator_429": ghl_box.stats().get("rate_limited"),
            "ghl_contacts": ghl_box.stats().get("contacts"),
            "ghl_notes": ghl_box.stats().get("notes"),
            "ghl_tasks": ghl_box.stats().get("tasks"),
        }
    print(" | ".join(out))
    print(" | ".join(str(v) for v in out.values()))
    target = Path(__file__).parent / "out" / "migrate-back.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--dex-rate-limit", type=float, default=20.0)
    parser.add_argument("--fail-rate", type=float, default=0.1)
    parser.add_argument("--back", action="store_true", help="measure Dex -> GoHighLevel")
    parser.add_argument(
        "--unpaced",
        action="store_true",
        help="Dex client without adaptive pacing (as before it); writes migrate-unpaced.json",
    )
    args = parser.parse_args()
    if args.back:
        back(args.contacts)
        return
    work = Path(tempfile.mkdtemp(prefix="dexio-bench-migrate-"))
    (work / "seed.json").write_text(json.dumps(location(args.contacts)))
    seed_file(work / "ghl.sqlite", work / "seed.json")
    rows: list[dict[str, Any]] = []
    with (
        embedded(db=work / "ghl.sqlite", api="ghl") as ghl_box,
        embedded(
            db=work / "dex.sqlite", rate_limit=args.dex_rate_limit, fail_rate=args.fail_rate, seed=1
        ) as dex_box,
    ):
        ghl_box.store.enforce = True  # GoHighLevel's own 100 requests / 10 s
        ghl = GoHighLevel(
            token=ghl_box.api_key, location_id="locBench0001", base_url=ghl_box.base_url
        )
        dex = Dex(
            api_key=dex_box.api_key,
            base_url=dex_box.base_url,
            pacer=Pacer(adaptive=not args.unpaced),
        )
        for step in ("first run", "re-run", "after 5 edits"):
            if step == "after 5 edits":
                for contact in list(ghl.iter_contacts())[:5]:
                    ghl.update_contact(contact.id, ContactIn(companyName="Edited Co"))
            before = ghl.stats
            started = time.perf_counter()
            result = migrate("ghl", dex=dex, ghl=ghl, report_dir=work / "report", quiet=True)
            seconds = time.perf_counter() - started
            after = ghl.stats
            rows.append(
                {
                    "step": step,
                    "seconds": round(seconds, 1),
                    "contacts_per_minute": round(args.contacts / seconds * 60, 1),
                    **result.counts,
                    "ghl_requests": after["requests"] - before["requests"],
                    "ghl_429": after["rate_limited"] - before["rate_limited"],
                    "dex_requests": result.stats.requests if result.stats else 0,
                }
            )
        sandbox_stats = dex_box.stats()
        ghl_stats = ghl_box.stats()
    out = {
        "contacts": args.contacts,
        "dex_rate_limit": args.dex_rate_limit,
        "fail_rate": args.fail_rate,
        "dex_adaptive_pacing": not args.unpaced,
        "runs": rows,
        "dex_sandbox": {
            k: sandbox_stats.get(k) for k in ("server_errors", "rate_limited", "contacts")
        },
        "ghl_emulator_429": ghl_stats.get("rate_limited"),
    }
    keys = list(rows[0])
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))
    print(json.dumps(out["dex_sandbox"]), "GHL emulator 429s:", out["ghl_emulator_429"])
    name = "migrate-unpaced.json" if args.unpaced else "migrate.json"
    target = Path(__file__).parent / "out" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
