from django.apps import AppConfig


class AuditsConfig(AppConfig):
    """The pre-training audit: the top floor, over lineage and the catalog it walks. Its records
    (`Audit`, `AuditSubject`) stay with governance's, where the triggers keep them immutable."""

    name = "audits"
    verbose_name = "Audits"
