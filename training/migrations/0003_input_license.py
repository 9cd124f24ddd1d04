"""Each input of a training run keeps the license its dataset had when the run was recorded."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0002_training_run_confirmed"),
    ]

    operations = [
        migrations.AddField(
            model_name="traininginput",
            name="license",
            field=models.CharField(
                blank=True,
                help_text="The dataset's license expression when the run was recorded; empty: unknown.",
                max_length=255,
            ),
        ),
    ]
