"""The worker side of contracts: a profile checked against a contract version (drift measured against
its reference version), and a check of serving data, whose source is profiled here without becoming
a version. Plain functions on ids; `contracts.tasks` runs them."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import DatasetVersion
from catalog.pipeline import source_profile
from catalog.selectors import drift_view
from contracts import rules
from contracts.models import ContractCheck, ContractVersion
from contracts.signals import contract_checked_send
from profiler import drift
from profiler.api import SourceError

logger = logging.getLogger(__name__)


def _reference(dataset_id: UUID, number: int | None) -> DatasetVersion | None:
    if number is None:
        return None
    return DatasetVersion.objects.filter(dataset_id=dataset_id, number=number, status=VersionStatus.READY).first()


def contract_result(
    *, contract: ContractVersion, facts: rules.ProfileFacts, current: drift.ProfileView | None
) -> dict[str, Any]:
    """The check of a profile against a contract version: drift is measured against the contract's
    reference version when `current` (the profile as drift reads it) is given."""
    document = contract.document
    reference_number = document["reference_version"]
    reference = _reference(contract.dataset_id, reference_number)
    drift_result = None
    if reference is not None and current is not None:
        drift_result = drift.compare(current, drift_view(reference))
    anomalies = rules.contract_anomalies(
        document, facts, drift_result=drift_result, reference_label=f"version {reference_number}"
    )
    return {
        "version": contract.number,
        "status": rules.contract_status(anomalies),
        "enforcement": contract.enforcement,
        "reference_version": reference_number,
        "checked_at": timezone.now().isoformat(),
        "anomalies": anomalies,
    }


def contract_check_claim(check_id: UUID) -> ContractCheck | None:
    """Take a pending check for this worker: it turns `running` (its attempts counted), or None when
    it is not pending (done already, by a redelivered task, or running on another worker)."""
    now = timezone.now()
    taken = ContractCheck.objects.filter(pk=check_id, status=ContractCheck.Status.PENDING).update(
        status=ContractCheck.Status.RUNNING, status_changed_at=now, attempts=F("attempts") + 1
    )
    if not taken:
        return None
    return ContractCheck.objects.select_related("contract").get(pk=check_id)


def contract_check_source(*, check_id: UUID) -> str | None:
    """Profile a check's source (serving data) and check it against its contract, drift against the
    contract's reference version being the training/serving skew. Stores the result on the check;
    None when the check was not this call's (see contract_check_claim), or was given up on meanwhile."""
    check = contract_check_claim(check_id)
    if check is None:
        return None
    fields: dict[str, Any]
    try:
        profile = source_profile(
            uri=check.uri,
            format=check.format,
            label_column=check.label_column,
            read_options=check.read_options,
            patterns=rules.contract_patterns(check.contract.document),
        )
    except SourceError as exc:
        fields = {"status": ContractCheck.Status.ERROR, "error": str(exc)}
    except Exception as exc:
        logger.exception("Contract check %s failed unexpectedly", check_id)
        fields = {
            "status": ContractCheck.Status.ERROR,
            "error": f"Profiling the source failed unexpectedly ({type(exc).__name__}); the fault is logged.",
        }
    else:
        view = drift.view_of(profile)  # type: ignore[arg-type]
        facts = rules.facts_of(view, quality=profile["quality"], sample=profile.get("sample"))
        result = contract_result(contract=check.contract, facts=facts, current=view)
        fields = {"status": result["status"], "result": result, "row_count": profile["row_count"]}
    now = timezone.now()
    with transaction.atomic():
        done = ContractCheck.objects.filter(pk=check_id, status=ContractCheck.Status.RUNNING).update(
            checked_at=now, status_changed_at=now, **fields
        )
        if done and fields["status"] in (ContractCheck.Status.PASSED, ContractCheck.Status.FAILED):
            contract_checked_send(
                dataset_id=check.dataset_id,
                check_id=check.pk,
                status=fields["status"],
                enforcement=check.contract.enforcement,
                contract_version=check.contract.number,
                anomalies=fields["result"]["anomalies"],
            )
    return str(fields["status"]) if done else None


def contract_check_give_up(*, check_id: UUID, error: str) -> bool:
    """Record that a check of serving data will not be done (its attempts exhausted): `error`, with
    the reason. False when it settled meanwhile."""
    now = timezone.now()
    return bool(
        ContractCheck.objects.filter(
            pk=check_id, status__in=(ContractCheck.Status.PENDING, ContractCheck.Status.RUNNING)
        ).update(status=ContractCheck.Status.ERROR, error=error, status_changed_at=now, checked_at=now)
    )
