"""The dashboard: cards that open the lists they count, chart axes in round steps."""

from __future__ import annotations

import re

import pytest

from stammgast.portal.charts import axis_steps, stacked_bars

from .test_shell_and_list import numbers_in


def test_every_card_opens_the_list_it_counts(tenant, staff_client, make_customer):
    make_customer(tenant, last_name="Offen", newsletter=True)
    blocked = make_customer(tenant, last_name="Gesperrt", blocked=True, lock_text="Hausverbot")
    client = staff_client("tenant_admin")
    html = client.get("/").content.decode()
    cards = dict(re.findall(r'<a class="stat[^"]*" id="(card-[a-z]+)" href="([^"]+)"', html))
    assert set(cards) == {"card-customers", "card-new", "card-blocked", "card-newsletter"}
    counted = dict(re.findall(r'id="(card-[a-z]+)"[^>]*><span class="value">(\d+)</span>', html))
    for card, url in cards.items():
        listed = numbers_in(client.get(url.replace("&amp;", "&")).content.decode())
        assert len(listed) == int(counted[card]), card
    blocked_list = client.get(cards["card-blocked"]).content.decode()
    assert numbers_in(blocked_list) == [blocked.number]


@pytest.mark.parametrize(
    ("highest", "ticks"),
    [
        (0, [0, 1]),
        (3, [0, 1, 2, 3]),
        (7, [0, 2, 4, 6, 8]),
        (12, [0, 5, 10, 15]),
        (99, [0, 20, 40, 60, 80, 100]),
        (1234, [0, 500, 1000, 1500]),
    ],
)
def test_the_chart_axis_has_round_steps(highest, ticks):
    top, step = axis_steps(highest)
    assert list(range(0, top + 1, step)) == ticks
    import datetime as dt

    chart = stacked_bars([dt.date(2026, 1, 1)], [("Mitte", [highest])])
    assert [value for _y, value in chart.y_ticks] == ticks
