"""Profile the import's preparation, stage by stage: where do time and memory go?

For a generated file of N rows (bench/generate.py, cached in bench/out/), each stage runs
in a fresh child process that does everything up to and including that stage, so the
peak RSS of a stage is the peak of the whole prefix (read; read + normalize; + dedupe;
+ plan against an empty embedded sandbox, as ``dexio import --dry-run`` does through
:func:`dexio.pipeline.prepare`; + writing the plan into a ledger, as a real import does).
Wall time, CPU time (``getrusage(RUSAGE_CHILDREN)``) and peak RSS (``ru_maxrss``) come
from the parent; the child reports its own per-step timings and the estimated size of
the frames it built (``DataFrame.estimated_size()``). Prints a table and writes
bench/out/profile-prepare-<N>.json (-partial.json with --stages).

    python bench/profile_prepare.py                 # 200,000 rows
    python bench/profile_prepare.py --rows 400000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
STAGES = ["import", "read", "normalize", "dedupe", "plan", "ledger"]
#: ``--stages read_bytes,read_polars,read_delimited,read`` splits the read stage's memory.
READ_PARTS = ["read_bytes", "read_polars", "read_delimited"]
#: ``--stages coverage``: how much a vectorized e-mail / phone fast path would cover, and
#: how much smaller ledger payloads would be without null / empty keys at any depth (not
#: timed; create payloads already leave out top-level null and [] keys).
EXTRA = ["coverage"]
#: A plain ASCII address: dot-atom local part, LDH domain labels, alphabetic TLD.
SIMPLE_EMAIL = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def _slim(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _slim(v) for k, v in value.items() if v not in (None, [], {}, "")}
    if isinstance(value, list):
        return [_slim(v) for v in value]
    return value


def coverage(path: Path, region: str) -> dict[str, Any]:
    import polars as pl

    import dexio
    from dexio import pipeline
    from dexio.normalize.emails import check_email
    from dexio.sandbox.server import embedded

    frame = pipeline._read_all([path], "generic")
    field = pl.element().struct.field
    emails = frame.select(pl.col("emails").list.eval(field("email")).alias("v")).explode("v")
    emails = emails["v"].drop_nulls().str.strip_chars()
    distinct = emails.unique()
    simple = distinct.filter(
        distinct.str.contains(SIMPLE_EMAIL) & (distinct.str.len_bytes() <= 254)
    )
    differ = []
    for text in simple.to_list():
        local, domain = text.rsplit("@", 1)
        if check_email(text)[0] != f"{local}@{domain.lower()}":
            differ.append(text)
    phones = frame.select(pl.col("phones").list.eval(field("phone_number")).alias("v"))
    phones = phones.explode("v")["v"].drop_nulls().str.strip_chars().unique()
    shaped = phones.filter(phones.str.contains(r"^\+?[\d\s().\-/]+$"))
    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded(Path(tmp) / "dex.sqlite") as box,
        dexio.Dex(api_key=box.api_key.reveal(), base_url=box.base_url) as dex,
    ):
        items, _ = pipeline.prepare(frame, pipeline.DexDestination(dex), region=region)
    payloads = items.filter(pl.col("action") == "create")["payload"].to_list()
    full = sum(len(p.encode()) for p in payloads)
    slim = sum(
        len(json.dumps(_slim(json.loads(p)), separators=(",", ":")).encode()) for p in payloads
    )
    return {
        "email_values": emails.len(),
        "email_distinct": distinct.len(),
        "email_simple_ascii": simple.len(),
        "email_simple_differs_from_validator": len(differ),
        "email_differ_examples": differ[:5],
        "phone_distinct": phones.len(),
        "phone_digit_shape": shaped.len(),
        "create_payload_bytes": full,
        "create_payload_bytes_without_null_or_empty": slim,
        "creates": len(payloads),
    }


def data_file(rows: int, dup_rate: float, seed: int) -> Path:
    """The same cached files as bench/dedupe.py (``gen-<rows>-<dup>-<seed>.csv``)."""
    path = OUT / f"gen-{rows}-{dup_rate}-{seed}.csv"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, str(HERE / "generate.py"), "--rows", str(rows),
                   "--dup-rate", str(dup_rate), "--seed", str(seed), "-o", str(path)]  # fmt: skip
        subprocess.run(command, check=True)
    return path


def _mb(frame: Any) -> float:
    return round(frame.estimated_size() / 2**20, 1)


# -- the child: one prefix of the pipeline --------------------------------------------------


def child(stage: str, path: Path, region: str) -> dict[str, Any]:
    steps: dict[str, float] = {}
    cpu: dict[str, float] = {}  # CPU seconds of each step (steady on a busy machine)
    rss: dict[str, int] = {}  # peak RSS (MB) of the process at the end of each step
    frames: dict[str, dict[str, Any]] = {}
    clock, cpu_clock = time.perf_counter(), time.process_time()

    def lap(name: str) -> None:
        nonlocal clock, cpu_clock
        now, cpu_now = time.perf_counter(), time.process_time()
        steps[name] = round(now - clock, 2)
        cpu[name] = round(cpu_now - cpu_clock, 2)
        rss[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        clock, cpu_clock = now, cpu_now

    def keep(name: str, frame: Any) -> None:
        frames[name] = {"rows": frame.height, "columns": frame.width, "mb": _mb(frame)}

    import polars as pl

    import dexio
    from dexio import pipeline
    from dexio.plan import REJECTED

    lap("import")
    result: dict[str, Any] = {"steps": steps, "cpu": cpu, "rss_after_mb": rss, "frames": frames}
    if stage == "import":
        return result
    if stage == "coverage":
        result.update(coverage(path, region))
        return result
    if stage in READ_PARTS:  # the pieces of the read stage, for its memory
        data = path.read_bytes()
        lap("read_bytes")
        if stage == "read_polars":
            keep("read_polars", pl.read_csv(path, infer_schema=False))
            lap("read_polars")
        elif stage == "read_delimited":
            from dexio.readers.text import read_delimited

            keep("read_delimited", read_delimited(data, str(path)).frame)
            lap("read_delimited")
        return result
    frame = pipeline._read_all([path], "generic")  # as plan_files() reads
    lap("read")
    keep("read", frame)
    if stage == "read":
        return result
    if stage in ("normalize", "dedupe"):
        rejected = (
            pl.col("issues")
            .list.eval(pl.element().str.starts_with(REJECTED))
            .list.any()
            .fill_null(False)
        )
        good = frame.filter(~rejected)
        normalized = dexio.normalize(good, region=region)
        lap("normalize")
        keep("normalized", normalized)
        if stage == "normalize":
            return result
        deduped = dexio.dedupe(normalized)
        lap("dedupe")
        keep("contacts", deduped.contacts)
        keep("merged", deduped.merged)
        return result

    # plan / ledger: prepare() as import_files() calls it, with its inner steps timed
    # through the module globals it looks up (normalize and dedupe via the dexio package).
    def timed(owner: Any, name: str, label: str, *, size: bool = True) -> None:
        original = getattr(owner, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            nonlocal clock, cpu_clock
            clock, cpu_clock = time.perf_counter(), time.process_time()
            out = original(*args, **kwargs)
            lap(label)
            if size:
                keep(label, out.contacts if hasattr(out, "contacts") else out)
                if hasattr(out, "merged"):
                    keep("merged", out.merged)
            return out

        setattr(owner, name, wrapper)

    timed(dexio, "normalize", "normalize")
    timed(dexio, "dedupe", "dedupe")
    timed(pipeline.DexDestination, "lookup", "lookup")
    timed(pipeline, "plan", "plan")
    timed(pipeline, "items_from_plan", "items_from_plan")
    from dexio.sandbox.server import embedded

    with (
        tempfile.TemporaryDirectory() as tmp,
        embedded(Path(tmp) / "dex.sqlite") as box,
        dexio.Dex(api_key=box.api_key.reveal(), base_url=box.base_url) as dex,
    ):
        clock, cpu_clock = time.perf_counter(), time.process_time()
        # Handed over as import_files does (no reference kept here), so prepare() can let
        # the read frame go once it is normalized.
        read = [frame]
        del frame
        items, before = pipeline.prepare(read.pop(), pipeline.DexDestination(dex), region=region)
        keep("items", items)
        result["actions"] = dict(items.group_by("action").len().iter_rows())
        payload = items["payload"].str.len_bytes().fill_null(0).sum()
        result["payload_mb"] = round(payload / 2**20, 1)
        if stage == "ledger":
            from dexio.ledger import Ledger

            clock, cpu_clock = time.perf_counter(), time.process_time()
            with Ledger(Path(tmp) / "report") as ledger:
                ledger.start_run("profile", items, before_images=before, command="import")
            lap("ledger_write")
            db = Path(tmp) / "report"
            result["ledger_mb"] = round(
                sum(f.stat().st_size for f in db.rglob("*") if f.is_file()) / 2**20, 1
            )
    return result


# -- the parent ---------------------------------------------------------------------------


def measure(stage: str, path: Path, region: str) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", stage, "--file", str(path),
               "--region", region]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        out = proc.stdout.read()
        proc.stdout.close()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode(errors="replace")
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"stage {stage} failed:\n{message[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    stats["wall_s"] = round(wall, 2)
    stats["cpu_s"] = round(
        (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 1
    )
    stats["peak_rss_mb"] = round(usage.ru_maxrss / 1024)  # this child's own peak
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--region", default="US")
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated subset")
    parser.add_argument("--child", choices=STAGES + READ_PARTS + EXTRA, help=argparse.SUPPRESS)
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.file, args.region)))
        return 0

    path = data_file(args.rows, args.dup_rate, args.seed)
    report: dict[str, Any] = {"rows": args.rows, "file": str(path), "stages": {}}
    print(f"{args.rows:,} rows from {path.name}")
    print(
        f"{'stage (prefix)':<16}{'wall s':>8}{'CPU s':>8}{'peak RSS MB':>13}  steps: wall/CPU s (peak RSS MB so far)"
    )
    for stage in args.stages.split(","):
        stats = measure(stage, path, args.region)
        report["stages"][stage] = stats
        steps = ", ".join(
            f"{k} {v}/{stats['cpu'][k]} ({stats['rss_after_mb'][k]:,})"
            for k, v in stats["steps"].items()
        )
        print(f"{stage:<16}{stats['wall_s']:>8.1f}{stats['cpu_s']:>8.1f}"
              f"{stats['peak_rss_mb']:>13,}  {steps}", flush=True)  # fmt: skip
    print("\nlargest frames (MB, estimated_size):")
    sizes: dict[str, dict[str, Any]] = {}
    for stats in report["stages"].values():
        sizes.update(stats["frames"])
    for name, info in sorted(sizes.items(), key=lambda kv: -kv[1]["mb"]):
        print(f"  {name:<18}{info['mb']:>9.1f} MB  {info['rows']:>9,} rows x {info['columns']}")
    last = report["stages"].get("ledger") or report["stages"].get("plan") or {}
    for key in ("actions", "payload_mb", "ledger_mb"):
        if key in last:
            print(f"  {key}: {last[key]}")
    for key, value in report["stages"].get("coverage", {}).items():
        if key not in ("steps", "rss_after_mb", "frames", "wall_s", "cpu_s", "peak_rss_mb"):
            print(f"  {key}: {value}")
    OUT.mkdir(parents=True, exist_ok=True)
    partial = "" if args.stages == ",".join(STAGES) else "-partial"
    target = OUT / f"profile-prepare-{args.rows}{partial}.json"
    target.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
