"""The default group is now marked on the group itself (customers 0009)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0001_initial"),
        ("customers", "0009_default_group"),
    ]

    operations = [migrations.RemoveField(model_name="tenant", name="default_group")]
