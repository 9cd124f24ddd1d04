"""Settings, read from the environment (and from a `.env` file beside manage.py when present).

With DATABASE_URL unset the catalog runs on SQLite; with CELERY_BROKER_URL unset its tasks run
in-process. Everything a deployment may change is listed in `.env.example`.
"""

import os
import re
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# Variables already in the environment win over the file.
ENV_FILE = Path(os.environ.get("CATALOG_ENV_FILE", BASE_DIR / ".env"))
if ENV_FILE.is_file():
    env.read_env(ENV_FILE, overwrite=False)

DEBUG = env.bool("DEBUG", default=False)

# Commands that read the code and sign nothing (checking migrations, the schema, the system checks)
# run without a key: they get one of their own, never written anywhere.
OFFLINE_COMMANDS = {"makemigrations", "check", "spectacular", "showmigrations", "help"}
_command = sys.argv[1] if len(sys.argv) > 1 and Path(sys.argv[0]).name == "manage.py" else None

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and _command in OFFLINE_COMMANDS:
        SECRET_KEY = secrets.token_urlsafe(50)
    elif not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off: export SECRET_KEY=<a long random string> "
            "(or DEBUG=1 for local development)."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "governance",
    "catalog",
    "contracts",
    "lineage",
    "training",
    "audits",
    "webhooks",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    # Before anything reads the path or the query (static files, sessions, views): NUL is refused there.
    "config.api.parsers.UnstorableTextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "config.middleware.AdminLoginThrottleMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # Overrides of third-party templates (the API docs pages).
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------
# An empty DATABASE_URL counts as unset, like an absent one.
DATABASES = {
    "default": env.db_url_config(env.str("DATABASE_URL", default="") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# A connection that died with its server (a restart, a failover) is replaced on the next request
# instead of failing it.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's backend, its health check told without a round trip (config/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
    # Parameters sent beside the statement (PostgreSQL's extended protocol) rather than quoted into its
    # text by psycopg: a recorded OpenLineage event is an 8 KB document that client-side binding escaped
    # in libpq and quoted in Python on every insert. Statements stay unnamed (Django prepares none), so a
    # transaction-mode pooler works as before; DATABASE_SERVER_SIDE_BINDING=false goes back to quoting.
    DATABASES["default"]["OPTIONS"].setdefault(
        "server_side_binding", env.bool("DATABASE_SERVER_SIDE_BINDING", default=True)
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Request bodies are JSON documents, never datasets: datasets are registered by reference.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)

SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=False)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=False)
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Behind TLS: send plain-HTTP requests to https (health checks excepted: probes speak plain HTTP).
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
# Seconds browsers keep to HTTPS for this host once they have seen it (0: no HSTS).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)

# --- API --------------------------------------------------------------------------------------
# How many proxies in front of the service append to X-Forwarded-For: the client address is the
# Nth from the right. 0 (or unset): the address the request came from, X-Forwarded-For ignored.
CATALOG_NUM_PROXIES = int(env.str("CATALOG_NUM_PROXIES", default="") or 0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header is what turns an anonymous request into a 401.
        "config.api.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "config.api.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["config.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "config.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exceptions.problem_exception_handler",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["config.api.parsers.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Requests per user (or per address, before logging in) in the rate's period; empty turns it off.
    # The classes key anonymous requests on the client address as CATALOG_NUM_PROXIES says, never on
    # an X-Forwarded-For the client wrote itself.
    "DEFAULT_THROTTLE_CLASSES": [
        "config.api.throttling.AnonRateThrottle",
        "config.api.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("CATALOG_THROTTLE_ANON", default="120/min") or None,
        "user": env.str("CATALOG_THROTTLE_USER", default="6000/min") or None,
    },
    "NUM_PROXIES": CATALOG_NUM_PROXIES,
}

# Failed password logins (the token endpoint and the admin) allowed per client address and per
# username in the rate's period; once reached, further attempts are refused (429) until it ends.
CATALOG_LOGIN_FAILURES_PER_ADDRESS = env.str("CATALOG_LOGIN_FAILURES_PER_ADDRESS", default="20/hour")
CATALOG_LOGIN_FAILURES_PER_USERNAME = env.str("CATALOG_LOGIN_FAILURES_PER_USERNAME", default="10/hour")


def _duration(name: str, value: str) -> timedelta | None:
    """`30d`, `12h`, `90m`, `3600s` (or plain seconds); empty: none."""
    if not value.strip():
        return None
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", value)
    if not match or int(match.group(1)) == 0:
        raise ImproperlyConfigured(
            f"{name} is a positive duration such as 30d, 12h, 90m or 3600s (or empty), not {value!r}."
        )
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


# How long an API token works after it is issued; empty: until revoked.
CATALOG_TOKEN_TTL = _duration("CATALOG_TOKEN_TTL", env.str("CATALOG_TOKEN_TTL", default="30d"))

# Throttle counts (and anything else cached) live here; shared by every web process when it is Redis.
CACHES = {"default": env.cache_url_config(env.str("CACHE_URL", default="") or "locmemcache://")}

SPECTACULAR_SETTINGS = {
    "TITLE": "Training-data catalog API",
    "DESCRIPTION": (
        "Register training datasets, read their statistics and versions, and govern who owns them "
        "and under what terms they may be used. Every error is an RFC 9457 problem document: an unknown path "
        "(404), a method a path does not allow (405), and a body field or a list's query parameter that is not "
        "taken (400, naming it) as well. Every path answers with or without its trailing slash."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and ReDoc are served from this application's static files, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "GET_LIB_DOC_EXCLUDES": "config.api.schema.lib_doc_excludes",
    "ENUM_NAME_OVERRIDES": {
        "SensitivityEnum": "governance.choices.Sensitivity",
        "VersionStatusEnum": "catalog.choices.VersionStatus",
        "LifecycleEnum": "catalog.choices.Lifecycle",
        "SourceFormatEnum": "catalog.choices.SourceFormat",
        "OwnershipRoleEnum": "governance.choices.OwnershipRole",
        "PrincipalTypeEnum": "governance.choices.PrincipalType",
        "DatasetOriginEnum": "governance.choices.Origin",
        "EdgeOriginEnum": "lineage.choices.EdgeOrigin",
        "EdgeStatusEnum": "lineage.choices.EdgeStatus",
        "ProjectionStateEnum": "lineage.choices.ProjectionState",
        "RunStateEnum": "lineage.choices.RunState",
        "FeatureRoleEnum": "catalog.choices.FeatureRole",
        "ChangeActionEnum": "governance.choices.ChangeAction",
        "ObjectTypeEnum": "governance.choices.ObjectType",
        "TrainingRunStatusEnum": "training.choices.RunStatus",
        "InputRoleEnum": "training.choices.InputRole",
        "WebhookEventEnum": "webhooks.choices.Event",
        "WebhookDeliveryStatusEnum": "webhooks.choices.DeliveryStatus",
        # A version's check against its contract (whole, and in brief in the version list).
        "ContractCheckStatusEnum": [("passed", "passed"), ("failed", "failed"), ("none", "none")],
        "ServingCheckStatusEnum": "contracts.models.ContractCheck.Status",
    },
}

# The cyclic garbage collector's thresholds in the web and worker processes (config/collector.py says
# why they are higher than Python's 700 / 10 / 10): three integers, generation 0 to 2.
try:
    CATALOG_GC_THRESHOLDS = [int(part) for part in env.str("CATALOG_GC_THRESHOLDS", default="50000,50,100").split(",")]
except ValueError:
    CATALOG_GC_THRESHOLDS = []
if len(CATALOG_GC_THRESHOLDS) != 3 or min(CATALOG_GC_THRESHOLDS) < 1:
    raise ImproperlyConfigured("CATALOG_GC_THRESHOLDS takes three positive integers, e.g. 50000,50,100.")

# --- Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
# Without a broker the tasks run in-process, so the quick start needs no server at all.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_IGNORE_RESULT = True
# Chords (a large source profiled in parts on many workers) count their parts in a result backend.
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
)
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="catalog")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=1800)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=1900)
# Redis redelivers a message whose worker died only after the visibility timeout: it must
# outlast the hard time limit or a long profile would be handed to a second worker mid-run.
CELERY_BROKER_VISIBILITY_TIMEOUT = env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600)
if CELERY_BROKER_VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_BROKER_VISIBILITY_TIMEOUT must be greater than CELERY_TASK_TIME_LIMIT "
        f"({CELERY_BROKER_VISIBILITY_TIMEOUT} <= {CELERY_TASK_TIME_LIMIT})."
    )
# A broker that stops answering without closing the connection (frozen, or cut off by the network)
# would otherwise hold a publish, and so the request that registered a version, and /readyz forever.
CELERY_BROKER_SOCKET_TIMEOUT = env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=2.0)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT,
    "socket_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
    "socket_connect_timeout": CELERY_BROKER_SOCKET_TIMEOUT,
}
# Workers look for the unacknowledged messages of a worker that died, to hand them out again once their
# visibility timeout has passed, every CELERY_BROKER_RESTORE_INTERVAL seconds where it is set. Unset, kombu's
# own pace: a look every 10 s that scans the broker one time in ten, so up to 100 s past the timeout.
CELERY_BROKER_RESTORE_INTERVAL = env.int("CELERY_BROKER_RESTORE_INTERVAL", default=0)
if CELERY_BROKER_RESTORE_INTERVAL > 0:
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "unacked_restore_interval": CELERY_BROKER_RESTORE_INTERVAL,
        "unacked_restore_throttle": 1,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Publishing happens after the registration committed; a broker that is down must not hold
# the request for long. The periodic re-queue picks the version up once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-versions": {
        "task": "catalog.tasks.versions_requeue_stuck",
        "schedule": timedelta(seconds=env.int("CATALOG_REQUEUE_INTERVAL", default=300)),
    },
    "requeue-stuck-contract-checks": {
        "task": "contracts.tasks.contract_checks_requeue_stuck",
        "schedule": timedelta(seconds=env.int("CATALOG_REQUEUE_INTERVAL", default=300)),
    },
    "requeue-label-quality": {
        "task": "catalog.tasks.versions_label_quality_requeue",
        "schedule": timedelta(seconds=env.int("CATALOG_LABEL_QUALITY_SWEEP_INTERVAL", default=300)),
    },
    "verify-version-sources": {
        "task": "catalog.tasks.versions_verify_due",
        "schedule": timedelta(seconds=env.int("CATALOG_VERIFY_INTERVAL", default=3600)),
    },
    "send-due-webhook-deliveries": {
        "task": "webhooks.tasks.webhook_deliveries_due",
        "schedule": timedelta(seconds=env.int("CATALOG_WEBHOOK_SWEEP_INTERVAL", default=60)),
    },
    "project-pending-lineage": {
        "task": "lineage.tasks.lineage_pending_project",
        "schedule": timedelta(seconds=env.int("CATALOG_LINEAGE_PROJECT_INTERVAL", default=60)),
    },
    "purge-idempotency-records": {
        "task": "governance.tasks.idempotency_records_purge",
        "schedule": timedelta(hours=1),
    },
}

# --- Catalog ----------------------------------------------------------------------------------
CATALOG_STORAGE_ROOTS = [
    Path(root).expanduser().resolve()
    for root in env.str("CATALOG_STORAGE_ROOTS", default=str(BASE_DIR / "data")).split(os.pathsep)
    if root
]
CATALOG_ALLOW_PRIVATE_URLS = env.bool("CATALOG_ALLOW_PRIVATE_URLS", default=False)
# Object-store prefixes sources may be registered from, comma-separated (`s3://training-data,
# s3://shared/vision/`), matched on whole path segments; unset: none. Workers read them with the
# credentials of their own environment (catalog/objects.py).
CATALOG_OBJECT_STORES = [
    prefix.strip().rstrip("/") for prefix in env.str("CATALOG_OBJECT_STORES", default="").split(",") if prefix.strip()
]
# Attempts of each request to an object store (throttling, dropped connections and 5xx answers are
# retried with exponential backoff and jitter) before the version fails with the store's answer.
CATALOG_OBJECT_RETRY_ATTEMPTS = env.int("CATALOG_OBJECT_RETRY_ATTEMPTS", default=6)
# The base of the element ids (spdxId) of SPDX exports, e.g. https://catalog.example.org/spdx/; empty: the
# host each request names, under /spdx/. Set it when the service answers under several host names.
CATALOG_SPDX_NAMESPACE = env.str("CATALOG_SPDX_NAMESPACE", default="")
# Registering a glob looks through at most this many folders (and half a second) for a first match
# inside the web request; a broader pattern is refused with 400 instead of holding the worker.
CATALOG_GLOB_MAX_DIRECTORIES = env.int("CATALOG_GLOB_MAX_DIRECTORIES", default=10_000)
# A local file with other hard links is refused: its other names may lie outside the storage roots,
# and nothing tells where. Allow them only where no one outside the roots can link into them.
CATALOG_ALLOW_HARD_LINKS = env.bool("CATALOG_ALLOW_HARD_LINKS", default=False)
# https:// sources are downloaded by workers: at most this many bytes, each wait for data at most
# CATALOG_DOWNLOAD_TIMEOUT seconds, the whole download at most CATALOG_DOWNLOAD_TOTAL_TIMEOUT.
CATALOG_MAX_DOWNLOAD_BYTES = env.int("CATALOG_MAX_DOWNLOAD_BYTES", default=10 * 1024**3)
CATALOG_DOWNLOAD_TIMEOUT = env.float("CATALOG_DOWNLOAD_TIMEOUT", default=30.0)
CATALOG_DOWNLOAD_TOTAL_TIMEOUT = env.float("CATALOG_DOWNLOAD_TOTAL_TIMEOUT", default=CELERY_TASK_SOFT_TIME_LIMIT / 2)
CATALOG_DOWNLOAD_DIR = env.str("CATALOG_DOWNLOAD_DIR", default="") or None
# A PEM bundle of CAs to trust for https:// sources instead of the system's (a private PKI).
CATALOG_URL_CA_BUNDLE = env.str("CATALOG_URL_CA_BUNDLE", default="") or None
# Beat re-queues a version still pending this long after registration (a lost message, a broker
# that was down), and one still profiling this long after it was claimed (a killed worker).
CATALOG_PENDING_REQUEUE_AFTER = timedelta(seconds=env.int("CATALOG_PENDING_REQUEUE_AFTER", default=300))
# Whether a classification label is examined for likely mislabelled rows after profiling (a task of its own
# that trains models on the data: a deployment that cannot spare the workers turns it off).
CATALOG_LABEL_QUALITY = env.bool("CATALOG_LABEL_QUALITY", default=True)
CATALOG_PROFILING_STUCK_AFTER = timedelta(
    seconds=env.int("CATALOG_PROFILING_STUCK_AFTER", default=CELERY_TASK_TIME_LIMIT + 300)
)
# Beat's label-quality sweep (every CATALOG_LABEL_QUALITY_SWEEP_INTERVAL seconds) queues again an analysis
# waiting longer than CATALOG_PENDING_REQUEUE_AFTER (a lost message; a version profiled before the analysis
# existed, which waits since it was profiled) and one running longer than CATALOG_PROFILING_STUCK_AFTER (a
# killed worker), at most CATALOG_LABEL_QUALITY_SWEEP_BATCH at a time, and fails one that was started
# CATALOG_MAX_LABEL_QUALITY_ATTEMPTS times without finishing.
CATALOG_LABEL_QUALITY_SWEEP_BATCH = env.int("CATALOG_LABEL_QUALITY_SWEEP_BATCH", default=200)
CATALOG_MAX_LABEL_QUALITY_ATTEMPTS = env.int("CATALOG_MAX_LABEL_QUALITY_ATTEMPTS", default=3)
CATALOG_MAX_PROFILE_ATTEMPTS = env.int("CATALOG_MAX_PROFILE_ATTEMPTS", default=3)
# The same sweep sends again a check of serving data against a contract that is lost (pending past
# CATALOG_PENDING_REQUEUE_AFTER, running past CATALOG_PROFILING_STUCK_AFTER), and gives it up (error)
# once workers took it up this many times.
CATALOG_CONTRACT_CHECK_MAX_ATTEMPTS = env.int("CATALOG_CONTRACT_CHECK_MAX_ATTEMPTS", default=3)
# Every profiled version's source is re-hashed when its last check is older than this (0: never);
# the schedule looks every CATALOG_VERIFY_INTERVAL seconds and queues at most CATALOG_VERIFY_BATCH.
CATALOG_VERIFY_EVERY = timedelta(seconds=env.int("CATALOG_VERIFY_EVERY", default=7 * 24 * 3600))
CATALOG_VERIFY_BATCH = env.int("CATALOG_VERIFY_BATCH", default=100)

# Lineage: the largest OpenLineage event accepted once decompressed (a plain body is bounded by
# DATA_UPLOAD_MAX_MEMORY_SIZE like any request), and how far a graph read may walk.
CATALOG_LINEAGE_MAX_EVENT_BYTES = env.int("CATALOG_LINEAGE_MAX_EVENT_BYTES", default=DATA_UPLOAD_MAX_MEMORY_SIZE)
# A gzip-compressed batch (POST /api/v1/lineage/batch) decompressed; sent plain it is a request like any.
CATALOG_LINEAGE_MAX_BATCH_BYTES = env.int("CATALOG_LINEAGE_MAX_BATCH_BYTES", default=32 * 1024 * 1024)
CATALOG_LINEAGE_MAX_DEPTH = env.int("CATALOG_LINEAGE_MAX_DEPTH", default=100)
# One event joins each input to each output: inputs x outputs is bounded (413 above it), as are the
# input fields its columnLineage facets list.
CATALOG_LINEAGE_MAX_EDGES = env.int("CATALOG_LINEAGE_MAX_EDGES", default=1000)
CATALOG_LINEAGE_MAX_COLUMN_EDGES = env.int("CATALOG_LINEAGE_MAX_COLUMN_EDGES", default=10000)

# Training runs imported from an MLflow tracking server (python manage.py import_mlflow). With a
# tracking URI set, beat imports every CATALOG_MLFLOW_IMPORT_INTERVAL seconds the runs of
# CATALOG_MLFLOW_EXPERIMENTS (comma-separated; every active experiment when empty) that started or
# ended since the last import, recorded as the user CATALOG_MLFLOW_IMPORT_USER.
CATALOG_MLFLOW_TRACKING_URI = env.str("CATALOG_MLFLOW_TRACKING_URI", default="")
CATALOG_MLFLOW_EXPERIMENTS = env.list("CATALOG_MLFLOW_EXPERIMENTS", default=[])
CATALOG_MLFLOW_IMPORT_USER = env.str("CATALOG_MLFLOW_IMPORT_USER", default="")
CATALOG_MLFLOW_IMPORT_INTERVAL = env.int("CATALOG_MLFLOW_IMPORT_INTERVAL", default=900)
if CATALOG_MLFLOW_TRACKING_URI:
    CELERY_BEAT_SCHEDULE["import-mlflow-runs"] = {
        "task": "training.tasks.mlflow_import_scheduled",
        "schedule": timedelta(seconds=CATALOG_MLFLOW_IMPORT_INTERVAL),
    }

# Webhooks: receivers must be https:// URLs of public addresses, unless CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS
# (for webhooks alone; downloads keep CATALOG_ALLOW_PRIVATE_URLS) also allows http:// and private and
# loopback receivers. Each attempt waits at most CATALOG_WEBHOOK_CONNECT_TIMEOUT to connect and
# CATALOG_WEBHOOK_TIMEOUT for each read, and reads at most CATALOG_WEBHOOK_MAX_RESPONSE_BYTES of the answer.
# A failed attempt worth retrying (no answer, 408, 429, 5xx) is tried again after CATALOG_WEBHOOK_RETRY_DELAY
# seconds, doubling each time up to CATALOG_WEBHOOK_RETRY_MAX_DELAY, CATALOG_WEBHOOK_MAX_ATTEMPTS times in all.
CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS = env.bool("CATALOG_WEBHOOK_ALLOW_PRIVATE_URLS", default=False)
CATALOG_WEBHOOK_CONNECT_TIMEOUT = env.float("CATALOG_WEBHOOK_CONNECT_TIMEOUT", default=5.0)
CATALOG_WEBHOOK_TIMEOUT = env.float("CATALOG_WEBHOOK_TIMEOUT", default=10.0)
CATALOG_WEBHOOK_MAX_RESPONSE_BYTES = env.int("CATALOG_WEBHOOK_MAX_RESPONSE_BYTES", default=4096)
CATALOG_WEBHOOK_MAX_ATTEMPTS = env.int("CATALOG_WEBHOOK_MAX_ATTEMPTS", default=8)
CATALOG_WEBHOOK_RETRY_DELAY = env.float("CATALOG_WEBHOOK_RETRY_DELAY", default=30.0)
CATALOG_WEBHOOK_RETRY_MAX_DELAY = env.float("CATALOG_WEBHOOK_RETRY_MAX_DELAY", default=3600.0)
# A PEM bundle of CAs to trust for https:// receivers instead of the system's. Default: CATALOG_URL_CA_BUNDLE.
CATALOG_WEBHOOK_CA_BUNDLE = env.str("CATALOG_WEBHOOK_CA_BUNDLE", default="") or CATALOG_URL_CA_BUNDLE

# --- Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "config.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s client:%(client_request_id)s] %(message)s"
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
