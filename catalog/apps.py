from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        from catalog import tasks
        from catalog.signals import version_settled

        version_settled.connect(
            tasks.version_label_quality_on_settled, dispatch_uid="catalog.label_quality_on_settled", weak=False
        )
