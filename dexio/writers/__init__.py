"""Writers: canonical frames -> files people open, streamed page by page.

:func:`write` takes one frame or any iterable of frames (pages, as ``dexio.export`` fetches
them) and writes them as they arrive, so memory stays flat however many contacts there are.
Files appear atomically: written under a temporary name beside the target, renamed when
complete; an existing file is replaced only with ``force=True``.

Formats: ``csv`` and ``xlsx`` (flat, in a layout: ``dexio``, ``google``, ``outlook``),
``vcf`` (vCard 4.0 or 3.0), ``jsonl`` and ``parquet`` (the full nested canonical records).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from dexio.errors import UsageError
from dexio.writers.csv import write_csv
from dexio.writers.jsonl import write_jsonl
from dexio.writers.layouts import LAYOUTS
from dexio.writers.output import atomic_path
from dexio.writers.parquet import write_parquet
from dexio.writers.vcf import write_vcf
from dexio.writers.xlsx import write_xlsx

FORMATS = ("csv", "xlsx", "vcf", "jsonl", "parquet")
_EXTENSIONS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".vcf": "vcf",
    ".vcard": "vcf",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
}
#: Formats whose columns follow a layout; the others always carry the canonical record.
FLAT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class WriteResult:
    """What :func:`write` produced."""

    path: Path
    format: str
    rows: int


def format_for(path: str | os.PathLike[str], format: str | None = None) -> str:
    """The output format: ``format`` if given, else from the file extension."""
    if format is not None:
        if format not in FORMATS:
            raise UsageError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
        return format
    suffix = Path(path).suffix.lower()
    if suffix not in _EXTENSIONS:
        raise UsageError(
            f"cannot tell the format of {path} from its extension; "
            f"give --format ({', '.join(FORMATS)})"
        )
    return _EXTENSIONS[suffix]


def check_options(format: str, layout: str, vcard_version: int) -> None:
    """Reject option combinations that would silently be ignored."""
    if layout not in LAYOUTS:
        raise UsageError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")
    if layout != "dexio" and format not in FLAT_FORMATS:
        raise UsageError(f"--layout {layout} applies to csv and xlsx, not {format}")
    if vcard_version not in (3, 4):
        raise UsageError(f"vCard version must be 3 or 4, not {vcard_version}")


def write(
    frames: pl.DataFrame | Iterable[pl.DataFrame],
    path: str | os.PathLike[str],
    *,
    format: str | None = None,
    layout: str = "dexio",
    force: bool = False,
    raw: bool = False,
    vcard_version: int = 4,
) -> WriteResult:
    """Write canonical frames to ``path``; return the path, format and number of rows.

    ``frames`` is one frame or an iterable of frames (consumed once, as it yields).
    ``layout`` picks the columns of csv/xlsx; ``raw=True`` turns off formula
    neutralisation; ``vcard_version`` is 4 or 3.
    """
    fmt = format_for(path, format)
    check_options(fmt, layout, vcard_version)
    pages: Iterable[pl.DataFrame] = [frames] if isinstance(frames, pl.DataFrame) else frames
    with atomic_path(path, force=force) as tmp:
        if fmt == "csv":
            rows = write_csv(pages, tmp, layout=layout, raw=raw)
        elif fmt == "xlsx":
            rows = write_xlsx(pages, tmp, layout=layout, raw=raw)
        elif fmt == "vcf":
            rows = write_vcf(pages, tmp, vcard_version=vcard_version)
        elif fmt == "jsonl":
            rows = write_jsonl(pages, tmp)
        else:
            rows = write_parquet(pages, tmp)
    return WriteResult(path=Path(path), format=fmt, rows=rows)


__all__ = ["FORMATS", "WriteResult", "format_for", "write"]
