"""Namespaces enter the change log; an audit subject's dataset may be emptied (when the dataset is
purged and the audit was not run by someone who answers for it), and the database allows no other
change to audit subjects (PostgreSQL)."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
CREATE FUNCTION governance_auditsubject_unlink_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
        AND NEW.id = OLD.id AND NEW.audit_id = OLD.audit_id AND NEW.role = OLD.role
        AND NEW.dataset_id IS NULL AND NEW.version_id IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % is not allowed (a subject may only lose its dataset)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
DROP TRIGGER IF EXISTS governance_auditsubject_immutable ON governance_auditsubject;
CREATE TRIGGER governance_auditsubject_immutable BEFORE UPDATE OR DELETE ON governance_auditsubject
    FOR EACH ROW EXECUTE FUNCTION governance_auditsubject_unlink_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS governance_auditsubject_immutable ON governance_auditsubject;
DROP FUNCTION IF EXISTS governance_auditsubject_unlink_only();
CREATE TRIGGER governance_auditsubject_immutable BEFORE UPDATE OR DELETE ON governance_auditsubject
    FOR EACH ROW EXECUTE FUNCTION governance_change_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)  # the SQL holds % of its own


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0008_profile_parts_unlogged"),
        ("governance", "0009_access_tokens"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditsubject",
            name="dataset",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="audit_subjects",
                to="catalog.dataset",
            ),
        ),
        migrations.AlterField(
            model_name="change",
            name="object_type",
            field=models.CharField(
                choices=[
                    ("dataset", "Dataset"),
                    ("version", "Version"),
                    ("feature", "Feature"),
                    ("card", "Data card"),
                    ("ownership", "Ownership"),
                    ("access_grant", "Access grant"),
                    ("license", "License"),
                    ("edge", "Lineage edge"),
                    ("storage_location", "Storage location"),
                    ("namespace", "Namespace"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(forward, backward),
    ]
