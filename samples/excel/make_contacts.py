"""Writes samples/excel/contacts.xlsx: the shapes real spreadsheets come in.

Run from the repository root: ``python samples/excel/make_contacts.py``. The workbook has a
title row and a blank row before the header, phones typed as numbers (one with Excel's
"+"0 format, so the "+" lives only in the format), postal codes with the 00000 format,
birthdays as real date cells and one as a bare date serial, and a second sheet with another
layout. Everyone in it is invented.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

OUT = Path(__file__).with_name("contacts.xlsx")


def main() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Clients"
    sheet.append(["Client list — Harbour Street Physio (exported 2024-06-03)"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    sheet.append(
        ["First Name", "Last Name", "Email", "Mobile", "Work Phone", "Company", "Street",
         "City", "Zip", "Country", "Birthday", "Notes", "Visits"]
    )
    rows = [
        ["Mirela", "Popescu", "mirela.popescu@posta.example", 40721234567, "021 310 4455",
         "Popescu Design SRL", "Str. Lipscani 12", "București", 30031, "Romania",
         dt.date(1984, 9, 12), "Prefers evening slots", 14],
        ["Ahmed", "El-Sayed", "ahmed.elsayed@nilemail.example", 201001234567, None,
         None, "14 Talaat Harb St", "Cairo", 11511, "Egypt", dt.date(1979, 1, 30), None, 3],
        ["Katarzyna", "Nowak-Wiśniewska", "k.nowak@firma.example", "+48 601 234 567",
         "22 555 01 00", "Firma Nowak sp. z o.o.", "ul. Marszałkowska 84", "Warszawa",
         "00-514", "Poland", None, "Referral from Dr. Lee", 7],
        ["Luis", "Ortega", None, 5512345678, None, "Taller Ortega", "Av. Juárez 55",
         "Ciudad de México", 6050, "Mexico", 31048, None, 1],
        ["Freya", "Sørensen", "freya@sorensen.example", 4520123456, None, None,
         "Nørrebrogade 20", "København", 2200, "Denmark", dt.date(1995, 12, 24), None, 22],
        ["Bruno", "Carvalho", "bruno.carvalho@correio.example", 351912345678, None,
         "Carvalho & Filhos", "Rua Augusta 100", "Lisboa", "1100-053", "Portugal",
         dt.date(1968, 4, 1), "Knee rehab, 2x weekly", 31],
    ]
    for row in rows:
        sheet.append(row)
    for r in range(4, 4 + len(rows)):
        sheet.cell(r, 9).number_format = "00000"  # Zip: 06050 must keep its leading zero
        sheet.cell(r, 11).number_format = "yyyy-mm-dd"
    # Mobile numbers typed as numbers: most without "+" (it was lost when typed), and one
    # where the "+" is only in the number format.
    sheet.cell(4, 4).number_format = '"+"0'
    sheet.cell(7, 11).number_format = "General"  # a birthday left as a bare serial

    leads = book.create_sheet("Leads")
    leads.append(["Name", "E-mail", "Phone", "Source"])
    leads.append(["Yusuf Demir", "yusuf.demir@eposta.example", "+90 532 123 45 67", "Fair 2024"])
    leads.append(["Ama Owusu", "ama.owusu@mail.example", 233241234567, "Website"])
    leads.cell(3, 3).number_format = '"+"0'
    book.create_sheet("Notes")  # an empty sheet is skipped
    book.save(OUT)


if __name__ == "__main__":
    main()
