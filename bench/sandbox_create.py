"""Create N contacts through ``Dex.create_contacts`` against a misbehaving sandbox; count them.

    python bench/sandbox_create.py                       # 1,000 at --rate-limit 5 --fail-rate 0.2
    python bench/sandbox_create.py --count 5000 --concurrency 1,4,8 --repeat 3
    python bench/sandbox_create.py --base-url http://127.0.0.1:8765/v1   # a running
        # `dexio sandbox serve --rate-limit 5 --fail-rate 0.2` (key from DEX_API_KEY); one run

Each run starts an embedded sandbox on a fresh SQLite file with the given faults (the 5xx
are injected before the sandbox writes, so the client's retries are safe), creates the
contacts, and checks the sandbox then holds exactly that many: no loss, no duplicate.
Prints a table (median of the repeats per concurrency, side by side) and writes
bench/out/sandbox_create.json. Exits 1 if any run ends with the wrong count.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dexio.dex import Dex
from dexio.sandbox import embedded

OUT = Path(__file__).resolve().parent / "out"


def contacts(n: int) -> list[dict[str, Any]]:
    """Invented people, one work email each."""
    return [
        {
            "first_name": f"Test{i}",
            "last_name": "Person",
            "full_name": f"Test{i} Person",
            "contact_emails": [{"email": f"test{i}@example.org", "label": "work", "ranking": 1}],
        }
        for i in range(n)
    ]


def run_once(dex: Dex, count: int, chunk_size: int) -> dict[str, Any]:
    started = time.perf_counter()
    created = dex.create_contacts(contacts(count), chunk_size=chunk_size)
    seconds = time.perf_counter() - started
    in_dex = dex.count()
    return {
        "seconds": seconds,
        "returned": len(created),
        "in_sandbox": in_dex,
        "ok": in_dex == count == len(created) == len({c.id for c in created}),
        **dex.stats,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate-limit", type=float, default=5.0)
    parser.add_argument("--fail-rate", type=float, default=0.2)
    parser.add_argument("--chunk-size", type=int, default=100)
    parser.add_argument("--concurrency", default="1,4", help="comma-separated values to compare")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--base-url", help="use a sandbox already running there instead")
    args = parser.parse_args(argv)
    levels = [int(x) for x in args.concurrency.split(",")]

    runs: list[dict[str, Any]] = []
    if args.base_url:
        with Dex(base_url=args.base_url, concurrency=levels[0]) as dex:
            before = dex.count()
            result = run_once(dex, args.count, args.chunk_size)
            result["in_sandbox"] -= before
            result["ok"] = result["in_sandbox"] == args.count == result["returned"]
            runs.append({"concurrency": levels[0], **result})
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for repeat in range(args.repeat):
                for level in levels:  # interleaved, so load changes hit every level alike
                    db = Path(tmp) / f"run-{repeat}-{level}.sqlite"
                    faults = {"rate_limit": args.rate_limit, "fail_rate": args.fail_rate}
                    with (
                        embedded(db=db, **faults) as box,
                        Dex(api_key=box.api_key, base_url=box.base_url, concurrency=level) as dex,
                    ):
                        runs.append(
                            {"concurrency": level, **run_once(dex, args.count, args.chunk_size)}
                        )

    table = Table(
        title=f"create {args.count} contacts, chunks of {args.chunk_size}, "
        f"sandbox --rate-limit {args.rate_limit:g} --fail-rate {args.fail_rate:g}"
    )
    for column in (
        "concurrency",
        "runs",
        "median s",
        "contacts/s",
        "requests",
        "retries",
        "429s",
        "count ok",
    ):
        table.add_column(column, justify="right")
    summary = []
    for level in levels:
        mine = [r for r in runs if r["concurrency"] == level]
        if not mine:
            continue
        median = statistics.median(r["seconds"] for r in mine)
        row = {
            "concurrency": level,
            "runs": len(mine),
            "median_seconds": round(median, 3),
            "contacts_per_second": round(args.count / median, 1),
            "median_requests": statistics.median(r["requests"] for r in mine),
            "median_retries": statistics.median(r["retries"] for r in mine),
            "median_rate_limited": statistics.median(r["rate_limited"] for r in mine),
            "all_counts_exact": all(r["ok"] for r in mine),
        }
        summary.append(row)
        table.add_row(
            str(level),
            str(len(mine)),
            f"{median:.2f}",
            f"{args.count / median:.0f}",
            f"{row['median_requests']:g}",
            f"{row['median_retries']:g}",
            f"{row['median_rate_limited']:g}",
            "yes" if row["all_counts_exact"] else "NO",
        )
    Console().print(table)
    if len(summary) > 1:
        base = summary[0]["median_seconds"]
        for row in summary[1:]:
            print(
                f"concurrency {row['concurrency']} vs {summary[0]['concurrency']}: "
                f"{base / row['median_seconds']:.2f}x"
            )

    OUT.mkdir(exist_ok=True)
    report = {"args": vars(args), "summary": summary, "runs": runs}
    (OUT / "sandbox_create.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0 if all(r["ok"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
