"""Benchmark `dexio import`: N generated contacts into a sandbox with 20 ms latency.

Two runs side by side, each into a fresh sandbox served by its own process (as a user's
machine would talk to Dex): one without a rate limit (what the pipeline itself can do) and
one with the sandbox enforcing ``--rate-limit R`` requests/s (how close the upload comes
to the limit without a 429 storm). Prints a table and writes bench/out/import.json.

    python bench/import.py                    # 100,000 rows, latency 20 ms, limit 50/s
    python bench/import.py --rows 20000 --rate-limit 20
    python bench/import.py --rows 5000 --rate-limit 20 --unpaced   # adaptive pacing vs none
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import dexio
from dexio.http import Pacer

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def serve(folder: Path, *flags: str) -> tuple[subprocess.Popen[bytes], str]:
    port_file = folder / f"port-{time.monotonic_ns()}"
    server = subprocess.Popen(
        [sys.executable, "-m", "dexio", "sandbox", "serve", "--port", "0",
         "--db", str(folder / f"dex-{time.monotonic_ns()}.sqlite"),
         "--port-file", str(port_file), *flags],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not (port_file.exists() and port_file.read_text().strip()):
        if time.monotonic() > deadline:
            server.kill()
            raise SystemExit("the sandbox did not start")
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def run(
    source: Path,
    folder: Path,
    name: str,
    flags: list[str],
    args: argparse.Namespace,
    *,
    adaptive: bool = True,
) -> dict[str, Any]:
    server, base_url = serve(folder, *flags)
    try:
        with dexio.Dex(
            api_key="dex_sandbox_key",
            base_url=base_url,
            concurrency=args.concurrency,
            pacer=Pacer(adaptive=adaptive),
        ) as dex:
            started = time.perf_counter()
            result = dexio.import_files(
                source,
                dex=dex,
                report_dir=folder / f"report-{name}",
                batch_size=args.batch_size,
                concurrency=args.concurrency,
                quiet=True,
            )
            total = time.perf_counter() - started
            held = dex.count()
            stats = dex.stats
    finally:
        server.terminate()
        server.wait(timeout=10)
    upload = result.summary["upload"]
    landed = result.counts["created"] + result.counts["updated"]
    return {
        "name": name,
        "sandbox_flags": flags,
        "input_records": result.input_records,
        "counts": result.counts,
        "contacts_in_sandbox": held,
        "total_s": round(total, 2),
        "upload_s": upload["seconds"],
        "prepare_s": round(total - upload["seconds"], 2),
        "contacts_per_s_upload": round(landed / upload["seconds"], 1),
        "contacts_per_s_total": round(landed / total, 1),
        "requests": stats.get("requests"),
        "upload_requests": upload["requests"],
        "upload_requests_per_s": round(upload["requests"] / upload["seconds"], 1),
        "requests_per_s_whole_run": round((stats.get("requests") or 0) / total, 1),
        "retries": stats.get("retries"),
        "rate_limited_429": stats.get("rate_limited", stats.get("429")),
        "client_stats": stats,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rate-limit", type=float, default=50.0)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--unpaced",
        action="store_true",
        help="also run against the rate limit without adaptive pacing (the client before it)",
    )
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    source = OUT / f"import-{args.rows}.csv"
    if not source.exists():
        subprocess.run(
            [sys.executable, str(HERE / "generate.py"), "--rows", str(args.rows),
             "--dup-rate", "0.1", "--seed", str(args.seed), "-o", str(source)],
            check=True,
        )  # fmt: skip
    latency = ["--latency", str(args.latency)]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        free = run(source, folder, "no rate limit", latency, args)
        limited = run(
            source, folder, "rate limited", [*latency, "--rate-limit", str(args.rate_limit)], args
        )
        unpaced = (
            [
                run(
                    source,
                    folder,
                    "rate limited, unpaced",
                    [*latency, "--rate-limit", str(args.rate_limit)],
                    args,
                    adaptive=False,
                )
            ]
            if args.unpaced
            else []
        )
    limited["rate_limit_per_s"] = args.rate_limit
    # Closeness to the limit is measured while uploading (the read/normalize/dedupe phase
    # sends only the by-email lookups).
    limited["share_of_rate_limit"] = round(limited["upload_requests_per_s"] / args.rate_limit, 3)

    table = Table(
        title=f"dexio import: {args.rows:,} rows, sandbox latency {args.latency * 1000:.0f} ms"
    )
    for column in ("run", "created", "merged", "total s", "prepare s", "upload s",
                   "contacts/s (upload)", "requests", "upload req/s", "429s"):  # fmt: skip
        table.add_column(column, justify="right")
    for r in (free, limited, *unpaced):
        table.add_row(
            r["name"],
            f"{r['counts']['created']:,}",
            f"{r['counts']['merged']:,}",
            f"{r['total_s']:.1f}",
            f"{r['prepare_s']:.1f}",
            f"{r['upload_s']:.1f}",
            f"{r['contacts_per_s_upload']:,.0f}",
            f"{r['requests']:,}",
            f"{r['upload_requests_per_s']:.1f}",
            str(r["rate_limited_429"]),
        )
    console = Console(width=150)
    console.print(table)
    console.print(
        f"rate limited run: {limited['upload_requests_per_s']:.1f} requests/s while uploading, "
        "against a "
        f"limit of {args.rate_limit:g}/s = {limited['share_of_rate_limit']:.0%} of the limit; "
        f"slowdown vs unlimited {limited['total_s'] / free['total_s']:.2f}x"
    )
    out = OUT / "import.json"
    out.write_text(
        json.dumps({"args": vars(args), "runs": [free, limited, *unpaced]}, indent=2) + "\n"
    )
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
