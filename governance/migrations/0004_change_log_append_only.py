"""The database itself refuses to alter or remove change-log entries (PostgreSQL; SQLite relies on
the model's refusal)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION governance_change_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER governance_change_append_only
    BEFORE UPDATE OR DELETE ON governance_change
    FOR EACH ROW EXECUTE FUNCTION governance_change_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS governance_change_append_only ON governance_change;
DROP FUNCTION IF EXISTS governance_change_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)  # the SQL holds % of its own


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_licenses_changes_grants")]

    operations = [migrations.RunPython(forward, backward)]
