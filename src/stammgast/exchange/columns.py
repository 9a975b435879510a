"""The exchange file format: columns, headers in German and English, and value spellings.

Writing and reading live side by side here so that what the export writes, the import
reads back to the same value (the round trip is exact by construction).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from stammgast.customers.models import Gender
from stammgast.tenants.models import PaymentMethod

LANGUAGES = ("de", "en")

# Kinds of value: how a column is written to XLSX/CSV and parsed back.
TEXT = "text"  # free text
CODE = "code"  # text that looks like a number but is not one (leading zeros kept)
INTEGER = "integer"
DATE = "date"
DATETIME = "datetime"
BOOLEAN = "boolean"
GENDER = "gender"
PAYMENT = "payment"
KIND = "kind"
NAMES = "names"  # a list of names (groups, tags) in one cell, separated by commas
PERCENT = "percent"  # a whole percent, however a spreadsheet spells it
SALUTATION = "salutation"  # Herr/Frau/Mr/Mrs ...: the gender, and a title after it


@dataclass(frozen=True)
class Column:
    field: str
    en: str
    de: str
    kind: str = TEXT
    # The name of the value in the export's query, where it is not the field itself
    # (a list of names gathered from a relation).
    source: str = ""

    def header(self, language: str) -> str:
        return self.de if language == "de" else self.en

    @property
    def export_name(self) -> str:
        return self.source or self.field


# DESIGN.md "Export columns", in this order.
EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("number", "Customer number", "Kundennummer", CODE),
    Column("title", "Title", "Titel"),
    Column("first_name", "First name", "Vorname"),
    Column("last_name", "Name", "Name"),
    Column("alias", "Alias", "Alias"),
    Column("gender", "Gender", "Geschlecht", GENDER),
    Column("date_of_birth", "Date of birth", "Geburtsdatum", DATE),
    Column("street", "Street/No.", "Straße/Nr."),
    Column("postcode", "Postcode", "PLZ", CODE),
    Column("city", "Place", "Ort"),
    Column("care_of", "c/o", "c/o"),
    Column("po_box", "PO Box", "Postfach", CODE),
    Column("country", "Country", "Land", CODE),
    Column("phone_private", "Telephone private", "Telefon privat", CODE),
    Column("phone_business", "Telephone business", "Telefon geschäftlich", CODE),
    Column("mobile", "Mobile phone", "Mobiltelefon", CODE),
    Column("fax", "Fax", "Fax", CODE),
    Column("email", "Email", "E-Mail"),
    Column("homepage", "Homepage", "Homepage"),
    Column("iban", "IBAN", "IBAN", CODE),
    Column("bic", "BIC", "BIC", CODE),
    Column("institute", "Institute", "Institut"),
    Column("discount", "Discount", "Rabatt", PERCENT),
    Column("price_level", "Price level", "Preisebene", INTEGER),
    Column("loss_reason", "Reason for loss", "Verlustgrund"),
    Column("payment_method", "Method of payment", "Zahlungsart", PAYMENT),
    Column("payment_term_days", "Term of payment", "Zahlungsziel", INTEGER),
    Column("created_at", "Customer created", "Kunde angelegt", DATETIME),
    Column("updated_at", "Customer last changed", "Kunde zuletzt geändert", DATETIME),
    Column("favourite", "Favourite", "Favorit", BOOLEAN),
    Column("blocked", "Locked customer", "Kunde gesperrt", BOOLEAN),
)
EXPORT_FIELDS: tuple[str, ...] = tuple(c.field for c in EXPORT_COLUMNS)

# Further customer fields a column of someone else's file may be mapped to.
EXTRA_IMPORT_COLUMNS: tuple[Column, ...] = (
    Column("kind", "Type", "Art", KIND),
    Column("company_name", "Company", "Firma"),
    Column("vat_id", "VAT ID", "USt-IdNr.", CODE),
    Column("newsletter", "Newsletter", "Newsletter", BOOLEAN),
    Column("invoices_by_email", "Invoices by e-mail", "Rechnung per E-Mail", BOOLEAN),
    Column("lock_text", "Lock text", "Sperrtext"),
    Column("memo", "Memo", "Memo"),
    Column("comments", "Comments", "Bemerkungen"),
    # Not a field of its own: fills the gender (and the title, if the file has none).
    Column("salutation", "Salutation", "Anrede", SALUTATION),
)
# Columns an export may add after the standard ones, chosen per export, in this order.
OPTIONAL_EXPORT_COLUMNS: tuple[Column, ...] = (
    Column("kind", "Type", "Art", KIND),
    Column("company_name", "Company", "Firma"),
    Column("vat_id", "VAT ID", "USt-IdNr.", CODE),
    Column("groups", "Customer groups", "Kundengruppen", NAMES, source="group_names"),
    Column("tags", "Tags / preferences", "Tags / Vorlieben", NAMES, source="tag_names"),
    Column("lock_text", "Lock text", "Sperrtext"),
)
OPTIONAL_EXPORT_FIELDS: tuple[str, ...] = tuple(c.field for c in OPTIONAL_EXPORT_COLUMNS)
IMPORT_COLUMNS: dict[str, Column] = {
    c.field: c for c in (*EXPORT_COLUMNS, *EXTRA_IMPORT_COLUMNS, *OPTIONAL_EXPORT_COLUMNS[3:5])
}
# Written by the export, read by the import, but not a field the API lets a client set.
TIMESTAMP_FIELDS = ("created_at", "updated_at")


def _fold_header(value: str) -> str:
    """A heading as it is compared: case, spaces, punctuation and ß/ss do not count
    (E-Mail = Email = e_mail, Straße/Nr. = Strasse Nr)."""
    return _NOT_A_LETTER.sub("", str(value).replace("\ufeff", "").casefold())


_NOT_A_LETTER = re.compile(r"[\W_]+")

# Headings other files use for a field: office spellings in German and English, Shopify's
# customer export (old and new) and the common web shops'. Our own headings in both
# languages and the field names come on top (KNOWN_HEADERS).
HEADING_SYNONYMS: dict[str, tuple[str, ...]] = {
    "number": ("Kunden-Nr.", "Kundennr", "Kd.-Nr.", "KdNr", "Customer no.", "Customer No"),
    "title": ("Akademischer Titel", "Titel/Grad"),
    "first_name": ("Vorname(n)", "Rufname", "Firstname", "Given name", "Forename"),
    "last_name": (
        "Nachname",
        "Familienname",
        "Zuname",
        "Last name",
        "Lastname",
        "Surname",
        "Family name",
    ),
    "alias": ("Spitzname", "Nickname", "Kurzname"),
    "gender": ("Sex",),
    "salutation": ("Briefanrede", "Prefix", "Name prefix"),
    "date_of_birth": (
        "Geburtstag",
        "Geb.-Datum",
        "Geb.",
        "Birthday",
        "Birthdate",
        "Birth date",
        "DOB",
    ),
    "street": (
        "Straße",
        "Strasse",
        "Str.",
        "Straße und Hausnummer",
        "Adresse",
        "Anschrift",
        "Street",
        "Street address",
        "Address",
        "Address1",
        "Address 1",
        "Default Address Address1",
        "Billing Address 1",
    ),
    "postcode": (
        "Postleitzahl",
        "Postal code",
        "Post code",
        "Zip",
        "Zip code",
        "ZIP",
        "Default Address Zip",
        "Billing Postcode",
    ),
    "city": (
        "Stadt",
        "Wohnort",
        "Gemeinde",
        "City",
        "Town",
        "Default Address City",
        "Billing City",
    ),
    "care_of": (
        "Adresszusatz",
        "Zusatz",
        "Address2",
        "Address 2",
        "Default Address Address2",
        "Billing Address 2",
    ),
    "po_box": ("P.O. Box", "Postbox"),
    "country": (
        "Staat",
        "Ländercode",
        "Country code",
        "Default Address Country Code",
        "Billing Country",
    ),
    "phone_private": (
        "Telefon",
        "Tel.",
        "Telefonnummer",
        "Telefon (privat)",
        "Tel. privat",
        "Telephone",
        "Phone number",
        "Home phone",
        "Default Address Phone",
        "Billing Phone",
    ),
    "phone_business": (
        "Telefon dienstlich",
        "Tel. geschäftlich",
        "Telefon (geschäftlich)",
        "Business phone",
        "Work phone",
        "Office phone",
    ),
    "mobile": (
        "Handy",
        "Handynummer",
        "Mobil",
        "Mobilnummer",
        "Mobiltelefonnummer",
        "Mobile",
        # Web shops' "Phone" is the customer's own number (Shopify's for text messages);
        # the address's telephone is "Default Address Phone" / "Billing Phone".
        "Phone",
        "Mobile number",
        "Cell",
        "Cell phone",
        "Cellphone",
    ),
    "fax": ("Telefax", "Faxnummer", "Fax number"),
    "email": (
        "E-Mail-Adresse",
        "Mail",
        "Emailadresse",
        "Email address",
        "E-mail address",
        "Billing Email",
    ),
    "homepage": ("Webseite", "Website", "Internet", "Internetseite", "URL", "Web"),
    "bic": ("SWIFT", "BIC/SWIFT", "SWIFT-BIC", "SWIFT code"),
    "institute": ("Bank", "Kreditinstitut", "Bankname", "Bank name"),
    "discount": ("Rabatt %", "Rabatt in %", "Kundenrabatt", "Discount %"),
    "price_level": ("Preisstufe", "Preisgruppe"),
    "payment_method": ("Zahlungsweise", "Payment method", "Payment"),
    "payment_term_days": ("Zahlungsziel (Tage)", "Payment terms", "Payment term"),
    "created_at": ("Angelegt am", "Erstellt am", "Created", "Created at"),
    "updated_at": ("Geändert am", "Zuletzt geändert", "Updated", "Updated at"),
    "blocked": ("Gesperrt", "Sperre", "Locked", "Blocked"),
    "kind": ("Kundenart", "Kundentyp", "Typ", "Customer type"),
    "company_name": (
        "Firmenname",
        "Unternehmen",
        "Organisation",
        "Company name",
        "Organization",
        "Default Address Company",
        "Billing Company",
    ),
    "vat_id": ("USt-ID", "USt-IdNr", "UStID", "Umsatzsteuer-ID", "VAT number", "VAT"),
    "newsletter": (
        "Werbeeinwilligung",
        "Accepts Marketing",
        "Accepts Email Marketing",
        "Email marketing",
        "Marketing",
    ),
    "lock_text": ("Sperrgrund", "Lock reason"),
    "memo": ("Notiz",),
    "comments": (
        "Bemerkung",
        "Kommentar",
        "Kommentare",
        "Anmerkung",
        "Anmerkungen",
        "Hinweis",
        "Hinweise",
        "Note",
        "Notes",
        "Comment",
    ),
}

# Headings of other systems' customer exports that no field of stammgast holds (Shopify's
# own id, its sales figures and marketing flags): the import leaves them out and says so.
NO_FIELD_HEADINGS: tuple[str, ...] = (
    "Customer ID",
    "Total Spent",
    "Total Orders",
    "Tax Exempt",
    "Accepts SMS Marketing",
    "SMS Marketing",
    "Tags",
    "Province",
    "Province Code",
    "Default Address Province Code",
    "Default Address Province",
    "Verified Email",
    "Orders count",
    "Last order",
    "Username",
)

# Our own headers in both languages, and the field names themselves, name a field.
KNOWN_HEADERS: dict[str, str] = {}
for _col in IMPORT_COLUMNS.values():
    KNOWN_HEADERS[_fold_header(_col.en)] = _col.field
    KNOWN_HEADERS[_fold_header(_col.de)] = _col.field
    KNOWN_HEADERS[_fold_header(_col.field)] = _col.field
SYNONYMS: dict[str, str] = {
    _fold_header(heading): fld
    for fld, headings in HEADING_SYNONYMS.items()
    for heading in headings
    if _fold_header(heading) not in KNOWN_HEADERS
}
NO_FIELD: frozenset[str] = frozenset(_fold_header(h) for h in NO_FIELD_HEADINGS)


def field_for_header(header: str) -> str | None:
    """The field one of our headings or a field name names (what a mapping may say)."""
    return KNOWN_HEADERS.get(_fold_header(header)) or SYNONYMS.get(_fold_header(header))


def accepted_headings(fld: str) -> list[str]:
    """Every heading the import recognises for `fld`, ours first."""
    column = IMPORT_COLUMNS[fld]
    out = [column.de, column.en, *HEADING_SYNONYMS.get(fld, ())]
    seen: set[str] = set()
    return [h for h in out if not (_fold_header(h) in seen or seen.add(_fold_header(h)))]


# --- labels ----------------------------------------------------------------------------
# Fixed spellings rather than gettext: a German file must read back the same whatever
# language the importing user has chosen.

YES_NO = {"de": ("Ja", "Nein"), "en": ("Yes", "No")}
GENDER_LABELS = {
    "de": {Gender.FEMALE: "weiblich", Gender.MALE: "männlich", Gender.DIVERSE: "divers"},
    "en": {Gender.FEMALE: "female", Gender.MALE: "male", Gender.DIVERSE: "diverse"},
}
PAYMENT_LABELS = {
    "de": {
        PaymentMethod.CASH: "Bar",
        PaymentMethod.INVOICE: "Rechnung",
        PaymentMethod.DIRECT_DEBIT: "Lastschrift",
        PaymentMethod.CUSTOMER_ACCOUNT: "Kundenkonto",
        PaymentMethod.CARD: "Karte",
    },
    "en": {
        PaymentMethod.CASH: "Cash",
        PaymentMethod.INVOICE: "Invoice",
        PaymentMethod.DIRECT_DEBIT: "Direct debit",
        PaymentMethod.CUSTOMER_ACCOUNT: "Customer account",
        PaymentMethod.CARD: "Card",
    },
}
KIND_LABELS = {
    "de": {"private": "Privat", "business": "Geschäftlich"},
    "en": {"private": "Private", "business": "Business"},
}


def _reverse(labels: dict[str, dict[str, str]], extra: dict[str, str]) -> dict[str, str]:
    out = {code.casefold(): code for lang in labels.values() for code in lang}
    for lang in labels.values():
        out.update({label.casefold(): str(code) for code, label in lang.items()})
    out.update(extra)
    return out


# Salutations as offices, web shops and Shopify write them; "" is "not given".
SALUTATION_GENDERS = {
    "herr": "male",
    "hr": "male",
    "frau": "female",
    "fr": "female",
    "divers": "diverse",
    "mr": "male",
    "mister": "male",
    "mrs": "female",
    "ms": "female",
    "miss": "female",
    "mx": "diverse",
    "sir": "male",
    "madam": "female",
}
_GENDER_READ = _reverse(
    GENDER_LABELS,
    {
        "w": "female",
        "f": "female",
        "m": "male",
        "d": "diverse",
        "weiblich": "female",
        "männlich": "male",
        "non-binary": "diverse",
        "nonbinary": "diverse",
        "other": "diverse",
        "andere": "diverse",
        "prefer not to say": "",
        "keine angabe": "",
        **SALUTATION_GENDERS,
    },
)
_PAYMENT_READ = _reverse(
    PAYMENT_LABELS, {"bargeld": "cash", "überweisung": "invoice", "kreditkarte": "card"}
)
_KIND_READ = _reverse(KIND_LABELS, {"firma": "business", "company": "business"})
_TRUE = {"ja", "yes", "true", "wahr", "1", "x", "j", "y"}
_FALSE = {"nein", "no", "false", "falsch", "0", "n"}

DATE_FORMATS = {"de": "%d.%m.%Y", "en": "%Y-%m-%d"}
DATETIME_FORMATS = {"de": "%d.%m.%Y %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}
XLSX_DATE_FORMATS = {"de": "dd.mm.yyyy", "en": "yyyy-mm-dd"}
XLSX_DATETIME_FORMATS = {"de": "dd.mm.yyyy hh:mm:ss", "en": "yyyy-mm-dd hh:mm:ss"}

# --- apostrophes and formula injection -------------------------------------------------
# A spreadsheet runs a cell starting with = + - @ (or tab/CR) as a formula, and keeps a
# leading zero or plus only behind an apostrophe ('01067, '+49 ...). Shopify, LibreOffice
# and people typing into a sheet all write that apostrophe into CSV files, so the import
# drops one leading apostrophe from every text (a doubled one stays as one). For the round
# trip to be exact the export therefore puts an apostrophe in front of a text that starts
# with a formula character or with an apostrophe of its own. In XLSX the formula-like cell
# is written as a text cell with Excel's "quote prefix" flag instead, so the value itself
# stays untouched; only a text that starts with an apostrophe gets a second one there too.
_NEUTRALISED_FIRST = frozenset("=+-@\t\r'")


def needs_neutralising(value: str) -> bool:
    return value[:1] in _NEUTRALISED_FIRST and value != ""


def neutralise(value: str) -> str:
    return "'" + value if value and value[0] in _NEUTRALISED_FIRST else value


def restore(value: str) -> str:
    """A text as a spreadsheet meant it: one leading apostrophe less."""
    return value[1:] if value[:1] == "'" else value


# --- writing ---------------------------------------------------------------------------


def csv_value(kind: str, value: Any, language: str) -> str:
    """The text a CSV cell gets for `value`."""
    if value is None or value == "":
        return ""
    if kind in (TEXT, CODE, NAMES):
        return neutralise(str(value))
    if kind in (INTEGER, PERCENT):
        return str(value)
    if kind == DATE:
        return value.strftime(DATE_FORMATS[language])
    if kind == DATETIME:
        return value.strftime(DATETIME_FORMATS[language])
    if kind == BOOLEAN:
        return YES_NO[language][0 if value else 1]
    if kind == GENDER:
        return GENDER_LABELS[language].get(value, value)
    if kind == PAYMENT:
        return PAYMENT_LABELS[language].get(value, value)
    if kind == KIND:
        return KIND_LABELS[language].get(value, value)
    raise ValueError(kind)


def label_value(kind: str, value: Any, language: str) -> Any:
    """Labels for coded values (XLSX cells other than dates and numbers)."""
    if kind == BOOLEAN:
        return YES_NO[language][0 if value else 1]
    if kind == GENDER:
        return GENDER_LABELS[language].get(value, value)
    if kind == PAYMENT:
        return PAYMENT_LABELS[language].get(value, value)
    if kind == KIND:
        return KIND_LABELS[language].get(value, value)
    return value


# --- reading ---------------------------------------------------------------------------


class CellInvalid(ValueError):
    """A cell's text cannot be read as the column's kind of value."""


_DATE_PATTERNS = (
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})"), ("d", "m", "y")),
    (re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"), ("y", "m", "d")),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), ("d", "m", "y")),
)


def full_year(two_digits: int, today: dt.date | None = None) -> int:
    """The century of a two-digit year: the latest year ending in those digits that is not
    after this year (in 2026: 26 -> 2026, 27 -> 1927). The dates an import reads are
    dates of birth and times a customer was created or changed, none in the future."""
    this_year = (today or dt.date.today()).year
    year = this_year - this_year % 100 + two_digits
    return year if year <= this_year else year - 100


_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def parse_date(text: str) -> dt.date:
    text = text.strip()
    for pattern, order in _DATE_PATTERNS:
        m = pattern.fullmatch(text)
        if m:
            parts = dict(zip(order, (int(g) for g in m.groups()), strict=True))
            if len(m.group(order.index("y") + 1)) == 2:
                parts["y"] = full_year(parts["y"])
            try:
                return dt.date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                raise CellInvalid(_("%(value)s is not a real date.") % {"value": text}) from None
    raise CellInvalid(_("Enter a date as DD.MM.YYYY, D.M.YY or YYYY-MM-DD."))


def parse_datetime(text: str) -> dt.datetime:
    text = text.strip().replace("T", " ")
    day, _sep, time = text.partition(" ")
    date = parse_date(day)
    if not time:
        return dt.datetime.combine(date, dt.time.min)
    m = _TIME.fullmatch(time.strip())
    if not m:
        raise CellInvalid(_("Enter a time as HH:MM:SS."))
    try:
        return dt.datetime.combine(
            date, dt.time(int(m.group(1)), int(m.group(2)), int(m.group(3) or 0))
        )
    except ValueError:
        raise CellInvalid(_("%(value)s is not a real time.") % {"value": time}) from None


# The spellings a refusal suggests, in both languages (not the codes behind them).
_SUGGESTED = {
    GENDER: "weiblich, männlich, divers, Frau, Herr, female, male, diverse, Mrs, Ms, Mr, Mx",
    PAYMENT: ", ".join([*PAYMENT_LABELS["de"].values(), *PAYMENT_LABELS["en"].values()]),
    KIND: ", ".join([*KIND_LABELS["de"].values(), *KIND_LABELS["en"].values()]),
}


def _label(table: dict[str, str], value: str, kind: str) -> str:
    code = table.get(value.strip().casefold())
    if code is None:
        raise CellInvalid(
            _("Unknown value %(value)s; use one of: %(values)s.")
            % {"value": value, "values": _SUGGESTED[kind]}
        )
    return code


_PERCENT = re.compile(r"(\d{1,3})(?:[.,]0*)?\s*%?")
_DECIMAL = re.compile(r"\d+[.,]\d+\s*%?")


def parse_percent(value: Any) -> int | str:
    """A discount as a spreadsheet leaves it (15, 15 %, 15%, 15,0) -> 15; the cleaner
    checks the range. A fraction is refused: discounts are whole percent."""
    if isinstance(value, bool):
        raise CellInvalid(_("Whole percent only, such as 15 or 15 %."))
    if isinstance(value, int):
        return value
    text = str(value).strip()
    m = _PERCENT.fullmatch(text)
    if m:
        return int(m.group(1))
    if isinstance(value, float) or _DECIMAL.fullmatch(text):
        raise CellInvalid(_("Whole percent only, such as 15 or 15 %."))
    return text  # the cleaner words what is wrong with it


@dataclass(frozen=True)
class Salutation:
    gender: str | None = None
    kind: str | None = None
    title: str = ""


def parse_salutation(text: str) -> Salutation:
    """Herr Dr. -> male with the title Dr.; Firma -> a business; Mrs -> female."""
    words = text.split()
    first = words[0].rstrip(".").casefold() if words else ""
    rest = " ".join(words[1:])
    if first in ("firma", "company"):
        return Salutation(kind="business", title=rest)
    if first in ("familie", "family", "eheleute"):
        return Salutation(title=rest)
    gender = SALUTATION_GENDERS.get(first)
    if gender is None:
        raise CellInvalid(
            _("Unknown salutation %(value)s; use one of: %(values)s.")
            % {"value": text, "values": "Herr, Frau, Divers, Firma, Mr, Mrs, Ms, Mx"}
        )
    return Salutation(gender=gender, title=rest)


def read_cell(kind: str, value: Any, *, from_csv: bool) -> Any:
    """A cell's value (text from CSV, typed from XLSX) -> what the field's cleaner expects.

    Returns None for an empty cell of a kind where empty means "not given".
    """
    if value is None:
        value = ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if kind in (TEXT, CODE):
        if type(value) is str:
            return restore(value)
        if isinstance(value, dt.datetime | dt.date):
            raise CellInvalid(_("Expected text, found a date."))
        return str(value)
    if isinstance(value, str):
        value = restore(value.strip()).strip()
        if value == "":
            return None
    if kind == NAMES:
        return [name.strip() for name in str(value).split(",") if name.strip()]
    if kind == PERCENT:
        return parse_percent(value)
    if kind == SALUTATION:
        return parse_salutation(str(value))
    if kind == INTEGER:
        if isinstance(value, int | str):
            return value
        raise CellInvalid(_("Enter a whole number."))
    if kind == DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        return parse_date(str(value))
    if kind == DATETIME:
        if isinstance(value, dt.datetime):
            return value
        if isinstance(value, dt.date):
            return dt.datetime.combine(value, dt.time.min)
        return parse_datetime(str(value))
    if kind == BOOLEAN:
        if isinstance(value, bool):
            return value
        folded = str(value).casefold()
        if folded in _TRUE:
            return True
        if folded in _FALSE:
            return False
        raise CellInvalid(_("Enter Ja/Nein or Yes/No."))
    if kind == GENDER:
        return _label(_GENDER_READ, str(value), GENDER) or None
    if kind == PAYMENT:
        return _label(_PAYMENT_READ, str(value), PAYMENT)
    if kind == KIND:
        return _label(_KIND_READ, str(value), KIND)
    raise ValueError(kind)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: how a spreadsheet names the column."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
