from django.apps import AppConfig


class TrainingConfig(AppConfig):
    """Models and the training runs that made them, pinned to the exact dataset versions they read.

    Its own app, between lineage and the audit's service floor: it reads the lineage (a model's
    upstream, a dataset's downstream models) and is read by the audit's HTTP edge (a model as an
    audit's subject), while the audit's services judge its runs."""

    name = "training"
    verbose_name = "Models and training runs"
