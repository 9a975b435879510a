"""Jobs get a public id that cannot be guessed (the three steps Django's docs give for a
unique field on a table with rows)."""

import uuid

from django.db import migrations, models


def give_ids(apps, schema_editor):
    Job = apps.get_model("exchange", "Job")
    for pk in Job.all_tenants.values_list("pk", flat=True).iterator():
        Job.all_tenants.filter(pk=pk).update(uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("exchange", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="job", name="uid", field=models.UUIDField(editable=False, null=True)
        ),
        migrations.RunPython(give_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="job",
            name="uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
