"""A Whautomate emulator on 127.0.0.1 per test, seeded from samples/whautomate/."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox, embedded
from dexio.sandbox.whautomate import WhautomateEmulator, seed_file
from dexio.whautomate import Whautomate

SAMPLE = Path(__file__).parents[2] / "samples" / "whautomate" / "account.json"
FAST_RETRIES = RetryPolicy(base_delay=0.05, max_delay=1.0, max_total_seconds=30.0)


@dataclass
class WhautomateServer:
    sandbox: Sandbox

    @property
    def emulator(self) -> WhautomateEmulator:
        emulator: WhautomateEmulator = self.sandbox.store
        return emulator

    def client(self, **options: Any) -> Whautomate:
        options.setdefault("policy", FAST_RETRIES)
        options.setdefault("api_key", self.sandbox.api_key)
        options.setdefault("location_id", "loc_river_01")
        return Whautomate(host=self.sandbox.base_url, **options)


@pytest.fixture
def wa_server(tmp_path: Path) -> Iterator[Callable[..., WhautomateServer]]:
    numbers = itertools.count(1)
    with ExitStack() as stack:

        def start(data: dict[str, Any] | Path | None = SAMPLE, **faults: Any) -> WhautomateServer:
            db = tmp_path / f"wa-{next(numbers)}.sqlite"
            if isinstance(data, dict):
                path = tmp_path / f"seed-{next(numbers)}.json"
                path.write_text(json.dumps(data))
                seed_file(db, path)
            elif data is not None:
                seed_file(db, data)
            return WhautomateServer(
                stack.enter_context(embedded(db=db, api="whautomate", **faults))
            )

        yield start
