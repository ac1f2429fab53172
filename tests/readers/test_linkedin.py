"""LinkedIn Connections.csv: preamble, profile URL -> handle, Connected On kept as a date."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import dexio
from dexio.schema import check

SAMPLE = Path(__file__).parents[2] / "samples" / "linkedin" / "Connections.csv"


def test_sample_reads_with_linkedin_mapping_detected() -> None:
    reading = dexio.inspect(SAMPLE)
    check(reading.frame)
    assert reading.mapping is not None and reading.mapping.name == "linkedin"
    assert reading.mapping_detected
    assert reading.frame.height == 9
    assert reading.unclaimed == []
    first = reading.frame.row(0, named=True)
    assert first["source"] == str(SAMPLE)
    assert first["row"] == 1
    assert (first["first_name"], first["last_name"]) == ("Marta", "Kowalczyk")
    assert first["linkedin"] == "marta-kowalczyk-7b2a19"
    assert first["job_title"] == "Head of Partnerships"
    assert first["emails"] == [
        {"email": "marta.kowalczyk@brightlane.example", "label": None, "ranking": 1}
    ]
    assert json.loads(first["extra"]) == {"connected_on": "2023-03-14"}


def test_quoted_commas_and_missing_emails() -> None:
    frame = dexio.read(SAMPLE, mapping="linkedin")
    rahul = frame.filter(frame["first_name"] == "Rahul").row(0, named=True)
    assert rahul["company"] == "Kestrel Analytics, Inc."
    assert rahul["job_title"] == "VP, Data Science"
    assert rahul["emails"] == []
    assert frame["emails"].list.len().sum() == 5


def test_inspect_command_shows_mapping_and_counts() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dexio", "inspect", str(SAMPLE)],
        capture_output=True,
        text=True,
        env={"COLUMNS": "160", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert "linkedin (detected from the header)" in result.stdout
    assert "contacts" in result.stdout and " 9" in result.stdout
    assert "Kowalczyk" in result.stdout
