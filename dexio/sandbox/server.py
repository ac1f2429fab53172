"""Running a sandbox: in a background thread (:func:`embedded`), in the foreground
(:func:`serve`, behind ``dexio sandbox serve``) or as a child process (:func:`spawn`, for
tests that kill the server).

Emulators register an app factory under a name (``"dex"`` here; GoHighLevel and
Whautomate add theirs), so every way of running one works for all of them.
"""

from __future__ import annotations

import asyncio
import importlib
import ipaddress
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.types import ASGIApp

from dexio.errors import ConfigError, UsageError
from dexio.sandbox.faults import FaultConfig, Stats
from dexio.secrets import Secret

DEFAULT_API_KEY = "dex_sandbox_key"
"""The key a sandbox accepts unless told otherwise (not a secret: it only opens the sandbox)."""
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
_START_TIMEOUT = 15.0


@dataclass
class SandboxApp:
    """What an app factory returns: the ASGI app (faults included) and its parts."""

    asgi: ASGIApp
    base_path: str
    """Path prefix of the API, e.g. ``/v1``: ``base_url`` = server root + this."""
    store: Any
    stats: Stats
    faults: FaultConfig
    close: Callable[[], None]


class AppFactory(Protocol):
    def __call__(self, *, db_path: Path, api_key: str, faults: FaultConfig) -> SandboxApp: ...


_APPS: dict[str, str | AppFactory] = {
    "dex": "dexio.sandbox.dex:create_app",
    "ghl": "dexio.sandbox.ghl:create_sandbox_app",
    "whautomate": "dexio.sandbox.whautomate:create_sandbox_app",
}


def register_app(name: str, factory: str | AppFactory) -> None:
    """Make an emulator runnable by name (``factory`` may be ``"module:function"``)."""
    _APPS[name] = factory


def app_names() -> list[str]:
    return sorted(_APPS)


def app_factory(name: str) -> AppFactory:
    """The factory registered as ``name``, else ``create_app`` of ``dexio.sandbox.<name>``."""
    target = _APPS.get(name)
    if target is None and name.isidentifier():
        target = f"dexio.sandbox.{name}:create_app"
    if isinstance(target, str):
        module, _, attr = target.partition(":")
        try:
            factory: AppFactory = getattr(importlib.import_module(module), attr)
        except (ModuleNotFoundError, AttributeError):
            target = None
        else:
            return factory
    if target is None:
        raise UsageError(f"unknown sandbox API {name!r}; available: {', '.join(app_names())}")
    return target


def data_dir() -> Path:
    """``$XDG_DATA_HOME/dexio`` (default ``~/.local/share/dexio``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "dexio"


def default_db_path(api: str = "dex") -> Path:
    """Where a sandbox keeps its data unless given ``db``."""
    name = "sandbox.sqlite" if api == "dex" else f"sandbox-{api}.sqlite"
    return data_dir() / name


@dataclass
class Sandbox:
    """A running sandbox: where it listens, the key it accepts, where it stores data."""

    root_url: str
    """``http://127.0.0.1:PORT`` (``/_sandbox/*`` and the legacy ``/api/rest`` live here)."""
    base_url: str
    """The API base URL to give a client, e.g. ``http://127.0.0.1:PORT/v1``."""
    api_key: Secret
    db_path: Path
    faults: FaultConfig
    """The live fault options: change a field and the next request sees it."""
    app: SandboxApp | None = None

    @property
    def port(self) -> int:
        return int(self.root_url.rsplit(":", 1)[1])

    @property
    def legacy_url(self) -> str:
        """Base URL of the legacy Dex API (``/api/rest``) on this server."""
        return f"{self.root_url}/api/rest"

    @property
    def store(self) -> Any:
        """The emulator's store, for direct inspection in tests (embedded mode only)."""
        if self.app is None:
            raise UsageError("the store is only reachable for an embedded sandbox")
        return self.app.store

    def stats(self) -> dict[str, Any]:
        """Requests by route and status, faults injected and record counts."""
        if self.app is not None:
            return {**self.app.stats.snapshot(), **self.app.store.counts()}
        import httpx

        return dict(httpx.get(f"{self.root_url}/_sandbox/stats", timeout=10).json())

    def reset(self) -> None:
        """Empty the store and the statistics."""
        import httpx

        httpx.post(f"{self.root_url}/_sandbox/reset", timeout=10).raise_for_status()


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        family = socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class _EmbeddedServer(uvicorn.Server):
    """A uvicorn server that stops as soon as asked (uvicorn polls every 0.1 s), which
    keeps the per-test sandbox fixture cheap."""

    _loop: asyncio.AbstractEventLoop | None = None
    _wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while not await self.on_tick(0):  # tick 0 also refreshes the Date header
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=1.0)

    def stop(self) -> None:
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            # RuntimeError: the loop closed meanwhile, so the server has stopped already
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


def _config(app: SandboxApp, log_level: str, *, own_logging: bool) -> uvicorn.Config:
    """uvicorn settings; ``own_logging=False`` (embedded) leaves the host's logging setup
    alone: uvicorn's records then go wherever the application sends log records."""
    return uvicorn.Config(
        app.asgi,
        lifespan="off",
        http="h11",  # the drop-after-commit fault relies on h11's framing checks
        ws="none",
        log_level=log_level,
        log_config=uvicorn.config.LOGGING_CONFIG if own_logging else None,
        access_log=False,
        timeout_graceful_shutdown=2,
    )


def _resolve(api_key: str | Secret | None) -> str:
    if isinstance(api_key, Secret):
        return api_key.reveal()
    return api_key or DEFAULT_API_KEY


@contextmanager
def embedded(
    db: str | Path | None = None,
    api_key: str | Secret | None = None,
    *,
    api: str = "dex",
    **faults: Any,
) -> Iterator[Sandbox]:
    """Run a sandbox in a background thread on 127.0.0.1 and a free port.

    ``db`` defaults to :func:`default_db_path`; ``api_key`` to :data:`DEFAULT_API_KEY`;
    ``faults`` are :class:`FaultConfig` fields. The server is accepting requests when this
    returns and is stopped (and its database closed) when the block ends.
    """
    config = FaultConfig(**faults)
    db_path = Path(db) if db is not None else default_db_path(api)
    key = _resolve(api_key)
    app = app_factory(api)(db_path=db_path, api_key=key, faults=config)
    sock = bind_socket(DEFAULT_HOST, 0)
    port = sock.getsockname()[1]
    server = _EmbeddedServer(_config(app, "warning", own_logging=False))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"dexio-sandbox-{port}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the {api} sandbox did not start on 127.0.0.1:{port}")
            time.sleep(0.002)
        root = _url(DEFAULT_HOST, port)
        yield Sandbox(
            root_url=root,
            base_url=root + app.base_path,
            api_key=Secret(key),
            db_path=db_path,
            faults=config,
            app=app,
        )
    finally:
        server.force_exit = True
        server.stop()
        thread.join(timeout=10)
        sock.close()
        app.close()


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    db: str | Path | None = None,
    api_key: str | Secret | None = None,
    api: str = "dex",
    port_file: str | Path | None = None,
    announce: Callable[[str], None] = print,
    log_level: str = "warning",
    **faults: Any,
) -> None:
    """Run a sandbox in the foreground until interrupted (``dexio sandbox serve``).

    The first line given to ``announce`` is the API base URL (so ``--port 0`` callers can
    read the chosen port from it); then the key hint, the database path and the faults.
    """
    config = FaultConfig(**faults)
    db_path = Path(db) if db is not None else default_db_path(api)
    key = _resolve(api_key)
    app = app_factory(api)(db_path=db_path, api_key=key, faults=config)
    sock = bind_socket(host, port)
    port = sock.getsockname()[1]
    root = _url(host, port)
    if port_file is not None:
        Path(port_file).write_text(f"{port}\n")
    announce(root + app.base_path)
    if key == DEFAULT_API_KEY:
        announce(f"API key: {DEFAULT_API_KEY} (the sandbox default)")
    else:
        announce("API key: the one given with --api-key (not shown)")
    announce(f"Database: {db_path}")
    active = {f.name: getattr(config, f.name) for f in fields(config)}
    defaults = FaultConfig().as_dict()
    changed = {name: value for name, value in active.items() if value != defaults[name]}
    if changed:
        announce("Faults: " + ", ".join(f"{name}={value}" for name, value in changed.items()))
    if not _is_loopback(host):
        announce(f"Warning: listening on {host}, reachable from other machines.")
    try:
        uvicorn.Server(_config(app, log_level, own_logging=True)).run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn re-raises Ctrl-C after its graceful shutdown
        announce("Stopped.")
    finally:
        sock.close()
        app.close()


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@dataclass
class SandboxProcess(Sandbox):
    """A sandbox running as a child process (see :func:`spawn`)."""

    process: subprocess.Popen[str] | None = None

    def kill(self) -> None:
        """SIGKILL the server, as a crash would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


def fault_flags(**faults: Any) -> list[str]:
    """``dexio sandbox serve`` flags for the given :class:`FaultConfig` fields."""
    config = FaultConfig(**faults)
    defaults = FaultConfig().as_dict()
    flags: list[str] = []
    for name, value in config.as_dict().items():
        if value == defaults[name]:
            continue
        flag = "--" + name.replace("_", "-")
        flags.extend([flag] if isinstance(value, bool) else [flag, str(value)])
    return flags


@contextmanager
def spawn(
    db: str | Path,
    api_key: str | Secret | None = None,
    *,
    api: str = "dex",
    **faults: Any,
) -> Iterator[SandboxProcess]:
    """Run ``dexio sandbox serve --port 0`` as a child process (for kill -9 tests).

    Returns once the server listens; the process is stopped when the block ends.
    """
    key = _resolve(api_key)
    command = [sys.executable, "-m", "dexio", "sandbox", "serve", "--port", "0", "--db", str(db)]
    command += ["--api", api, *fault_flags(**faults)]
    env = {**os.environ, "DEXIO_SANDBOX_API_KEY": key}  # keeps the key off the command line
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        first = process.stdout.readline().strip()
        if not first.startswith("http"):
            process.kill()
            error = process.stderr.read()
            raise ConfigError(f"the sandbox process did not start: {first} {error}".strip())
        for stream in (process.stdout, process.stderr):  # keep the pipes from filling up
            threading.Thread(target=stream.read, daemon=True).start()
        root = first.rsplit("/", 1)[0] if first.count("/") > 2 else first
        yield SandboxProcess(
            root_url=root,
            base_url=first,
            api_key=Secret(key),
            db_path=Path(db),
            faults=FaultConfig(**faults),
            process=process,
        )
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
