"""The fault matrix, short: after every kind of failure and a resume, nobody is missing
and nobody is in Dex twice. bench/faults.py runs the whole matrix and prints it."""

from __future__ import annotations

from pathlib import Path

import pytest

from .faultmatrix import MATRIX, Scenario, run

SHORT = [
    Scenario("import SIGKILLed twice", {"latency": 0.01}, kills=2, seed=2),
    MATRIX[-1],  # all at once: 429, 5xx, drops, a latency spike, a server restart, two kills
]


@pytest.mark.slow
@pytest.mark.timeout(150)
@pytest.mark.parametrize("scenario", SHORT, ids=[s.name for s in SHORT])
def test_nobody_missing_nobody_twice(tmp_path: Path, scenario: Scenario) -> None:
    outcome = run(tmp_path, scenario, 200)
    assert outcome.exit_codes[-1] == 0, (tmp_path / f"run-{outcome.runs}.log").read_text()
    assert outcome.missing == 0 and outcome.twice == 0, outcome
    assert outcome.in_dex == 200 and outcome.created == 200, outcome
    assert outcome.files_add_up, outcome
    if scenario.kills:
        assert outcome.runs == scenario.kills + 1  # each kill landed mid-import
    if scenario.restart_at is not None:
        assert outcome.injected["server_restarts"] == 1
