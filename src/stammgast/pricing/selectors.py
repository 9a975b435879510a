"""Reads of pricing: the rules and the price levels of the groups."""

from __future__ import annotations

from stammgast.customers.models import CustomerGroup

from .models import GroupPricing, SubsidyRule


def subsidy_rules() -> list[SubsidyRule]:
    return list(SubsidyRule.objects.select_related("group").order_by("-active", "name", "pk"))


def group_levels() -> list[tuple[CustomerGroup, int | None]]:
    """Every group of the tenant with the price level it gives (None: none)."""
    levels = dict(GroupPricing.objects.values_list("group_id", "price_level"))
    return [(g, levels.get(g.pk)) for g in CustomerGroup.objects.order_by("name")]
