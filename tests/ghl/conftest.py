"""A GoHighLevel emulator on 127.0.0.1 per test, seeded from samples/ or generated data."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dexio.ghl import GoHighLevel
from dexio.http import Pacer, RetryPolicy
from dexio.sandbox import Sandbox
from dexio.sandbox.ghl import GhlEmulator, SlidingWindow

SAMPLE = Path(__file__).parents[2] / "samples" / "ghl" / "location.json"
FAST_RETRIES = RetryPolicy(base_delay=0.05, max_delay=1.0, max_total_seconds=30.0)


@dataclass
class GhlServer:
    sandbox: Sandbox

    @property
    def emulator(self) -> GhlEmulator:
        emulator: GhlEmulator = self.sandbox.store
        return emulator

    @property
    def location_id(self) -> str:
        return self.emulator.store.location_id

    def client(self, **options: Any) -> GoHighLevel:
        options.setdefault("policy", FAST_RETRIES)
        options.setdefault("token", self.sandbox.api_key)
        # Tests are not about pacing unless they say so: no 10 calls/s ceiling.
        options.setdefault("pacer", Pacer(1000, per=1.0))
        return GoHighLevel(
            location_id=self.location_id,
            base_url=self.sandbox.base_url,
            **options,
        )


def generated_location(count: int, *, duplicate_every: int = 0) -> dict[str, Any]:
    """``count`` invented contacts, one note and one task each; with ``duplicate_every=k``
    every k-th contact repeats an earlier one's email (or phone, alternately)."""
    contacts = []
    for i in range(count):
        contact: dict[str, Any] = {
            "id": f"gen{i:06d}",
            "firstName": f"Person{i}",
            "lastName": f"Family{i % 97}",
            "email": f"person{i}@example.com",
            "phone": f"+1415555{i:04d}",
            "tags": ["generated", f"batch{i % 5}"],
            "dateAdded": f"2024-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.{i // 3600:03d}Z",
            "notes": [{"body": f"Note for person {i}"}],
            "tasks": [{"title": f"Call person {i}", "dueDate": "2024-09-01T00:00:00.000Z"}],
        }
        if duplicate_every and i and i % duplicate_every == 0:
            twin = i - 1
            if i % (2 * duplicate_every) == 0:
                contact["email"] = f"person{twin}@example.com"
            else:
                contact["phone"] = f"+1415555{twin:04d}"
        contacts.append(contact)
    return {"location": {"id": "locGenerated0001"}, "contacts": contacts}


@pytest.fixture
def ghl_server(crm_emulator: Callable[..., Sandbox]) -> Callable[..., GhlServer]:
    def start(data: dict[str, Any] | Path | None = SAMPLE, **faults: Any) -> GhlServer:
        server = GhlServer(crm_emulator("ghl", data, **faults))
        # A window the tests never fill, so X-RateLimit-Remaining never pauses a client;
        # the pacing tests install GoHighLevel's real one.
        server.emulator.window = SlidingWindow(1_000_000, 10.0)
        return server

    return start
