"""Helpers for the reliability suite: read any bytes and hold dexio to its promise."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import openpyxl
import pytest

import dexio
from dexio.errors import DexioError
from dexio.schema import check


def read_or_clear_error(data: bytes, suffix: str) -> str:
    """Read ``data`` as a file: a canonical frame, or a DexioError naming the file.

    Any other exception propagates and fails the test. Returns ``"ok"`` or the message.
    """
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"input{suffix}"
        path.write_bytes(data)
        try:
            frame = dexio.read(path)
        except DexioError as exc:
            message = str(exc)
            assert str(path) in message, message
            assert "Traceback" not in message and len(message) < 2000
            return message
        check(frame)
        assert frame["row"].to_list() == list(range(1, frame.height + 1))
        return "ok"


def small_workbook(rows: int = 5) -> bytes:
    """A valid .xlsx with a header row and a few invented contacts."""
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["First Name", "Last Name", "E-mail Address", "Mobile Phone", "Notes"])
    for i in range(rows):
        sheet.append([f"Ana{i}", "Lima", f"ana{i}@example.org", f"+1 555 010{i:04d}", "hi"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="session")
def workbook_bytes() -> bytes:
    return small_workbook()
