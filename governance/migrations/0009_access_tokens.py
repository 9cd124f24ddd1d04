"""API tokens kept as digests. Keys of the former plaintext tokens (DRF's authtoken table, when it
exists) are carried over as digests, so clients keep working, and the plaintext rows are deleted."""

import hashlib

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def carry_over_plaintext_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if "authtoken_token" not in connection.introspection.table_names():
        return
    AccessToken = apps.get_model("governance", "AccessToken")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    ttl = getattr(settings, "CATALOG_TOKEN_TTL", None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT key, user_id, created FROM authtoken_token")
        rows = cursor.fetchall()
    passwords = dict(User.objects.filter(pk__in=[row[1] for row in rows]).values_list("pk", "password"))
    AccessToken.objects.bulk_create(
        AccessToken(
            user_id=user_id,
            name="carried over",
            prefix=key[:12],
            digest=_sha256(key),
            password_digest=_sha256(passwords[user_id]),
            expires_at=timezone.now() + ttl if ttl else None,
        )
        for key, user_id, _created in rows
    )
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM authtoken_token")


class Migration(migrations.Migration):
    dependencies = [
        ("governance", "0008_namespaces"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccessToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "name",
                    models.CharField(
                        blank=True, help_text="What the token is for, to tell tokens apart.", max_length=100
                    ),
                ),
                ("prefix", models.CharField(db_index=True, editable=False, max_length=12)),
                ("digest", models.CharField(editable=False, max_length=64, unique=True)),
                ("password_digest", models.CharField(editable=False, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "expires_at",
                    models.DateTimeField(blank=True, help_text="Empty: the token does not expire.", null=True),
                ),
                ("last_used_at", models.DateTimeField(blank=True, editable=False, null=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="access_tokens",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
        # Reversing keeps the old rows deleted: plaintext keys are not brought back.
        migrations.RunPython(carry_over_plaintext_tokens, migrations.RunPython.noop),
    ]
