"""The worker side of contracts: a profile checked against a contract version (drift measured against
its reference version), and a check of serving data, whose source is profiled here without becoming
a version. Plain functions on ids; `contracts.tasks` runs them."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import DatasetVersion
from catalog.pipeline import source_profile
from catalog.selectors import drift_view
from contracts import rules
from contracts.models import ContractCheck, ContractVersion
from contracts.selectors import profile_facts
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


def contract_check_source(*, check_id: UUID) -> str | None:
    """Profile a check's source (serving data) and check it against its contract, drift against the
    contract's reference version being the training/serving skew. Stores the result on the check;
    None when the check is not pending (done already, by a redelivered task)."""
    check = ContractCheck.objects.select_related("contract").filter(pk=check_id).first()
    if check is None or check.status != ContractCheck.Status.PENDING:
        return None
    fields: dict[str, Any]
    try:
        profile = source_profile(
            uri=check.uri, format=check.format, label_column=check.label_column, read_options=check.read_options
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
        facts = profile_facts(
            row_count=profile["row_count"], features=profile["features"], profile=profile, quality=profile["quality"]
        )
        result = contract_result(contract=check.contract, facts=facts, current=drift.view_of(profile))  # type: ignore[arg-type]
        fields = {"status": result["status"], "result": result, "row_count": profile["row_count"]}
    with transaction.atomic():
        done = ContractCheck.objects.filter(pk=check_id, status=ContractCheck.Status.PENDING).update(
            checked_at=timezone.now(), **fields
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
