"""Imports of training runs from MLflow tracking servers: what each read and how it ended."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('training', '0003_input_license'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='MlflowImport',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('tracking_uri', models.CharField(help_text='The server, without credentials.', max_length=2048)),
                ('experiments', models.JSONField(blank=True, default=list, help_text='The experiments named; empty for all.')),
                ('since', models.DateTimeField(blank=True, help_text='Runs that started or ended since then.', null=True)),
                ('status', models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed: the tracking server could not be read')], default='running', max_length=16)),
                ('summary', models.JSONField(blank=True, default=dict)),
                ('error', models.TextField(blank=True)),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-started_at', '-id'],
                'indexes': [models.Index(fields=['tracking_uri', '-started_at'], name='mlflow_import_uri_idx')],
            },
        ),
    ]
