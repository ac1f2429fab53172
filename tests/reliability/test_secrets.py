"""A known key goes through import, export and a rejected login, from the config file,
the environment and the flag, with faults on and DEBUG logging: no byte dexio writes
holds it. (Redirects and plain-http refusal are tested in tests/test_http.py.)"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import dexio
from dexio.sandbox import Sandbox

KEY = "dex_live_Pr1vateKey_ThatMustNotLeak_42"
WRONG = "dex_live_WrongKey_AlsoPrivate_77"
ROOT = Path(__file__).resolve().parents[2]
LOGGED_CLI = (
    "import logging, sys; "
    "logging.basicConfig(filename=sys.argv[1], level=logging.DEBUG, force=True); "
    "from dexio.cli import main; main(sys.argv[2:])"
)


def forms(key: str) -> list[bytes]:
    """The key as it could appear: plain, UTF-16, base64 (e.g. in a Basic header)."""
    raw = key.encode()
    return [raw, key.encode("utf-16-le"), base64.b64encode(raw), base64.b64encode(raw)[:-4]]


@pytest.mark.slow
@pytest.mark.timeout(170)
def test_no_byte_dexio_writes_holds_the_key(
    tmp_path: Path, dex_sandbox: Callable[..., Sandbox]
) -> None:
    box = dex_sandbox(api_key=KEY, fail_rate=0.1, drop_after_commit=0.1, rate_limit=40, seed=4)
    work = tmp_path / "work"
    work.mkdir()
    config = tmp_path / "xdg" / "dexio" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'dex_api_key = "{KEY}"\n')
    config.chmod(0o600)
    people = work / "people.csv"
    people.write_text(
        "First Name,Last Name,Email,Notes\n"
        + "".join(f'Ivo{i},Marsh,ivo{i}@leak.example,=HYPERLINK("x")\n' for i in range(60))
    )
    base = {k: v for k, v in os.environ.items() if k not in ("DEX_API_KEY", "DEXIO_CONFIG")}
    base |= {"DEX_BASE_URL": box.base_url, "XDG_CONFIG_HOME": str(tmp_path / "nowhere")}
    from_file = base | {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    from_env = base | {"DEX_API_KEY": KEY}
    wrong = base | {"DEX_API_KEY": WRONG}
    runs: list[tuple[dict[str, str], list[str], set[int]]] = [
        (from_file, ["import", str(people), "--report", str(work / "r1"), "-q"], {0}),
        (from_env, ["import", str(people), "--report", str(work / "r2")], {0}),
        (base, ["export", "-o", str(work / "all.csv"), "--api-key", KEY], {0}),
        (from_file, ["export", "-o", str(work / "all.xlsx"), "--include", "notes"], {0}),
        (wrong, ["export", "-o", str(work / "denied.csv")], {3}),
        (wrong, ["import", str(people), "--report", str(work / "r3")], {3}),
    ]
    written: list[bytes] = []
    for number, (env, args, codes) in enumerate(runs):
        log = work / f"debug-{number}.log"
        done = subprocess.run(
            [sys.executable, "-c", LOGGED_CLI, str(log), *args],
            env=env, cwd=work, capture_output=True, timeout=120,
        )  # fmt: skip
        assert done.returncode in codes, (args, done.stderr.decode()[-1500:])
        assert b"Traceback" not in done.stderr
        written += [done.stdout, done.stderr]
    assert (work / "r1" / "ledger.sqlite").exists() and (work / "all.xlsx").exists()
    assert b"debug" in (work / "debug-0.log").read_bytes().lower()  # DEBUG logs were kept
    files = [p for p in work.rglob("*") if p.is_file()]
    assert len(files) > 10
    written += [p.read_bytes() for p in files]
    leaks = [
        (i, form) for i, data in enumerate(written) for k in (KEY, WRONG) for form in forms(k)
        if form in data
    ]  # fmt: skip
    assert not leaks, [files[i - 2 * len(runs)] if i >= 2 * len(runs) else i for i, _ in leaks]
    with dexio.Dex(api_key=KEY, base_url=box.base_url) as dex:
        assert dex.count() == 60


def test_tls_verification_is_never_switched_off() -> None:
    """No code path builds an HTTP client without certificate checks."""
    sources = [p for p in (ROOT / "dexio").rglob("*.py") if "sandbox" not in p.parts]
    offenders = [
        str(p.relative_to(ROOT)) for p in sources
        if "verify=False" in (text := p.read_text()) or "CERT_NONE" in text
        or "check_hostname = False" in text
    ]  # fmt: skip
    assert offenders == []
    with dexio.Dex(api_key=KEY, base_url="https://api.example.com/v1") as dex:
        transport: Any = dex.http._client._transport  # httpx's default HTTPTransport
        context = transport._pool._ssl_context
        assert context.verify_mode.name == "CERT_REQUIRED" and context.check_hostname
