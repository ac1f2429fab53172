"""`dexio dedupe FILE...`: real files through read + normalize + dedupe, review files out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from dexio.dedupe import dedupe_files


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def two_files(tmp_path: Path) -> list[Path]:
    a = write(
        tmp_path / "crm.csv",
        "First Name,Last Name,Email,Phone,Company\n"
        "Ana,Lopez,Ana@X.com,(415) 555-0100,Acme\n"
        "Bob,Stone,bob@stone.io,,Acme Inc\n",
    )
    b = write(
        tmp_path / "phone.csv",
        "First Name,Last Name,Email,Mobile,Company\n"
        "Ana,López,,+1 415 555 0100,\n"
        "Robert,Stone,rs@gmail.com,,ACME\n"
        "John,Smith,smithfamily@gmail.com,,\n"
        "Jane,Smith,smithfamily@gmail.com,,\n",
    )
    return [a, b]


def test_dedupe_files_reads_normalizes_and_merges_formats(tmp_path: Path) -> None:
    result = dedupe_files(two_files(tmp_path), region="US", trust=["phone.csv"])
    assert result.contacts.height == 4 and result.merged.height == 2
    reasons = dict(
        zip(
            result.merged["full_name"].to_list(),
            result.merged["merge_reason"].to_list(),
            strict=True,
        )
    )
    # (415) 555-0100 and +1 415 555 0100 are one number once normalized.
    assert reasons["Ana Lopez"] == "same phone +14155550100 + name match"
    assert reasons["Bob Stone"].endswith("same company Acme Inc")
    # The trusted file's records survive.
    assert {Path(s).name for s in result.merged["survivor_source"]} == {"phone.csv"}


def test_command_writes_review_files_and_prints_a_summary(tmp_path: Path) -> None:
    files = [str(p) for p in two_files(tmp_path)]
    out = tmp_path / "review"
    done = subprocess.run(
        [sys.executable, "-m", "dexio", "dedupe", *files, "--region", "US", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "groups with duplicates" in done.stdout
    clusters = pl.read_csv(out / "clusters.csv")
    assert clusters.height == 4
    assert clusters.filter(pl.col("role") == "merged")["merge_reason"].null_count() == 0
    reasons = pl.read_csv(out / "reasons.csv")
    refused = reasons.filter(~pl.col("merged"))
    assert refused["reason"].to_list() == [
        "not merged: same email smithfamily@gmail.com but names differ "
        "('john smith' vs 'jane smith')"
    ]
    people = pl.read_csv(out / "merged-contacts.csv")
    assert people.height == 4


def test_command_on_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dexio", "dedupe", str(tmp_path / "nope.csv")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
