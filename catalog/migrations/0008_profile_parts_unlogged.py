"""Partial profiles are scratch: written by a chord's parts, read once by its merge, then deleted.
On PostgreSQL their table is UNLOGGED, so the duplicate-detection hashes they carry (24 bytes a
row) are not also written to the write-ahead log and shipped to every replica; a 25 MB part is
stored in half the time. A crash empties the table: a merge then finds parts missing and fails
its version with a request to profile it again."""

from django.db import migrations


def _set(persistence: str):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        table = schema_editor.quote_name(apps.get_model("catalog", "ProfilePart")._meta.db_table)
        schema_editor.execute(f"ALTER TABLE {table} SET {persistence}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("catalog", "0007_version_thumbnails")]

    operations = [migrations.RunPython(_set("UNLOGGED"), _set("LOGGED"))]
