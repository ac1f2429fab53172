"""A Whautomate emulator on 127.0.0.1 per test, seeded from samples/whautomate/."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dexio.http import RetryPolicy
from dexio.sandbox import Sandbox
from dexio.sandbox.whautomate import WhautomateEmulator
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
def wa_server(crm_emulator: Callable[..., Sandbox]) -> Callable[..., WhautomateServer]:
    def start(data: dict[str, Any] | Path | None = SAMPLE, **faults: Any) -> WhautomateServer:
        return WhautomateServer(crm_emulator("whautomate", data, **faults))

    return start
