"""``import dexio`` is cheap, and every public name still resolves to what it names."""

from __future__ import annotations

import subprocess
import sys

import dexio


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.strip()


def test_import_dexio_leaves_the_api_clients_and_writers_unloaded() -> None:
    heavy = ["httpx", "pydantic", "openpyxl", "starlette", "uvicorn", "dexio.sandbox"]
    out = _run(f"import sys, dexio; print(sorted(m for m in {heavy!r} if m in sys.modules))")
    assert out == "[]"
    # reading, normalizing and deduping a file needs none of them either
    out = _run(
        "import sys, dexio; dexio.read, dexio.normalize, dexio.dedupe;"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    assert out == "[]"


def test_a_submodule_import_does_not_hide_the_function_of_the_same_name() -> None:
    out = _run(
        "import dexio.export, dexio.normalize.emails, dexio.dedupe._features, dexio.plan;"
        "print(type(dexio.export).__name__, type(dexio.normalize).__name__,"
        " type(dexio.dedupe).__name__, type(dexio.plan).__name__)"
    )
    assert out == "function function function function"


def test_every_public_name_resolves() -> None:
    for name in dexio.__all__:
        assert getattr(dexio, name) is not None, name
    assert type(dexio.sandbox).__name__ == "module"
    assert set(dexio.__all__) <= set(dir(dexio))
    from dexio import ledger  # a submodule that is not a public name still imports

    assert ledger.Ledger is dexio.Ledger
