"""The customers' newsletter flag becomes the newsletter consent: every customer with the
flag set gets a granted consent and a log entry saying where it came from; the flag stays
as the consent's copy for lists and exports, kept in step by the services."""

from django.db import migrations

CARRIED_OVER = "carried over from the newsletter flag"

# One statement each, in the database: a customer base of millions is moved in seconds.
CONSENTS = """
INSERT INTO privacy_consent (tenant_id, customer_id, purpose, granted, "at", channel)
SELECT tenant_id, id, 'newsletter', TRUE, updated_at, 'system'
FROM customers_customer WHERE newsletter = TRUE
"""
EVENTS = f"""
INSERT INTO privacy_consentevent
    (tenant_id, customer_id, purpose, granted, "at", channel, actor_label, note)
SELECT tenant_id, id, 'newsletter', TRUE, updated_at, 'system', 'system', '{CARRIED_OVER}'
FROM customers_customer WHERE newsletter = TRUE
"""


class Migration(migrations.Migration):
    dependencies = [
        ("privacy", "0001_initial"),
        ("customers", "0012_german_order"),
    ]

    operations = [
        migrations.RunSQL(CONSENTS, reverse_sql="DELETE FROM privacy_consent"),
        migrations.RunSQL(EVENTS, reverse_sql="DELETE FROM privacy_consentevent"),
    ]
