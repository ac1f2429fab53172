"""Benchmark dexio.normalize: wall time and peak memory on synthetic contacts.

    python bench/normalize.py                      # 1,000,000 rows, ~50,000 distinct values
    python bench/normalize.py --rows 200000 --repeat 1

Each measurement runs in a fresh child process, which reports its own peak RSS
(``resource.getrusage``; tracemalloc cannot see polars' Rust allocations). Side by side in
the same run, a naive row-by-row loop (phonenumbers parse + is_valid_number + format and
email-validator called for every phone and email of every row, as a hand-written cleanup
script would; no labels, names, dates or repeats handled) runs on the first
``--naive-rows`` rows, and normalize runs on those same rows, for a fair ratio. Prints a
table and writes bench/out/normalize.json.
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

import polars as pl

OUT = Path(__file__).resolve().parent / "out"

FIRST = ["Ana", "Priya", "Tomás", "Wei", "Olu", "Sean", "Marta", "Jonas", "Aiko", "Lena"]
LAST = ["López", "Raman", "de la Vega", "Chen", "Okafor", "O'Neil", "Nowak", "van Dijk", "Sato"]
EMAIL_DOMAINS = 97


def _uk_phone(n: pl.Expr, style: pl.Expr) -> pl.Expr:
    """UK mobile number ``n``, written one of four ways by ``style`` (exports mix them)."""
    digits = (7_911_000_000 + n).cast(pl.String)
    head, tail = digits.str.slice(0, 4), digits.str.slice(4)
    return (
        pl.when(style % 4 == 0)
        .then(pl.format("0{} {}", head, tail))
        .when(style % 4 == 1)
        .then(pl.format("+44 {} {}", head, tail))
        .when(style % 4 == 2)
        .then(pl.format("+44{}", digits))
        .otherwise(pl.format("(0{}) {}", head, tail))
    )


def _email(n: pl.Expr, shout: pl.Expr) -> pl.Expr:
    """One address per ``n`` with a mixed-case domain; every hundredth is broken."""
    address = pl.format("user.{}@Mail{}.Example.com", n, n % EMAIL_DOMAINS)
    return (
        pl.when(n % 100 == 42)
        .then(pl.format("user.{}@", n))
        .when(shout)
        .then(address.str.to_uppercase())
        .otherwise(address)
    )


def synthetic(rows: int, distinct: int, seed: int = 7) -> pl.DataFrame:
    """A canonical frame of ``rows`` contacts drawing on ``distinct`` phones and emails.

    Each contact has two phones and two emails picked from ``distinct`` people (so the
    same number recurs across rows, in different spellings), 10 % SHOUTED first names, 10 %
    full names only, five birthday spellings (1 % impossible), 30 % LinkedIn URLs.
    """
    from dexio.schema import conform

    index = pl.int_range(rows, dtype=pl.UInt64)
    pick = (index.hash(seed) % distinct).cast(pl.Int64)
    other = (index.hash(seed + 1) % distinct).cast(pl.Int64)
    style = (index.hash(seed + 2) % 100).cast(pl.Int64)
    first = pl.lit(pl.Series(FIRST)).gather(pick % len(FIRST))
    last = pl.lit(pl.Series(LAST)).gather(other % len(LAST))
    year, month, day = (
        1950 + pick % 50,
        (1 + pick % 12).cast(pl.String).str.zfill(2),
        (1 + other % 28).cast(pl.String).str.zfill(2),
    )
    birthday = (
        pl.when(style < 40)
        .then(pl.format("{}-{}-{}", year, month, day))
        .when(style < 60)
        .then(pl.format("{}/{}/{}", day, month, year))
        .when(style < 65)
        .then(pl.format("--{}-{}", month, day))
        .when(style < 70)
        .then(pl.format("{}{}{}", year, month, day))
        .when(style < 71)
        .then(pl.format("{}-02-31", year))
    )
    frame = pl.select(
        pl.lit("synthetic.csv").alias("source"),
        (index + 1).cast(pl.UInt32).alias("row"),
        pl.when(style >= 90)
        .then(None)
        .when(style < 10)
        .then(first.str.to_uppercase())
        .otherwise(first)
        .alias("first_name"),
        pl.when(style < 90).then(last).alias("last_name"),
        pl.when(style >= 90).then(pl.format("{} {}", first, last)).alias("full_name"),
        birthday.alias("birthday"),
        pl.when(style < 30)
        .then(pl.format("https://www.linkedin.com/in/user-{}/", pick))
        .alias("linkedin"),
        _uk_phone(pick, style).alias("__phone1"),
        _uk_phone(other, style + 1).alias("__phone2"),
        _email(pick, style < 5).alias("__email1"),
        _email(other, style > 95).alias("__email2"),
    )
    # Lists of structs are built long-then-grouped: concat_list over struct columns is
    # far slower and hungrier in polars than one group_by.
    phones = (
        pl.concat(
            [
                frame.select(
                    "row", pl.col("__phone1").alias("phone_number"), label=pl.lit("Mobile Phone")
                ),
                frame.select(
                    "row", pl.col("__phone2").alias("phone_number"), label=pl.lit("Business Phone")
                ),
            ]
        )
        .group_by("row", maintain_order=True)
        .agg(pl.struct("phone_number", pl.col("label")).alias("phones"))
    )
    emails = (
        pl.concat(
            [
                frame.select("row", pl.col("__email1").alias("email"), label=pl.lit("Work")),
                frame.select("row", pl.col("__email2").alias("email"), label=pl.lit("Home")),
            ]
        )
        .group_by("row", maintain_order=True)
        .agg(pl.struct("email", "label").alias("emails"))
    )
    frame = (
        frame.drop("__phone1", "__phone2", "__email1", "__email2")
        .join(phones, on="row", maintain_order="left")
        .join(emails, on="row", maintain_order="left")
        .with_columns(
            pl.col("phones").list.eval(
                pl.struct(
                    pl.element().struct.field("phone_number"),
                    pl.lit(None, pl.String).alias("country_code"),
                    pl.lit(None, pl.String).alias("phone_number_sanitized"),
                    pl.element().struct.field("label"),
                    pl.lit(None, pl.Int32).alias("ranking"),
                )
            ),
            pl.col("emails").list.eval(
                pl.struct(
                    pl.element().struct.field("email"),
                    pl.element().struct.field("label"),
                    pl.lit(None, pl.Int32).alias("ranking"),
                )
            ),
        )
    )
    return conform(frame)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _naive(frame: pl.DataFrame, region: str) -> tuple[float, int]:
    """What a hand-written script does: every phone and email of every row, one by one."""
    import email_validator
    import phonenumbers

    records = frame.select("phones", "emails").to_dicts()
    started = time.perf_counter()
    cleaned = 0
    for record in records:
        for phone in record["phones"] or []:
            try:
                number = phonenumbers.parse(phone["phone_number"], region)
                if phonenumbers.is_valid_number(number):
                    phone["phone_number"] = phonenumbers.format_number(
                        number, phonenumbers.PhoneNumberFormat.E164
                    )
                    cleaned += 1
            except phonenumbers.NumberParseException:
                pass
        for item in record["emails"] or []:
            try:
                item["email"] = email_validator.validate_email(
                    item["email"], check_deliverability=False
                ).normalized
                cleaned += 1
            except email_validator.EmailNotValidError:
                pass
    return time.perf_counter() - started, cleaned


def _input_file(rows: int, distinct: int) -> Path:
    """The synthetic input, written once as parquet so every child starts from a read file
    (as after a reader) instead of carrying the generator's own memory high-water mark."""
    path = OUT / f"normalize-input-{rows}-{distinct}.parquet"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        # In a child of its own: Linux carries a process's peak RSS over fork and exec, so
        # a parent that had built the frame would inflate every measurement after it.
        command = [sys.executable, __file__, "--generate", str(path)]
        command += ["--rows", str(rows), "--distinct", str(distinct)]
        subprocess.run(command, check=True)
    return path


def child(kind: str, rows: int, distinct: int, region: str, source: Path) -> dict[str, Any]:
    """Run one measurement in this process and return its figures."""
    frame = pl.read_parquet(source, n_rows=rows)
    # Counted before the clock starts, so the count's memory is not charged to the stage.
    distinct_phones = frame.select(
        pl.col("phones").explode().struct.field("phone_number").n_unique()
    ).item()
    distinct_emails = frame.select(
        pl.col("emails").explode().struct.field("email").n_unique()
    ).item()
    input_rss = _peak_rss_mb()
    cpu_started = time.process_time()
    issues = None
    if kind == "naive":
        seconds, _ = _naive(frame, region)
        cpu_seconds = time.process_time() - cpu_started
    else:
        from dexio import normalize

        started = time.perf_counter()
        out = normalize(frame, region=region)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu_started
        issues = int(out["issues"].list.len().sum())
        assert out.height == rows
    return {
        "kind": kind,
        "rows": rows,
        "distinct_phone_spellings": distinct_phones,
        "distinct_email_spellings": distinct_emails,
        "seconds": seconds,
        # CPU time too (all threads): on a shared machine wall time also measures neighbours.
        "cpu_seconds": cpu_seconds,
        "input_rss_mb": round(input_rss, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "issues": issues,
    }


def _run_child(kind: str, rows: int, distinct: int, region: str, source: Path) -> dict[str, Any]:
    command = [
        sys.executable,
        __file__,
        "--source",
        str(source),
        "--child",
        kind,
        "--rows",
        str(rows),
        "--distinct",
        str(distinct),
        "--region",
        region,
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=50_000)
    parser.add_argument("--naive-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--region", default="GB")
    parser.add_argument("--child", choices=["normalize", "naive"], help=argparse.SUPPRESS)
    parser.add_argument("--source", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate:
        synthetic(args.rows, args.distinct).write_parquet(args.generate)
        return
    if args.child:
        print(json.dumps(child(args.child, args.rows, args.distinct, args.region, args.source)))
        return
    source = _input_file(max(args.rows, args.naive_rows), args.distinct)

    plan = [*dict.fromkeys([("normalize", args.rows), ("normalize", args.naive_rows)])]
    plan.append(("naive", args.naive_rows))
    runs: dict[tuple[str, int], list[dict[str, Any]]] = {key: [] for key in plan}
    for _ in range(args.repeat):
        for kind, rows in plan:  # interleaved, so both sides see the same machine load
            runs[(kind, rows)].append(_run_child(kind, rows, args.distinct, args.region, source))

    summary = []
    for (kind, rows), results in runs.items():
        first = results[0]
        summary.append(
            {
                "kind": kind,
                "rows": rows,
                "distinct_phone_spellings": first["distinct_phone_spellings"],
                "distinct_email_spellings": first["distinct_email_spellings"],
                "median_seconds": round(statistics.median(r["seconds"] for r in results), 3),
                "all_seconds": [round(r["seconds"], 3) for r in results],
                "median_rows_per_second": round(
                    rows / statistics.median(r["seconds"] for r in results)
                ),
                "median_cpu_seconds": round(
                    statistics.median(r["cpu_seconds"] for r in results), 3
                ),
                "median_input_rss_mb": statistics.median(r["input_rss_mb"] for r in results),
                "median_peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in results),
                "issues": first["issues"],
            }
        )
    by_key = {(s["kind"], s["rows"]): s for s in summary}
    ratio = (
        by_key[("naive", args.naive_rows)]["median_seconds"]
        / by_key[("normalize", args.naive_rows)]["median_seconds"]
    )
    cpu_ratio = (
        by_key[("naive", args.naive_rows)]["median_cpu_seconds"]
        / by_key[("normalize", args.naive_rows)]["median_cpu_seconds"]
    )

    print(
        f"normalize benchmark: {args.repeat} run(s) each, region {args.region}, distinct {args.distinct}"
    )
    header = (
        f"{'kind':<10} {'rows':>9} {'phones*':>8} {'emails*':>8} {'median s':>9} "
        f"{'cpu s':>7} {'rows/s':>9} {'input MB':>9} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for s in summary:
        print(
            f"{s['kind']:<10} {s['rows']:>9,} {s['distinct_phone_spellings']:>8,} "
            f"{s['distinct_email_spellings']:>8,} {s['median_seconds']:>9.3f} "
            f"{s['median_cpu_seconds']:>7.2f} "
            f"{s['median_rows_per_second']:>9,} {s['median_input_rss_mb']:>9.0f} "
            f"{s['median_peak_rss_mb']:>8.0f}"
        )
    print("* distinct spellings in the input")
    print(
        f"naive row-by-row / normalize on the same {args.naive_rows:,} rows: "
        f"{ratio:.1f}x wall, {cpu_ratio:.1f}x CPU"
    )

    OUT.mkdir(parents=True, exist_ok=True)
    target = OUT / "normalize.json"
    target.write_text(
        json.dumps(
            {
                "args": {k: str(v) for k, v in vars(args).items()},
                "results": summary,
                "naive_over_normalize": round(ratio, 2),
                "naive_over_normalize_cpu": round(cpu_ratio, 2),
            },
            indent=2,
        )
    )
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
