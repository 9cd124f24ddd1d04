"""The review of the rows label quality flagged: owners and stewards confirm a row mislabelled (with its
corrected label, one of the label's classes) or dismiss it. Decisions are made per version, all of a
request or none, each in the change log; the next version's analysis carries them to rows of the same
content (catalog/pipeline/label_review.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from catalog.choices import LabelIssueDecision
from catalog.models import DatasetVersion, LabelIssue
from config import errors
from governance.choices import ChangeAction, ObjectType
from governance.permissions import user_reviews_dataset
from governance.services import ChangeSpec, change_record_many

# Decisions one request may carry; a review of more rows is sent in several.
MAX_DECISIONS = 1_000
MAX_NOTE_CHARS = 2_000
DECISIONS = (LabelIssueDecision.CONFIRMED, LabelIssueDecision.DISMISSED)


class LabelReviewForbidden(errors.Forbidden):
    def __init__(self) -> None:
        super().__init__("Only the dataset's owners and stewards decide about its flagged rows; staff as such do not.")


class LabelDecisionsInvalid(errors.Invalid):
    """Some decisions of a request cannot be made; `problems` names each ("2.label": [...])."""

    def __init__(self, problems: Mapping[str, list[str]]) -> None:
        first = next(iter(problems))
        super().__init__("; ".join(f"{key}: {' '.join(messages)}" for key, messages in problems.items()), field=first)
        self.problems = dict(problems)


def label_classes(version: DatasetVersion) -> list[str]:
    """The classes of the version's label a corrected label may be: those profiling counted and those
    label quality examined."""
    quality = version.quality or {}
    classes = {str(name) for name in (quality.get("class_counts") or {})}
    classes |= {str(name) for name in ((quality.get("label_issues") or {}).get("by_class") or {})}
    return sorted(classes)


def decision_problems(version: DatasetVersion, decisions: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """What is wrong with each decision (by its position in the request), given the version's flagged
    rows and classes; empty when all can be made."""
    problems: dict[str, list[str]] = {}
    if len(decisions) > MAX_DECISIONS:
        return {"non_field_errors": [f"At most {MAX_DECISIONS:,} decisions a request; send the rest in another."]}
    hashes = [str(item.get("row_hash", "")) for item in decisions]
    known = set(LabelIssue.objects.filter(version=version, row_hash__in=hashes).values_list("row_hash", flat=True))
    classes = label_classes(version)
    seen: dict[str, int] = {}
    for index, item in enumerate(decisions):
        row_hash = hashes[index]
        if row_hash not in known:
            problems[f"{index}.row_hash"] = [
                f"No flagged row of version {version.number} has the hash {row_hash[:64]!r} (unknown); "
                "list them with GET .../label-issues/."
            ]
        elif row_hash in seen:
            problems[f"{index}.row_hash"] = [f"The row is decided already by entry {seen[row_hash]}; decide it once."]
        seen.setdefault(row_hash, index)
        decision, label = item.get("decision"), item.get("label")
        if decision == LabelIssueDecision.CONFIRMED:
            if label in (None, ""):
                problems[f"{index}.label"] = ["A confirmed row needs its corrected label."]
            elif str(label) not in classes:
                shown = ", ".join(repr(name) for name in classes[:20]) + (" …" if len(classes) > 20 else "")
                problems[f"{index}.label"] = [
                    f"{str(label)[:100]!r} is not a class of the label; it is one of {shown}."
                ]
        elif decision == LabelIssueDecision.DISMISSED:
            if label not in (None, ""):
                problems[f"{index}.label"] = ["A dismissed row keeps its label: leave label out."]
        else:
            problems[f"{index}.decision"] = [f"{str(decision)[:40]!r} is not a decision: confirmed or dismissed."]
    return problems


def label_issues_decide(
    *, actor: User, version: DatasetVersion, decisions: Sequence[Mapping[str, Any]]
) -> list[LabelIssue]:
    """Make every decision (`row_hash`, `decision`, `label` for a confirmed row, `note`) about the
    version's flagged rows of that hash, or none (LabelDecisionsInvalid), each in the change log.
    A decision made here replaces one carried from an earlier version."""
    if not user_reviews_dataset(actor, version.dataset_id):
        raise LabelReviewForbidden()
    with transaction.atomic():
        # The version's row orders concurrent reviews and a new analysis replacing the rows.
        DatasetVersion.objects.select_for_update().filter(pk=version.pk).first()
        problems = decision_problems(version, decisions)
        if problems:
            raise LabelDecisionsInvalid(problems)
        now = timezone.now()
        by_hash = {str(item["row_hash"]): item for item in decisions}
        issues = list(
            LabelIssue.objects.select_for_update().filter(version=version, row_hash__in=by_hash).order_by("rank")
        )
        changes = []
        for issue in issues:
            item = by_hash[issue.row_hash]
            before = _values(issue)
            issue.decision = item["decision"]
            issue.label = str(item.get("label") or "") if issue.decision == LabelIssueDecision.CONFIRMED else ""
            issue.note = str(item.get("note") or "")[:MAX_NOTE_CHARS]
            issue.decided_by = actor
            issue.decided_by_name = actor.get_username()
            issue.decided_at = now
            issue.carried_from = None
            changes.append(
                ChangeSpec(
                    action=ChangeAction.UPDATE,
                    object_type=ObjectType.VERSION,
                    object_id=version.pk,
                    dataset_id=version.dataset_id,
                    before={"label_issue": before},
                    after={"label_issue": _values(issue)},
                    object_repr=f"{version}: flagged row {issue.row}",
                )
            )
        LabelIssue.objects.bulk_update(
            issues,
            ["decision", "label", "note", "decided_by", "decided_by_name", "decided_at", "carried_from"],
            batch_size=500,
        )
        change_record_many(actor=actor, changes=changes)
    return issues


def _values(issue: LabelIssue) -> dict[str, Any]:
    return {
        "row": issue.row,
        "row_hash": issue.row_hash,
        "decision": issue.decision,
        "label": issue.label,
        "note": issue.note,
        "carried_from": str(issue.carried_from_id) if issue.carried_from_id else None,
    }
