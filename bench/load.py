"""Load: a large `dexio import` into a sandbox process with faults on.

Checks the accounting (every record in exactly one result file, Dex holds exactly the
created contacts, every e-mail once) and measures the import process's peak RSS
(getrusage of the child) and its throughput. Prints a table, writes bench/out/load.json.

    python bench/load.py                           # 1,000,000 contacts (~1 h on 2 cores)
    python bench/load.py --contacts 100000         # what fits in ~10 min here
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import polars as pl

import dexio
from dexio.sandbox import DEFAULT_API_KEY
from dexio.sandbox.server import fault_flags

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
sys.path.insert(0, str(ROOT))

from tests.reliability.accounting import result_files  # noqa: E402
from tests.reliability.faultmatrix import free_port  # noqa: E402


def write_people(path: Path, n: int) -> None:
    """``n`` distinct invented people (unique e-mail each), written by polars."""
    i = pl.col("i").cast(pl.String)
    # Names spelled from the digits (0 -> a ... 9 -> j): dedupe ignores digits in names.
    letters = i.str.replace_many(list("0123456789"), list("abcdefghij"))
    pl.DataFrame({"i": pl.int_range(0, n, eager=True)}).select(
        ("Lio" + letters).alias("First Name"),
        ("Brandt" + letters.str.reverse()).alias("Last Name"),
        ("lio" + i + "@load.example").alias("Email"),
        ("Firm " + (pl.col("i") % 5003).cast(pl.String)).alias("Company"),
        pl.when(pl.col("i") % 3 == 0)  # one distinct, valid New York number each
        .then("+1 212 " + (pl.col("i") + 2_000_000).cast(pl.String))
        .alias("Phone"),
    ).write_csv(path)


def run_child(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, int]:
    """Exit code, seconds and peak RSS in bytes of one child process."""
    started = time.monotonic()
    with log.open("wb") as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return child.returncode, time.monotonic() - started, usage.ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--fail-rate", type=float, default=0.02)
    parser.add_argument("--drop-after-commit", type=float, default=0.01)
    parser.add_argument("--rate-limit", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--folder", type=Path, default=OUT / "load-work")
    args = parser.parse_args()
    n = args.contacts
    folder: Path = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        if old.is_file():
            old.unlink()
    report = folder / "report"
    if report.exists():
        for old in report.glob("*"):
            old.unlink()
    people = folder / f"people-{n}.csv"
    write_people(people, n)
    faults = {"fail_rate": args.fail_rate, "drop_after_commit": args.drop_after_commit,
              "rate_limit": args.rate_limit, "seed": 1}  # fmt: skip
    port = free_port()
    port_file = folder / "port"
    server = subprocess.Popen(
        [sys.executable, "-m", "dexio", "sandbox", "serve", "--port", str(port),
         "--db", str(folder / "dex.sqlite"), "--port-file", str(port_file),
         *fault_flags(**faults)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    root = f"http://127.0.0.1:{port}"
    try:
        while not (port_file.exists() and port_file.read_text().strip()):
            time.sleep(0.05)
        env = {**os.environ, "DEX_BASE_URL": f"{root}/v1", "DEX_API_KEY": DEFAULT_API_KEY}
        command = [sys.executable, "-m", "dexio", "import", str(people), "--report",
                   str(report), "--batch-size", str(args.batch_size), "-q"]  # fmt: skip
        runs: list[dict[str, Any]] = []
        for attempt in range(1, 6):  # a run that gives up is resumed, as a user would
            code, seconds, rss = run_child(command, env, folder / f"run-{attempt}.log")
            runs.append({"exit": code, "seconds": round(seconds, 1), "peak_rss_mb": rss >> 20})
            print(f"run {attempt}: exit {code}, {seconds:.1f} s, peak RSS {rss >> 20} MB",
                  flush=True)  # fmt: skip
            if code == 0:
                break
        import httpx

        stats = httpx.get(f"{root}/_sandbox/stats", timeout=30).json()
        httpx.put(f"{root}/_sandbox/faults", json={"fail_rate": 0, "drop_after_commit": 0,
                  "rate_limit": None}, timeout=10).raise_for_status()  # fmt: skip
        with dexio.Dex(api_key=DEFAULT_API_KEY, base_url=f"{root}/v1") as dex:
            emails = Counter(
                e.email for c in dex.iter_contacts(take=500, full=True)
                for e in c.contact_emails or []
            )  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=30)
    parts = result_files(report, n)
    summary = json.loads((report / "summary.json").read_text())
    result = {
        "contacts": n,
        "faults": faults,
        "batch_size": args.batch_size,
        "runs": runs,
        "counts": summary["counts"],
        "contacts_in_dex": stats.get("contacts"),
        "distinct_emails_in_dex": len(emails),
        "emails_twice": sum(1 for v in emails.values() if v > 1),
        "missing": n - len(emails),
        "created_rows": len(parts["created"]),
        "injected": {k: stats.get(k) for k in ("rate_limited", "server_errors", "dropped")},
        "requests": stats.get("total"),
        "import_seconds_total": round(sum(r["seconds"] for r in runs), 1),
        "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs),
    }
    result["contacts_per_second"] = round(n / result["import_seconds_total"], 1)
    # result_files() above already proved every record is in exactly one result file.
    result["ok"] = (
        result["missing"] == 0 and result["emails_twice"] == 0
        and result["contacts_in_dex"] == result["created_rows"]
    )  # fmt: skip
    rows = [
        ("contacts", f"{n:,}"),
        ("faults", ", ".join(f"{k}={v}" for k, v in faults.items() if v)),
        ("runs (exit codes)", ", ".join(str(r["exit"]) for r in runs)),
        ("result files", ", ".join(f"{k} {v:,}" for k, v in result["counts"].items())),
        ("created / in Dex", f"{result['created_rows']:,} / {result['contacts_in_dex']:,}"),
        ("missing / twice", f"{result['missing']} / {result['emails_twice']}"),
        ("5xx / dropped / 429 injected", "{server_errors} / {dropped} / {rate_limited}".format(
            **result["injected"])),
        ("requests", f"{result['requests']:,}"),
        ("import time", f"{result['import_seconds_total']} s"),
        ("contacts/s", str(result["contacts_per_second"])),
        ("peak RSS of the import", f"{result['peak_rss_mb_max']} MB"),
        ("accounting", "OK" if result["ok"] else "BROKEN"),
    ]  # fmt: skip
    for name, value in rows:
        print(f"{name:<30} {value}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"load-{n}.json").write_text(json.dumps(result, indent=2))
    sys.exit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
