"""Benchmark the Dex sandbox: how fast contacts go in and come back out over HTTP.

    python bench/sandbox.py                     # 20,000 contacts, 3 repeats
    python bench/sandbox.py --contacts 100000 --repeat 1

Each repeat starts a fresh sandbox on an empty SQLite file in a temporary directory, run
two ways side by side: as a child process (``dexio sandbox serve``, what a rehearsal uses)
and embedded in a thread of the benchmark process (what tests and ``--sandbox`` use; it
shares the GIL with the client). For each it measures bulk POST in chunks of 100 (one
request at a time, and 4 at a time), listing everything with take=500, and by-emails
lookups in chunks of 50. Prints medians and writes bench/out/sandbox.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx

from dexio.sandbox import Sandbox, embedded, spawn

OUT = Path(__file__).resolve().parent / "out"
CHUNK = 100


def contacts(n: int) -> list[dict[str, Any]]:
    """Invented people with the fields an import sends."""
    return [
        {
            "first_name": f"First{i}",
            "last_name": f"Last{i % 997}",
            "full_name": f"First{i} Last{i % 997}",
            "company": f"Company {i % 211}",
            "job_title": "Engineer" if i % 3 else "Manager",
            "birthday": f"19{50 + i % 50}-0{1 + i % 9}-1{i % 10}",
            "contact_emails": [{"email": f"person{i}@example{i % 97}.org", "ranking": 1}],
            "contact_phone_numbers": [{"phone_number": f"+4479{11000000 + i}", "ranking": 1}],
        }
        for i in range(n)
    ]


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def client_for(sandbox: Sandbox) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.api_key.reveal()}"},
        timeout=60,
        limits=httpx.Limits(max_connections=8),
    )


def post_all(client: httpx.Client, people: list[dict[str, Any]], workers: int) -> float:
    def send(batch: list[dict[str, Any]]) -> None:
        client.post("/contacts", json={"contacts": batch}).raise_for_status()

    started = time.perf_counter()
    if workers == 1:
        for batch in chunks(people, CHUNK):
            send(batch)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(send, chunks(people, CHUNK)))
    return time.perf_counter() - started


def list_all(client: httpx.Client) -> tuple[float, int]:
    started = time.perf_counter()
    seen, cursor = 0, None
    while True:
        params: dict[str, Any] = {"take": 500, **({"cursor": cursor} if cursor else {})}
        data = client.get("/contacts", params=params).json()["data"]
        seen += len(data["items"])
        cursor = data["nextCursor"]
        if not cursor:
            return time.perf_counter() - started, seen


def lookup(client: httpx.Client, emails: list[str]) -> float:
    started = time.perf_counter()
    for batch in chunks(emails, 50):
        client.post("/contacts/by-emails", json={"emails": batch}).raise_for_status()
    return time.perf_counter() - started


def run_once(
    start: Callable[[Path], AbstractContextManager[Sandbox]], n: int, lookups: int
) -> dict[str, float]:
    people = contacts(n)
    half = people[: n // 2], people[n // 2 :]
    with (
        tempfile.TemporaryDirectory() as tmp,
        start(Path(tmp) / "bench.sqlite") as sandbox,
        client_for(sandbox) as client,
    ):
        sequential = post_all(client, half[0], workers=1)
        concurrent = post_all(client, half[1], workers=4)
        listed, seen = list_all(client)
        assert seen == n, (seen, n)
        emails = [p["contact_emails"][0]["email"] for p in people[:lookups]]
        looked = lookup(client, emails)
    return {
        "post_sequential_per_s": len(half[0]) / sequential,
        "post_4_concurrent_per_s": len(half[1]) / concurrent,
        "list_take500_per_s": n / listed,
        "by_emails_per_s": lookups / looked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modes: dict[str, Callable[[Path], AbstractContextManager[Sandbox]]] = {
        "process": lambda db: spawn(db),
        "embedded": lambda db: embedded(db=db),
    }
    results: dict[str, dict[str, float]] = {}
    for mode, start in modes.items():
        runs = [run_once(start, args.contacts, args.lookups) for _ in range(args.repeat)]
        results[mode] = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"Dex sandbox, {args.contacts:,} contacts, median of {args.repeat} (per second)")
    keys = list(next(iter(results.values())))
    print(f"{'measure':28}" + "".join(f"{mode:>12}" for mode in results))
    for key in keys:
        print(f"{key:28}" + "".join(f"{results[mode][key]:>12,.0f}" for mode in results))
    OUT.mkdir(exist_ok=True)
    payload = {"contacts": args.contacts, "repeat": args.repeat, "results": results}
    (OUT / "sandbox.json").write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
