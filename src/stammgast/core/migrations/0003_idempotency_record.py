"""Idempotency moves from the API into the services: keys of any actor, results by value.

Keys given before this change are not carried over: a retry that straddles the upgrade is
a new request.
"""

import django.db.models.deletion
import django.db.models.manager
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_initial"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.DeleteModel(name="IdempotentRequest"),
        migrations.CreateModel(
            name="IdempotencyRecord",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("owner", models.CharField(max_length=60)),
                ("key", models.CharField(max_length=200)),
                ("operation", models.CharField(max_length=60)),
                ("fingerprint", models.CharField(max_length=64)),
                ("result", models.JSONField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="tenants.tenant",
                    ),
                ),
            ],
            options={"abstract": False, "base_manager_name": "all_tenants"},
            managers=[
                ("objects", django.db.models.manager.Manager()),
                ("all_tenants", django.db.models.manager.Manager()),
            ],
        ),
        migrations.AddConstraint(
            model_name="idempotencyrecord",
            constraint=models.UniqueConstraint(
                fields=("tenant", "owner", "key"), name="idempotency_owner_key_unique"
            ),
        ),
    ]
