from datetime import UTC, datetime, time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_date, parse_datetime

from config import errors
from config.moments import MomentOutOfRange, moment_in_utc
from training.mlflow import TrackingServerError
from training.services.mlflow import mlflow_import


def _since(text: str) -> datetime:
    """A date (midnight UTC) or a date and time (UTC unless it names an offset)."""
    try:
        moment = parse_datetime(text)
        if moment is None and (day := parse_date(text)) is not None:
            moment = datetime.combine(day, time(0), tzinfo=UTC)
        if moment is None:
            raise ValueError
        return moment_in_utc(moment)
    except (ValueError, MomentOutOfRange):
        raise CommandError(
            f"--since {text!r} is not a date (2026-12-01) or a date and time (2026-12-01T09:30Z)."
        ) from None


class Command(BaseCommand):
    help = (
        "Import training runs from an MLflow tracking server: params, metrics, code, dataset inputs (matched to "
        "catalog versions) and registered model versions. Importing again changes nothing that did not change."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tracking-uri", required=True, help="The tracking server, e.g. http://mlflow:5000.")
        parser.add_argument(
            "--experiment",
            action="append",
            default=[],
            dest="experiments",
            metavar="NAME",
            help="An experiment to import (repeatable); every active experiment without one.",
        )
        parser.add_argument("--since", help="Only runs that started or ended since then: a date or a date and time.")
        parser.add_argument(
            "--as",
            dest="username",
            help="The user the runs are recorded as (default CATALOG_MLFLOW_IMPORT_USER); new models are theirs.",
        )

    def handle(
        self, *args, tracking_uri: str, experiments: list[str], since: str | None, username: str | None, **options
    ) -> None:
        username = username or settings.CATALOG_MLFLOW_IMPORT_USER
        if not username:
            raise CommandError("Name the user the runs are recorded as: --as USERNAME (or CATALOG_MLFLOW_IMPORT_USER).")
        actor = get_user_model().objects.filter(username=username).first()
        if actor is None:
            raise CommandError(f"There is no user {username!r}; create one first, or name another with --as.")
        try:
            summary = mlflow_import(
                actor=actor,
                tracking_uri=tracking_uri,
                experiments=experiments,
                since=_since(since) if since else None,
            )
        except (TrackingServerError, errors.DomainError) as exc:
            raise CommandError(str(exc)) from None
        for line in summary.lines():
            self.stdout.write(line)
