"""Fixtures of the pricing tests: a canteen with staff and guest groups, dates, a quote."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.conf import settings

from stammgast.customers import services as customer_services
from stammgast.customers.models import CustomerGroup
from stammgast.pricing import services as pricing_services
from tests.customers.helpers import post_json

LUNCH = {"item": "MEN1", "category": "meal", "prices": {"1": "6.00", "2": "5.00", "3": "4.50"}}
COFFEE = {"item": "KAF", "category": "drink", "prices": {"1": "2.00", "2": "1.80"}}
CAKE = {"item": "KUC", "category": "cake", "discountable": False, "prices": {"1": "3.00"}}


def local_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def first_monday_of_next_month() -> dt.date:
    """A Monday whose week (Monday to Friday) lies in one month, within a year from now."""
    today = dt.date.today()
    first = (today.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return first + dt.timedelta(days=(7 - first.weekday()) % 7)


def quote(client, body):
    return post_json(client, "/api/v1/pricing/quote", body)


@pytest.fixture
def canteen(admin_actor):
    """Groups with price levels: staff 2, guests 3, trainees none."""
    for name in ("Belegschaft", "Gäste", "Azubis"):
        CustomerGroup.objects.create(name=name)
    pricing_services.set_group_price_levels(
        actor=admin_actor, levels={"Belegschaft": 2, "Gäste": 3}
    )


@pytest.fixture
def worker(admin_actor, canteen):
    """Customer 1: staff, 10 % discount."""
    return customer_services.create_customer(
        actor=admin_actor,
        data={
            "first_name": "Karl",
            "last_name": "Koch",
            "email": "karl@example.org",
            "groups": ["Belegschaft"],
            "discount": 10,
        },
    )


@pytest.fixture
def lunch_rule(admin_actor, canteen):
    """2.50 off a meal for staff, once a day, Monday to Friday, at most 40.00 a month."""
    return pricing_services.create_subsidy_rule(
        actor=admin_actor,
        data={
            "name": "Mittagszuschuss",
            "group": "Belegschaft",
            "categories": ["meal"],
            "kind": "fixed",
            "value": "2.50",
            "weekdays": [0, 1, 2, 3, 4],
            "monthly_cap": "40.00",
        },
    )
