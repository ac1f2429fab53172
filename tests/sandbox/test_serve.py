"""``dexio sandbox serve`` and the child-process and embedded ways of running a sandbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from dexio.sandbox import DEFAULT_API_KEY, default_db_path, embedded, spawn

SERVE = [sys.executable, "-m", "dexio", "sandbox", "serve"]


def test_serve_port_0_prints_the_url_first_and_keeps_the_key_hidden(tmp_path: Path) -> None:
    db = tmp_path / "served.sqlite"
    port_file = tmp_path / "port"
    key = "dex_custom_key_123456"
    process = subprocess.Popen(
        [*SERVE, "--port", "0", "--db", str(db), "--port-file", str(port_file), "--page-cap", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "DEXIO_SANDBOX_API_KEY": key},
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        lines = [process.stdout.readline().strip() for _ in range(3)]
        port = int(port_file.read_text())
        assert url == f"http://127.0.0.1:{port}/v1"
        assert lines[1] == f"Database: {db}"
        assert lines[2] == "Faults: page_cap=2"
        headers = {"Authorization": f"Bearer {key}"}
        created = httpx.post(
            f"{url}/contacts", json={"contacts": [{"first_name": "A"}] * 3}, headers=headers
        )
        assert created.status_code == 200
        page = httpx.get(f"{url}/contacts", params={"take": 10}, headers=headers).json()
        assert len(page["data"]["items"]) == 2
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = process.communicate(timeout=15)
    assert key not in " ".join(lines) + out + err
    assert out.strip() == "Stopped."
    assert process.returncode == 0


def test_bad_fault_option_is_a_usage_error_without_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dexio.cli import main

    db = str(tmp_path / "x.sqlite")
    with pytest.raises(SystemExit) as exit_info:
        main(["sandbox", "serve", "--port", "0", "--db", db, "--fail-rate", "2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "fail_rate must be between 0 and 1" in err
    assert "Traceback" not in err


def test_committed_writes_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "crash.sqlite"
    with spawn(db) as sandbox:
        headers = {"Authorization": f"Bearer {sandbox.api_key.reveal()}"}
        response = httpx.post(
            f"{sandbox.base_url}/contacts",
            json={"contacts": [{"first_name": f"K{i}"} for i in range(50)]},
            headers=headers,
        )
        assert response.status_code == 200
        sandbox.kill()
        with pytest.raises(httpx.TransportError):
            httpx.get(f"{sandbox.base_url}/contacts/count", headers=headers)
    with embedded(db=db) as again:
        count = httpx.get(
            f"{again.base_url}/contacts/count",
            headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"},
        )
        assert count.json()["data"]["count"] == 50


def test_default_database_lives_in_the_user_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "dexio" / "sandbox.sqlite"
    with embedded() as sandbox:
        assert sandbox.db_path == default_db_path()
        assert sandbox.db_path.exists()
        assert sandbox.root_url.startswith("http://127.0.0.1:")
        assert repr(sandbox.api_key) == "Secret('***')"


def test_unknown_api_is_a_usage_error(tmp_path: Path) -> None:
    from dexio.errors import UsageError

    with (
        pytest.raises(UsageError, match="unknown sandbox API 'nope'"),
        embedded(db=tmp_path / "x.sqlite", api="nope"),
    ):
        pass
