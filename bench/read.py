"""Benchmark: reading files into the canonical frame, against a bare polars/fastexcel read.

Generates (once, cached in bench/out/) a 1,000,000-row contacts CSV and a 100,000-row xlsx,
then times, in a fresh process each so peak memory is that run's alone:

- ``polars.read_csv`` of the CSV (the baseline the reader must stay within 3x of),
- ``dexio.read`` of the CSV (sniffing, decoding, mapping to the canonical frame),
- ``fastexcel`` loading the xlsx sheet (baseline), and ``dexio.read`` of the xlsx.

Runs are interleaved and repeated; the table shows medians and the ratios of medians. The
figures go to bench/out/read.json.

    python bench/read.py                 # 1,000,000 CSV rows, 100,000 xlsx rows, 3 repeats
    python bench/read.py --csv-rows 200000 --xlsx-rows 20000 --repeats 1   # quick look
    python bench/read.py --check bench/out/gen-200000-0.15-7.csv   # pieces == whole file
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

OUT = Path(__file__).resolve().parent / "out"

FIRST = ["Ana", "Ben", "Chloé", "Dmitri", "Eun-ji", "Fatima", "Gustavo", "Hiroshi", "Ines", "Jamal"]
LAST = ["Lima", "Okoro", "Dubois", "Petrov", "Kim", "Haddad", "Souza", "Tanaka", "Müller", "Reyes"]
COMPANIES = ["Acme Ltd", "Nordwerk GmbH", "Kestrel Analytics, Inc.", "", "Tidewater Robotics"]
TITLES = ["Engineer", "Head of Sales", "", "Founder", "Product Manager"]
CITIES = ["Berlin", "Lisboa", "Lagos", "Seoul", "Austin"]
COUNTRIES = ["Germany", "Portugal", "Nigeria", "South Korea", "United States"]


def make_csv(path: Path, rows: int) -> None:
    """A generic-layout contacts CSV built with polars expressions (seconds, not minutes)."""
    import polars as pl

    i = pl.int_range(0, rows, eager=True).alias("i")
    base = pl.DataFrame(i)

    def pick(values: list[str], salt: int) -> pl.Expr:
        return pl.lit(pl.Series(values)).get((pl.col("i") * salt + salt) % len(values))

    frame = base.select(
        pick(FIRST, 7).alias("First Name"),
        pick(LAST, 13).alias("Last Name"),
        pl.format("user{}@mail{}.example", pl.col("i"), pl.col("i") % 97).alias("Email"),
        pl.when(pl.col("i") % 3 == 0)
        .then(pl.format("work{}@corp.example", pl.col("i")))
        .alias("Work Email"),
        pl.format("+49 151 {}", (pl.col("i") + 10_000_000).cast(pl.String)).alias("Mobile"),
        pick(COMPANIES, 11).alias("Company"),
        pick(TITLES, 5).alias("Job Title"),
        pick(CITIES, 3).alias("City"),
        pick(COUNTRIES, 3).alias("Country"),
        pl.when(pl.col("i") % 10 == 0).then(pl.lit("Met at the fair;\nfollow up")).alias("Notes"),
        pl.when(pl.col("i") % 4 == 0).then(pl.lit("customer; newsletter")).alias("Tags"),
        pl.col("i").cast(pl.String).alias("person_id"),
    )
    frame.write_csv(path)


def make_xlsx(path: Path, rows: int) -> None:
    """An xlsx with a title row, numbers typed as numbers and real date cells."""
    import datetime as dt

    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Contacts")
    sheet.append(["Contacts export"])
    sheet.append([])
    sheet.append(["First Name", "Last Name", "Email", "Mobile", "Company", "Job Title",
                  "City", "Zip", "Country", "Birthday"])  # fmt: skip
    day = dt.date(1970, 1, 1)
    for n in range(rows):
        sheet.append(
            [
                FIRST[n % 10],
                LAST[(n * 13) % 10],
                f"user{n}@mail.example",
                4915100000000 + n,
                COMPANIES[n % 5],
                TITLES[n % 5],
                CITIES[n % 5],
                10_000 + n % 89_999,
                COUNTRIES[n % 5],
                day + dt.timedelta(days=n % 15_000),
            ]
        )
    book.save(path)


def measure(kind: str, path: Path) -> dict[str, float]:
    """One timed run (called in a child process)."""
    import polars as pl

    import dexio

    start = time.perf_counter()
    if kind == "polars.read_csv":
        rows = pl.read_csv(path).height
    elif kind == "fastexcel":
        import fastexcel

        rows = fastexcel.read_excel(str(path)).load_sheet(0, header_row=2).to_polars().height
    else:
        rows = dexio.read(path).height
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_mib": peak_kib / 1024, "rows": rows}


def check(path: Path) -> None:
    """A CSV file read in pieces (as ``dexio.read`` does) against the same file read whole
    (the reader before pieces): the same frame and the same findings, or exit 1."""
    from dexio.readers import _map_tables, _read_head, read_in_pieces
    from dexio.readers.text import read_delimited, sniff_delimited, sniff_plain

    start = time.perf_counter()
    delimited = sniff_plain(_read_head(path), str(path))
    if delimited is None:  # other encodings, a preamble: pieces of the decoded text
        delimited, _ = sniff_delimited(path.read_bytes(), str(path))
    pieced = read_in_pieces(path, str(path), None, delimited)
    if pieced is None:
        raise SystemExit(f"{path}: polars refused a piece, so it is read whole anyway")
    pieces_s = time.perf_counter() - start
    start = time.perf_counter()
    whole = _map_tables(path, str(path), [read_delimited(path.read_bytes(), str(path))], None)
    whole_s = time.perf_counter() - start
    same = pieced.frame.equals(whole.frame) and all(
        getattr(pieced, name) == getattr(whole, name)
        for name in ("mapping", "columns", "unclaimed", "dropped", "details", "problems")
    )
    print(
        f"{path.name}: {pieced.frame.height:,} rows, pieces {pieces_s:.2f} s, whole "
        f"{whole_s:.2f} s: {'identical' if same else 'DIFFERENT'}"
    )
    if not same:
        raise SystemExit(1)


def run_child(kind: str, path: Path) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--measure", kind, str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{kind} on {path.name} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv-rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--measure", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--check", type=Path, metavar="CSV", help="pieces == whole, then exit")
    args = parser.parse_args()
    if args.check:
        check(args.check)
        return
    if args.measure:
        print(json.dumps(measure(args.measure[0], Path(args.measure[1]))))
        return

    from rich.console import Console
    from rich.table import Table

    OUT.mkdir(parents=True, exist_ok=True)
    csv_path = OUT / f"read-{args.csv_rows}.csv"
    xlsx_path = OUT / f"read-{args.xlsx_rows}.xlsx"
    if not csv_path.exists():
        make_csv(csv_path, args.csv_rows)
    if not xlsx_path.exists():
        make_xlsx(xlsx_path, args.xlsx_rows)

    cases = [
        ("csv", "polars.read_csv", csv_path),
        ("csv", "dexio.read", csv_path),
        ("xlsx", "fastexcel", xlsx_path),
        ("xlsx", "dexio.read", xlsx_path),
    ]
    runs: dict[tuple[str, str], list[dict[str, float]]] = {(f, k): [] for f, k, _ in cases}
    for _ in range(args.repeats):
        for fmt, kind, path in cases:  # interleaved, so drift hits every case alike
            runs[(fmt, kind)].append(run_child(kind, path))

    summary: dict[str, dict[str, float]] = {}
    for (fmt, kind), results in runs.items():
        summary[f"{fmt} {kind}"] = {
            "rows": results[0]["rows"],
            "seconds_median": statistics.median(r["seconds"] for r in results),
            "peak_mib_median": statistics.median(r["peak_mib"] for r in results),
        }
    ratios = {
        "csv": summary["csv dexio.read"]["seconds_median"]
        / summary["csv polars.read_csv"]["seconds_median"],
        "xlsx": summary["xlsx dexio.read"]["seconds_median"]
        / summary["xlsx fastexcel"]["seconds_median"],
    }
    table = Table(title=f"Reading into the canonical frame (median of {args.repeats})")
    for column in ("case", "rows", "seconds", "peak MiB", "vs bare read"):
        table.add_column(column, justify="left" if column == "case" else "right")
    for name, figures in summary.items():
        fmt = name.split()[0]
        ratio = f"{ratios[fmt]:.2f}x" if "dexio" in name else ""
        table.add_row(
            name,
            f"{figures['rows']:,.0f}",
            f"{figures['seconds_median']:.2f}",
            f"{figures['peak_mib_median']:.0f}",
            ratio,
        )
    Console().print(table)
    report = {"repeats": args.repeats, "cases": summary, "ratio_vs_bare_read": ratios}
    (OUT / "read.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
