"""Benchmark dexio.export: contacts/s and peak memory, from a summaries-only sandbox.

    python bench/export.py                                # 10,000 and 100,000; jsonl and csv
    python bench/export.py --sizes 2000,20000 --formats jsonl,csv,xlsx,vcf,parquet

For each size an account is seeded straight into a sandbox SQLite file (bench/out/, kept
and reused), then served by ``dexio sandbox serve --list-summaries`` in a child process:
the listing returns only names, so every contact is also fetched by id, as with the real
Dex. Each export runs in a fresh child process that reports its own peak RSS
(``resource.getrusage``), so neither the server nor an earlier run is counted. Streaming
means the peak at the largest size must stay within 1.5x of the peak at the smallest.
Prints a table and writes bench/out/export.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"
FIRST = ["Ana", "Priya", "Tomás", "Wei", "Olu", "Sean", "Marta", "Jonas", "Aiko", "Lena"]
LAST = ["López", "Raman", "de la Vega", "Chen", "Okafor", "O'Neil", "Nowak", "van Dijk", "Sato"]
COMPANIES = ["Acme", "Initech", "Globex", "Umbrella", "Hooli", "Vandelay", "Stark", None]


def _contact(n: int) -> dict[str, Any]:
    """One invented contact as a ``POST /v1/contacts`` item, about the size of a real one."""
    first, last = FIRST[n % len(FIRST)], LAST[(n // 7) % len(LAST)]
    item: dict[str, Any] = {
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "company": COMPANIES[n % len(COMPANIES)],
        "job_title": "Engineer" if n % 3 else "Founder",
        "description": f"Met at meetup #{n % 97}; follow up about the {n % 13} proposals.",
        "linkedin": f"member{n}",
        "contact_emails": [
            {"email": f"user.{n}@mail{n % 97}.example.com", "label": "personal", "ranking": 1},
            {"email": f"u{n}@work{n % 31}.example.org", "label": "work", "ranking": 2},
        ],
        "contact_phone_numbers": [
            {"phone_number": f"+447911{n:06d}", "label": "mobile", "ranking": 1},
        ],
    }
    if n % 4 == 0:
        item["birthday"] = f"{1960 + n % 40}-{1 + n % 12:02d}-{1 + n % 28:02d}"
    return {k: v for k, v in item.items() if v is not None}


def seed(size: int) -> Path:
    """A sandbox database holding ``size`` contacts (made once, reused by later runs)."""
    from dexio.sandbox.store import DexStore

    db = OUT / f"export-sandbox-{size}.sqlite"
    store = DexStore(db)
    try:
        have = store.counts()["contacts"]
        if have != size:
            store.reset()
            for start in range(0, size, 2000):
                store.create_contacts([_contact(n) for n in range(start, min(size, start + 2000))])
    finally:
        store.close()
    return db


def child(fmt: str, size: int, concurrency: int) -> None:
    """Run one export (in a fresh process) and print its measurements as JSON."""
    import dexio
    from dexio.dex import Dex

    out = OUT / f"export-{size}.{fmt}"
    started = time.perf_counter()
    with Dex(concurrency=concurrency) as dex:
        result = dexio.export(out, dex=dex, force=True, progress=False, page_size=100)
        requests = dex.stats.get("requests", 0)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "format": fmt,
                "size": size,
                "contacts": result.contacts,
                "seconds": round(seconds, 2),
                "contacts_per_s": round(result.contacts / seconds, 1),
                "peak_rss_mb": round(peak_mb, 1),
                "requests": requests,
                "file_mb": round(out.stat().st_size / 2**20, 1),
            }
        )
    )
    out.unlink()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated sizes")
    parser.add_argument("--formats", default="jsonl,csv", help="comma-separated formats")
    parser.add_argument("--concurrency", type=int, default=4, help="parallel GETs by id")
    parser.add_argument("--child", nargs=2, metavar=("FORMAT", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    if args.child:
        child(args.child[0], int(args.child[1]), args.concurrency)
        return 0

    from dexio.sandbox import spawn

    sizes = [int(s) for s in args.sizes.split(",")]
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    runs: list[dict[str, Any]] = []
    for size in sizes:
        t = time.perf_counter()
        db = seed(size)
        print(f"seeded {size:,} contacts in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        with spawn(db, list_summaries=True) as box:
            env = {
                **os.environ,
                "DEX_BASE_URL": box.base_url,
                "DEX_API_KEY": box.api_key.reveal(),
            }
            for fmt in formats:
                command = [sys.executable, __file__, "--child", fmt, str(size)]
                command += ["--concurrency", str(args.concurrency)]
                done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
                if done.returncode != 0:
                    print(done.stderr, file=sys.stderr)
                    return 1
                run = json.loads(done.stdout.strip().splitlines()[-1])
                runs.append(run)
                print(
                    f"  {fmt:8} {size:>9,}  {run['contacts_per_s']:>9,.0f}/s  "
                    f"{run['peak_rss_mb']:>7.1f} MB",
                    file=sys.stderr,
                )

    small, large = min(sizes), max(sizes)
    ratios = {}
    print(f"\n{'format':8} {'contacts':>9} {'seconds':>8} {'contacts/s':>11} {'peak RSS':>10}")
    for run in runs:
        print(
            f"{run['format']:8} {run['size']:>9,} {run['seconds']:>8.1f} "
            f"{run['contacts_per_s']:>11,.0f} {run['peak_rss_mb']:>7.1f} MB"
        )
    for fmt in formats:
        peak = {r["size"]: r["peak_rss_mb"] for r in runs if r["format"] == fmt}
        if small != large:
            ratios[fmt] = round(peak[large] / peak[small], 3)
            verdict = "ok" if ratios[fmt] <= 1.5 else "OVER 1.5x"
            print(f"peak RSS {large:,} / {small:,} ({fmt}): {ratios[fmt]:.2f}x  {verdict}")
    report = {
        "sizes": sizes,
        "formats": formats,
        "concurrency": args.concurrency,
        "list_summaries": True,
        "runs": runs,
        "rss_ratio_large_over_small": ratios,
    }
    (OUT / "export.json").write_text(json.dumps(report, indent=2))
    print(f"\nwrote {OUT / 'export.json'}")
    return 0 if all(r <= 1.5 for r in ratios.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
