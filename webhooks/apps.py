from django.apps import AppConfig
from django.apps import apps as installed


class WebhooksConfig(AppConfig):
    """Signed webhooks out: the top floor. The apps below tell what happened with their own signals,
    and this app connects them here, so none of them imports it."""

    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from audits.signals import audit_completed
        from catalog.signals import version_settled
        from training.signals import model_affected
        from webhooks import receivers

        version_settled.connect(receivers.version_settled_received, dispatch_uid="webhooks_version_settled")
        audit_completed.connect(receivers.audit_completed_received, dispatch_uid="webhooks_audit_completed")
        model_affected.connect(receivers.model_affected_received, dispatch_uid="webhooks_model_affected")
        # contract.failed: the contracts app's signal, where that app is installed.
        if installed.is_installed("contracts"):
            from contracts.signals import contract_checked

            contract_checked.connect(receivers.contract_checked_received, dispatch_uid="webhooks_contract_checked")
