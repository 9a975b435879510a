"""The phone indexes hold only customers who have the number (a lookup never asks for a
missing one); built after 0007 turned the missing ones into NULL."""

from django.db import migrations, models

INDEXES = {
    "phone_private_e164": "customer_phone_priv_idx",
    "phone_business_e164": "customer_phone_bus_idx",
    "mobile_e164": "customer_mobile_idx",
}


class Migration(migrations.Migration):
    dependencies = [("customers", "0007_e164_empty_to_null")]

    operations = [
        op
        for field, index in INDEXES.items()
        for op in (
            migrations.RemoveIndex(model_name="customer", name=index),
            migrations.AddIndex(
                model_name="customer",
                index=models.Index(
                    condition=models.Q((f"{field}__isnull", False)),
                    fields=["tenant", field],
                    name=index,
                ),
            ),
        )
    ]
