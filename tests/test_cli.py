import subprocess
import sys

from dexio import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dexio", *args], capture_output=True, text=True)


def test_version_and_help() -> None:
    version = run("--version")
    assert version.returncode == 0
    assert __version__ in version.stdout
    helped = run("--help")
    assert helped.returncode == 0
    assert "Usage" in helped.stdout


def test_unknown_command_is_usage_error_without_traceback() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
