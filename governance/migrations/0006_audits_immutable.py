"""Audit reports, like the change log, are refused alteration by the database (PostgreSQL)."""

from django.db import migrations

TABLES = ("governance_audit", "governance_auditsubject")


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        # The function made for the change log names the table it refuses.
        schema_editor.execute(
            f"CREATE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION governance_change_append_only();",
            params=None,
        )


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_immutable ON {table};", params=None)


class Migration(migrations.Migration):
    dependencies = [("governance", "0005_audits")]

    operations = [migrations.RunPython(forward, backward)]
