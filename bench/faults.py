"""The fault matrix: `dexio import` against a sandbox process under each kind of failure,
resumed until it finishes; prints nobody-missing / nobody-twice per scenario.

    python bench/faults.py [--contacts 2000] [--only NAME-SUBSTRING]

Writes bench/out/faults.json. The scenarios live in tests/reliability/faultmatrix.py
(the test suite runs three of them with 300 contacts).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.faultmatrix import MATRIX, run  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    rows = []
    header = ("scenario", "runs", "exit codes", "created", "in Dex", "missing", "twice",
              "files add up", "429s", "5xx", "dropped", "restarts", "seconds")  # fmt: skip
    print(" | ".join(header))
    print("|".join("---" for _ in header))
    folder = ROOT / "bench" / "out" / "faults-work"  # kept: each run's log is there
    shutil.rmtree(folder, ignore_errors=True)
    for i, scenario in enumerate(MATRIX):
        if args.only and args.only not in scenario.name:
            continue
        outcome = run(Path(folder) / str(i), scenario, args.contacts)
        rows.append({**asdict(outcome), "ok": outcome.ok})
        got = outcome.injected
        print(" | ".join(str(v) for v in (
            outcome.scenario, outcome.runs, ",".join(map(str, outcome.exit_codes)),
            outcome.created, outcome.in_dex, outcome.missing, outcome.twice,
            "yes" if outcome.files_add_up else "NO", got.get("rate_limited", 0),
            got.get("server_errors", 0), got.get("dropped", 0),
            got.get("server_restarts", 0), outcome.seconds,
        )), flush=True)  # fmt: skip
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / "faults.json").write_text(
        json.dumps({"contacts": args.contacts, "rows": rows}, indent=2)
    )
    for row in rows:
        for note in row["notes"]:
            print(f"\n{row['scenario']}: {note}")
    failed = [r["scenario"] for r in rows if not r["ok"]]
    print(f"\n{len(rows) - len(failed)}/{len(rows)} scenarios: nobody missing, nobody twice.")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
