"""A full-text index on fieldnote texts, on PostgreSQL only (SQLite searches by substring).

Built from the same SearchVector expression the search queries use, so PostgreSQL can use it.
It is not in the model's Meta, which is shared with SQLite; the migration state is unchanged.
"""

from django.db import migrations

INDEX_NAME = "fieldnote_text_search"


def _index():
    from django.contrib.postgres.indexes import GinIndex
    from django.contrib.postgres.search import SearchVector

    return GinIndex(SearchVector("text", config="english"), name=INDEX_NAME)


def add_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.add_index(apps.get_model("fieldnotes", "Fieldnote"), _index())


def remove_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.remove_index(apps.get_model("fieldnotes", "Fieldnote"), _index())


class Migration(migrations.Migration):
    dependencies = [("fieldnotes", "0002_pendingupload_timemarker")]

    operations = [migrations.RunPython(add_index, remove_index)]
