"""Reads of contracts, and a version's stored profile as the facts a contract is checked on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from catalog.choices import VersionStatus
from catalog.models import DatasetVersion
from catalog.selectors import drift_view, version_profile_stored, version_quality
from contracts.models import ContractCheck, ContractVersion
from contracts.rules import ProfileFacts, contract_patterns, facts_of
from governance.permissions import user_can_write_dataset
from profiler import drift


def contract_current(*, dataset_id: UUID) -> ContractVersion | None:
    """The contract in force: the dataset's latest contract version, or None."""
    return (
        ContractVersion.objects.select_related("created_by").filter(dataset_id=dataset_id).order_by("-number").first()
    )


def contract_patterns_answer(sender: Any, *, dataset_id: UUID, **kwargs: Any) -> dict[str, str]:
    """The answer to `catalog.signals.profiling_patterns_requested`: the patterns of the contract in
    force, by feature (none without a contract)."""
    document = (
        ContractVersion.objects.filter(dataset_id=dataset_id)
        .order_by("-number")
        .values_list("document", flat=True)
        .first()
    )
    return contract_patterns(document) if document else {}


def contract_versions(*, dataset_id: UUID) -> QuerySet[ContractVersion]:
    """Every saved version of a dataset's contract, the latest first."""
    return ContractVersion.objects.select_related("created_by").filter(dataset_id=dataset_id).order_by("-number")


def contract_body(contract: ContractVersion) -> dict[str, Any]:
    """A contract version as the API shows it: its document, its number, who saved it and when."""
    return {
        "version": contract.number,
        **contract.document,
        "created_by": contract.created_by.get_username() if contract.created_by else None,
        "created_at": contract.created_at,
    }


def version_latest_ready(*, dataset_id: UUID) -> DatasetVersion | None:
    return DatasetVersion.objects.filter(dataset_id=dataset_id, status=VersionStatus.READY).order_by("-number").first()


def version_facts(version: DatasetVersion, *, view: drift.ProfileView | None = None) -> ProfileFacts:
    """What a version's stored profile says, read from the database: never the data itself. `view` is
    the version as drift reads it (`catalog.selectors.drift_view`), when the caller has it already."""
    return facts_of(
        view if view is not None else drift_view(version),
        quality=dict(version_quality(version)),
        sample=version_profile_stored(version).get("sample"),
    )


def contract_check_visible(*, user: User | AnonymousUser, check_id: UUID) -> ContractCheck | None:
    """A check of serving data, for whoever asked for it and the dataset's owners, stewards and staff
    (its anomalies describe data they hold); None for anyone else, as for an unknown id."""
    check = ContractCheck.objects.select_related("contract").filter(pk=check_id).first()
    if check is None or not user.is_authenticated:
        return None
    if check.created_by_id == user.pk or user_can_write_dataset(user, check.dataset_id):
        return check
    return None


def contract_check_body(check: ContractCheck) -> dict[str, Any]:
    result = check.result or {}
    return {
        "id": check.pk,
        "dataset": check.dataset_id,
        "uri": check.uri,
        "status": check.status,
        "error": check.error,
        "row_count": check.row_count,
        "version": check.contract.number,
        "enforcement": check.contract.enforcement,
        "reference_version": check.contract.document.get("reference_version"),
        "anomalies": result.get("anomalies", []),
        "attempts": check.attempts,
        "created_at": check.created_at,
        "checked_at": check.checked_at,
    }
