from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Models and the training runs that made them, pinned to the exact dataset versions they read.

    Its own app, between lineage and the audit's service floor: it reads the lineage (a model's
    upstream, a dataset's downstream models) and is read by the audit's HTTP edge (a model as an
    audit's subject), while the audit's services judge its runs."""

    name = "training"
    verbose_name = "Models and training runs"

    def ready(self) -> None:
        from catalog.signals import dataset_changed, version_settled
        from lineage.services import lineage_run_reported
        from training.services.notices import models_affected_by_version
        from training.services.openlineage import training_run_from_lineage
        from training.tasks import dataset_changed_received

        # The lineage does not import training: a run it records that reports a training becomes one.
        lineage_run_reported.connect(training_run_from_lineage, dispatch_uid="training_run_from_lineage")
        # A version found changed puts a finding on the models that learned from it: they are told (model_affected).
        version_settled.connect(models_affected_by_version, dispatch_uid="training_models_affected_by_version")
        # A dataset relicensed, deprecated or retired (or a version deprecated) does too, found on a worker.
        dataset_changed.connect(dataset_changed_received, dispatch_uid="training_dataset_changed")
