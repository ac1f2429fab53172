"""Helpers for the sandbox tests: an httpx client on a fresh sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from dexio.sandbox import Sandbox

ClientFactory = Callable[..., tuple[Sandbox, httpx.Client]]


@pytest.fixture
def dex_client(dex_sandbox: Callable[..., Sandbox]) -> Iterator[ClientFactory]:
    """``dex_client(**options) -> (sandbox, client)``: an authorised v1 client."""
    clients: list[httpx.Client] = []

    def start(**options: Any) -> tuple[Sandbox, httpx.Client]:
        sandbox = dex_sandbox(**options)
        client = httpx.Client(
            base_url=sandbox.base_url,
            headers={"Authorization": f"Bearer {sandbox.api_key.reveal()}"},
            timeout=10,
        )
        clients.append(client)
        return sandbox, client

    yield start
    for client in clients:
        client.close()


@pytest.fixture
def client(dex_client: ClientFactory) -> httpx.Client:
    return dex_client()[1]


def _create(client: httpx.Client, *contacts: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/contacts", json={"contacts": list(contacts)})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["error"] is False
    created: list[dict[str, Any]] = body["data"]["contacts"]
    return created


@pytest.fixture
def create() -> Callable[..., list[dict[str, Any]]]:
    """``create(client, {...}, {...})``: POST contacts, assert success, return them as read."""
    return _create
