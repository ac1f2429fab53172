"""One fault scenario end to end: a sandbox in its own process, `dexio import` in another,
faults switched on, changed at runtime, the server killed and restarted on the same port
and database, the import killed with SIGKILL and run again until it finishes.

Used by tests/reliability/test_fault_matrix.py (small sizes) and bench/faults.py (the
whole matrix, printed as a table). Everything talks over 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import dexio
from dexio.sandbox import DEFAULT_API_KEY
from dexio.sandbox.server import fault_flags

from .accounting import result_files


@dataclass
class Scenario:
    name: str
    faults: dict[str, Any] = field(default_factory=dict)
    """Fault options the server starts with (FaultConfig fields)."""
    restart_at: float | None = None
    """Share of contacts acknowledged when the server is SIGKILLed and started again."""
    spike_at: float | None = None
    """Share acknowledged when latency jumps to ``spike_seconds`` for ``spike_for`` s."""
    spike_seconds: float = 1.0
    spike_for: float = 2.0
    kills: int = 0
    """How many times the import itself is SIGKILLed, at seeded random points."""
    seed: int = 0


@dataclass
class Outcome:
    scenario: str
    contacts: int
    runs: int
    exit_codes: list[int]
    created: int
    in_dex: int
    missing: int
    twice: int
    files_add_up: bool
    injected: dict[str, int]
    seconds: float
    notes: list[str] = field(default_factory=list)
    """The end of the output of every run that stopped by itself with a non-zero code."""

    @property
    def ok(self) -> bool:
        return (
            self.files_add_up
            and self.missing == 0
            and self.twice == 0
            and self.in_dex == self.contacts
            and self.exit_codes[-1] == 0
        )


def write_people(path: Path, n: int) -> Path:
    """``n`` invented, distinct people (one unique e-mail each)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["First Name", "Last Name", "Email", "Company"])
        for i in range(n):
            out.writerow([f"Fay{i}", f"Quorn{i % 97}", f"fay{i}@matrix.example", f"Firm {i % 13}"])
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``dexio sandbox serve`` on a fixed port, restartable on the same port and database."""

    def __init__(self, folder: Path, faults: dict[str, Any]) -> None:
        self.folder = folder
        self.db = folder / "dex.sqlite"
        self.port = free_port()
        self.flags = fault_flags(**faults)
        self.root = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.injected: Counter[str] = Counter()
        self.start()

    def start(self) -> None:
        port_file = self.folder / f"port-{time.monotonic_ns()}"
        command = [sys.executable, "-m", "dexio", "sandbox", "serve", "--port", str(self.port),
                   "--db", str(self.db), "--port-file", str(port_file), *self.flags]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 30
        while not port_file.exists() or not port_file.read_text().strip():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.02)

    def collect(self) -> None:
        """Add the faults injected so far (a restart forgets them)."""
        try:
            stats = httpx.get(f"{self.root}/_sandbox/stats", timeout=10).json()
        except httpx.HTTPError:
            return
        for name in ("rate_limited", "server_errors", "dropped"):
            self.injected[name] += int(stats.get(name, 0))

    def set_faults(self, **changes: Any) -> None:
        httpx.put(f"{self.root}/_sandbox/faults", json=changes, timeout=10).raise_for_status()

    def crash(self) -> None:
        self.collect()
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.injected["server_restarts"] += 1

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


def acknowledged(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{ledger}?mode=ro", uri=True, timeout=1) as db:
            return int(db.execute("SELECT COUNT(*) FROM items WHERE state = 'done'").fetchone()[0])
    except sqlite3.Error:
        return 0


def run(folder: Path, scenario: Scenario, n: int, *, max_runs: int = 10) -> Outcome:
    """Run ``scenario`` with ``n`` contacts in ``folder``; the import is repeated (as a user
    would) after each kill or failure until it exits 0 or ``max_runs`` is reached."""
    folder.mkdir(parents=True, exist_ok=True)
    people = write_people(folder / "people.csv", n)
    report = folder / "report"
    rng = random.Random(scenario.seed)
    kill_points = sorted(rng.uniform(0.05, 0.9) for _ in range(scenario.kills))
    server = Server(folder, scenario.faults)
    env = {**os.environ, "DEX_BASE_URL": f"{server.root}/v1", "DEX_API_KEY": DEFAULT_API_KEY}
    env.pop("DEXIO_CONFIG", None)
    command = [sys.executable, "-m", "dexio", "import", str(people), "--report", str(report),
               "--batch-size", "10", "--concurrency", "2", "-q"]  # fmt: skip
    # Small chunks, two at a time: with 50 per chunk and 4 in flight a 200-contact import
    # was acknowledged in one round trip, so a "kill at 40%" landed after the run had
    # finished and the re-run (correctly) reported everyone unchanged.
    restart_at, spike_at = scenario.restart_at, scenario.spike_at
    spike_until: float | None = None
    codes: list[int] = []
    notes: list[str] = []
    started = time.monotonic()
    try:
        while len(codes) < max_runs:
            log = (folder / f"run-{len(codes) + 1}.log").open("wb")
            victim = subprocess.Popen(command, env=env, stdout=log, stderr=log)
            killed = False
            while victim.poll() is None:
                done = acknowledged(report / "ledger.sqlite")
                if kill_points and done >= kill_points[0] * n:
                    kill_points.pop(0)
                    victim.send_signal(signal.SIGKILL)
                    killed = True
                    break
                if restart_at is not None and done >= restart_at * n:
                    restart_at = None
                    server.crash()
                    time.sleep(0.5)  # connections are refused meanwhile
                    server.start()
                if spike_at is not None and done >= spike_at * n:
                    spike_at = None
                    server.set_faults(latency=scenario.spike_seconds)
                    spike_until = time.monotonic() + scenario.spike_for
                if spike_until is not None and time.monotonic() > spike_until:
                    spike_until = None
                    server.set_faults(latency=scenario.faults.get("latency", 0.0))
                time.sleep(0.01)
            victim.wait()
            log.close()
            codes.append(victim.returncode if not killed else -signal.SIGKILL)
            if codes[-1] not in (0, -signal.SIGKILL):
                text = Path(log.name).read_text(errors="replace")
                notes.append(f"run {len(codes)} exit {codes[-1]}: {text[-600:]}")
            if codes[-1] == 0:
                break
        seconds = time.monotonic() - started
        server.collect()
        server.set_faults(
            rate_limit=None, fail_rate=0.0, drop_after_commit=0.0, latency=0.0, page_cap=None
        )
        with dexio.Dex(api_key=DEFAULT_API_KEY, base_url=f"{server.root}/v1") as dex:
            contacts = list(dex.iter_contacts(take=500, full=True))
    finally:
        server.stop()
    emails = Counter(e.email for c in contacts for e in c.contact_emails or [])
    expected = {f"fay{i}@matrix.example" for i in range(n)}
    created = 0
    try:
        parts = result_files(report, n)
        created = len(parts["created"])
        adds_up = {r["dest_id"] for r in parts["created"]} == {c.id for c in contacts}
    except (AssertionError, FileNotFoundError, json.JSONDecodeError):
        adds_up = False
    return Outcome(
        scenario=scenario.name,
        contacts=n,
        runs=len(codes),
        exit_codes=codes,
        created=created,
        in_dex=len(contacts),
        missing=len(expected - set(emails)),
        twice=sum(1 for e in expected if emails[e] > 1),
        files_add_up=adds_up,
        injected=dict(server.injected),
        seconds=round(seconds, 1),
        notes=notes,
    )


MATRIX = [
    Scenario("no faults"),
    Scenario("429 bursts (rate limit 15/s)", {"rate_limit": 15}),
    Scenario("5xx on 20% of requests", {"fail_rate": 0.2, "seed": 3}),
    Scenario("latency spike 1.5 s for 3 s", spike_at=0.3, spike_seconds=1.5, spike_for=3.0),
    Scenario("20% responses dropped after commit", {"drop_after_commit": 0.2, "seed": 5}),
    Scenario("server SIGKILLed + restarted (resets)", {"latency": 0.01}, restart_at=0.4),
    Scenario("import SIGKILLed x1, seed 1", {"latency": 0.01}, kills=1, seed=1),
    Scenario("import SIGKILLed x2, seed 2", {"latency": 0.01}, kills=2, seed=2),
    Scenario("import SIGKILLed x3, seed 3", {"latency": 0.01}, kills=3, seed=3),
    Scenario(
        "all at once + restart + 2 kills",
        {"rate_limit": 30, "fail_rate": 0.1, "drop_after_commit": 0.1, "latency": 0.01, "seed": 9},
        restart_at=0.5,
        spike_at=0.2,
        kills=2,
        seed=4,
    ),
]
