"""The flagged rows of a version's label quality, stored for review (`LabelIssue`), with what people
decided about rows of the same content before: in this version (analysed again after a re-profile)
or in an earlier version of the dataset. Called by `catalog.pipeline.labels` inside the transaction
that stores the analysis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.choices import LabelIssueDecision
from catalog.models import DatasetVersion, LabelIssue


def label_issues_store(version: DatasetVersion, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Replace the version's flagged rows with `rows` (`profiler.label_rows.flagged_rows`), each
    taking the latest decision about a row of the same content hash in this version or an earlier
    one of its dataset. Returns how many were stored and how many took a decision from an earlier
    version (`carried`)."""
    hashes = sorted({row["row_hash"] for row in rows})
    decided: dict[str, LabelIssue] = {}
    if hashes:
        earlier = (
            LabelIssue.objects.filter(
                version__dataset_id=version.dataset_id, version__number__lte=version.number, row_hash__in=hashes
            )
            .exclude(decision=LabelIssueDecision.UNREVIEWED)
            .order_by("row_hash", "-version__number", "-decided_at", "-id")
            .select_related("version")
        )
        for issue in earlier:
            decided.setdefault(issue.row_hash, issue)
    LabelIssue.objects.filter(version=version).delete()
    carried = 0
    stored = []
    for rank, row in enumerate(rows):
        issue = LabelIssue(
            version=version,
            rank=rank,
            row_hash=row["row_hash"],
            row=row["row"][:2048],
            given=row["given"],
            suggested=row["suggested"],
            confidence=row["confidence"],
            values=row["values"],
        )
        before = decided.get(row["row_hash"])
        if before is not None:
            issue.decision = before.decision
            issue.label = before.label
            issue.note = before.note
            issue.decided_by_id = before.decided_by_id
            issue.decided_by_name = before.decided_by_name
            issue.decided_at = before.decided_at
            if before.version_id == version.pk:
                issue.carried_from_id = before.carried_from_id
            else:
                # Where the decision was made, not the version it last passed through.
                issue.carried_from_id = before.carried_from_id or before.version_id
            carried += issue.carried_from_id is not None
        stored.append(issue)
    LabelIssue.objects.bulk_create(stored, batch_size=1000)
    return {"stored": len(stored), "carried": carried}
