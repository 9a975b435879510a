"""Fast generator of realistic German customers: COPY straight into PostgreSQL.

Python only picks from precomputed pools (row templates of a person at an address with
the rarely varying columns as COPY text, and their search_text parts); per row it only
adds the id, number, phone numbers and e-mail address, so one core formats about 200,000
rows a second while PostgreSQL parses them on the other. The summary gives the CPU per
row of both sides besides the rate, which depends on what else runs on the machine. The secondary
indexes (the pg_trgm GIN above all) are dropped for the load and built afterwards, two at a
time, which is much faster than maintaining them row by row.

    python -m benchmarks.generate --customers 100000 [--keep]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import multiprocessing
import random
import re
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import phonenumbers
import psycopg
from faker.providers.address.de_DE import Provider as FakerAddress
from faker.providers.person.de_DE import Provider as FakerPerson
from psycopg.copy import QueuedLibpqWriter

from stammgast.core.text import search_form

from .common import cpu_seconds

# (city, first postcode, last postcode, area code, weight ~ population in 10,000s)
CITIES = [
    ("Berlin", 10115, 14199, "030", 370),
    ("Hamburg", 20095, 22769, "040", 185),
    ("München", 80331, 81929, "089", 150),
    ("Köln", 50667, 51149, "0221", 108),
    ("Frankfurt am Main", 60306, 60599, "069", 76),
    ("Stuttgart", 70173, 70629, "0711", 63),
    ("Düsseldorf", 40210, 40629, "0211", 62),
    ("Leipzig", 4103, 4357, "0341", 60),
    ("Dortmund", 44135, 44388, "0231", 59),
    ("Essen", 45127, 45359, "0201", 58),
    ("Bremen", 28195, 28779, "0421", 57),
    ("Dresden", 1067, 1328, "0351", 56),
    ("Hannover", 30159, 30669, "0511", 54),
    ("Nürnberg", 90402, 90491, "0911", 52),
    ("Duisburg", 47051, 47279, "0203", 50),
    ("Bochum", 44787, 44894, "0234", 36),
    ("Wuppertal", 42103, 42399, "0202", 35),
    ("Bielefeld", 33602, 33739, "0521", 33),
    ("Bonn", 53111, 53229, "0228", 33),
    ("Münster", 48143, 48167, "0251", 32),
    ("Mannheim", 68159, 68309, "0621", 31),
    ("Karlsruhe", 76131, 76229, "0721", 31),
    ("Augsburg", 86150, 86199, "0821", 30),
    ("Wiesbaden", 65183, 65207, "0611", 28),
    ("Mönchengladbach", 41061, 41239, "02161", 26),
    ("Gelsenkirchen", 45879, 45899, "0209", 26),
    ("Aachen", 52062, 52080, "0241", 25),
    ("Braunschweig", 38100, 38126, "0531", 25),
    ("Kiel", 24103, 24159, "0431", 25),
    ("Chemnitz", 9111, 9247, "0371", 24),
    ("Halle (Saale)", 6108, 6132, "0345", 24),
    ("Magdeburg", 39104, 39130, "0391", 24),
    ("Freiburg im Breisgau", 79098, 79117, "0761", 23),
    ("Krefeld", 47798, 47839, "02151", 23),
    ("Mainz", 55116, 55131, "06131", 22),
    ("Lübeck", 23552, 23570, "0451", 22),
    ("Erfurt", 99084, 99099, "0361", 21),
    ("Rostock", 18055, 18147, "0381", 21),
    ("Kassel", 34117, 34134, "0561", 20),
    ("Würzburg", 97070, 97084, "0931", 13),
    ("Regensburg", 93047, 93059, "0941", 15),
    ("Göttingen", 37073, 37085, "0551", 12),
    ("Saarbrücken", 66111, 66133, "0681", 18),
    ("Potsdam", 14467, 14482, "0331", 18),
    ("Oldenburg", 26121, 26135, "0441", 17),
    ("Osnabrück", 49074, 49090, "0541", 16),
    ("Heidelberg", 69115, 69126, "06221", 16),
    ("Darmstadt", 64283, 64297, "06151", 16),
    ("Fürth", 90762, 90768, "0911", 13),
    ("Ulm", 89073, 89081, "0731", 13),
    ("Tübingen", 72070, 72076, "07071", 9),
    ("Görlitz", 2826, 2828, "03581", 6),
    ("Lörrach", 79539, 79541, "07621", 5),
    ("Garmisch-Partenkirchen", 82467, 82467, "08821", 3),
    ("Bad Tölz", 83646, 83646, "08041", 2),
    ("Öhringen", 74613, 74613, "07941", 2),
]
MOBILE_PREFIXES = [
    "0151",
    "0152",
    "0157",
    "0159",
    "0160",
    "0162",
    "0163",
    "0170",
    "0171",
    "0172",
    "0173",
    "0174",
    "0175",
    "0176",
    "0177",
    "0178",
    "0179",
]
MAIL_DOMAINS = [
    "gmx.de",
    "web.de",
    "t-online.de",
    "gmail.com",
    "outlook.de",
    "posteo.de",
    "mailbox.org",
    "icloud.com",
    "freenet.de",
    "yahoo.de",
    "gmx.net",
    "aol.de",
]
STREET_ENDINGS = ["straße", "weg", "allee", "ring", "gasse", "platz"]
COMPANY_FORMS = ["GmbH", "GmbH & Co. KG", "KG", "e.K.", "AG", "& Söhne", "OHG", "UG"]
COMPANY_TRADES = [
    "Bäckerei",
    "Metzgerei",
    "Kanzlei",
    "Autohaus",
    "Praxis Dr.",
    "Blumen",
    "Ingenieurbüro",
    "Steuerbüro",
    "Getränke",
    "Weinhandlung",
    "Zahnarztpraxis",
]
GROUPS = [("Stammgäste", 0.22), ("VIP", 0.02), ("Mitarbeiter", 0.01)]
BUSINESS_GROUP = "Firmenkunden"
TAGS = [
    "vegan",
    "vegetarisch",
    "glutenfrei",
    "laktosefrei",
    "espresso",
    "weißwein",
    "rotwein",
    "kinderteller",
    "fensterplatz",
    "terrasse",
]
COMMENTS = [
    "Allergie: Erdnüsse",
    "Laktoseintolerant",
    "Bevorzugt Fensterplatz",
    "Rollstuhlgerechter Tisch",
    "Kommt meist mit Hund",
    "Geburtstag im Kalender",
]
LOCK_TEXTS = [
    "Offene Rechnung – bitte an die Zentrale verweisen",
    "Hausverbot",
    "Karte gesperrt, bitte Ausweis zeigen",
]
# The most frequent German surnames, most frequent first; they get a quarter of all rows
# (Müller about 3 %), the long tail of other names the rest.
COMMON_SURNAMES = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Schäfer",
    "Koch",
    "Bauer",
    "Richter",
    "Klein",
    "Wolf",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
    "Hofmann",
    "Hartmann",
    "Lange",
    "Schmitt",
    "Werner",
    "Schmitz",
    "Krause",
    "Meier",
    "Lehmann",
    "Schmid",
    "Schulze",
    "Maier",
    "Köhler",
    "Herrmann",
    "König",
    "Walter",
    "Mayer",
    "Huber",
    "Kaiser",
    "Fuchs",
    "Peters",
    "Lang",
    "Scholz",
    "Möller",
    "Weiß",
    "Jung",
    "Hahn",
    "Schubert",
    "Vogel",
    "Friedrich",
    "Keller",
    "Günther",
    "Frank",
    "Berger",
    "Winkler",
    "Roth",
    "Beck",
    "Lorenz",
    "Baumann",
    "Franke",
    "Albrecht",
    "Schuster",
    "Simon",
    "Ludwig",
    "Böhm",
    "Winter",
    "Kraus",
    "Martin",
    "Schumacher",
    "Krämer",
    "Vogt",
    "Stein",
    "Jäger",
    "Otto",
    "Sommer",
    "Groß",
    "Seidel",
    "Heinrich",
    "Brandt",
    "Haas",
    "Schreiber",
    "Graf",
    "Schulte",
    "Dietrich",
    "Ziegler",
    "Kuhn",
    "Kühn",
    "Pohl",
    "Engel",
    "Horn",
    "Busch",
    "Bergmann",
    "Thomas",
    "Voigt",
    "Sauer",
    "Arnold",
    "Wolff",
    "Pfeiffer",
    "Öztürk",
    "Yılmaz",
    "Kaya",
    "Nowak",
]

COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
NULL = "\\N"


def _copy_text(value) -> str:
    """A value in COPY's text format."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(COPY_ESCAPES)


def _ascii_mail_part(name: str) -> str:
    text = name.lower().translate(str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"}))
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if c.isascii() and (c.isalnum() or c in ".-"))
    # "Hans-D." must not give "hans-d..fischer": e-mail rules refuse doubled dots.
    return re.sub(r"\.{2,}", ".", text).strip(".-")


# --- phone numbers -----------------------------------------------------------------------


class PhonePattern:
    """Numbers of one prefix and length: display grouping learned once from phonenumbers."""

    def __init__(self, national_prefix: str, subscriber_len: int, first_digit_min: int):
        self.prefix = national_prefix  # "0151", "030"
        self.length = subscriber_len
        self.low = first_digit_min * 10 ** (subscriber_len - 1)
        self.span = 10**subscriber_len - self.low
        nsn = national_prefix[1:]
        sample = f"{nsn}{self.low + self.span // 3:0{subscriber_len}d}"
        parsed = phonenumbers.parse("+49" + sample)
        text = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        self.groups = [len(g) for g in text.split(" ")[1:]]
        self.nsn = nsn
        if len(self.groups) != 2:
            raise RuntimeError(f"unexpected grouping of {text}")
        # What the row loop needs, as a tuple: no attribute look-ups per row. The
        # subscriber number never starts with 0 (first_digit_min >= 1), so no padding.
        if first_digit_min < 1:
            raise ValueError("subscriber numbers start with 1 to 9")
        self.fast = (nsn, self.low, self.span, subscriber_len, self.groups[0])

    def number(self, k: int) -> tuple[str, str]:
        """The k-th number of this pattern: (display form, E.164); distinct k, distinct number."""
        digits = f"{self.nsn}{self.low + k % self.span:0{self.length}d}"
        parts, pos = [], 0
        for g in self.groups:
            parts.append(digits[pos : pos + g])
            pos += g
        return "+49 " + " ".join(parts), "+49" + digits

    def agrees_with_phonenumbers(self, rng: random.Random, samples: int = 50) -> bool:
        for _ in range(samples):
            display, e164 = self.number(rng.randrange(self.span))
            parsed = phonenumbers.parse(e164)
            if not phonenumbers.is_valid_number(parsed):
                return False
            fmt = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            if fmt != display:
                return False
        return True


# --- pools -------------------------------------------------------------------------------


@dataclass
class Pools:
    first: list[tuple[str, str, str, str]]  # name, search form, gender, mail part
    last: list[tuple[str, str, str]]  # name, search form, mail part
    places: list[tuple[str, str, list[str], PhonePattern]]  # city, form, postcodes, phone
    streets: list[str]
    mobiles: list[PhonePattern]
    companies: list[tuple[str, str]]  # name, search form
    births: list[str]
    stamps: list[str]  # COPY text of created_at, updated_at
    private_tails: list[str] = field(default_factory=list)
    business_tails: list[str] = field(default_factory=list)
    # Precombined: (COPY text of kind..gender, search form, mail name and its search
    # form, business?) and (COPY text of street, postcode, city; "city-form "; postcode;
    # phone pattern).
    people: list[tuple[str, str, str, str, bool]] = field(default_factory=list)
    addresses: list[tuple[str, str, str, tuple]] = field(default_factory=list)
    # Whole rows but for what every customer has of its own (id, number, phone numbers,
    # e-mail suffix): see combine_pools.
    templates: list[tuple] = field(default_factory=list)


PEOPLE_POOL = 1 << 18
ADDRESS_POOL = 1 << 16
TEMPLATE_POOL = 1 << 18


def combine_pools(pools: Pools, rng: random.Random) -> None:
    """Draw people and addresses once, so a row picks two precombined entries."""
    first, last, companies = pools.first, pools.last, pools.companies
    for _ in range(PEOPLE_POOL):
        fname, fforms, gender, fmail = rng.choice(first)
        lname, lforms, lmail = rng.choice(last)
        business = rng.random() < 0.06
        company, compforms = rng.choice(companies) if business else ("", "")
        sel = rng.random()
        if sel < 0.06:
            gender = ""
        elif sel < 0.08:
            gender = "diverse"
        title = "Dr." if rng.random() < 0.015 else ""
        kind = "business" if business else "private"
        forms = f"{fforms} {lforms} {compforms}" if business else f"{fforms} {lforms}"
        block = f"{kind}\t{title}\t{fname}\t{lname}\t{company}\t{gender}"
        mail = f"{fmail}.{lmail}"
        pools.people.append((block, forms, mail, search_form(mail), business))
    for _ in range(ADDRESS_POOL):
        city, cforms, codes, area = rng.choice(pools.places)
        postcode = rng.choice(codes)
        block = f"{rng.choice(pools.streets)}\t{postcode}\t{city}"
        pools.addresses.append((block, f"{cforms} ", postcode, area.fast))
    # A row template: a person at an address with a date of birth, time stamps and the
    # rarely varying columns, as COPY text, and the parts of search_text they give.
    for _ in range(TEMPLATE_POOL):
        person, forms, mail, mail_form, business = rng.choice(pools.people)
        address, place_forms, postcode, area = rng.choice(pools.addresses)
        birth = rng.choice(pools.births) if rng.random() < 0.8 else NULL
        tail = rng.choice(pools.business_tails if business else pools.private_tails)
        pools.templates.append(
            (
                f"{person}\t{address}\t{birth}",
                f"{forms} {place_forms}",
                mail,
                mail_form,
                postcode,
                area,
                business,
                f"{rng.choice(pools.stamps)}\t{tail}",
            )
        )


def build_pools(rng: random.Random) -> Pools:
    first = [
        (n, search_form(n), "female", _ascii_mail_part(n)) for n in FakerPerson.first_names_female
    ] + [(n, search_form(n), "male", _ascii_mail_part(n)) for n in FakerPerson.first_names_male]
    tail = [n for n in FakerPerson.last_names if n not in COMMON_SURNAMES]
    weights = [1 / rank**0.7 for rank in range(1, len(COMMON_SURNAMES) + 1)]
    # The common names get a quarter of a pool in which each tail name appears 8 times.
    scale = len(tail) * 8 / 3 / sum(weights)
    names = [
        n for n, w in zip(COMMON_SURNAMES, weights, strict=True) for _ in range(round(w * scale))
    ]
    names += tail * 8
    last = [(n, search_form(n), _ascii_mail_part(n)) for n in names]

    places = []
    check = random.Random(7)
    for city, lo, hi, area, weight in CITIES:
        pattern = PhonePattern(area, 10 - len(area[1:]), 2)
        if not pattern.agrees_with_phonenumbers(check, 20):
            raise RuntimeError(f"area code {area} gives numbers phonenumbers rejects")
        codes = [f"{p:05d}" for p in range(lo, hi + 1)]
        places += [(city, search_form(city), codes, pattern)] * weight

    if any(search_form(d) != d for d in MAIL_DOMAINS):
        raise RuntimeError("the rows put mail domains into search_text as they are")
    mobiles = []
    for prefix in MOBILE_PREFIXES:
        for length in (8, 7):
            pattern = PhonePattern(prefix, length, 1)
            if pattern.agrees_with_phonenumbers(check):
                mobiles.append(pattern)
                break
    if not mobiles:
        raise RuntimeError("no mobile prefix gives numbers phonenumbers accepts")

    roots = list(FakerPerson.last_names[::3]) + list(FakerAddress.cities[:150])
    streets = []
    for _ in range(20_000):
        root = rng.choice(roots)
        ending = rng.choice(STREET_ENDINGS)
        name = f"{root}{ending}" if ending in ("straße", "weg") else f"{root}-{ending.title()}"
        streets.append(f"{name} {rng.randint(1, 180)}{rng.choice(['', '', '', '', 'a', 'b'])}")
    streets += [
        f"{s} {rng.randint(1, 99)}"
        for s in (
            "Hauptstraße",
            "Bahnhofstraße",
            "Schulstraße",
            "Gartenstraße",
            "Am Markt",
            "Goethestraße",
            "Schillerstraße",
            "Mühlenweg",
            "Lindenallee",
        )
    ] * 300

    companies = []
    for _ in range(3000):
        if rng.random() < 0.5:
            name = f"{rng.choice(COMPANY_TRADES)} {rng.choice(last)[0]}"
        else:
            name = f"{rng.choice(last)[0]} {rng.choice(COMPANY_FORMS)}"
        companies.append((name, search_form(name)))

    day0 = dt.date(1935, 1, 1)
    births = [(day0 + dt.timedelta(days=d)).isoformat() for d in range(0, 365 * 73)]

    start = dt.datetime(2017, 1, 1, tzinfo=dt.UTC)
    seconds = int((dt.datetime(2026, 11, 1, tzinfo=dt.UTC) - start).total_seconds())
    stamps = []
    for _ in range(50_000):
        created = start + dt.timedelta(seconds=rng.randrange(seconds))
        updated = created
        if rng.random() < 0.4:
            updated = created + dt.timedelta(seconds=rng.randrange(3600, 86400 * 600))
        stamps.append(f"{created.isoformat(sep=' ')}\t{updated.isoformat(sep=' ')}")
    return Pools(first, last, places, streets, mobiles, companies, births, stamps)


def _iban(rng: random.Random) -> str:
    blz = f"{rng.randint(10000000, 89999999)}"
    account = f"{rng.randint(0, 9_999_999_999):010d}"
    # ISO 13616 check digits: BBAN + "DE00" as digits (D=13, E=14), mod 97.
    check = 98 - int(blz + account + "131400") % 97
    return f"DE{check:02d}{blz}{account}"


# Columns whose values vary rarely, drawn together as one precomputed "tail".
TAIL_COLUMNS = [
    "discount",
    "price_level",
    "payment_method",
    "payment_term_days",
    "iban",
    "bic",
    "institute",
    "favourite",
    "blocked",
    "lock_text",
    "newsletter",
    "invoices_by_email",
    "comments",
]


def _tails(rng: random.Random, business: bool, n: int = 4096) -> list[str]:
    out = []
    for _ in range(n):
        debit = rng.random() < (0.3 if business else 0.04)
        blocked = rng.random() < 0.01
        values = [
            rng.choice([5, 10, 15]) if rng.random() < 0.08 else 0,
            rng.choice([2, 3]) if business and rng.random() < 0.3 else 1,
            "direct_debit" if debit else ("invoice" if business else "cash"),
            rng.choice([14, 30]) if business else 0,
            _iban(rng) if debit else "",
            "",
            "",
            rng.random() < 0.04,
            blocked,
            rng.choice(LOCK_TEXTS) if blocked else "",
            rng.random() < 0.35,
            business and rng.random() < 0.6,
            rng.choice(COMMENTS) if rng.random() < 0.08 else "",
        ]
        out.append("\t".join(_copy_text(v) for v in values))
    return out


# --- the load ----------------------------------------------------------------------------

ROW_COLUMNS = [
    "id",
    "number",
    "kind",
    "title",
    "first_name",
    "last_name",
    "company_name",
    "gender",
    "street",
    "postcode",
    "city",
    "date_of_birth",
    "phone_private",
    "mobile",
    "phone_private_e164",
    "mobile_e164",
    "email",
    "search_text",
    "created_at",
    "updated_at",
    *TAIL_COLUMNS,
]
CONSTANT_COLUMNS = {
    "vat_id": "",
    "alias": "",
    "care_of": "",
    "po_box": "",
    "country": "DE",
    "phone_business": "",
    "fax": "",
    "phone_business_e164": None,
    "homepage": "",
    "loss_reason": "",
    "memo": "",
    "third_party_memo": "",
    "features": "{}",
    "picture": "",
    "location_restricted": False,
    "version": 1,
    "created_location_id": None,
}


@dataclass
class GenerateResult:
    customers: int
    group_links: int
    tag_links: int
    copy_seconds: float
    index_seconds: float
    analyze_seconds: float
    # CPU seconds of the COPY: the formatting processes and their PostgreSQL backends
    # (0 when the server runs on another machine and its processes can't be seen).
    format_cpu: float = 0.0
    db_cpu: float = 0.0

    @property
    def copy_rate(self) -> float:
        return self.customers / self.copy_seconds

    @property
    def total_seconds(self) -> float:
        return self.copy_seconds + self.index_seconds + self.analyze_seconds

    def summary(self) -> str:
        return (
            f"generated {self.customers:,} customers ({self.group_links:,} group and "
            f"{self.tag_links:,} tag links): COPY {self.copy_seconds:.1f} s = "
            f"{self.copy_rate:,.0f} rows/s; index build {self.index_seconds:.1f} s; "
            f"VACUUM ANALYZE {self.analyze_seconds:.1f} s; total {self.total_seconds:.1f} s = "
            f"{self.customers / self.total_seconds:,.0f} rows/s"
        ) + self.cpu_summary()

    def cpu_summary(self) -> str:
        """CPU per row: unlike the rate, hardly changed by what else runs on the machine."""
        fmt = self.format_cpu / self.customers * 1e6
        if not self.db_cpu:
            return f"; formatting {fmt:.1f} µs CPU per row"
        db = self.db_cpu / self.customers * 1e6
        return (
            f"; CPU per row {fmt:.1f} µs formatting + {db:.1f} µs PostgreSQL"
            f" (two cores to itself: about {2e6 / (fmt + db):,.0f} rows/s)"
        )


def _other_columns(conn: psycopg.Connection) -> dict[str, str]:
    """Columns added by later migrations that this generator does not know: their default."""
    rows = conn.execute(
        "SELECT column_name, is_nullable, column_default FROM information_schema.columns"
        " WHERE table_name = 'customers_customer' AND table_schema = current_schema()"
    ).fetchall()
    known = set(ROW_COLUMNS) | set(CONSTANT_COLUMNS) | {"tenant_id"}
    extra = {}
    for name, nullable, default in rows:
        if name in known or nullable == "YES" or default is not None:
            continue
        from stammgast.customers.models import Customer

        model_field = next(f for f in Customer._meta.concrete_fields if f.column == name)
        value = model_field.get_db_prep_save(model_field.get_default(), connection=None)
        extra[name] = value
    return extra


def _secondary_indexes(conn: psycopg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of indexes that back no constraint."""
    return conn.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x"
        " JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid"
        " WHERE t.relname = %s AND NOT EXISTS"
        " (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    ).fetchall()


def _name_ids(
    conn, table: str, tenant_id: int, names: list[str], extra: dict | None = None
) -> dict[str, int]:
    extra = extra or {}
    columns = ", ".join(["tenant_id", "name", *extra])
    values = ", ".join(["%s"] * (2 + len(extra)))
    for name in names:
        conn.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT DO NOTHING",
            [tenant_id, name, *extra.values()],
        )
    rows = conn.execute(
        f"SELECT name, id FROM {table} WHERE tenant_id = %s AND name = ANY(%s)",
        [tenant_id, names],
    ).fetchall()
    return dict(rows)


def generate_customers(
    url: str,
    *,
    tenant_id: int,
    count: int,
    seed: int = 20261122,
    jobs: int = 2,
    batch: int = 20_000,
) -> GenerateResult:
    """Add `count` customers to the tenant (numbers after its counter), then index/VACUUM.

    `jobs` processes format and COPY one slice each, in parallel.
    """
    rng = random.Random(seed)
    pools = build_pools(rng)
    pools.private_tails = _tails(rng, business=False)
    pools.business_tails = _tails(rng, business=True)
    combine_pools(pools, rng)
    tables = ["customers_customer", "customers_customer_groups", "customers_customer_tags"]

    with psycopg.connect(url) as conn:
        group_ids = _name_ids(
            conn,
            "customers_customergroup",
            tenant_id,
            [g for g, _ in GROUPS] + [BUSINESS_GROUP],
            {"is_default": False},
        )
        tag_ids = _name_ids(conn, "customers_tag", tenant_id, TAGS)
        counter = conn.execute(
            "SELECT number_counter FROM tenants_tenant WHERE id = %s", [tenant_id]
        ).fetchone()[0]
        if counter + count > 9_999_999:
            raise ValueError("customer numbers go up to 9,999,999")
        first_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM customers_customer")
        first_id = first_id.fetchone()[0]
        extra = _other_columns(conn)
        dropped = []
        for table in tables:
            for name, definition in _secondary_indexes(conn, table):
                conn.execute(f'DROP INDEX "{name}"')
                dropped.append(definition)
        conn.commit()

    constant = dict(CONSTANT_COLUMNS, tenant_id=tenant_id, **extra)
    part = _Part(
        url=url,
        pools=pools,
        columns=ROW_COLUMNS + list(constant),
        suffix="\t" + "\t".join(_copy_text(v) for v in constant.values()) + "\n",
        group_ids=group_ids,
        tag_ids=tag_ids,
        batch=batch,
    )
    started = time.perf_counter()
    bounds = [count * j // jobs for j in range(jobs + 1)]
    slices = [
        (first_id + lo, counter + 1 + lo, hi - lo, seed + j)
        for j, (lo, hi) in enumerate(itertools.pairwise(bounds))
    ]
    global _FORKED_PART
    if jobs == 1:
        links = [part.load(*slices[0])]
    else:
        # Forked workers inherit the pools through this global instead of having them
        # pickled; each sends back its link counts.
        _FORKED_PART = part
        try:
            with multiprocessing.get_context("fork").Pool(jobs) as pool:
                links = pool.starmap(_load_forked, slices)
        finally:
            _FORKED_PART = None
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE tenants_tenant SET number_counter = greatest(number_counter, %s) WHERE id = %s",
            [counter + count, tenant_id],
        )
        for table in tables:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT coalesce(max(id), 1) FROM {table}))"
            )
    copy_seconds = time.perf_counter() - started

    started = time.perf_counter()
    _build_indexes(url, dropped)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    # VACUUM as well: it sets the visibility map as autovacuum would on a running
    # database, so that index-only scans (the search's number windows) need no heap.
    with psycopg.connect(url, autocommit=True) as conn:
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    return GenerateResult(
        count,
        sum(part[0] for part in links),
        sum(part[1] for part in links),
        copy_seconds,
        index_seconds,
        time.perf_counter() - started,
        format_cpu=sum(part[2] for part in links),
        db_cpu=sum(part[3] for part in links),
    )


_FORKED_PART = None


def _load_forked(*slice_args) -> tuple[int, int, float, float]:
    return _FORKED_PART.load(*slice_args)


@dataclass
class _Part:
    """What a loading process needs; load() formats and COPYs one slice of the customers."""

    url: str
    pools: Pools
    columns: list[str]
    suffix: str
    group_ids: dict[str, int]
    tag_ids: dict[str, int]
    batch: int

    def load(
        self, first_id: int, first_number: int, n: int, seed: int
    ) -> tuple[int, int, float, float]:
        """Group links, tag links, CPU seconds of this process and of its backend."""
        cpu_started = time.process_time()
        rng = random.Random(seed)
        group_rows: list[str] = []
        tag_rows: list[str] = []
        with psycopg.connect(self.url) as conn:
            backend = [conn.info.backend_pid]
            db_started = cpu_seconds(backend)
            superuser = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
            if superuser.fetchone()[0]:
                # The rows are valid by construction; skip the per-row foreign-key triggers.
                conn.execute("SET session_replication_role = replica")
            cursor = conn.cursor()
            # A writer thread sends while this thread formats the next batch.
            with cursor.copy(
                f"COPY customers_customer ({', '.join(self.columns)}) FROM STDIN",
                writer=QueuedLibpqWriter(cursor),
            ) as copy:
                for start in range(0, n, self.batch):
                    lines = _rows(
                        self.pools,
                        rng,
                        first_id + start,
                        first_number + start,
                        min(self.batch, n - start),
                        self.group_ids,
                        self.tag_ids,
                        group_rows,
                        tag_rows,
                        self.suffix,
                    )
                    copy.write("".join(lines))
            with conn.cursor().copy(
                "COPY customers_customer_groups (customer_id, customergroup_id) FROM STDIN"
            ) as copy:
                copy.write("".join(group_rows))
            with conn.cursor().copy(
                "COPY customers_customer_tags (customer_id, tag_id) FROM STDIN"
            ) as copy:
                copy.write("".join(tag_rows))
            conn.commit()
            db_cpu = cpu_seconds(backend) - db_started
        return len(group_rows), len(tag_rows), time.process_time() - cpu_started, db_cpu


def _build_indexes(url: str, definitions: list[str]) -> None:
    """Build the dropped indexes on two connections (this machine has two cores)."""
    # The GIN index takes longest: start it first so the btrees fill the other core.
    definitions = sorted(definitions, key=lambda d: " gin " not in d.lower())

    def build(definition: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SET maintenance_work_mem = '256MB'")
            conn.execute("SET max_parallel_maintenance_workers = 0")
            conn.execute(definition)

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(build, definitions))


def _rows(
    pools: Pools, rng, first_id, first_number, n, group_ids, tag_ids, group_rows, tag_rows, suffix
) -> list[str]:
    """COPY lines for n customers; appends their group and tag links."""
    templates, n_templates = pools.templates, len(pools.templates) - 1
    mobile_fast = [m.fast for m in pools.mobiles]
    n_mobiles = len(mobile_fast)
    domains = MAIL_DOMAINS
    regular, vip, staff = (group_ids[g] for g, _ in GROUPS)
    business_group = group_ids[BUSINESS_GROUP]
    tag_list = [tag_ids[t] for t in TAGS]
    getrandbits = rng.getrandbits
    out = []
    append = out.append
    for cid in range(first_id, first_id + n):
        number = first_number + cid - first_id
        r = getrandbits(64)
        head, words, mail, mail_form, postcode, area, business, post = templates[r & n_templates]
        sel = (r >> 46) & 0xFF
        k = cid * 7_919 + 104_729
        if sel < 200:  # 78 % give an e-mail address
            at = f"{k % 997 if sel & 1 else ''}@{domains[k % 12]}"
            email = mail + at
            search = f"{number} {words}{mail_form}{at} {postcode}"
        else:
            email = ""
            search = f"{number} {words}{postcode}"
        # Inlined PhonePattern.number(): this loop is the generator's hot path.
        if (r >> 54) & 1:  # half have a landline
            nsn, low, span, width, cut = area
            digits = nsn + str(low + k % span)
            phone = f"+49 {digits[:cut]} {digits[cut:]}\t"
            phone_e164 = "+49" + digits
            search = f"{search} 49{digits} 0{digits}"
        else:
            phone = "\t"
            phone_e164 = NULL
        if (r >> 55) & 7 < 6:  # three quarters have a mobile
            nsn, low, span, width, cut = mobile_fast[cid % n_mobiles]
            digits = nsn + str(low + (k // n_mobiles) % span)
            append(
                f"{cid}\t{number}\t{head}\t{phone}+49 {digits[:cut]} {digits[cut:]}\t"
                f"{phone_e164}\t+49{digits}\t{email}\t{search} 49{digits} 0{digits}\t"
                f"{post}{suffix}"
            )
        else:
            append(
                f"{cid}\t{number}\t{head}\t{phone}\t{phone_e164}\t{NULL}\t{email}\t{search}\t"
                f"{post}{suffix}"
            )
        if business:
            group_rows.append(f"{cid}\t{business_group}\n")
        else:
            if r >> 58 < 14:  # 22 %
                group_rows.append(f"{cid}\t{regular}\n")
            if sel == 255:
                group_rows.append(f"{cid}\t{vip}\n")
            elif sel == 254:
                group_rows.append(f"{cid}\t{staff}\n")
        t = (r >> 8) & 0xFF
        if t < 40:
            tag_rows.append(f"{cid}\t{tag_list[t % 10]}\n")
    return out


def verify_sample(url: str, tenant_id: int, sample: int = 300) -> str:
    """Compare stored search_text and phone forms with what the services would write."""
    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.models import Customer
    from stammgast.customers.services import build_search_text
    from stammgast.customers.validation import clean_phone
    from stammgast.tenants.models import Tenant

    tenant = Tenant.objects.get(pk=tenant_id)
    bad = 0
    with tenant_scope(tenant):
        customers = list(Customer.objects.order_by("?")[:sample])
        for c in customers:
            ok = build_search_text(c.__dict__) == c.search_text
            for display_field, e164_field in (
                ("phone_private", "phone_private_e164"),
                ("mobile", "mobile_e164"),
            ):
                if getattr(c, display_field):
                    ok &= clean_phone(getattr(c, display_field), "DE") == (
                        getattr(c, display_field),
                        getattr(c, e164_field),
                    )
            bad += not ok
    if bad:
        raise RuntimeError(f"{bad} of {len(customers)} generated customers differ from the rules")
    return f"checked {len(customers)} random rows: search_text and phone forms as the services"


def main(argv: list[str] | None = None) -> None:
    from . import common

    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args, _rest = parser.parse_known_args(argv)
    with common.bench_database(keep=args.keep) as url:
        tenant, _key = common.create_tenant_with_key()
        result = generate_customers(url, tenant_id=tenant.pk, count=args.customers)
        print(result.summary())
        print(verify_sample(url, tenant.pk))


if __name__ == "__main__":
    main()
