"""The tenant's default group moves to the customers app: CustomerGroup.is_default.

The tenants app sits below customers and must not refer to its tables; the mark on the
group says the same with the rule (at most one per tenant) as a constraint.
"""

from django.db import migrations, models


def mark_default_groups(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    CustomerGroup = apps.get_model("customers", "CustomerGroup")
    for tenant_id, group_id in Tenant.objects.filter(default_group__isnull=False).values_list(
        "pk", "default_group_id"
    ):
        CustomerGroup.all_tenants.filter(pk=group_id, tenant_id=tenant_id).update(
            is_default=True
        )


def unmark_default_groups(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    CustomerGroup = apps.get_model("customers", "CustomerGroup")
    for group in CustomerGroup.all_tenants.filter(is_default=True):
        Tenant.objects.filter(pk=group.tenant_id).update(default_group_id=group.pk)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_e164_partial_indexes"),
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="customergroup",
            name="is_default",
            field=models.BooleanField(
                default=False, verbose_name="default group for new customers"
            ),
        ),
        migrations.AddConstraint(
            model_name="customergroup",
            constraint=models.UniqueConstraint(
                condition=models.Q(("is_default", True)),
                fields=("tenant",),
                name="group_one_default_per_tenant",
            ),
        ),
        migrations.RunPython(mark_default_groups, unmark_default_groups),
    ]
