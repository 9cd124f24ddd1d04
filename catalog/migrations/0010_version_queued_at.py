from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0009_version_read_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="datasetversion",
            name="queued_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
