import csv
import hashlib
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.management.commands import flush
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from config.celery_app import app as celery_app
from governance.choices import OwnershipRole
from governance.models import AccessToken
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, token_for
from tests.flush import Scope as FlushScope
from tests.flush import quick_flush as quick_flush_of

# A fixture shared by the tests that read runs from MLflow (tests/training, tests/e2e).
from tests.mlflow_server import mlflow_server  # noqa: F401

# The local S3 API of the tests that read object-store sources (tests/catalog, tests/e2e).
from tests.object_store import (  # noqa: F401
    azure_store,
    gcs_store,
    guarded_object_store,
    object_store,
    strict_object_store,
)

E2E_DIRECTORY = Path(__file__).parent / "e2e"


def pytest_collection_modifyitems(config, items):
    # Everything under tests/e2e starts real processes (a server, workers, a browser): marked by where it lives,
    # so `-m "not e2e"` never starts one, whatever a new file remembers to declare. What reads the real-data
    # corpus (84 files, each profiled, some exported and loaded again) is marked by the fixture it takes, so
    # make test-fast, which leaves both out, stays a loop of about a minute; make test runs them all.
    for item in items:
        if E2E_DIRECTORY in Path(item.fspath).parents:
            item.add_marker(pytest.mark.e2e)
        if "realdata_dir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(autouse=True)
def tasks_in_process(request):
    """Unit tests run tasks in-process; tests marked e2e talk to a real worker over the broker."""
    eager = "e2e" not in request.keywords
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(scope="session", autouse=True)
def quick_flush():
    """In-process transactional tests empty only the tables they filled, and skip post_migrate (tests/flush.py)."""
    original = flush.Command.handle
    flush.Command.handle = quick_flush_of(original)
    yield
    flush.Command.handle = original


@pytest.fixture(autouse=True)
def flush_scope(request):
    # Left set after the test: its database is emptied after this fixture's teardown.
    FlushScope.in_process = "e2e" not in request.keywords


@pytest.fixture(autouse=True)
def quick_password_hashes(request):
    """In-process tests hash passwords with a cheap hasher, as Django advises for tests: the production one
    costs most of a second a password by design. The e2e tests keep it (their server checks the hashes)."""
    if "e2e" in request.keywords:
        yield
        return
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def fresh_cache():
    """Throttle counts live in the cache; each test starts with none, so no test is throttled by
    the requests of the tests before it."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(scope="session")
def realdata_dir(tmp_path_factory) -> Path:
    """The real-data corpus (tests/realdata.py), written once per run from the installed packages."""
    from tests.realdata import materialise

    return materialise(tmp_path_factory.getbasetemp() / "realdata")


@pytest.fixture
def storage_root(tmp_path, settings) -> Path:
    root = tmp_path / "storage"
    root.mkdir()
    settings.CATALOG_STORAGE_ROOTS = [root.resolve()]
    return root.resolve()


@pytest.fixture
def iris_csv(storage_root) -> Path:
    """A small labelled CSV under the storage root."""
    path = storage_root / "flowers" / "train.csv"
    path.parent.mkdir(parents=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["petal length", "petal width", "species"])
        for index in range(30):
            writer.writerow([1.0 + index / 10, 0.2 + index / 50, ("setosa", "versicolor", "virginica")[index % 3]])
    return path


def _client_for(user) -> APIClient:
    client = APIClient()
    key = token_for(user)
    # A token in use, as most are: its first use in a minute also records the time (one UPDATE),
    # which query counts of the requests under test should not include.
    AccessToken.objects.filter(digest=hashlib.sha256(key.encode()).hexdigest()).update(last_used_at=timezone.now())
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def client_for(db):
    """An API client authenticated with a given user's token."""
    return _client_for


@pytest.fixture
def owner(db):
    return UserFactory(username="olivia-owner")


@pytest.fixture
def steward(db):
    return UserFactory(username="sam-steward")


@pytest.fixture
def stranger(db):
    return UserFactory(username="simon-stranger")


@pytest.fixture
def staff(db):
    return UserFactory(username="stella-staff", is_staff=True)


@pytest.fixture
def owner_client(owner) -> APIClient:
    return _client_for(owner)


@pytest.fixture
def steward_client(steward) -> APIClient:
    return _client_for(steward)


@pytest.fixture
def stranger_client(stranger) -> APIClient:
    return _client_for(stranger)


@pytest.fixture
def staff_client(staff) -> APIClient:
    return _client_for(staff)


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def dataset(owner, steward):
    """A dataset owned by `owner` and stewarded by `steward`."""
    dataset = DatasetFactory(namespace="team-vision", name="street-signs")
    OwnershipFactory(dataset=dataset, user=owner, role=OwnershipRole.OWNER)
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    return dataset


@pytest.fixture
def group_member(db):
    user = UserFactory(username="gina-group")
    group, _ = Group.objects.get_or_create(name="vision-team")
    user.groups.add(group)
    return user
