"""Groups get a profile (a description, and owners who manage their members) and enter the change log."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("governance", "0010_namespace_changes_audit_unlinking"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
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
                    ("group", "Group"),
                ],
                max_length=16,
            ),
        ),
        migrations.CreateModel(
            name="GroupProfile",
            fields=[
                (
                    "group",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="profile",
                        serialize=False,
                        to="auth.group",
                    ),
                ),
                ("description", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "owners",
                    models.ManyToManyField(
                        blank=True,
                        help_text="Who adds and removes the group's members, besides staff.",
                        related_name="owned_groups",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["group__name"],
            },
        ),
    ]
