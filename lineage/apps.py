from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage"

    def ready(self) -> None:
        from catalog.services import dataset_purging
        from lineage.services import lineage_release

        # The catalog does not import lineage: a purge asks it to remove what holds nothing back.
        dataset_purging.connect(lineage_release, dispatch_uid="lineage_release")
