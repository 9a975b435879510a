"""search_text in the one spelling search compares (core.text.search_form).

It used to hold every spelling of a name ("muller mueller"); now "Müller", "Mueller" and
"Muller" are all stored as "muller". Rewritten in batches by id, only the rows whose text
changes; on SQLite the FTS triggers follow the update.
"""

from django.db import migrations

BATCH = 2000
FIELDS = (
    "number",
    "first_name",
    "last_name",
    "company_name",
    "alias",
    "city",
    "email",
    "postcode",
    "phone_private_e164",
    "phone_business_e164",
    "mobile_e164",
    "search_text",
)


def rewrite_search_text(apps, schema_editor):
    from stammgast.customers.services import build_search_text

    customers = apps.get_model("customers", "Customer")._base_manager.using(
        schema_editor.connection.alias
    )
    last = 0
    while True:
        batch = list(customers.filter(pk__gt=last).order_by("pk").only(*FIELDS)[:BATCH])
        if not batch:
            return
        last = batch[-1].pk
        changed = []
        for customer in batch:
            text = build_search_text(customer.__dict__)
            if text != customer.search_text:
                customer.search_text = text
                changed.append(customer)
        customers.bulk_update(changed, ["search_text"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_search_statistics")]

    operations = [migrations.RunPython(rewrite_search_text, migrations.RunPython.noop)]
