"""Pricing history with who, where and what; a use per bill line; rules' constraints.

Existing history entries keep their text as the subject; existing uses are numbered per
bill in the order they were made, so that (bill, line) is unique.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def carry_over(apps, schema_editor):
    PricingEvent = apps.get_model("pricing", "PricingEvent")
    for event in PricingEvent.all_tenants.all():
        event.subject = (event.what or "")[:100]
        event.action = "group_level_set" if event.what.startswith("group ") else "rule_changed"
        event.save(update_fields=["subject", "action"])
    SubsidyUse = apps.get_model("pricing", "SubsidyUse")
    lines: dict[tuple[int, int], int] = {}
    for use in SubsidyUse.all_tenants.order_by("id"):
        key = (use.tenant_id, use.bill_id)
        use.line = lines.get(key, 0)
        lines[key] = use.line + 1
        use.save(update_fields=["line"])


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0010_money_fields'),
        ('pricing', '0001_initial'),
        ('tenants', '0003_money_fields'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='pricingevent',
            options={'base_manager_name': 'all_tenants', 'ordering': ['-at', '-id'], 'verbose_name': 'pricing history entry'},
        ),
        migrations.AlterModelOptions(
            name='subsidyallowance',
            options={'base_manager_name': 'all_tenants', 'verbose_name': 'subsidy allowance lock'},
        ),
        migrations.AlterModelOptions(
            name='subsidyrule',
            options={'base_manager_name': 'all_tenants', 'ordering': ['name', 'pk'], 'verbose_name': 'subsidy rule', 'verbose_name_plural': 'subsidy rules'},
        ),
        migrations.AlterModelOptions(
            name='subsidyuse',
            options={'base_manager_name': 'all_tenants', 'verbose_name': 'subsidy used', 'verbose_name_plural': 'subsidies used'},
        ),
        migrations.RemoveIndex(
            model_name='subsidyuse',
            name='subsidy_use_bill_idx',
        ),
        migrations.AddField(
            model_name='grouppricing',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='action',
            field=models.CharField(choices=[('rule_created', 'subsidy rule created'), ('rule_changed', 'subsidy rule changed'), ('rule_deactivated', 'subsidy rule stopped'), ('group_level_set', 'price level of a group set')], default='rule_changed', max_length=30),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='api_client',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='tenants.apiclient'),
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='group',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='customers.customergroup'),
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='location_code',
            field=models.CharField(blank=True, max_length=30),
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='rule',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='events', to='pricing.subsidyrule'),
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='subject',
            field=models.CharField(default='', max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='pricingevent',
            name='user',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='subsidyrule',
            name='updated_at',
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name='subsidyuse',
            name='line',
            field=models.PositiveSmallIntegerField(default=0),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name='subsidyuse',
            name='released_by',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='pricingevent',
            name='what',
        ),
        migrations.AlterField(
            model_name='pricingevent',
            name='at',
            field=models.DateTimeField(db_index=True),
        ),
        migrations.AlterField(
            model_name='subsidyrule',
            name='group',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='subsidy_rules', to='customers.customergroup', verbose_name='customer group'),
        ),
        migrations.AlterField(
            model_name='subsidyuse',
            name='created_at',
            field=models.DateTimeField(),
        ),
        migrations.AddIndex(
            model_name='subsidyrule',
            index=models.Index(fields=['group', 'active'], name='subsidy_rule_group_idx'),
        ),
        migrations.AddConstraint(
            model_name='subsidyrule',
            constraint=models.UniqueConstraint(condition=models.Q(('active', True)), fields=('tenant', 'name'), name='subsidy_rule_active_name_unique'),
        ),
        migrations.AddConstraint(
            model_name='subsidyrule',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'percent'), ('value__gte', 1), ('value__lte', 100)), models.Q(('kind', 'fixed'), ('value__gte', 1), ('value__lte', 100000000)), _connector='OR'), name='subsidy_rule_value_range'),
        ),
        migrations.AddConstraint(
            model_name='subsidyrule',
            constraint=models.CheckConstraint(condition=models.Q(('times_per_day__gte', 1), ('times_per_day__lte', 10)), name='subsidy_rule_times_per_day_range'),
        ),
        migrations.AddConstraint(
            model_name='subsidyrule',
            constraint=models.CheckConstraint(condition=models.Q(('valid_from__isnull', True), ('valid_to__isnull', True), ('valid_to__gte', models.F('valid_from')), _connector='OR'), name='subsidy_rule_validity_order'),
        ),
        migrations.AddConstraint(
            model_name='subsidyuse',
            constraint=models.UniqueConstraint(fields=('tenant', 'bill_id', 'line'), name='subsidy_use_bill_line_unique'),
        ),
        migrations.AddConstraint(
            model_name='subsidyuse',
            constraint=models.CheckConstraint(condition=models.Q(('meals__gte', 1)), name='subsidy_use_meals'),
        ),
        migrations.AddConstraint(
            model_name='subsidyuse',
            constraint=models.CheckConstraint(condition=models.Q(('amount__gte', 1)), name='subsidy_use_amount'),
        ),
    ]
