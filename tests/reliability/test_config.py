"""API keys from a flag, the environment or a private config file, in that order."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dexio.config import find_key, load_config
from dexio.dex import Dex
from dexio.errors import ConfigError
from dexio.sandbox import Sandbox
from dexio.secrets import Secret

FILE_KEY = "dex_file_Key_0000111122223333"
ENV_KEY = "dex_env_Key_4444555566667777"


def write_config(path: Path, text: str, mode: int = 0o600) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No key in the environment; the default config place is inside tmp_path."""
    for name in ("DEX_API_KEY", "GHL_TOKEN", "WHAUTOMATE_API_KEY", "DEXIO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "dexio" / "config.toml"


def test_flag_beats_environment_beats_config_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_config(isolated, f'dex_api_key = "{FILE_KEY}"\nghl_token = "ghl_file_token_x"\n')
    assert find_key("DEX_API_KEY") == Secret(FILE_KEY)
    assert find_key("GHL_TOKEN") == Secret("ghl_file_token_x")
    assert find_key("WHAUTOMATE_API_KEY") is None
    monkeypatch.setenv("DEX_API_KEY", ENV_KEY)
    assert find_key("DEX_API_KEY") == Secret(ENV_KEY)
    assert find_key("DEX_API_KEY", "from_the_flag_1234") == Secret("from_the_flag_1234")


def test_a_config_file_others_can_read_is_refused_with_the_chmod(isolated: Path) -> None:
    write_config(isolated, f'dex_api_key = "{FILE_KEY}"\n', mode=0o644)
    with pytest.raises(ConfigError) as caught:
        find_key("DEX_API_KEY")
    message = str(caught.value)
    assert f"chmod 600 {isolated}" in message and "other users" in message
    assert FILE_KEY not in message
    isolated.chmod(0o640)  # group-readable is just as shared
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config()
    isolated.chmod(0o600)
    assert load_config() == {"dex_api_key": FILE_KEY}


def test_dexio_config_names_the_file_and_mistakes_are_clear(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = write_config(tmp_path / "my.toml", f'dex_api_key = "{FILE_KEY}"\n')
    monkeypatch.setenv("DEXIO_CONFIG", str(elsewhere))
    assert find_key("DEX_API_KEY") == Secret(FILE_KEY)
    monkeypatch.setenv("DEXIO_CONFIG", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match="does not exist"):
        find_key("DEX_API_KEY")
    broken = write_config(tmp_path / "broken.toml", f'dex_api_key = "{FILE_KEY}\n')
    monkeypatch.setenv("DEXIO_CONFIG", str(broken))
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        find_key("DEX_API_KEY")
    assert FILE_KEY not in str(caught.value)
    wrong_type = write_config(tmp_path / "number.toml", "dex_api_key = 12345\n")
    monkeypatch.setenv("DEXIO_CONFIG", str(wrong_type))
    with pytest.raises(ConfigError, match="must be a string"):
        find_key("DEX_API_KEY")


def test_the_client_and_the_cli_use_the_config_file(
    isolated: Path,
    tmp_path: Path,
    dex_sandbox: Callable[..., Sandbox],
) -> None:
    box = dex_sandbox(api_key=FILE_KEY)
    write_config(isolated, f'dex_api_key = "{FILE_KEY}"\n')
    with Dex(base_url=box.base_url) as dex:
        dex.create_contacts([{"full_name": "Config Person"}])
    env = {k: v for k, v in os.environ.items() if k not in ("DEX_API_KEY", "DEXIO_CONFIG")}
    env |= {"DEX_BASE_URL": box.base_url, "XDG_CONFIG_HOME": str(isolated.parent.parent)}
    command = [sys.executable, "-m", "dexio", "export", "-q", "-o"]
    done = subprocess.run([*command, str(tmp_path / "out.csv")], env=env, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert "Config Person" in (tmp_path / "out.csv").read_text()
    isolated.chmod(0o604)
    refused = subprocess.run(
        [*command, str(tmp_path / "again.csv")], env=env, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "chmod 600" in refused.stderr
    assert "Traceback" not in refused.stderr and FILE_KEY not in refused.stdout + refused.stderr
    assert not (tmp_path / "again.csv").exists()


def test_no_key_anywhere_says_every_place_to_put_one(isolated: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        Dex(base_url="https://api.example.com/v1")
    message = str(caught.value)
    assert "export DEX_API_KEY=" in message and str(isolated) in message
