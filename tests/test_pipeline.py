"""The one pipeline behind import and migrate: any plan source, any destination."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.console import Console

from dexio.dex import Dex
from dexio.ledger import LEDGER_NAME, Ledger
from dexio.pipeline import DexDestination, Planned, prepare, run
from dexio.schema import from_records

PEOPLE: list[Mapping[str, Any]] = [
    {
        "source": "crm",
        "row": i + 1,
        "full_name": f"Pia Source{i}",
        "emails": [{"email": f"pia{i}@example.com", "label": None, "ranking": 1}],
    }
    for i in range(3)
]


def test_a_plan_source_runs_dry_then_for_real_then_plans_again(dex: Dex, tmp_path: Path) -> None:
    destination = DexDestination(dex)
    folder = tmp_path / "report"
    given: list[Ledger | None] = []

    def source(ledger: Ledger | None) -> Planned:
        given.append(ledger)
        frame = from_records(PEOPLE)
        items, before = prepare(frame, destination)
        return Planned(items, before, {"input_records": frame.height, "options": {}, "n": 3})

    def go(dry_run: bool) -> dict[str, int]:
        result = run(
            folder,
            "same-source",
            destination,
            source,
            command="test",
            extra={"destination": destination.name},
            dry_run=dry_run,
            read_in_summary=True,
            console=Console(quiet=True),
        )
        assert result.summary["read"] == {"input_records": 3, "n": 3}  # options left out
        return result.counts

    assert go(dry_run=True)["created"] == 3
    assert given == [None] and not (folder / LEDGER_NAME).exists()  # a dry run keeps no ledger
    assert dex.count() == 0
    assert go(dry_run=False)["created"] == 3
    assert dex.count() == 3
    again = go(dry_run=False)  # finished: the source plans again, against what Dex holds now
    assert again["created"] == 0 and again["unchanged"] == 3
    assert len(given) == 3 and all(isinstance(ledger, Ledger) for ledger in given[1:])
