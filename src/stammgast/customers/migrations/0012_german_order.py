"""Names in German order on both databases (core.collation), and a sort name per customer.

PostgreSQL gets the ICU collation first; SQLite knows it from every connection. The name
columns take it, the new sort name (the company for a business, "name first name" for a
person) is filled in for the customers there are, and an index on (tenant, sort name,
number) serves the list sorted by name. SQLite rebuilds the table to change a column's
collation, which drops its triggers: the search index's triggers (0003) are created again.
"""

import importlib

from django.db import migrations, models

from stammgast.core.collation import COLLATION, POSTGRES_CREATE

_e164_null = importlib.import_module("stammgast.customers.migrations.0006_e164_null")


def create_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_CREATE)


FILL_SORT_NAME = """
UPDATE customers_customer SET sort_name = CASE
    WHEN kind = 'business' AND company_name <> '' THEN company_name
    WHEN last_name <> '' AND first_name <> '' THEN last_name || ' ' || first_name
    WHEN last_name <> '' THEN last_name
    WHEN first_name <> '' THEN first_name
    WHEN company_name <> '' THEN company_name
    ELSE alias END
"""


def name_field(max_length, verbose_name):
    return models.CharField(
        blank=True, db_collation=COLLATION, max_length=max_length, verbose_name=verbose_name
    )


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0011_block_rank"),
        ("tenants", "0003_money_fields"),
    ]

    operations = [
        # The collation stays when going back: other databases' columns may use it.
        migrations.RunPython(create_collation, migrations.RunPython.noop),
        migrations.AddField(
            model_name="customer",
            name="sort_name",
            field=models.CharField(
                blank=True, db_collation=COLLATION, default="", max_length=201
            ),
        ),
        migrations.AlterField(
            model_name="customer", name="company_name", field=name_field(200, "company")
        ),
        migrations.AlterField(
            model_name="customer", name="first_name", field=name_field(100, "first name")
        ),
        migrations.AlterField(model_name="customer", name="last_name", field=name_field(100, "name")),
        migrations.RunSQL(FILL_SORT_NAME, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                fields=["tenant", "sort_name", "number"], name="customer_sort_name_idx"
            ),
        ),
        migrations.RunPython(_e164_null.search_triggers, migrations.RunPython.noop),
    ]
