from django.apps import AppConfig


class LineageConfig(AppConfig):
    name = "lineage"
    verbose_name = "Lineage"

    def ready(self) -> None:
        from catalog.cards.provenance import dataset_provenance_requested
        from catalog.services import dataset_purging
        from lineage.selectors.provenance import dataset_provenance
        from lineage.services import lineage_release

        # The catalog does not import lineage: a purge asks it to remove what holds nothing back.
        dataset_purging.connect(lineage_release, dispatch_uid="lineage_release")
        # Nor to state where a dataset comes from: its exports ask lineage for the provenance.
        dataset_provenance_requested.connect(dataset_provenance, dispatch_uid="lineage_dataset_provenance")
