"""Reads for the dashboard: key figures and new customers per month and location."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from stammgast.core.replicas import reads_from_replica
from stammgast.customers.selectors import visible_customers
from stammgast.tenants.actor import Actor
from stammgast.tenants.models import Location


@dataclass
class KeyFigures:
    customers: int
    new_this_month: int
    blocked: int
    newsletter: int


def month_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime(day.year, day.month, 1))


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


@reads_from_replica
def key_figures(actor: Actor) -> KeyFigures:
    """All four figures in one aggregate query over the customers the actor may see."""
    start = month_start(timezone.localdate())
    row = visible_customers(actor).aggregate(
        customers=Count("id"),
        new_this_month=Count("id", filter=Q(created_at__gte=start)),
        blocked=Count("id", filter=Q(blocked=True)),
        newsletter=Count("id", filter=Q(newsletter=True)),
    )
    return KeyFigures(**row)


@dataclass
class MonthlySeries:
    months: list[dt.date]
    # (label, counts per month) per location, in a stable order; None = no location.
    series: list[tuple[str, list[int]]]


@reads_from_replica
def new_customers_per_month(actor: Actor, *, months: int = 12) -> MonthlySeries:
    """New customers per month and creating location for the last `months` months.

    Grouped in the database: one row per (month, location), never one per customer.
    """
    today = timezone.localdate()
    first = add_months(today.replace(day=1), -(months - 1))
    month_list = [add_months(first, i) for i in range(months)]
    rows = (
        visible_customers(actor)
        .filter(created_at__gte=month_start(first))
        .annotate(month=TruncMonth("created_at"))
        .values("month", "created_location_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int | None, dict[dt.date, int]] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        counts.setdefault(row["created_location_id"], {})[month.replace(day=1)] = row["n"]
    names = dict(
        Location.objects.filter(pk__in=[k for k in counts if k is not None]).values_list(
            "pk", "name"
        )
    )
    series = []
    for loc_id in sorted(counts, key=lambda k: (k is None, names.get(k, ""))):
        label = names.get(loc_id, "") if loc_id is not None else ""
        series.append((label, [counts[loc_id].get(m, 0) for m in month_list]))
    return MonthlySeries(months=month_list, series=series)
