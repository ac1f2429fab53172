"""Benchmark the account cleanup and undo against the sandbox, on data with known truth.

    python bench/cleanup.py                    # 1,000 contacts, 15% duplicates, seed 7
    python bench/cleanup.py --rows 5000 --dup-rate 0.2

1. Seeds an embedded Dex sandbox with ``bench/generate.py`` contacts (duplicates by e-mail,
   by phone, by name+company, and traps that must not merge), one note per contact.
2. ``review_duplicates``: proposed groups vs the generator's truth (pairwise precision and
   recall, groups found exactly).
3. ``merge`` of the review with every group approved: the contact count must drop by
   exactly the contacts merged away, and every note must still be in the account.
4. Import a file into the (non-empty) account, ``undo`` its report: the export before the
   import and the export after the undo must be identical (``updated_at`` aside: a
   restored contact was written again, which Dex stamps).

Prints a table and writes bench/out/cleanup.json.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import polars as pl

import dexio
from dexio.cleanup import merge, review_duplicates
from dexio.dex import Dex
from dexio.dex.convert import to_wire
from dexio.undo import undo

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))
generator = importlib.import_module("generate")  # bench/generate.py: data with known truth
generate, write_csv = generator.generate, generator.write_csv
INCLUDE = ("notes", "reminders")  # nested in each exported record, compared too


def seed_account(dex: Dex, folder: Path, rows: int, dup_rate: float, seed: int) -> dict[str, str]:
    """Create the generated contacts (and one note each); returns contact id -> person id."""
    records = generate(rows, dup_rate, seed)
    path = folder / "seed.csv"
    write_csv(path, records)
    # Dex holds valid birthdays and e-mails: send what the import would send.
    frame = dexio.normalize(dexio.read(path))
    created = dex.create_contacts(to_wire(frame), chunk_size=100)
    truth = {c.id: r["person_id"] for c, r in zip(created, records, strict=True)}
    for contact in created:
        dex.create_note(contact.id, f"seeded note for {contact.full_name or contact.id}")
    return truth


def import_file(dex: Dex, seed: int, existing: int = 30, new: int = 170) -> list[dict[str, str]]:
    """``new`` people Dex lacks, plus ``existing`` people it has (same e-mail) with a new job
    title, a new work phone, a tag and a note: creates, updates and follow-ups to undo."""
    rows = [r for r in generate(new, 0.0, seed + 1)]
    held = [c for c in dex.iter_contacts(take=500) if c.contact_emails][:existing]
    for n, contact in enumerate(held):
        rows.append(
            {
                "person_id": f"x{n}",
                "First Name": contact.first_name or "",
                "Last Name": contact.last_name or "",
                "Email": contact.contact_emails[0].email if contact.contact_emails else "",
                "Job Title": "" if contact.job_title else f"Title {n}",
                "Work Phone": f"+1 415 555 {n:04d}",
                "Tags": "imported-again",
                "Notes": f"met again ({n})",
            }
        )
    return rows


def pairs(groups: list[list[str]]) -> set[frozenset[str]]:
    return {frozenset(p) for g in groups for p in itertools.combinations(sorted(g), 2)}


def quality(review: pl.DataFrame, truth: dict[str, str]) -> dict[str, Any]:
    proposed = [m.split("; ") for m in review["member_ids"].to_list()]
    by_person: dict[str, list[str]] = {}
    for cid, pid in truth.items():
        by_person.setdefault(pid, []).append(cid)
    true_groups = [g for g in by_person.values() if len(g) > 1]
    found, real = pairs(proposed), pairs(true_groups)
    exact = {frozenset(g) for g in proposed} & {frozenset(g) for g in true_groups}
    return {
        "true_groups": len(true_groups),
        "true_duplicates": sum(len(g) - 1 for g in true_groups),
        "proposed_groups": len(proposed),
        "proposed_duplicates": sum(len(g) - 1 for g in proposed),
        "pair_precision": round(len(found & real) / len(found), 4) if found else 1.0,
        "pair_recall": round(len(found & real) / len(real), 4) if real else 1.0,
        "groups_exact": len(exact),
    }


def comparable(path: Path) -> pl.DataFrame:
    """An export without ``updated_at`` (inside ``extra``), sorted by contact id."""
    frame = pl.read_ndjson(path)
    return (
        frame.with_columns(
            pl.col("extra").map_elements(
                lambda text: json.dumps(
                    {k: v for k, v in json.loads(text).items() if k != "updated_at"}, sort_keys=True
                ),
                return_dtype=pl.String,
            )
        )
        .sort("source_id")
        .drop("row")
    )


def run(rows: int, dup_rate: float, seed: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"rows": rows, "dup_rate": dup_rate, "seed": seed}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        with (
            dexio.sandbox.embedded(db=folder / "dex.sqlite") as box,
            Dex(api_key=box.api_key, base_url=box.base_url, concurrency=4) as dex,
        ):
            started = time.perf_counter()
            truth = seed_account(dex, folder, rows, dup_rate, seed)
            figures["seed_seconds"] = round(time.perf_counter() - started, 2)
            notes_before = sum(1 for _ in dex.iter_notes(take=500))

            started = time.perf_counter()
            review = review_duplicates(folder / "review", dex=dex)
            figures["review_seconds"] = round(time.perf_counter() - started, 2)
            figures.update(quality(review.groups, truth))

            approved = review.groups.with_columns(approve=pl.lit("yes"))
            approved.write_csv(folder / "approved.csv")
            count_before = dex.count()
            started = time.perf_counter()
            result = merge(folder / "approved.csv", dex=dex, report_dir=folder / "merge")
            figures["merge_seconds"] = round(time.perf_counter() - started, 2)
            count_after = dex.count()
            notes_after = sum(1 for _ in dex.iter_notes(take=500))
            notes_on_contacts = sum(
                1 for n in dex.iter_notes(take=500) if n.timeline_items_contacts
            )
            figures.update(
                contacts_before_merge=count_before,
                groups_merged=result.merged,
                contacts_removed=result.removed,
                contacts_after_merge=count_after,
                count_drop_matches=count_before - count_after == result.removed,
                notes_before=notes_before,
                notes_after=notes_after,
                notes_still_on_a_contact=notes_on_contacts,
                merge_problems=len(result.problems),
            )

            # Undo: import a file into the now non-empty account, then take it back.
            write_csv(folder / "import.csv", import_file(dex, seed))
            dexio.export(
                folder / "before.jsonl", dex=dex, include=INCLUDE, progress=False, force=True
            )
            started = time.perf_counter()
            imported = dexio.import_files(
                folder / "import.csv", dex=dex, report_dir=folder / "import", quiet=True
            )
            figures["import_seconds"] = round(time.perf_counter() - started, 2)
            figures["import_counts"] = imported.counts
            started = time.perf_counter()
            undone = undo(folder / "import", dex=dex, yes=True)
            figures["undo_seconds"] = round(time.perf_counter() - started, 2)
            figures["undo"] = undone.summary()
            dexio.export(
                folder / "after.jsonl", dex=dex, include=INCLUDE, progress=False, force=True
            )
            before, after = comparable(folder / "before.jsonl"), comparable(folder / "after.jsonl")
            figures["export_identical_after_undo"] = before.equals(after)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--dup-rate", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    figures = run(args.rows, args.dup_rate, args.seed)
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")
    OUT.mkdir(exist_ok=True)
    (OUT / "cleanup.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {OUT / 'cleanup.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
