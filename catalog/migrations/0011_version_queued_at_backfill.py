from django.db import migrations
from django.db.models import F


def versions_waiting_were_queued(apps, schema_editor):
    # A version waiting or being profiled was sent to the broker when its status last changed: the
    # sweeper keeps looking after it as it did before versions recorded that.
    DatasetVersion = apps.get_model("catalog", "DatasetVersion")
    DatasetVersion.objects.filter(status__in=["pending", "profiling"], queued_at__isnull=True).update(
        queued_at=F("status_changed_at")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0010_version_queued_at"),
    ]

    operations = [
        migrations.RunPython(versions_waiting_were_queued, migrations.RunPython.noop),
    ]
