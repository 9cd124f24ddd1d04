import os

from celery import Celery, signals

from config.collector import collector_tune

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("catalog")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _collector(**_: object) -> None:
    # In the worker's main process, before it forks its pool: the children keep the thresholds.
    collector_tune()
