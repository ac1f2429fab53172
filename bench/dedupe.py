"""Benchmark dedupe: quality against known truth, and speed/memory against a naive script.

1. Quality: ``--quality-rows`` (20,000) generated rows (bench/generate.py) through
   read + normalize + dedupe; precision, recall and F1 of same-person pairs, for dexio
   (exact keys + fuzzy), dexio with exact keys only, and the naive exact-e-mail script.
2. Speed: ``--speed-rows`` (1,000,000) generated rows through read + normalize + dedupe,
   and the naive row-by-row script (bench/naive.py) on the same file, alternated
   ``--repeat`` times. Wall time (launch of the child to the end of its work, so
   interpreter start and imports count but the pair scoring does not), CPU time and peak
   RSS (``resource.getrusage``) of each run, each in a child process of its own, so one
   run's memory does not hide in another's.

Prints a table and writes bench/out/dedupe.json. Generated files are cached in bench/out/.

    python bench/dedupe.py                       # 20k quality + 1M speed (long: minutes)
    python bench/dedupe.py --speed-rows 100000   # a quicker look
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"


def data_file(rows: int, dup_rate: float, seed: int) -> Path:
    path = OUT / f"gen-{rows}-{dup_rate}-{seed}.csv"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(HERE / "generate.py"),
                "--rows",
                str(rows),
                "--dup-rate",
                str(dup_rate),
                "--seed",
                str(seed),
                "-o",
                str(path),
            ],
            check=True,
        )
    return path


def pair_scores(clusters: list[int], persons: list[str]) -> dict[str, float | int]:
    """Precision, recall and F1 of the pairs of records put together, against the truth."""
    import polars as pl

    rows = pl.DataFrame({"cluster": clusters, "person": persons})

    def pairs(*by: str) -> int:
        n = rows.group_by(*by).len()["len"].cast(pl.Int64)
        return int((n * (n - 1) // 2).sum())

    predicted, true, both = pairs("cluster"), pairs("person"), pairs("cluster", "person")
    precision = both / predicted if predicted else 1.0
    recall = both / true if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "predicted_pairs": predicted,
        "true_pairs": true,
        "correct_pairs": both,
    }


def truth(path: Path) -> list[str]:
    import polars as pl

    return pl.read_csv(path, columns=["person_id"], infer_schema_length=0)["person_id"].to_list()


# -- the measured programs (run in a child process each) ----------------------------------


def run_dexio(path: Path, region: str, fuzzy: bool) -> tuple[dict[str, Any], list[int]]:
    import polars as pl

    import dexio

    start = time.perf_counter()
    frame = dexio.read(path, mapping="generic")
    read_done = time.perf_counter()
    clean = dexio.normalize(frame, region=region)
    del frame  # as dexio's own pipeline does: the read frame is not needed past normalize
    normalize_done = time.perf_counter()
    result = dexio.dedupe(clean, fuzzy=fuzzy)
    done = time.perf_counter()
    done_at = time.time()  # the clock the parent reads: what follows is for the scoring
    placed = pl.concat(
        [result.contacts.select("row", "cluster_id"), result.merged.select("row", "cluster_id")]
    ).sort("row")
    stats = {
        "read_s": round(read_done - start, 2),
        "normalize_s": round(normalize_done - read_done, 2),
        "dedupe_s": round(done - normalize_done, 2),
        "seconds": round(done - start, 2),
        "people": result.contacts.height,
        "merged": result.merged.height,
        "done_at": done_at,
    }
    return stats, placed["cluster_id"].to_list()


def run_naive(path: Path, region: str) -> tuple[dict[str, Any], list[int]]:
    sys.path.insert(0, str(HERE))
    from naive import naive_dedupe

    start = time.perf_counter()
    clusters = naive_dedupe(path, region)
    seconds = time.perf_counter() - start
    done_at = time.time()
    people = len(set(clusters))
    stats = {
        "seconds": round(seconds, 2),
        "people": people,
        "merged": len(clusters) - people,
        "done_at": done_at,
    }
    return stats, clusters


def child(kind: str, path: Path, region: str, score: bool) -> None:
    if kind == "naive":
        stats, clusters = run_naive(path, region)
    else:
        stats, clusters = run_dexio(path, region, fuzzy=kind == "dexio")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    stats["peak_rss_mb"] = round(usage.ru_maxrss / 1024, 1)
    # CPU seconds as well as wall time: on a shared machine the wall clock includes waiting.
    stats["cpu_s"] = round(usage.ru_utime + usage.ru_stime, 1)
    if score:
        stats.update(pair_scores(clusters, truth(path)))
    print(json.dumps(stats))


def measure(kind: str, path: Path, region: str, score: bool) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", kind, "--file", str(path), "--region", region]
    if score:
        command.append("--score")
    launched = time.time()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr[-3000:]}")
    stats: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # From launch to the end of the work: interpreter start, imports, read, normalize and
    # dedupe (or the naive loop); not the pair scoring, which is the benchmark's own work
    # (reading the truth column and counting pairs took ~1 s of either program's wall).
    stats["wall_s"] = round(stats.pop("done_at") - launched, 2)
    return stats


# -- the report ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality-rows", type=int, default=20_000)
    parser.add_argument("--speed-rows", type=int, default=1_000_000)
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=1, help="speed runs of each program")
    parser.add_argument("--region", default="US")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument(
        "--child", choices=["dexio", "dexio-exact", "naive"], help=argparse.SUPPRESS
    )
    parser.add_argument("--file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--score", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.file, args.region, args.score)
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "args": {k: v for k, v in vars(args).items() if k not in {"child", "file", "score"}}
    }

    quality_file = data_file(args.quality_rows, args.dup_rate, args.seed)
    quality = {
        kind: measure(kind, quality_file, args.region, score=True)
        for kind in ("dexio", "dexio-exact", "naive")
    }
    report["quality"] = quality
    print(f"\nQuality: {args.quality_rows:,} rows, dup rate {args.dup_rate}, seed {args.seed}")
    print(f"{'program':<14}{'precision':>10}{'recall':>8}{'F1':>8}{'pairs':>9}{'true':>9}")
    for kind, q in quality.items():
        print(
            f"{kind:<14}{q['precision']:>10.4f}{q['recall']:>8.4f}{q['f1']:>8.4f}"
            f"{q['predicted_pairs']:>9,}{q['true_pairs']:>9,}"
        )

    if not args.skip_speed:
        speed_file = data_file(args.speed_rows, args.dup_rate, args.seed)
        runs: dict[str, list[dict[str, Any]]] = {"dexio": [], "naive": []}
        for _ in range(args.repeat):
            for kind in runs:  # alternated, so both see the same machine
                runs[kind].append(measure(kind, speed_file, args.region, score=True))
        speed: dict[str, Any] = {}
        for kind, results in runs.items():
            speed[kind] = {
                "median_wall_s": statistics.median(r["wall_s"] for r in results),
                "median_cpu_s": statistics.median(r["cpu_s"] for r in results),
                "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
                "runs": results,
            }
        ratio = speed["naive"]["median_wall_s"] / speed["dexio"]["median_wall_s"]
        speed["naive_over_dexio"] = round(ratio, 2)
        cpu_ratio = speed["naive"]["median_cpu_s"] / max(speed["dexio"]["median_cpu_s"], 0.1)
        speed["naive_over_dexio_cpu"] = round(cpu_ratio, 2)
        report["speed"] = speed
        d = runs["dexio"][len(runs["dexio"]) // 2]
        print(f"\nSpeed: {args.speed_rows:,} rows, {args.repeat} run(s) each, medians")
        print(
            f"{'program':<10}{'wall s':>9}{'CPU s':>8}{'peak RSS MB':>13}"
            f"{'precision':>11}{'recall':>8}"
        )
        for kind in runs:
            s = speed[kind]
            last = s["runs"][-1]
            print(
                f"{kind:<10}{s['median_wall_s']:>9.1f}{s['median_cpu_s']:>8.1f}"
                f"{s['median_peak_rss_mb']:>13.0f}"
                f"{last['precision']:>11.4f}{last['recall']:>8.4f}"
            )
        print(
            f"dexio stages: read {d['read_s']} s, normalize {d['normalize_s']} s, "
            f"dedupe {d['dedupe_s']} s; naive / dexio = {ratio:.1f}x wall, {cpu_ratio:.1f}x CPU"
        )
    target = OUT / "dedupe.json"
    target.write_text(json.dumps(report, indent=2))
    print(f"\nwrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
