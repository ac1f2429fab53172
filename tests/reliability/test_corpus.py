"""Replay every input that once broke a reader (tests/corpus/<format>/*).

Each file there is a case a fuzz test or a user found; the reader must now give a
canonical frame or a clear InputError for it. Add the file when fixing the bug.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .conftest import read_or_clear_error

CORPUS = Path(__file__).parent.parent / "corpus"
CASES = sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "README.md")


def test_the_corpus_is_there() -> None:
    assert len(CASES) >= 5


@pytest.mark.timeout(30)
@pytest.mark.parametrize("case", CASES, ids=[str(p.relative_to(CORPUS)) for p in CASES])
def test_replay(case: Path) -> None:
    read_or_clear_error(case.read_bytes(), case.suffix)
