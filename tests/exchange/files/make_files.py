"""Makes the files in this folder (see README.md); run it from the repository's root:

    DJANGO_SETTINGS_MODULE=stammgast.settings python tests/exchange/files/make_files.py

Needs openpyxl and LibreOffice (`soffice`); the tests use the files it made, not it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import random
import shutil
import subprocess
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# LibreOffice as a German office runs it: dates and numbers in German spellings.
GERMAN = {**os.environ, "LC_ALL": "de_DE.UTF-8", "LANG": "de_DE.UTF-8"}
rng = random.Random(14)

FIRST = ["Anna", "Bernd", "Clara", "Dieter", "Eva", "Frank", "Greta", "Hans", "Ida", "Jonas"]
LAST = ["Meier", "Schulz", "Becker", "Hoffmann", "Wagner", "Koch", "Richter", "Klein", "Wolf"]
STREETS = ["Hauptstr.", "Bahnhofstr.", "Lindenweg", "Am Markt", "Gartenstr.", "Ringstr."]
# Postcodes with a leading zero: the ones spreadsheets break.
PLACES = [("01067", "Dresden"), ("04109", "Leipzig"), ("09111", "Chemnitz"), ("10115", "Berlin")]


def person(i: int) -> dict:
    postcode, city = PLACES[i % len(PLACES)]
    return {
        "first": FIRST[i % len(FIRST)],
        "last": LAST[(i * 7) % len(LAST)],
        "street": f"{STREETS[i % len(STREETS)]} {i % 90 + 1}",
        "postcode": postcode,
        "city": city,
        "mobile": f"+49151{10000000 + i * 7919:08d}",
        "phone": f"0351 {1000000 + i * 31:07d}",
        "email": f"gast{i}@example.de",
        "born": dt.date(1950 + i % 50, i % 12 + 1, i % 28 + 1),
    }


def shopify_csv() -> None:
    """A Shopify customer export (Customers -> Export -> CSV for Excel, Numbers, or other
    spreadsheet programs): UTF-8, commas, apostrophes before postcodes and phone numbers,
    and newsletter subscribers with nothing but an e-mail address."""
    header = [
        "Customer ID",
        "First Name",
        "Last Name",
        "Email",
        "Accepts Email Marketing",
        "Default Address Company",
        "Default Address Address1",
        "Default Address Address2",
        "Default Address City",
        "Default Address Province Code",
        "Default Address Country Code",
        "Default Address Zip",
        "Default Address Phone",
        "Phone",
        "Accepts SMS Marketing",
        "Total Spent",
        "Total Orders",
        "Note",
        "Tax Exempt",
        "Tags",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for i in range(80):
        p = person(i)
        only_email = i % 8 == 7
        writer.writerow(
            [
                f"'{7100000000000 + i * 1031}",
                "" if only_email else p["first"],
                "" if only_email else p["last"],
                p["email"],
                "yes" if i % 3 else "no",
                "Adler GmbH" if i == 5 else "",
                "" if only_email else p["street"],
                "2. OG" if i % 10 == 1 else "",
                "" if only_email else p["city"],
                "SN" if not only_email else "",
                "" if only_email else "DE",
                "" if only_email else "'" + p["postcode"],
                "" if only_email else "'+49351" + p["phone"][5:],
                "'" + p["mobile"] if i % 2 else "",
                "no",
                f"{i * 13.5:.2f}",
                str(i % 5),
                "Stammgast seit 2019" if i % 11 == 0 else "",
                "no",
                "VIP, Newsletter" if i % 4 == 0 else "",
            ]
        )
    (HERE / "shopify_customers_export.csv").write_text(out.getvalue(), encoding="utf-8")


OFFICE_HEADINGS = [
    "Anrede",
    "Vorname",
    "Nachname",
    "Strasse",
    "PLZ",
    "Ort",
    "Telefon",
    "Handy",
    "Geburtstag",
    "Firma",
    "Bemerkung",
    "Rabatt",
]


def office_rows(n: int, umlauts_from: int) -> list[list]:
    rows = []
    for i in range(n):
        p = person(i)
        late = i >= umlauts_from
        rows.append(
            [
                ["Herr", "Frau", "Divers", "Herr Dr."][i % 4],
                "Jürgen" if late else p["first"],
                "Weiß" if late else p["last"],
                "Königstraße 3" if late else p["street"],
                int(p["postcode"]),  # as a number: the leading zero is gone
                "Görlitz" if late else p["city"],
                p["phone"],
                int(p["mobile"][3:]),  # 151...: typed as a number, its 0 lost
                p["born"],
                "",
                "mag Fensterplatz" if i % 9 == 0 else "",
                ["15 %", "10", "0", "5%"][i % 4],
            ]
        )
    return rows


def office_workbook() -> None:
    """An office's customer list in Excel's format (openpyxl): an Info sheet first, then
    the customers under a title row and an empty row, postcodes and mobile numbers typed
    as numbers, birthdays as date cells."""
    import openpyxl

    book = openpyxl.Workbook()
    info = book.active
    info.title = "Info"
    info["A1"] = "Kundenliste Gasthaus Adler"
    info["A2"] = "Stand"
    info["B2"] = dt.date(2026, 11, 30)
    sheet = book.create_sheet("Kunden")
    sheet["A1"] = "Kundenliste – Stand 30.11.2026"
    sheet.append([])
    sheet.append(OFFICE_HEADINGS)
    for row in office_rows(40, umlauts_from=38):
        sheet.append(row)
        sheet.cell(sheet.max_row, 9).number_format = "DD.MM.YYYY"
    book.save(HERE / "office_info_sheet_title_row.xlsx")


def soffice(source: Path, target_ext: str, filter_options: str, out_name: str) -> None:
    """Convert with LibreOffice headless (its own profile, so it runs beside a desktop one)."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{tmp}/profile",
                "--headless",
                "--convert-to",
                f"{target_ext}:{filter_options}" if filter_options else target_ext,
                "--outdir",
                tmp,
                str(source),
            ],
            check=True,
            capture_output=True,
            env=GERMAN,
        )
        produced = Path(tmp) / f"{source.stem}.{target_ext}"
        shutil.move(produced, HERE / out_name)


def office_csv_and_unicode_text() -> None:
    """The same kind of list saved by a spreadsheet as CSV in Windows-1252 with semicolons
    (what Excel's "CSV (Trennzeichen-getrennt)" writes; the first umlaut after 64 KB) and
    as "Unicode Text" (UTF-16 LE with BOM, tabs), both by LibreOffice."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Kunden"
    sheet.append(OFFICE_HEADINGS)
    for row in office_rows(900, umlauts_from=899):
        sheet.append(row)
        sheet.cell(sheet.max_row, 9).number_format = "DD.MM.YYYY"
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "kunden.xlsx"
        book.save(source)
        # Filter options: separator, text quote, character set (1 = Windows-1252,
        # 65535 = UTF-16), first line; 59 = ";", 9 = tab, 34 = '"'.
        soffice(source, "csv", "Text - txt - csv (StarCalc):59,34,1,1", "excel_cp1252.csv")
        soffice(source, "csv", "Text - txt - csv (StarCalc):9,34,65535,1", "unicode_text.csv")
    (HERE / "unicode_text.csv").rename(HERE / "unicode_text.txt")


def export_round_trip() -> None:
    """stammgast's own export (the ZIP's CSV, written by the export's writer) opened in
    LibreOffice with German settings and saved again, as CSV and as XLSX: postcodes
    become numbers, dates become date cells shown as DD.MM.YY, the apostrophes the
    export put before formula-like texts stay in the cells."""
    import django

    django.setup()
    from stammgast.exchange.columns import EXPORT_COLUMNS
    from stammgast.exchange.writers import write_zip

    base = {c.field: None for c in EXPORT_COLUMNS}
    people = [
        {
            "number": "1",
            "first_name": "Jürgen",
            "last_name": "Weiß",
            "gender": "male",
            "date_of_birth": dt.date(1980, 2, 29),
            "street": "Hauptstraße 1",
            "postcode": "01067",
            "city": "Dresden",
            "country": "DE",
            "mobile": "+49 171 2345678",
            "email": "juergen@example.de",
            "discount": 10,
            "price_level": 2,
            "created_at": dt.datetime(2024, 5, 1, 9, 30, 0),
            "updated_at": dt.datetime(2025, 1, 2, 17, 0, 5),
            "favourite": True,
            "blocked": False,
        },
        {
            "number": "2",
            "last_name": "'t Hooft",
            "alias": "@home",
            "postcode": "8001",
            "city": "Zürich",
            "country": "CH",
            "date_of_birth": dt.date(2005, 4, 3),
            "phone_private": "+41 44 123 45 67",
            "favourite": False,
            "blocked": False,
        },
        {
            "number": "3",
            "first_name": "Ana",
            "last_name": "=HYPERLINK(1)",
            "postcode": "09111",
            "country": "DE",
            "favourite": False,
            "blocked": True,
        },
    ]
    rows = [[{**base, **p}[c.field] for c in EXPORT_COLUMNS] for p in people]
    with tempfile.TemporaryDirectory() as tmp:
        archive = Path(tmp) / "export.zip"
        write_zip(
            archive,
            EXPORT_COLUMNS,
            rows,
            language="de",
            data_name="kunden.csv",
            settings_name="filter.csv",
            settings_rows=[("Einstellung", "Wert")],
        )
        with zipfile.ZipFile(archive) as z:
            source = Path(tmp) / "kunden.csv"
            source.write_bytes(z.read("kunden.csv"))
        shutil.copy(source, HERE / "export_as_written.csv")
        # Reading: ";", '"', UTF-8 (76), from line 1, standard cell types, German (1031).
        infilter = "CSV:59,34,76,1,,1031"
        for ext, options, name in (
            ("csv", "Text - txt - csv (StarCalc):59,34,76,1", "export_libreoffice.csv"),
            ("xlsx", "Calc MS Excel 2007 XML", "export_libreoffice.xlsx"),
        ):
            with tempfile.TemporaryDirectory() as work:
                subprocess.run(
                    [
                        "soffice",
                        f"-env:UserInstallation=file://{work}/profile",
                        "--headless",
                        f"--infilter={infilter}",
                        "--convert-to",
                        f"{ext}:{options}",
                        "--outdir",
                        work,
                        str(source),
                    ],
                    check=True,
                    capture_output=True,
                    env=GERMAN,
                )
                shutil.move(Path(work) / f"kunden.{ext}", HERE / name)


if __name__ == "__main__":
    shopify_csv()
    office_workbook()
    office_csv_and_unicode_text()
    export_round_trip()
