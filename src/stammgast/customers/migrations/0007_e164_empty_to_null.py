"""Stored "" in the E.164 columns become NULL (see 0006), in batches of ids; then ANALYZE.

Not atomic: each batch commits on its own, so a big customer table is not held in one
transaction (or locked) for the whole rewrite, and a rerun continues where one stopped.
"""

from django.db import migrations

FIELDS = ("phone_private_e164", "phone_business_e164", "mobile_e164")
BATCH = 20_000


def _rewrite(schema_editor, *, to_null: bool) -> None:
    quote = schema_editor.quote_name
    if to_null:
        assign = ", ".join(f"{quote(f)} = NULLIF({quote(f)}, '')" for f in FIELDS)
        which = " OR ".join(f"{quote(f)} = ''" for f in FIELDS)
    else:
        assign = ", ".join(f"{quote(f)} = COALESCE({quote(f)}, '')" for f in FIELDS)
        which = " OR ".join(f"{quote(f)} IS NULL" for f in FIELDS)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id), MAX(id) FROM customers_customer")
        low, high = cursor.fetchone()
        if low is None:
            return
        for start in range(low, high + 1, BATCH):
            cursor.execute(
                f"UPDATE customers_customer SET {assign}"
                f" WHERE id >= %s AND id < %s AND ({which})",
                [start, start + BATCH],
            )


def empty_to_null(apps, schema_editor):
    _rewrite(schema_editor, to_null=True)
    if schema_editor.connection.vendor == "postgresql":
        # Statistics that still say "" would keep the generic plans this change is for
        # until autovacuum analyses the table.
        schema_editor.execute("ANALYZE customers_customer")


def null_to_empty(apps, schema_editor):
    _rewrite(schema_editor, to_null=False)


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("customers", "0006_e164_null")]

    operations = [migrations.RunPython(empty_to_null, null_to_empty)]
