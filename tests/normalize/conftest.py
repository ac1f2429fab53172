"""What the fast-path tests of normalize share: a generated file and the sample files.

Each fast path (e-mails, phones, lone entries, birthdays) is held to its slow path on the
same data: ``generated`` is 6,000 rows of ``bench/generate.py`` (seed 7, read once per
test session), and a test that takes a ``sample_path`` argument runs once per readable
file under ``samples/``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import polars as pl
import pytest

import dexio

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


def sample_files() -> list[Path]:
    return [
        path
        for path in sorted(SAMPLES.rglob("*"))
        if path.is_file() and path.suffix in {".csv", ".txt", ".xlsx", ".vcf"}
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sample_path" in metafunc.fixturenames:
        metafunc.parametrize("sample_path", sample_files(), ids=lambda p: p.name)


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        generator = importlib.import_module("generate")
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = tmp_path_factory.mktemp("generated") / "contacts.csv"
    generator.write_csv(path, generator.generate(6000, 0.15, 7))
    return dexio.read(path)
