from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _licenses_load(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    # Like Django's own permissions and content types: reference data that follows the installed
    # packages, loaded after every migrate (and after a test database is flushed).
    from governance.models import License
    from governance.services import licenses_sync

    if License._meta.db_table not in connections[using].introspection.table_names():
        return
    licenses_sync(using=using)


class GovernanceConfig(AppConfig):
    name = "governance"
    verbose_name = "Governance"

    def ready(self) -> None:
        post_migrate.connect(_licenses_load, sender=self, dispatch_uid="governance.licenses_load")
