"""Result files that add up, and the end-of-run summary.

Every input record of a run lands in exactly one of ``created.csv``, ``updated.csv``,
``merged.csv``, ``unchanged.csv`` and ``rejected.csv`` (each with the record's source file
and row), and ``summary.json`` holds the counts, which add up to the number of input
records. :func:`buckets` checks both and raises if they do not: that would be a bug, and
a report that silently loses people is worse than none.

A dry run writes the same files with the actions it *would* take ("would create").
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from dexio.writers.layouts import neutralise

BUCKETS = ("created", "updated", "merged", "unchanged", "rejected")
_VERB = {
    "created": "create",
    "updated": "update",
    "merged": "merge",
    "unchanged": "leave unchanged",
    "rejected": "reject",
}
_WRITTEN = (
    "source",
    "row",
    "action",
    "dest_id",
    "full_name",
    "email",
    "company",
    "reason",
    "problems",
)
COLUMNS: dict[str, tuple[str, ...]] = {
    "created": _WRITTEN,
    "updated": _WRITTEN,
    "merged": (
        "source",
        "row",
        "action",
        "survivor_source",
        "survivor_row",
        "reason",
        "dest_id",
        "cluster_id",
        "full_name",
        "email",
    ),
    "unchanged": ("source", "row", "action", "dest_id", "full_name", "email", "company", "reason"),
    "rejected": ("source", "row", "field", "reason", "action", "full_name", "email"),
}


class AccountingError(RuntimeError):
    """The result buckets do not add up to the input: a bug in dexio, never a user error."""


def bucket_of(items: pl.DataFrame, *, dry_run: bool) -> pl.Expr:
    """Expression naming each ledger item's bucket from its action and state."""
    action, state = pl.col("action"), pl.col("state")
    failed = state == "failed"
    settled = (state == "done") | pl.lit(dry_run)
    return (
        pl.when(action == "rejected")
        .then(pl.lit("rejected"))
        .when(failed)
        .then(pl.lit("rejected"))
        .when(action == "merged")
        .then(pl.lit("merged"))
        .when(action == "unchanged")
        .then(pl.lit("unchanged"))
        .when((action == "create") & settled)
        .then(pl.lit("created"))
        .when((action == "update") & settled)
        .then(pl.lit("updated"))
        .otherwise(pl.lit("rejected"))  # never sent (interrupted run finished early)
    )


def buckets(
    items: pl.DataFrame,
    *,
    input_records: int,
    dry_run: bool = False,
    problems: Mapping[int, list[str]] | None = None,
) -> dict[str, pl.DataFrame]:
    """Split a run's items (see :meth:`dexio.ledger.Ledger.items`) into the five buckets.

    Merged records get their survivor's destination id. ``problems`` are follow-ups
    (notes, tags...) that failed, per item ``seq``. Raises :class:`AccountingError` if a
    record is missing or appears twice.
    """
    problems = problems or {}
    frame = items.with_columns(
        bucket=bucket_of(items, dry_run=dry_run),
        problems=pl.Series(
            [("; ".join(problems[s]) if s in problems else None) for s in items["seq"]],
            dtype=pl.String,
        ),
    )
    survivors = frame.select(
        pl.col("source").alias("survivor_source"),
        pl.col("row").alias("survivor_row"),
        pl.col("dest_id").alias("_survivor_dest"),
    )
    frame = frame.join(
        survivors, on=["survivor_source", "survivor_row"], how="left", maintain_order="left"
    ).with_columns(
        dest_id=pl.coalesce("dest_id", "_survivor_dest"),
        reason=pl.when(
            (pl.col("bucket") == "rejected") & pl.col("action").is_in(["create", "update"])
        )
        .then(
            pl.when(pl.col("state") == "failed")
            .then(pl.col("reason"))
            .otherwise(pl.lit("not sent: the run ended before it; run the command again"))
        )
        .otherwise(pl.col("reason")),
    )
    verb = {b: (f"would {_VERB[b]}" if dry_run else b) for b in BUCKETS}
    out: dict[str, pl.DataFrame] = {}
    for name in BUCKETS:
        part = frame.filter(pl.col("bucket") == name).with_columns(action=pl.lit(verb[name]))
        out[name] = part.select(
            [
                pl.col(c) if c in part.columns else pl.lit(None, pl.String).alias(c)
                for c in COLUMNS[name]
            ]
        ).sort(["source", "row"])
    check(out, input_records)
    return out


def check(parts: Mapping[str, pl.DataFrame], input_records: int) -> None:
    """Raise :class:`AccountingError` unless every record is in exactly one bucket."""
    total = sum(p.height for p in parts.values())
    keys = pl.concat([p.select("source", pl.col("row").cast(pl.Int64)) for p in parts.values()])
    duplicated = keys.filter(keys.is_duplicated())
    if total != input_records or duplicated.height:
        detail = ", ".join(f"{k}={p.height}" for k, p in parts.items())
        raise AccountingError(
            f"result files do not add up: {total} records in the buckets ({detail}) for "
            f"{input_records} input records; {duplicated.height} appear twice"
        )


def write(
    report_dir: str | Path,
    parts: Mapping[str, pl.DataFrame],
    summary: dict[str, Any],
) -> dict[str, Path]:
    """Write the five CSV files and ``summary.json`` (each via a temp name, then renamed)."""
    folder = Path(report_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name in BUCKETS:
        target = folder / f"{name}.csv"
        temp = folder / f".{name}.csv.tmp"
        # Result files are opened in spreadsheets: defuse cells that would run as formulas.
        neutralise(parts[name]).write_csv(temp)
        os.replace(temp, target)
        paths[name] = target
    target = folder / "summary.json"
    temp = folder / ".summary.json.tmp"
    temp.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temp, target)
    paths["summary"] = target
    return paths


def summary(
    parts: Mapping[str, pl.DataFrame],
    *,
    input_records: int,
    run_id: str | None,
    dry_run: bool,
    report_dir: str | Path,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The summary.json body: counts per bucket (adding up to ``input_records``) and more."""
    counts = {name: parts[name].height for name in BUCKETS}
    problems = sum(
        int(parts[name]["problems"].is_not_null().sum())
        for name in ("created", "updated")
        if "problems" in parts[name].columns
    )
    return {
        "run_id": run_id,
        "dry_run": dry_run,
        "input_records": input_records,
        "counts": counts,
        "followup_problems": problems,
        "report_dir": str(Path(report_dir).resolve()),
        "files": [f"{name}.csv" for name in BUCKETS],
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        **dict(extra or {}),
    }


def render(
    console: Console,
    parts: Mapping[str, pl.DataFrame],
    body: Mapping[str, Any],
    *,
    examples: int = 0,
) -> None:
    """Print the end-of-run table; with ``examples`` (dry runs), a few records per bucket."""
    dry = bool(body.get("dry_run"))
    table = Table(title="dry run: nothing was written to Dex" if dry else "import summary")
    table.add_column("result")
    table.add_column("records", justify="right")
    for name in BUCKETS:
        table.add_row(f"would {_VERB[name]}" if dry else name, f"{parts[name].height:,}")
    table.add_row("[bold]input records[/]", f"[bold]{body['input_records']:,}[/]")
    console.print(table)
    if examples:
        for name in BUCKETS:
            part = parts[name]
            if part.height == 0:
                continue
            console.print(f"[bold]{'would ' + _VERB[name] if dry else name}[/], e.g.:")
            for row in part.head(examples).iter_rows(named=True):
                who = row.get("full_name") or row.get("email") or ""
                console.print(
                    f"  {row['source']} row {row['row']}: {who} — {row.get('reason') or ''}",
                    markup=False,
                    highlight=False,
                )
    console.print(f"Result files in {body['report_dir']}", markup=False, highlight=False)
