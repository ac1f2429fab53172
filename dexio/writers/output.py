"""Atomic output files: write under a temporary name beside the target, rename when done.

A crash, Ctrl-C or an API failure half-way leaves no partial file under the final name, and
an existing file is only replaced when the caller asked for it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dexio.errors import UsageError


def refuse_existing(path: Path, force: bool) -> None:
    """Raise a clear error if ``path`` exists and overwriting was not asked for."""
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force (force=True) to overwrite it")
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a file name to write to")


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s directory; on success rename it to ``path``.

    On any exception the temporary file is removed and ``path`` is left as it was.
    """
    target = Path(path)
    refuse_existing(target, force)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise UsageError(f"cannot write {target}: the folder {directory} does not exist")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # Re-checked at the end: another process may have created the file meanwhile.
        refuse_existing(target, force)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
