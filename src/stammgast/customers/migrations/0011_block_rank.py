"""A block records the role that set it (only that rank or above lifts it).

SQLite rebuilds the table to add a NOT NULL column, which drops its triggers: the search
index's triggers (0003) are created again, as in 0006.
"""

import importlib

from django.db import migrations, models

_e164_null = importlib.import_module("stammgast.customers.migrations.0006_e164_null")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0010_money_fields"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="blocked_by_role",
            field=models.CharField(
                blank=True,
                choices=[
                    ("tenant_admin", "Tenant administrator"),
                    ("location_manager", "Location manager"),
                    ("cashier", "Cashier"),
                    ("read_only", "Read only"),
                ],
                default="",
                max_length=20,
                verbose_name="blocked by",
            ),
        ),
        migrations.RunPython(_e164_null.search_triggers, migrations.RunPython.noop),
    ]
