from django.db import migrations
from django.db.models import OuterRef, Subquery


def owners_from_events(apps, schema_editor):
    """Jobs and runs reported before they had owners belong to whoever sent their first event."""
    Job = apps.get_model("lineage", "Job")
    Run = apps.get_model("lineage", "Run")
    LineageEvent = apps.get_model("lineage", "LineageEvent")
    first = LineageEvent.objects.filter(received_by__isnull=False).order_by("received_at", "id")
    Job.objects.filter(owner__isnull=True).update(
        owner=Subquery(
            first.filter(job_namespace=OuterRef("namespace"), job_name=OuterRef("name")).values("received_by")[:1]
        )
    )
    Run.objects.filter(owner__isnull=True).update(
        owner=Subquery(first.filter(run_id=OuterRef("pk")).values("received_by")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("lineage", "0003_edge_confirmation")]

    # Backwards there is nothing to undo: the owner columns go with 0003.
    operations = [migrations.RunPython(owners_from_events, migrations.RunPython.noop)]
