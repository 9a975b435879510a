"""The E.164 forms of phone numbers are NULL, not "", where a customer has no such number.

A column that is mostly "" told PostgreSQL's generic plans that any number looked up
matches most customers (the estimate for `column = $1` is one over the distinct values),
so a prepared caller-ID lookup would walk the whole tenant. With NULL the statistics say
what is true (0007 rewrites the stored "", 0008 narrows the indexes to the numbers there
are).

SQLite rebuilds the table to drop NOT NULL, which drops its triggers: the search index's
triggers (0003) are created again.
"""

import importlib

from django.db import migrations, models

FIELDS = ("phone_private_e164", "phone_business_e164", "mobile_e164")
_search_index = importlib.import_module("stammgast.customers.migrations.0003_search_index")


def search_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for sql in _search_index.SQLITE_FORWARD:
        if sql.lstrip().startswith("CREATE TRIGGER"):
            name = sql.split()[2]
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("customers", "0005_search_form")]

    operations = [
        # Undone after the fields below are undone (which rebuilds the table again).
        migrations.RunPython(migrations.RunPython.noop, search_triggers),
        *(
            migrations.AlterField(
                model_name="customer",
                name=field,
                field=models.CharField(blank=True, max_length=20, null=True),
            )
            for field in FIELDS
        ),
        migrations.RunPython(search_triggers, search_triggers),
    ]
