"""The writers: every format and layout, atomic output, streaming, formula neutralisation."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from dexio.errors import UsageError
from dexio.schema import from_records
from dexio.writers import FORMATS, write
from dexio.writers.layouts import SLOTS


def _ana() -> dict[str, object]:
    return {
        "source_id": "c-ana",
        "first_name": "Ana",
        "last_name": "Lima",
        "full_name": "Ana Lima",
        "job_title": "CTO, Platform; Infra",
        "company": "Acme",
        "birthday": "--03-14",
        "linkedin": "analima",
        "legacy_location": "Lisbon, Portugal",
        "emails": [
            {"email": "ana@work.example", "label": "work", "ranking": 2},
            {"email": "ana@home.example", "label": "home", "ranking": 1},
        ],
        "phones": [
            {
                "phone_number": "+14155550100",
                "country_code": "1",
                "phone_number_sanitized": "+14155550100",
                "label": "mobile",
                "ranking": 1,
            }
        ],
        "tags": ["Friends", "Lisbon 2024"],
        "description": "Met at PyCon.\nLikes jazz.",
    }


def _people(n: int = 3) -> pl.DataFrame:
    records = [_ana()]
    for i in range(1, n):
        records.append(
            {
                "source_id": f"c-{i}",
                "first_name": f"Person{i}",
                "last_name": "Example",
                "emails": [{"email": f"p{i}@example.org", "label": None, "ranking": 1}],
            }
        )
    return from_records(records)


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_dexio_csv_layout_has_numbered_columns_sorted_by_ranking(tmp_path: Path) -> None:
    out = tmp_path / "contacts.csv"
    result = write(_people(), out)
    assert result.rows == 3 and result.format == "csv"
    rows = _read_csv(out)
    assert list(rows[0])[:3] == ["dex_id", "first_name", "last_name"]
    ana = rows[0]
    assert ana["dex_id"] == "c-ana"
    assert (ana["email_1"], ana["email_1_label"]) == ("ana@home.example", "home")
    assert (ana["email_2"], ana["email_2_label"]) == ("ana@work.example", "work")
    assert ana["phone_1"] == "+14155550100"  # E.164 stays readable, not neutralised
    assert ana["birthday"] == "--03-14"  # yearless birthday is data, not a formula
    assert ana["tags"] == "Friends; Lisbon 2024"
    assert ana["description"] == "Met at PyCon.\nLikes jazz."
    assert rows[1]["email_2"] == ""


def test_overflow_emails_are_kept_in_the_last_slot(tmp_path: Path) -> None:
    many = [{"email": f"n{i}@example.org", "label": f"l{i}", "ranking": i} for i in range(1, 9)]
    frame = from_records([{"first_name": "Many", "emails": many}])
    out = tmp_path / "many.csv"
    write(frame, out)
    row = _read_csv(out)[0]
    last = f"email_{SLOTS}"
    assert row[last] == " ::: ".join(f"n{i}@example.org" for i in range(SLOTS, 9))
    assert row[f"{last}_label"] == " ::: ".join(f"l{i}" for i in range(SLOTS, 9))
    written = [row[f"email_{i}"] for i in range(1, SLOTS)] + row[last].split(" ::: ")
    assert written == [m["email"] for m in many]


def test_formula_cells_are_neutralised_unless_raw(tmp_path: Path) -> None:
    evil = from_records(
        [
            {
                "first_name": '=HYPERLINK("http://x.example","click")',
                "last_name": "+SUM(A1:A2)",
                "company": "-2+3",
                "job_title": "@cmd",
                "description": "\tTabbed",
                "education": "\rReturn",
                "website": "https://ok.example",
                "phones": [
                    {"phone_number": "+1 415 555", "label": "work", "ranking": 1},
                ],
            }
        ]
    )
    safe = _read_csv(write(evil, tmp_path / "safe.csv").path)[0]
    for column in ("first_name", "last_name", "company", "job_title", "description"):
        assert safe[column].startswith("'"), column
    assert safe["education"] == "'\rReturn"
    assert safe["website"] == "https://ok.example"
    assert safe["phone_1"] == "'+1 415 555"  # not E.164, so it could be an expression
    raw = _read_csv(write(evil, tmp_path / "raw.csv", raw=True).path)[0]
    assert raw["first_name"] == '=HYPERLINK("http://x.example","click")'
    assert raw["last_name"] == "+SUM(A1:A2)"


def test_xlsx_cells_are_text_never_formulas(tmp_path: Path) -> None:
    frame = from_records([{"first_name": "=1+1", "last_name": "Plain", "company": "Café \x01Bell"}])
    for raw in (False, True):
        out = tmp_path / f"book_{raw}.xlsx"
        assert write(frame, out, raw=raw).rows == 1
        sheet = openpyxl.load_workbook(out).active
        assert sheet is not None
        header = [c.value for c in sheet[1]]
        cells = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
        first = cells["first_name"]
        assert first.data_type == "s"
        assert first.value == ("=1+1" if raw else "'=1+1")
        assert cells["company"].value == "Café Bell"  # XML-illegal control char removed


def test_xlsx_has_the_same_columns_as_csv(tmp_path: Path) -> None:
    frame = _people()
    for layout in ("dexio", "google", "outlook"):
        csv_rows = _read_csv(write(frame, tmp_path / f"{layout}.csv", layout=layout).path)
        book = openpyxl.load_workbook(write(frame, tmp_path / f"{layout}.xlsx", layout=layout).path)
        sheet = book.active
        assert sheet is not None
        values = [
            [c if c is not None else "" for c in row] for row in sheet.iter_rows(values_only=True)
        ]
        assert values[0] == list(csv_rows[0])
        assert [dict(zip(values[0], r, strict=True)) for r in values[1:]] == csv_rows


def test_google_layout(tmp_path: Path) -> None:
    rows = _read_csv(write(_people(), tmp_path / "google.csv", layout="google").path)
    ana = rows[0]
    assert ana["First Name"] == "Ana" and ana["Organization Name"] == "Acme"
    assert ana["Organization Title"] == "CTO, Platform; Infra"
    assert ana["E-mail 1 - Label"] == "* Home"  # Google marks the primary with "* "
    assert ana["E-mail 1 - Value"] == "ana@home.example"
    assert ana["E-mail 2 - Label"] == "Work"
    assert ana["Phone 1 - Label"] == "* Mobile"
    assert ana["Phone 1 - Value"] == "+14155550100"
    assert ana["Labels"] == "Friends ::: Lisbon 2024 ::: * myContacts"
    assert ana["Address 1 - Formatted"] == "Lisbon, Portugal"
    linkedin = [k for k, v in ana.items() if v == "https://www.linkedin.com/in/analima"]
    assert linkedin and ana[linkedin[0].replace("Value", "Label")] == "Linkedin"
    assert rows[1]["Labels"] == "* myContacts"


def test_outlook_layout_keeps_what_has_no_column_in_notes(tmp_path: Path) -> None:
    emails = [{"email": f"e{i}@example.org", "label": "work", "ranking": i} for i in range(1, 5)]
    phones = [
        {"phone_number": "+14155550101", "label": "mobile", "ranking": 1},
        {"phone_number": "+14155550102", "label": "mobile", "ranking": 2},
        {"phone_number": "+14155550103", "label": "mobile", "ranking": 3},
        {"phone_number": "+14155550104", "label": "work", "ranking": 4},
    ]
    frame = from_records(
        [
            {
                "first_name": "Olga",
                "last_name": "Ott",
                "birthday": "1980-07-04",
                "emails": emails,
                "phones": phones,
                "tags": ["a", "b"],
                "description": "Notes here",
            },
            {"first_name": "Yves", "birthday": "--12-31"},
        ]
    )
    olga, yves = _read_csv(write(frame, tmp_path / "outlook.csv", layout="outlook").path)
    assert olga["E-mail Address"] == "e1@example.org"
    assert olga["E-mail 3 Address"] == "e3@example.org"
    assert olga["Mobile Phone"] == "+14155550101"
    assert olga["Other Phone"] == "+14155550102"
    assert olga["Business Phone"] == "+14155550104"
    assert olga["Birthday"] == "7/4/1980"
    assert olga["Categories"] == "a;b"
    assert olga["Notes"].splitlines() == [
        "Notes here",
        "E-mail: e4@example.org (work)",
        "Phone: +14155550103 (mobile)",
    ]
    assert yves["Birthday"] == "" and "--12-31" in yves["Notes"]


def test_jsonl_and_parquet_keep_nested_records(tmp_path: Path) -> None:
    frame = _people()
    jsonl = write(frame, tmp_path / "c.jsonl")
    records = [json.loads(line) for line in jsonl.path.read_text("utf-8").splitlines()]
    assert len(records) == 3
    assert records[0]["emails"][1] == {"email": "ana@home.example", "label": "home", "ranking": 1}
    assert records[0]["tags"] == ["Friends", "Lisbon 2024"]
    parquet = write(frame, tmp_path / "c.parquet")
    back = pl.read_parquet(parquet.path)
    assert back.equals(frame)


def test_existing_file_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "c.csv"
    out.write_text("keep me")
    with pytest.raises(UsageError, match=r"c\.csv already exists.*--force"):
        write(_people(), out)
    assert out.read_text() == "keep me"
    write(_people(), out, force=True)
    assert _read_csv(out)[0]["first_name"] == "Ana"


@pytest.mark.parametrize("fmt", FORMATS)
def test_failure_midway_leaves_no_file(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"c.{fmt}"

    def pages() -> Iterator[pl.DataFrame]:
        yield _people()
        raise RuntimeError("connection lost")

    with pytest.raises(RuntimeError, match="connection lost"):
        write(pages(), out)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fmt", FORMATS)
def test_pages_are_written_as_they_arrive(tmp_path: Path, fmt: str) -> None:
    """A generator of pages is consumed lazily; the final name appears only at the end."""
    out = tmp_path / f"c.{fmt}"
    seen: list[int] = []

    def pages() -> Iterator[pl.DataFrame]:
        for i in range(4):
            assert not out.exists()
            partial = [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
            assert len(partial) == 1
            seen.append(partial[0].stat().st_size)
            yield _people(50).with_columns(pl.col("source_id") + f"-{i}")

    assert write(pages(), out).rows == 200
    if fmt in ("csv", "jsonl", "vcf"):  # plain text: bytes are on disk before the next page
        assert seen[1] < seen[2] < seen[3]
    assert [p.name for p in tmp_path.iterdir()] == [out.name]


def test_empty_export_still_has_a_header(tmp_path: Path) -> None:
    out = tmp_path / "none.csv"
    assert write(iter([]), out).rows == 0
    assert out.read_text("utf-8-sig").startswith("dex_id,first_name")


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="extension"):
        write(_people(), tmp_path / "c.txt")
    with pytest.raises(UsageError, match="layout"):
        write(_people(), tmp_path / "c.vcf", layout="google")
    with pytest.raises(UsageError, match="layout"):
        write(_people(), tmp_path / "c.csv", layout="excel")
    with pytest.raises(UsageError, match="vCard version"):
        write(_people(), tmp_path / "c.vcf", vcard_version=2)
    with pytest.raises(UsageError, match="does not exist"):
        write(_people(), tmp_path / "missing" / "c.csv")
    assert write(_people(), tmp_path / "c.txt", format="csv").rows == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_neutralised_cells_read_back_as_written(tmp_path: Path, fmt: str) -> None:
    """The apostrophe guards the spreadsheet only: dexio.read gives the original values."""
    if fmt == "xlsx":
        pytest.importorskip("dexio.readers.excel", reason="the xlsx reader has not landed yet")
    import dexio

    risky = {
        "source_id": "c-9",
        "first_name": "-Dash",
        "last_name": "=Equals",
        "company": "@Corp",
        "job_title": "+Plus",
        "birthday": "--03-14",
        "emails": [{"email": "dash@example.org", "label": "work", "ranking": 1}],
        "phones": [{"phone_number": "+14155550100", "label": "mobile", "ranking": 1}],
    }
    out = write(from_records([risky]), tmp_path / f"risky.{fmt}").path
    back = dexio.read(out).to_dicts()[0]
    for field in ("first_name", "last_name", "company", "job_title", "birthday", "source_id"):
        assert back[field] == risky[field], field
    assert back["phones"][0]["phone_number"] == "+14155550100"


def test_google_layout_reads_back_through_the_google_mapping(tmp_path: Path) -> None:
    import dexio

    many = [
        {"email": f"a{i}@example.org", "label": "work" if i % 2 else "home", "ranking": i}
        for i in range(1, 8)
    ]
    ana = {**_ana(), "emails": many}
    back = dexio.read(write(from_records([ana]), tmp_path / "g.csv", layout="google").path)
    record = back.to_dicts()[0]
    assert record["emails"] == many  # the overflow in the 5th slot is split back
    assert [p["phone_number"] for p in record["phones"]] == ["+14155550100"]
    assert record["tags"] == ["Friends", "Lisbon 2024"]
    assert (record["first_name"], record["company"], record["birthday"]) == (
        "Ana",
        "Acme",
        "--03-14",
    )
