"""Fixtures shared by every test area.

Sandbox servers (see dexio/sandbox and docs/sandbox.md):

- ``dex_sandbox(**options) -> Sandbox`` starts a Dex sandbox in a background thread on
  127.0.0.1 (free port, SQLite file in ``tmp_path``) and stops it after the test. Options
  are ``dexio.sandbox.FaultConfig`` fields (``rate_limit=5``, ``page_cap=3``,
  ``ignore_cursor=True`` ...) plus ``api_key=`` and ``db=``. Call it more than once for
  several servers. The handle has ``base_url`` (``http://127.0.0.1:PORT/v1``),
  ``root_url``, ``legacy_url``, ``api_key`` (a Secret; default ``dex_sandbox_key``),
  ``db_path``, ``faults`` (live: assign a field to change behaviour mid-test),
  ``stats()``, ``reset()`` and ``store``.
- ``dex_sandbox_url``: the base URL of a fault-free sandbox with the default key.
- ``dex_sandbox_env``: a fault-free sandbox with ``DEX_BASE_URL``/``DEX_API_KEY`` set.
- ``crm_emulator(api, data=None, **faults) -> Sandbox``: the ``ghl`` or ``whautomate``
  emulator on its own SQLite file, seeded from a sample JSON file or a dict.
- ``box`` / ``dex``: a fault-free Dex sandbox and a client on it (closed after the test).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from dexio.dex import Dex
from dexio.sandbox import Sandbox, embedded

# CI (CI=true) runs the property and fuzz tests derandomized: the same examples every run,
# so a submission never fails on a fresh random draw. Local runs keep exploring new inputs;
# whatever they find goes into tests/corpus/ with its fix.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_user_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the real user data/config dirs (embedded sandbox DB,
    config files) so tests can run in parallel workers without sharing state."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))


@pytest.fixture
def dex_sandbox(tmp_path: Path) -> Iterator[Callable[..., Sandbox]]:
    numbers = itertools.count(1)
    with ExitStack() as stack:

        def start(**options: Any) -> Sandbox:
            db = options.pop("db", None) or tmp_path / f"dex-sandbox-{next(numbers)}.sqlite"
            return stack.enter_context(embedded(db=db, **options))

        yield start


@pytest.fixture
def dex_sandbox_url(dex_sandbox: Callable[..., Sandbox]) -> str:
    return dex_sandbox().base_url


@pytest.fixture
def dex_sandbox_env(
    dex_sandbox: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> Sandbox:
    sandbox = dex_sandbox()
    monkeypatch.setenv("DEX_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("DEX_API_KEY", sandbox.api_key.reveal())
    return sandbox


@pytest.fixture
def crm_emulator(dex_sandbox: Callable[..., Sandbox], tmp_path: Path) -> Callable[..., Sandbox]:
    numbers = itertools.count(1)

    def start(api: str, data: dict[str, Any] | Path | None = None, **faults: Any) -> Sandbox:
        from dexio.sandbox import ghl, whautomate

        n = next(numbers)
        db = tmp_path / f"{api}-{n}.sqlite"
        if isinstance(data, dict):
            path = tmp_path / f"{api}-seed-{n}.json"
            path.write_text(json.dumps(data))
            data = path
        if data is not None:
            (ghl.seed_file if api == "ghl" else whautomate.seed_file)(db, data)
        return dex_sandbox(db=db, api=api, **faults)

    return start


@pytest.fixture
def box(dex_sandbox: Callable[..., Sandbox]) -> Sandbox:
    return dex_sandbox()


@pytest.fixture
def dex(box: Sandbox) -> Iterator[Dex]:
    with Dex(api_key=box.api_key, base_url=box.base_url) as client:
        yield client
