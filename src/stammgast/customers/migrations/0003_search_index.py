"""Search index on customers.search_text: pg_trgm GIN on PostgreSQL, FTS5 trigram on SQLite."""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE customers_customer_fts USING fts5(
           search_text, content='customers_customer', content_rowid='id',
           tokenize='trigram')""",
    """CREATE TRIGGER customers_customer_fts_ai AFTER INSERT ON customers_customer BEGIN
           INSERT INTO customers_customer_fts(rowid, search_text)
           VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER customers_customer_fts_ad AFTER DELETE ON customers_customer BEGIN
           INSERT INTO customers_customer_fts(customers_customer_fts, rowid, search_text)
           VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER customers_customer_fts_au AFTER UPDATE OF search_text
           ON customers_customer BEGIN
           INSERT INTO customers_customer_fts(customers_customer_fts, rowid, search_text)
           VALUES ('delete', old.id, old.search_text);
           INSERT INTO customers_customer_fts(rowid, search_text)
           VALUES (new.id, new.search_text);
       END""",
    "INSERT INTO customers_customer_fts(customers_customer_fts) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS customers_customer_fts_au",
    "DROP TRIGGER IF EXISTS customers_customer_fts_ad",
    "DROP TRIGGER IF EXISTS customers_customer_fts_ai",
    "DROP TABLE IF EXISTS customers_customer_fts",
]
POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer "
    "USING gin (search_text gin_trgm_ops)",
]
POSTGRES_BACKWARD = ["DROP INDEX IF EXISTS customer_search_trgm"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}),
        ),
    ]
