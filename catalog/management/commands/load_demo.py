import csv
import random
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from catalog import services
from catalog.models import DataCard, Dataset
from governance.services import access_token_issue

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


SHAPES = ("circle", "square", "triangle")


def write_demo_images(folder: Path, seed: int = 11) -> None:
    """A small folder of drawn shapes, a class folder per shape under train/ and test/; one training
    picture is also in test/, so the profile shows a leak."""
    from PIL import Image, ImageDraw

    rng = random.Random(seed)  # noqa: S311 - reproducible demo data, not secrets
    for split, count in (("train", 12), ("test", 4)):
        for shape in SHAPES:
            (folder / split / shape).mkdir(parents=True, exist_ok=True)
            for index in range(count):
                image = Image.new("RGB", (64, 64), tuple(rng.randrange(160, 256) for _ in range(3)))
                canvas = ImageDraw.Draw(image)
                x, y, size = rng.randrange(4, 24), rng.randrange(4, 24), rng.randrange(20, 36)
                colour = tuple(rng.randrange(0, 120) for _ in range(3))
                if shape == "circle":
                    canvas.ellipse([x, y, x + size, y + size], fill=colour)
                elif shape == "square":
                    canvas.rectangle([x, y, x + size, y + size], fill=colour)
                else:
                    canvas.polygon([(x, y + size), (x + size, y + size), (x + size // 2, y)], fill=colour)
                image.save(folder / split / shape / f"{index:03d}.png")
    (folder / "test" / "circle" / "copied-from-train.png").write_bytes(
        (folder / "train" / "circle" / "000.png").read_bytes()
    )


class Command(BaseCommand):
    help = "Create a demo user and register a small demo dataset; print a new API token of the user."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="Give the demo user a new password and print it (it is printed only when it is set).",
        )

    def handle(self, *args, username: str, reset_password: bool, **options) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
        password = None
        if created or reset_password:
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.is_superuser = True
            user.save()
        token = access_token_issue(user=user, name="load_demo")

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

        if not DataCard.objects.filter(dataset=dataset).exists():
            services.card_update(
                actor=user,
                dataset=dataset,
                summary="Vibration, temperature and speed readings of rotating machines, each labelled with the "
                "fault a technician found (or none).",
                intended_uses="Training and evaluating fault classifiers for predictive maintenance.",
                out_of_scope_uses="Judging the performance of individual technicians or plants.",
                collection="Generated by the catalog's demo with a fixed seed; no real machine was measured.",
                labeling="Labels are drawn from the same generator as the readings: there is no human labeling.",
                personal_information="None: the data is synthetic.",
                biases_and_limitations="Faults are simulated; real faults are rarer and noisier.",
                task_categories=["tabular-classification"],
            )

        images = root / "demo" / "shapes"
        if not images.exists():
            write_demo_images(images)
        shapes = Dataset.objects.filter(namespace=DEMO_NAMESPACE, name="shapes").first()
        if shapes is None:
            shapes = services.dataset_register(
                actor=user,
                namespace=DEMO_NAMESPACE,
                name="shapes",
                description="Drawn circles, squares and triangles in class folders, with a train/test split.",
                license="CC0-1.0",
                tags=["demo", "images"],
                source=services.SourceSpec(uri="demo/shapes"),
            )

        self.stdout.write(f"Demo dataset: {DEMO_NAMESPACE}/{DEMO_NAME}  id={dataset.pk}  file={csv_path}")
        self.stdout.write(f"Demo images: {DEMO_NAMESPACE}/shapes  id={shapes.pk}  folder={images}")
        if password:
            self.stdout.write(f"Demo user: {username}  password: {password}  (admin at /admin/)")
        else:
            self.stdout.write(
                f"Demo user: {username}  (password unchanged since it was created; --reset-password sets a new one)"
            )
        self.stdout.write(f"API token (shown once): {token.key}")
