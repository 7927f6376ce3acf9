"""Placeholder coders from imports, and one exchange GUID per account (given to existing ones)."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_existing_users_guids(apps, schema_editor):
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    user_guid = apps.get_model("projects", "UserGuid")
    have = set(user_guid.objects.values_list("user_id", flat=True))
    user_guid.objects.bulk_create(
        user_guid(user_id=pk, guid=uuid.uuid4())
        for pk in user_model.objects.values_list("pk", flat=True)
        if pk not in have
    )


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0002_rounds_reports_adjudication"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="is_placeholder",
            field=models.BooleanField(default=False),
        ),
        migrations.CreateModel(
            name="UserGuid",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("guid", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="exchange_guid",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(give_existing_users_guids, migrations.RunPython.noop, elidable=True),
    ]
