"""Where dexio finds API keys: a flag, the environment, or a private config file.

The order is: the value passed in (``--api-key``), then the environment variable
(``DEX_API_KEY``, ``GHL_TOKEN``, ``WHAUTOMATE_API_KEY``), then the config file. The config
file is TOML, at ``$DEXIO_CONFIG`` or else ``$XDG_CONFIG_HOME/dexio/config.toml``
(``~/.config/dexio/config.toml``), with one key per variable name in lower case::

    dex_api_key = "..."
    ghl_token = "..."

A config file that group or others can read or write is refused with the ``chmod`` that
fixes it, before any value in it is used: a key in a shared file is a leaked key.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

from dexio.errors import ConfigError
from dexio.secrets import Secret, from_env

CONFIG_ENV = "DEXIO_CONFIG"

__all__ = ["CONFIG_ENV", "config_path", "find_key", "load_config"]


def config_path() -> tuple[Path, bool]:
    """The config file to use and whether the user named it explicitly (``$DEXIO_CONFIG``)."""
    named = os.environ.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser(), True
    base = os.environ.get("XDG_CONFIG_HOME", "").strip()
    root = Path(base) if base else Path.home() / ".config"
    return root / "dexio" / "config.toml", False


def _check_private(path: Path) -> None:
    if os.name != "posix":  # Windows keeps access in ACLs, not mode bits
        return
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(
            f"{path} holds API keys but other users can access it "
            f"(mode {stat.filemode(mode)}); make it private with: chmod 600 {path}"
        )


def load_config(path: Path | None = None) -> dict[str, object]:
    """The settings in the config file; ``{}`` when there is none at the default place.

    Raises :class:`ConfigError` when the file is readable by others, is not valid TOML, or
    was named by ``$DEXIO_CONFIG`` and does not exist.
    """
    explicit = path is not None
    if path is None:
        path, explicit = config_path()
    if not path.exists():
        if explicit:
            raise ConfigError(f"the config file {path} (from ${CONFIG_ENV}) does not exist")
        return {}
    if not path.is_file():
        raise ConfigError(f"the config file {path} is not a file")
    _check_private(path)
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        # The parser's message names line and column only, never the values.
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    return data


def find_key(env_name: str, given: str | Secret | None = None) -> Secret | None:
    """The key for ``env_name``: ``given``, else the environment, else the config file."""
    if isinstance(given, Secret):
        return given if given else None
    if given and given.strip():
        return Secret(given.strip())
    secret = from_env(env_name)
    if secret:
        return secret
    value = load_config().get(env_name.lower())
    if value is None:
        return None
    if not isinstance(value, str):
        path, _ = config_path()
        raise ConfigError(f"{path}: {env_name.lower()} must be a string in quotes")
    return Secret(value.strip()) if value.strip() else None
