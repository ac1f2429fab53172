"""Local servers that behave like Dex (and, later, GoHighLevel and Whautomate).

A sandbox stores everything in one SQLite file and can misbehave on purpose (rate limits,
5xx, dropped responses, capped or repeated pages) through one shared fault layer, so the
clients can be rehearsed against what the real APIs might do. Run one with
``dexio sandbox serve`` or, from Python::

    with dexio.sandbox.embedded(rate_limit=5) as sb:
        dex = Dex(base_url=sb.base_url, api_key=sb.api_key)

See docs/sandbox.md for the routes, the options and how each uncertainty is modelled.
"""

from __future__ import annotations

from dexio.sandbox.faults import FaultConfig, FaultMiddleware, Stats, control_routes
from dexio.sandbox.server import (
    DEFAULT_API_KEY,
    DEFAULT_PORT,
    AppFactory,
    Sandbox,
    SandboxApp,
    SandboxProcess,
    app_factory,
    app_names,
    default_db_path,
    embedded,
    register_app,
    serve,
    spawn,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PORT",
    "AppFactory",
    "FaultConfig",
    "FaultMiddleware",
    "Sandbox",
    "SandboxApp",
    "SandboxProcess",
    "Stats",
    "app_factory",
    "app_names",
    "control_routes",
    "default_db_path",
    "embedded",
    "register_app",
    "serve",
    "spawn",
]
