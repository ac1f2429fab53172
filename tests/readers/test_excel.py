"""xlsx: header below a title, every sheet or one, numbers that must keep "+" and leading 0,
date cells and date serials, broken workbooks."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

import dexio
from dexio.errors import InputError
from dexio.readers.excel import format_number
from dexio.schema import check

SAMPLE = Path(__file__).parents[2] / "samples" / "excel" / "contacts.xlsx"


def test_sample_workbook_every_sheet() -> None:
    reading = dexio.inspect(SAMPLE)
    check(reading.frame)
    assert reading.format == "xlsx"
    assert reading.frame.height == 8  # 6 clients + 2 leads; the empty sheet is skipped
    assert reading.frame["row"].to_list() == list(range(1, 9))
    assert "Clients (header row 3, rows 1-6)" in reading.details["sheets"]
    frame = reading.frame
    mirela = frame.filter(pl.col("first_name") == "Mirela").row(0, named=True)
    # The "+" only lived in the cell's number format "+"0.
    assert mirela["phones"][0]["phone_number"] == "+40721234567"
    assert mirela["phones"][0]["country_code"] == "RO"
    assert mirela["birthday"] == "1984-09-12"
    luis = frame.filter(pl.col("first_name") == "Luis").row(0, named=True)
    assert luis["legacy_location"] == "Av. Juárez 55, Ciudad de México, 06050, Mexico"
    assert luis["birthday"] == "1985-01-01"  # a bare date serial (31048)
    # A number typed without its "+" stays digits: never 4.07e+11, never "...567.0".
    ahmed = frame.filter(pl.col("first_name") == "Ahmed").row(0, named=True)
    assert ahmed["phones"][0]["phone_number"] == "201001234567"
    ama = frame.filter(pl.col("full_name") == "Ama Owusu").row(0, named=True)
    assert ama["phones"][0]["phone_number"] == "+233241234567"


def test_one_sheet_by_name_or_index() -> None:
    leads = dexio.read(SAMPLE, sheet="Leads")
    assert leads["full_name"].to_list() == ["Yusuf Demir", "Ama Owusu"]
    assert dexio.read(SAMPLE, sheet=0).height == 6
    with pytest.raises(InputError, match="no sheet named 'Nope'"):
        dexio.read(SAMPLE, sheet="Nope")


def test_numbers_dates_and_header_position(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Report"])
    sheet.append(["Name", "Phone", "Zip", "Birthday", "Score"])
    sheet.append(["Ana Lima", 4155550123, 1234, dt.date(1990, 3, 4), 3.5])
    sheet.append(["Ben Okoro", 4.9171123456e11, 501, dt.datetime(1985, 1, 2), 2])
    sheet.append(["Cleo Park", 442079460958, 90210, None, None])
    sheet["C3"].number_format = "00000"
    sheet["C4"].number_format = "00000"
    sheet["B5"].number_format = '"+"0'
    path = tmp_path / "people.xlsx"
    book.save(path)
    frame = dexio.read(path)
    phones = [p[0]["phone_number"] for p in frame["phones"].to_list()]
    assert phones == ["4155550123", "491711234560", "+442079460958"]
    assert frame["legacy_location"].to_list() == ["01234", "00501", "90210"]
    assert frame["birthday"].to_list() == ["1990-03-04", "1985-01-02", None]


def test_format_number_follows_excel() -> None:
    assert format_number(1234, "00000") == "01234"
    assert format_number(4155550123, "(000) 000-0000") == "(415) 555-0123"
    assert format_number(4915550123, '"+"0') == "+4915550123"
    assert format_number(4915550123, "\\+0") == "+4915550123"
    assert format_number(12, "#,##0") == "12"
    assert format_number(3.5, "0.0") == "3.5"


def test_truncated_workbook_is_a_clear_error(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    path = tmp_path / "cut.xlsx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as caught:
        dexio.read(path)
    assert str(path) in str(caught.value)
    assert "damaged or truncated" in str(caught.value)


def test_zip_that_is_not_a_workbook_and_zip_bomb(tmp_path: Path) -> None:
    other = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("a.txt", "hello")
    with pytest.raises(InputError, match=r"not an Excel \.xlsx"):
        dexio.read(other)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(InputError, match="zip bomb"):
        dexio.read(bomb)


def test_workbook_without_a_table(tmp_path: Path) -> None:
    book = Workbook()
    path = tmp_path / "blank.xlsx"
    book.save(path)
    with pytest.raises(InputError, match="no table"):
        dexio.read(path)
