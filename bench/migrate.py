"""Benchmark ``dexio migrate --from ghl --to dex`` on emulators: first run, re-run, edits.

A GoHighLevel emulator holding N invented contacts (10% repeat an earlier email or phone;
one note, one task and two tags each; several search pages) is migrated into a Dex sandbox
that rate limits and fails on purpose. Then the same migration runs again (must create
nobody), 5 contacts are edited in GoHighLevel, and it runs a third time (must update 5).
The GoHighLevel client paces itself to the published 100 requests / 10 s, and the emulator
enforces that limit, so the 429 count shows whether pacing works.

    python bench/migrate.py --contacts 2000 --dex-rate-limit 20 --fail-rate 0.1

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--dex-rate-limit", type=float, default=20.0)
    parser.add_argument("--fail-rate", type=float, default=0.1)
    args = parser.parse_args()
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
        dex = Dex(api_key=dex_box.api_key, base_url=dex_box.base_url)
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
    target = Path(__file__).parent / "out" / "migrate.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
