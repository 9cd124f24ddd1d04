"""Settings come from the environment; each case runs in a fresh interpreter with a clean environment."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.CELERY_BROKER_URL)"
)


def run_settings(env: dict[str, str], tmp_path, probe: str = PROBE) -> subprocess.CompletedProcess:
    keep = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env={
            **keep,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            # No .env of a developer's may take part.
            "CATALOG_ENV_FILE": str(tmp_path / "no.env"),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_servers_it_runs_on_sqlite_with_tasks_in_process(tmp_path):
    result = run_settings({"DEBUG": "1"}, tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.db.backends.sqlite3", "True", "memory://localhost/"]


def test_with_urls_it_uses_postgresql_and_the_broker(tmp_path):
    result = run_settings(
        {
            "DEBUG": "1",
            "DATABASE_URL": "postgres://catalog@db.internal:5432/catalog",
            "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
        },
        tmp_path,
    )

    assert result.returncode == 0, result.stderr
    # Django's backend, its health check told without a round trip.
    assert result.stdout.split() == ["config.postgresql", "False", "redis://broker.internal:6379/0"]


BINDING = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DATABASES['default']['OPTIONS'].get('server_side_binding'))"
)


def test_postgresql_binds_parameters_on_the_server_unless_turned_off(tmp_path):
    url = {"DEBUG": "1", "DATABASE_URL": "postgres://catalog@db.internal:5432/catalog"}

    assert run_settings(url, tmp_path, BINDING).stdout.split() == ["True"]
    off = run_settings({**url, "DATABASE_SERVER_SIDE_BINDING": "false"}, tmp_path, BINDING)
    assert off.stdout.split() == ["False"], off.stderr
    # SQLite has no such option.
    assert run_settings({"DEBUG": "1"}, tmp_path, BINDING).stdout.split() == ["None"]


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path):
    result = run_settings({"DEBUG": "0"}, tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_a_command_that_signs_nothing_runs_without_a_secret_key_and_one_that_serves_does_not():
    environment = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DEBUG")}
    environment["CATALOG_ENV_FILE"] = "/nonexistent"

    def manage(*arguments: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *arguments],
            cwd=Path(__file__).resolve().parent.parent,
            env=environment,
            capture_output=True,
            text=True,
            timeout=120,
        )

    checked = manage("makemigrations", "--check", "--dry-run")
    refused = manage("runserver", "--noreload", "127.0.0.1:1")

    assert checked.returncode == 0, checked.stderr
    assert "No changes detected" in checked.stdout
    assert refused.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in refused.stderr


def test_it_refuses_a_visibility_timeout_below_the_hard_time_limit(tmp_path):
    result = run_settings(
        {"DEBUG": "1", "CELERY_TASK_TIME_LIMIT": "4000", "CELERY_BROKER_VISIBILITY_TIMEOUT": "3600"}, tmp_path
    )

    assert result.returncode != 0
    assert "CELERY_BROKER_VISIBILITY_TIMEOUT must be greater than CELERY_TASK_TIME_LIMIT" in result.stderr


def test_the_deploy_checks_pass_with_production_settings(tmp_path):
    keep = {name: os.environ[name] for name in ("PATH", "HOME") if name in os.environ}
    production = {
        "SECRET_KEY": "a-production-secret-that-is-long-and-random-" + "x" * 30,
        "ALLOWED_HOSTS": "catalog.example.com",
        "SESSION_COOKIE_SECURE": "1",
        "CSRF_COOKIE_SECURE": "1",
        "SECURE_SSL_REDIRECT": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "USE_X_FORWARDED_PROTO": "1",
        "CATALOG_ENV_FILE": str(tmp_path / "no.env"),
    }

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={**keep, **production},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_workers_look_for_a_dead_workers_messages_at_the_restore_interval_where_it_is_set(tmp_path):
    probe = (
        "import django; django.setup(); from config.celery_app import app; "
        "options = app.conf.broker_transport_options; "
        "print(options.get('unacked_restore_interval'), options.get('unacked_restore_throttle'))"
    )
    broker = {"DEBUG": "1", "CELERY_BROKER_URL": "redis://broker.internal:6379/0"}

    chosen = run_settings({**broker, "CELERY_BROKER_RESTORE_INTERVAL": "2"}, tmp_path, probe)
    kombus_own = run_settings(broker, tmp_path, probe)

    assert chosen.returncode == 0, chosen.stderr
    assert chosen.stdout.split() == ["2", "1"]
    assert kombus_own.returncode == 0, kombus_own.stderr
    assert kombus_own.stdout.split() == ["None", "None"]


def test_the_web_application_and_a_worker_run_with_the_collector_thresholds(tmp_path):
    web = run_settings({"DEBUG": "1"}, tmp_path, "import gc, config.wsgi; print(*gc.get_threshold())")
    worker = run_settings(
        {"DEBUG": "1", "CATALOG_GC_THRESHOLDS": "20000,30,40"},
        tmp_path,
        "import gc, django; django.setup(); from config.celery_app import app; from celery import signals; "
        "signals.worker_init.send(sender=None); print(*gc.get_threshold())",
    )

    assert web.returncode == 0, web.stderr
    assert web.stdout.split() == ["50000", "50", "100"]
    assert worker.returncode == 0, worker.stderr
    assert worker.stdout.split() == ["20000", "30", "40"]


def test_it_refuses_collector_thresholds_that_are_not_three_positive_integers(tmp_path):
    for value in ("1000,10", "0,10,10", "many,10,10"):
        result = run_settings({"DEBUG": "1", "CATALOG_GC_THRESHOLDS": value}, tmp_path)

        assert result.returncode != 0, value
        assert "CATALOG_GC_THRESHOLDS takes three positive integers" in result.stderr, result.stderr
