"""What the apps below tell, as webhook events: each receiver reads the facts a receiver needs and
publishes the event. The apps below never import this app; `webhooks/apps.py` connects these.

Webhooks are registered by staff, who may read everything: payloads carry ids, names and statuses,
never a dataset's content."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from catalog.models import DatasetVersion
from governance.models import Audit
from training.models import Model
from webhooks.choices import Event
from webhooks.services import event_publish

EVENT_OF_STATUS = {
    "ready": Event.VERSION_READY,
    "failed": Event.VERSION_FAILED,
    "source_changed": Event.VERSION_SOURCE_CHANGED,
}


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def _version_facts(version_id: Any) -> dict[str, Any] | None:
    version = DatasetVersion.objects.select_related("dataset").filter(pk=version_id).first()
    if version is None:
        return None
    dataset = version.dataset
    return {
        "dataset": {"id": str(dataset.pk), "namespace": dataset.namespace, "name": dataset.name},
        "version": {
            "id": str(version.pk),
            "number": version.number,
            "status": version.status,
            "error": version.error,
            "fingerprint": version.fingerprint,
        },
    }


def version_settled_received(sender: Any, *, version_id: UUID, dataset_id: UUID, status: str, **kwargs: Any) -> None:
    """`catalog.signals.version_settled` → `version.ready`, `version.failed`, `version.source_changed`."""
    event = EVENT_OF_STATUS.get(status)
    facts = _version_facts(version_id) if event is not None else None
    if event is None or facts is None:
        return
    facts["status"] = status
    event_publish(event=event, data=facts)


def audit_completed_received(sender: Any, *, audit_id: UUID, verdict: str, **kwargs: Any) -> None:
    """`audits.signals.audit_completed` → `audit.completed`."""
    audit = Audit.objects.select_related("created_by").filter(pk=audit_id).first()
    if audit is None:
        return
    event_publish(
        event=Event.AUDIT_COMPLETED,
        data={
            "audit": {
                "id": str(audit.pk),
                "verdict": audit.verdict,
                "counts": audit.counts,
                "purpose": audit.purpose,
                "training_run": _id(audit.training_run_id),
                "created_by": audit.created_by.get_username() if audit.created_by else None,
                "finding_codes": sorted({str(finding.get("code")) for finding in audit.findings or []}),
            }
        },
    )


def model_affected_received(
    sender: Any,
    *,
    model_id: UUID,
    finding_codes: list[str],
    dataset_id: UUID,
    version_id: UUID | None,
    reason: str,
    **kwargs: Any,
) -> None:
    """`training.signals.model_affected` → `model.affected`."""
    model = Model.objects.filter(pk=model_id).first()
    if model is None:
        return
    facts = _version_facts(version_id) if version_id is not None else None
    event_publish(
        event=Event.MODEL_AFFECTED,
        data={
            "model": {"id": str(model.pk), "namespace": model.namespace, "name": model.name},
            "finding_codes": list(finding_codes),
            "reason": reason,
            "dataset": facts["dataset"] if facts else {"id": str(dataset_id)},
            "version": facts["version"] if facts else None,
        },
    )


# --- contract.failed ----------------------------------------------------------------------------------
# The contracts app sends `contracts.signals.contract_checked`; `webhooks/apps.py` connects this
# receiver only where that app is installed. Its kwargs are read defensively: `status` decides, and the
# ids it names are passed on.
CONTRACT_IDS = ("dataset_id", "version_id", "check_id", "contract_version")


def contract_checked_received(sender: Any, *, status: str, **kwargs: Any) -> None:
    """`contracts.signals.contract_checked(status="failed", ...)` → `contract.failed`."""
    if status != "failed":
        return
    version_id = kwargs.get("version_id")
    facts = _version_facts(version_id) if version_id is not None else None
    data: dict[str, Any] = {key.removesuffix("_id"): _id(kwargs[key]) for key in CONTRACT_IDS if key in kwargs}
    if facts is not None:
        data.update(facts)
    data["status"] = status
    if "enforcement" in kwargs:
        data["enforcement"] = str(kwargs["enforcement"])
    anomalies = kwargs.get("anomalies")
    if isinstance(anomalies, list):
        data["anomaly_codes"] = sorted({str(item.get("code")) for item in anomalies if isinstance(item, dict)})
    event_publish(event=Event.CONTRACT_FAILED, data=data)
