"""Realistic German demo customers, created through the same service as every customer."""

from __future__ import annotations

import datetime as dt
import random

from django.utils import timezone

from stammgast.core import db
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location

from .services import apply_plans, plan_create, planning_context

LOCATIONS = [
    ("berlin-mitte", "Gasthaus Berlin Mitte", (100000, 199999)),
    ("hamburg-hafen", "Gasthaus Hamburg Hafen", (200000, 299999)),
    ("muenchen-zentrum", "Gasthaus München Zentrum", None),
]
GROUPS = ["Stammgäste", "Mitarbeiter", "Firmenkunden", "VIP"]

FIRST_NAMES = [
    "Anna",
    "Lena",
    "Sophie",
    "Marie",
    "Hannah",
    "Lea",
    "Jürgen",
    "Jörg",
    "Günther",
    "Max",
    "Paul",
    "Jonas",
    "Lukas",
    "Felix",
    "Leon",
    "Ülkü",
    "Zoë",
    "Björn",
    "Mia",
    "Emma",
    "Karl-Heinz",
    "Hans",
    "Renée",
    "Sören",
    "Käthe",
    "Ole",
    "Ida",
]
LAST_NAMES = [
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
    "Krause",
    "Meier",
    "Lehmann",
    "Groß",
    "Köhler",
    "Weiß",
    "Jäger",
    "Öztürk",
    "Yılmaz",
    "Nowak",
    "Kowalski",
    "Dąbrowski",
]
CITIES = [
    ("10115", "Berlin", "030"),
    ("20095", "Hamburg", "040"),
    ("80331", "München", "089"),
    ("50667", "Köln", "0221"),
    ("60311", "Frankfurt am Main", "069"),
    ("70173", "Stuttgart", "0711"),
    ("40213", "Düsseldorf", "0211"),
    ("04109", "Leipzig", "0341"),
    ("01067", "Dresden", "0351"),
    ("90402", "Nürnberg", "0911"),
    ("28195", "Bremen", "0421"),
    ("30159", "Hannover", "0511"),
    ("99084", "Erfurt", "0361"),
]
STREETS = [
    "Hauptstraße",
    "Schulstraße",
    "Gartenstraße",
    "Bahnhofstraße",
    "Dorfstraße",
    "Bergstraße",
    "Lindenstraße",
    "Goethestraße",
    "Schillerstraße",
    "Am Marktplatz",
    "Königsallee",
    "Friedrichstraße",
    "Mühlenweg",
    "Lößnitzgrund",
]
COMPANIES = [
    "Bäckerei Sonnenschein",
    "Müller & Söhne KG",
    "Kanzlei Weiß",
    "Autohaus Krüger",
    "IT-Service Nord GmbH",
    "Praxis Dr. Groß",
    "Blumen Köhler",
    "Stadtwerke Süd",
]
COMMENTS = [
    "",
    "",
    "",
    "Allergie: Erdnüsse",
    "Laktoseintolerant",
    "Vegetarisch",
    "Bevorzugt Fensterplatz",
    "Glutenfrei",
    "Rollstuhlgerechter Tisch",
]
TAGS = ["vegan", "vegetarisch", "espresso", "weißwein", "rotwein", "glutenfrei", "kinderteller"]
MOBILE_PREFIXES = ["0151", "0152", "0157", "0176"]
DEMO_SPAN_SECONDS = 2 * 365 * 24 * 3600


def create_demo_customer(*, actor: Actor, rng: random.Random, location: Location | None) -> None:
    postcode, city, area = rng.choice(CITIES)
    business = rng.random() < 0.12
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    data = {
        "kind": "business" if business else "private",
        "first_name": first,
        "last_name": last,
        "gender": rng.choice(["female", "male", "diverse", ""]),
        "street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        "postcode": postcode,
        "city": city,
        "country": "DE",
        "email": f"{first}.{last}{rng.randint(1, 9999)}@example.de".lower()
        .replace("ü", "ue")
        .replace("ö", "oe")
        .replace("ä", "ae")
        .replace("ß", "ss")
        .replace("ı", "i")
        .replace("ą", "a")
        .replace("ë", "e")
        .replace("é", "e")
        .replace(" ", ""),
        "newsletter": rng.random() < 0.4,
        "favourite": rng.random() < 0.05,
        "comments": rng.choice(COMMENTS),
        "tags": rng.sample(TAGS, rng.randint(0, 2)),
        "groups": rng.sample(["Stammgäste", "VIP"], rng.randint(0, 1)),
    }
    if rng.random() < 0.7:
        data["mobile"] = f"{rng.choice(MOBILE_PREFIXES)} {rng.randint(10000000, 99999999)}"
    if rng.random() < 0.5:
        data["phone_private"] = f"{area} {rng.randint(100000, 9999999)}"
    if rng.random() < 0.8:
        born = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randint(0, 365 * 65))
        data["date_of_birth"] = born.isoformat()
    if business:
        data["company_name"] = rng.choice(COMPANIES)
        data["payment_method"] = "invoice"
        data["payment_term_days"] = rng.choice([14, 30])
        data["groups"] = ["Firmenkunden"]
    if rng.random() < 0.1:
        data["discount"] = rng.choice([5, 10, 15])
    if rng.random() < 0.02:
        data["blocked"] = True
        data["lock_text"] = "Offene Rechnung – bitte an die Zentrale verweisen"
    actor_here = (
        Actor(
            tenant=actor.tenant, location=location, role=actor.role, permissions=actor.permissions
        )
        if location
        else actor
    )
    # Customers came over the last two years, as in a real customer base, so the
    # dashboard's charts have something to show. Planned with the stamps an import of an
    # export keeps, through the same planning and applying as every customer.
    created = timezone.now() - dt.timedelta(seconds=rng.randint(0, DEMO_SPAN_SECONDS))
    with db.atomic():
        ctx = planning_context(actor=actor_here)
        plan = plan_create(ctx=ctx, data=data, stamps={"created_at": created})
        apply_plans([plan], ctx=ctx)
