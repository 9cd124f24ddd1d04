"""Who answers for a model; the change log names models, training runs and their ownerships."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
        ('governance', '0012_audit_training_run'),
        ('training', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='change',
            name='object_type',
            field=models.CharField(choices=[('dataset', 'Dataset'), ('version', 'Version'), ('feature', 'Feature'), ('card', 'Data card'), ('ownership', 'Ownership'), ('access_grant', 'Access grant'), ('license', 'License'), ('edge', 'Lineage edge'), ('storage_location', 'Storage location'), ('namespace', 'Namespace'), ('group', 'Group'), ('model', 'Model'), ('training_run', 'Training run'), ('model_ownership', 'Model ownership')], max_length=16),
        ),
        migrations.CreateModel(
            name='ModelOwnership',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('role', models.CharField(choices=[('owner', 'Owner'), ('steward', 'Steward'), ('custodian', 'Custodian')], default='owner', max_length=16)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('group', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='model_ownerships', to='auth.group')),
                ('model', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ownerships', to='training.model')),
                ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='model_ownerships', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['model', 'role', 'created_at', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('group__isnull', True), ('user__isnull', False)), models.Q(('group__isnull', False), ('user__isnull', True)), _connector='OR'), name='model_ownership_user_xor_group'), models.UniqueConstraint(condition=models.Q(('user__isnull', False)), fields=('model', 'user', 'role'), name='model_ownership_unique_user'), models.UniqueConstraint(condition=models.Q(('group__isnull', False)), fields=('model', 'group', 'role'), name='model_ownership_unique_group')],
            },
        ),
    ]
