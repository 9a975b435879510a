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


def test_the_job_list_says_the_export_filter_in_words_and_marks_its_menu_item(
    tenant, staff_client, make_customer, settings, tmp_path
):
    import datetime as dt

    from stammgast.core.tenancy import tenant_scope
    from stammgast.customers.filters import CustomerFilter
    from stammgast.customers.models import CustomerGroup
    from stammgast.exchange import services as exchange_services
    from stammgast.tenants.actor import Actor

    settings.VAR_DIR = tmp_path
    with tenant_scope(tenant):
        CustomerGroup.objects.create(tenant=tenant, name="Mitarbeiter")
        make_customer(tenant, groups=["Mitarbeiter"], blocked=True)
        exchange_services.start_export(
            actor=Actor.system(tenant),
            f=CustomerFilter(group="Mitarbeiter", blocked=True, created_from=dt.date(2026, 1, 2)),
        )
    html = staff_client("tenant_admin").get("/exchange/", HTTP_ACCEPT_LANGUAGE="de")
    page = html.content.decode()
    assert (
        "Kundengruppe: Mitarbeiter, Gesperrt: nur gesperrte Kunden, Angelegt: ab 02.01.2026" in page
    )
    assert re.search(r'href="/exchange/"[^>]*aria-current="page"', page)
