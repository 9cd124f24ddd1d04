"""Queue the label quality of profiled versions that never had it: those profiled before the
analysis existed (or whose message was lost), and with --failed those whose analysis failed. Each
is decided as a version just profiled is: a classification label of a table or a text corpus is
queued for a worker, anything else is marked not applicable (with the reason for images)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from catalog.choices import LabelQualityStatus, VersionStatus
from catalog.models import DatasetVersion
from catalog.pipeline import labels as label_quality
from catalog.tasks import version_label_quality_dispatch


class Command(BaseCommand):
    help = (
        "Queue the label-quality analysis of ready versions still waiting for it (profiled before it "
        "existed), or with --failed of those whose analysis failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--failed", action="store_true", help="Also analyse again the versions whose analysis failed."
        )
        parser.add_argument("--dataset", help="Only the versions of this dataset (namespace/name).")
        parser.add_argument("--limit", type=int, default=None, help="At most this many versions (oldest first).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Say how many versions would be looked at; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        statuses = [LabelQualityStatus.PENDING]
        if options["failed"]:
            statuses.append(LabelQualityStatus.FAILED)
        versions = DatasetVersion.objects.filter(status=VersionStatus.READY, label_quality_status__in=statuses)
        if options["dataset"]:
            namespace, _, name = str(options["dataset"]).partition("/")
            if not name:
                raise CommandError("Name the dataset as namespace/name, e.g. --dataset vision/poodles.")
            versions = versions.filter(dataset__namespace=namespace, dataset__name=name)
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be 1 or more.")
        chosen = list(versions.order_by("profiled_at", "pk").values_list("pk", flat=True)[:limit])
        if options["dry_run"]:
            self.stdout.write(f"{len(chosen)} version(s) would be looked at.")
            return
        queued = 0
        for version_id in chosen:
            if label_quality.version_label_quality_reset(version_id=version_id):
                version_label_quality_dispatch(version_id=version_id)
                queued += 1
        self.stdout.write(
            f"Queued the label quality of {queued} version(s); {len(chosen) - queued} have no classification label "
            "of a table or text corpus to examine (marked not applicable)."
        )
