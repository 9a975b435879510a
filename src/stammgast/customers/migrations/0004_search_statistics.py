"""Finer planner statistics on customers.search_text (PostgreSQL).

With the default statistics target the planner estimates a LIKE '%term%' from a
100-entry histogram: rare terms look 1 % common, so a search sorted by number walks the
number index and filters hundreds of thousands of rows instead of using the pg_trgm
index. A 1000-entry histogram makes the estimates good enough to choose right.
"""

from django.db import migrations

FORWARD = "ALTER TABLE customers_customer ALTER COLUMN search_text SET STATISTICS 1000"
BACKWARD = "ALTER TABLE customers_customer ALTER COLUMN search_text SET STATISTICS -1"


def _run(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0003_search_index")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
