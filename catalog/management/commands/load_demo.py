import csv
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from catalog import services
from catalog.models import Dataset

DEMO_NAMESPACE = "demo"
DEMO_NAME = "sensor-faults"
SPECIES = ("normal", "bearing_wear", "misalignment", "imbalance")


def write_demo_csv(path: Path, rows: int = 500, seed: int = 7, warmer: float = 0.0) -> None:
    """A small, synthetic, labelled table: vibration readings of machines and the fault they had
    (`warmer`: degrees added to every temperature, for a later version that drifted)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["machine_id", "rpm", "vibration_rms", "temperature_c", "site", "fault"])
        for row in range(rows):
            fault = rng.choices(SPECIES, weights=(70, 15, 10, 5))[0]
            shift = SPECIES.index(fault)
            writer.writerow(
                [
                    f"M{row % 60:03d}",
                    rng.choice((900, 1200, 1500, 1800, 3600)),
                    round(rng.gauss(0.8 + 0.6 * shift, 0.2), 3),
                    "NA" if rng.random() < 0.03 else round(rng.gauss(55 + 4 * shift, 5) + warmer, 1),
                    rng.choice(("plant-a", "plant-b", "plant-c")),
                    fault,
                ]
            )


class Command(BaseCommand):
    help = "Create a demo user and register a small demo dataset; print the user's API token."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username: str, **options) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
        password = None
        if created:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_superuser = True
            user.save()
        token, _ = Token.objects.get_or_create(user=user)

        root = settings.CATALOG_STORAGE_ROOTS[0]
        csv_path = root / "demo" / "sensor-faults.csv"
        if not csv_path.exists():
            write_demo_csv(csv_path)

        dataset = Dataset.objects.filter(namespace=DEMO_NAMESPACE, name=DEMO_NAME).first()
        if dataset is None:
            dataset = services.dataset_register(
                actor=user,
                namespace=DEMO_NAMESPACE,
                name=DEMO_NAME,
                description="Synthetic vibration readings of rotating machines, labelled with the fault found.",
                license="CC0-1.0",
                tags=["demo", "tabular", "predictive-maintenance"],
                sensitivity="internal",
                source=services.SourceSpec(uri="demo/sensor-faults.csv", label_column="fault"),
            )

        # A second month of readings, from a hotter summer: version 2, whose drift report flags temperature.
        later_path = root / "demo" / "sensor-faults-2026-07.csv"
        if not later_path.exists():
            write_demo_csv(later_path, seed=8, warmer=12.0)
        if not dataset.versions.filter(number__gte=2).exists():
            services.version_create(
                actor=user, dataset=dataset, uri="demo/sensor-faults-2026-07.csv", label_column="fault"
            )

        self.stdout.write(f"Demo dataset: {DEMO_NAMESPACE}/{DEMO_NAME}  id={dataset.pk}  file={csv_path}")
        if password:
            self.stdout.write(f"Demo user: {username}  password: {password}  (admin at /admin/)")
        else:
            self.stdout.write(f"Demo user: {username}  (password unchanged since it was created)")
        self.stdout.write(f"API token: {token.key}")
