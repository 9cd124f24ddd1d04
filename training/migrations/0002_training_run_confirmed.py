"""A reported training run waits for its model's owners to confirm it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('training', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='trainingrun',
            name='confirmed',
            field=models.BooleanField(default=True, help_text="False for a run reported (OpenLineage, MLflow) by someone who may not write the model, until one of its owners confirms it: until then it is not the model's latest run."),
        ),
    ]
