"""Writes of contracts: saving a version of a dataset's contract, checking a version against it
(from its stored profile, when it settles ready and when the contract is saved), and drafting one
from a profile."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.db import transaction

from catalog.choices import VersionStatus
from catalog.models import Dataset, DatasetVersion
from catalog.selectors import drift_view
from catalog.services import source_confined
from config.errors import Conflict, Invalid, NotFound
from contracts import odcs, rules
from contracts.models import ContractCheck, ContractVersion
from contracts.pipeline import contract_result
from contracts.selectors import contract_current, version_facts, version_latest_ready
from contracts.signals import contract_checked_send
from contracts.tasks import contract_check_enqueue
from governance.choices import ChangeAction, ObjectType
from governance.services import change_record
from profiler.findings import finding
from profiler.report import sort_findings

logger = logging.getLogger(__name__)

FINDING_CODE = "contract_failed"


def contract_parsed(document: Any) -> dict[str, Any]:
    """A contract document in its normal form, or Invalid naming the field at fault."""
    try:
        return rules.contract_parsed(document)
    except rules.ContractInvalid as error:
        raise Invalid(str(error), field=error.field) from None


def contract_save(*, actor: User, dataset: Dataset, document: Any, partial: bool = False) -> ContractVersion:
    """Save a new version of the dataset's contract (with `partial`, the keys given replace those of
    the contract in force, `dataset` key by key), record it in the change log, and check the
    dataset's latest ready version against it."""
    with transaction.atomic():
        Dataset.objects.select_for_update().filter(pk=dataset.pk).first()  # one writer of a contract at a time
        current = contract_current(dataset_id=dataset.pk)
        if partial and current is not None:
            if not isinstance(document, dict):
                raise Invalid("Expected an object.", field="contract")
            merged = {**current.document, **document}
            if isinstance(document.get("dataset"), dict):
                merged["dataset"] = {
                    **{key: value for key, value in current.document["dataset"].items() if value is not None},
                    **document["dataset"],
                }
            document = merged
        parsed = contract_parsed(document)
        reference = parsed["reference_version"]
        if reference is not None and not DatasetVersion.objects.filter(dataset=dataset, number=reference).exists():
            raise Invalid(f"The dataset has no version {reference}.", field="reference_version")
        contract = ContractVersion.objects.create(
            dataset=dataset,
            number=(current.number + 1) if current else 1,
            enforcement=parsed["enforcement"],
            document=parsed,
            created_by=actor,
        )
        change_record(
            actor=actor,
            action=ChangeAction.UPDATE if current else ChangeAction.CREATE,
            object_type=ObjectType.CONTRACT,
            object_id=dataset.pk,
            dataset_id=dataset.pk,
            before={"version": current.number, **current.document} if current else None,
            after={"version": contract.number, **parsed},
            object_repr=f"contract v{contract.number} of {dataset}",
        )
        latest = version_latest_ready(dataset_id=dataset.pk)
        if latest is not None:
            contract_check_version(version_id=latest.pk, contract=contract)
    return contract


def contract_check_version(*, version_id: UUID, contract: ContractVersion | None = None) -> dict[str, Any] | None:
    """Check a ready version against its dataset's contract (the one in force unless given), from its
    stored profile; store the result on the version and, when it failed, a `contract_failed` finding
    in its quality (an error for a blocking contract, a warning otherwise). None without a contract."""
    with transaction.atomic():
        version = DatasetVersion.objects.select_for_update().filter(pk=version_id).first()
        if version is None or version.status != VersionStatus.READY:
            return None
        contract = contract or contract_current(dataset_id=version.dataset_id)
        if contract is None:
            return None
        view = drift_view(version)
        result = contract_result(contract=contract, facts=version_facts(version, view=view), current=view)
        quality = dict(version.quality or {})
        findings = [item for item in quality.get("findings") or [] if item.get("code") != FINDING_CODE]
        if result["status"] == "failed":
            errors = [item for item in result["anomalies"] if item["severity"] == rules.ERROR]
            codes = sorted({item["code"] for item in errors})
            findings.append(
                finding(
                    "error" if contract.enforcement == "block" else "warning",
                    FINDING_CODE,
                    None,
                    f"The version fails contract v{contract.number} ({contract.enforcement}): "
                    f"{len(errors)} anomal{'y' if len(errors) == 1 else 'ies'} ({', '.join(codes)}).",
                )
            )
        quality["findings"] = sort_findings(findings)
        DatasetVersion.objects.filter(pk=version.pk).update(contract_check=result, quality=quality)
        contract_checked_send(
            dataset_id=version.dataset_id,
            version_id=version.pk,
            status=result["status"],
            enforcement=contract.enforcement,
            contract_version=contract.number,
            anomalies=result["anomalies"],
        )
    return result


def contract_check_settled(sender: Any, *, version_id: UUID, dataset_id: UUID, status: str, **kwargs: Any) -> None:
    """`catalog.signals.version_settled`: a version that became ready is checked against the contract."""
    if status == VersionStatus.READY:
        contract_check_version(version_id=version_id)


def contract_infer(*, dataset: Dataset, version: int | str | None = None) -> dict[str, Any]:
    """A draft contract from a ready version's stored profile (the latest ready one by default), drift
    limits against that version. Nothing is saved."""
    versions = DatasetVersion.objects.filter(dataset=dataset)
    if version is None:
        chosen = version_latest_ready(dataset_id=dataset.pk)
        if chosen is None:
            raise Conflict("The dataset has no ready version to infer a contract from.")
    else:
        if isinstance(version, int):
            chosen = versions.filter(number=version).first()
        else:
            try:
                chosen = versions.filter(pk=UUID(str(version))).first()
            except ValueError:
                raise Invalid("A version id or number.", field="version") from None
        if chosen is None:
            raise NotFound("The dataset has no such version.", field="version")
        if chosen.status != VersionStatus.READY:
            raise Conflict(f"Version {chosen.number} is {chosen.status}: only a ready version has a profile.")
    draft = rules.contract_inferred(version_facts(chosen), reference_version=chosen.number)
    return draft


def contract_validate_request(*, actor: User, dataset: Dataset, source: dict[str, Any]) -> ContractCheck:
    """Check serving data against the dataset's contract: the source (confined as a registration's
    is) is profiled on a worker after commit, never registered as a version. The label column is the
    one given, else that of the contract's reference version, else of the latest version."""
    contract = contract_current(dataset_id=dataset.pk)
    if contract is None:
        raise Conflict("The dataset has no contract to check data against; PUT one first.")
    read_options = source.get("read_options")
    try:
        resolved = source_confined(
            actor=actor, uri=source["uri"], format=source.get("format"), read_options=read_options
        )
    except Invalid as exc:
        exc.field = f"source.{exc.field}" if exc.field else "source"
        raise
    label = source.get("label_column") or ""
    if not label:
        versions = DatasetVersion.objects.filter(dataset=dataset).order_by("-number")
        reference = contract.document.get("reference_version")
        labelled = versions.filter(number=reference).first() if reference is not None else None
        label = (labelled or versions.first() or DatasetVersion()).label_column
    with transaction.atomic():
        check = ContractCheck.objects.create(
            dataset=dataset,
            contract=contract,
            uri=resolved.uri,
            format=resolved.format,
            label_column=label,
            read_options=read_options or {},
            created_by=actor,
        )
        contract_check_enqueue(check_id=check.pk)
    return check


def contract_odcs_export(*, dataset: Dataset) -> str | None:
    """The contract in force as ODCS v3.1.0 YAML, or None without one."""
    contract = contract_current(dataset_id=dataset.pk)
    if contract is None:
        return None
    document = odcs.odcs_document(
        contract.document,
        contract_id=str(dataset.pk),
        name=f"{dataset.namespace}/{dataset.name}",
        version=contract.number,
        description=dataset.description,
    )
    return odcs.odcs_yaml(document)


def contract_odcs_import(*, actor: User, dataset: Dataset, text: str) -> ContractVersion:
    """Save a new version of the contract from an ODCS document (YAML, read within bounds)."""
    try:
        document = odcs.contract_from_odcs(odcs.odcs_loaded(text))
    except rules.ContractInvalid as error:
        raise Invalid(str(error), field=error.field) from None
    return contract_save(actor=actor, dataset=dataset, document=document)
