"""Stable GUIDs for exchange files: added empty, filled one per row, then indexed (unique within a project, which the exchange code keeps: a copy imported on the same server keeps its GUIDs)."""

import uuid

from django.db import migrations, models


def fill_guids(apps, schema_editor):
    for model_name in ('observer', 'fieldnote'):
        model = apps.get_model('fieldnotes', model_name)
        for pk in model.objects.filter(guid__isnull=True).values_list("pk", flat=True).iterator():
            model.objects.filter(pk=pk).update(guid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("fieldnotes", "0003_fieldnote_text_search_index")]

    operations = [
        migrations.AddField(
            model_name="observer",
            name="guid",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.AddField(
            model_name="fieldnote",
            name="guid",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(fill_guids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="observer",
            name="guid",
            field=models.UUIDField(default=uuid.uuid4, db_index=True, editable=False),
        ),
        migrations.AlterField(
            model_name="fieldnote",
            name="guid",
            field=models.UUIDField(default=uuid.uuid4, db_index=True, editable=False),
        ),
    ]
