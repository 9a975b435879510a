"""A newsletter given in an imported file is a consent given through the import, logged
with that channel, whether the file is planned in this process or beside it."""

from __future__ import annotations

import pytest

from stammgast.customers.models import Customer
from stammgast.exchange import services as exchange_services
from stammgast.privacy.models import Consent, ConsentEvent


@pytest.mark.parametrize("beside", [False, True])
def test_imported_newsletters_are_consents_through_the_import(
    admin_actor, tmp_path, settings, beside
):
    settings.EXCHANGE_IMPORT_PLANNING_PROCESS_ROWS = 0 if beside else 10**9
    rows = [f"Gast {i};Kay;{'ja' if i % 2 else 'nein'}" for i in range(30)]
    path = tmp_path / "kunden.csv"
    path.write_text("Name;Vorname;Newsletter\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = exchange_services.import_customers(actor=admin_actor, path=path, batch_size=7)
    assert result.created == 30
    with_newsletter = set(Customer.objects.filter(newsletter=True).values_list("pk", flat=True))
    assert len(with_newsletter) == 15
    logged = ConsentEvent.objects.filter(purpose="newsletter")
    assert set(logged.values_list("customer_id", flat=True)) == with_newsletter
    assert set(logged.values_list("channel", "granted")) == {("import", True)}
    assert Consent.objects.filter(purpose="newsletter", granted=True).count() == 15
