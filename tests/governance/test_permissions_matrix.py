"""Who may write what: every write endpoint, for each persona.

Dataset-scoped writes: anonymous 401, a stranger 403 (the dataset is `internal`: visible, not theirs),
owners, stewards and staff succeed. Staff-only writes (purge, licenses): 403 for everyone else.
Each case is its own test, with its own dataset and objects, and checks that the write took effect
exactly when it was allowed.
"""

import csv
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from catalog import services as catalog_services
from catalog.models import Dataset, DatasetVersion, Feature
from governance.choices import OwnershipRole
from governance.models import AccessGrant, License, Ownership
from lineage import services as lineage_services
from lineage.models import LineageEdge
from tests.factories import DatasetFactory, OwnershipFactory, UserFactory, VersionFactory

pytestmark = pytest.mark.django_db

PERSONAS = ("anonymous", "stranger", "owner", "steward", "staff")


@dataclass
class Call:
    """A request to send, and how to tell afterwards whether it changed anything."""

    method: str
    url: str
    body: dict[str, Any] | None
    took_effect: Callable[[], bool]


@dataclass
class World:
    dataset: Dataset
    owner: Any
    staff: Any
    storage_root: Any


def _dataset_patch(world: World) -> Call:
    dataset = world.dataset
    return Call(
        "patch",
        f"/api/v1/datasets/{dataset.pk}/",
        {"description": "x"},
        lambda: Dataset.objects.get(pk=dataset.pk).description == "x",
    )


def _dataset_delete(world: World) -> Call:
    dataset = world.dataset
    return Call(
        "delete",
        f"/api/v1/datasets/{dataset.pk}/",
        None,
        lambda: Dataset.objects.get(pk=dataset.pk).lifecycle == "retired",
    )


def _dataset_purge(world: World) -> Call:
    dataset = catalog_services.dataset_retire(actor=world.owner, dataset=world.dataset)
    return Call(
        "post",
        f"/api/v1/datasets/{dataset.pk}/purge/",
        None,
        lambda: not Dataset.objects.filter(pk=dataset.pk).exists(),
    )


def _version_create(world: World) -> Call:
    path = world.storage_root / "matrix" / "data.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["a", "b"])
        writer.writerows([[index, index * 2] for index in range(5)])
    dataset = world.dataset
    return Call(
        "post",
        f"/api/v1/datasets/{dataset.pk}/versions/",
        {"uri": str(path)},
        lambda: DatasetVersion.objects.filter(dataset=dataset).exists(),
    )


def _version_patch(world: World) -> Call:
    version = VersionFactory(dataset=world.dataset)
    return Call(
        "patch",
        f"/api/v1/versions/{version.pk}/",
        {"notes": "n"},
        lambda: DatasetVersion.objects.get(pk=version.pk).notes == "n",
    )


def _version_reprofile(world: World) -> Call:
    version = VersionFactory(dataset=world.dataset)
    # Profiled again in-process, its fake uri fails it: either way it is no longer the untouched `ready`.
    return Call(
        "post",
        f"/api/v1/versions/{version.pk}/reprofile/",
        None,
        lambda: DatasetVersion.objects.get(pk=version.pk).status != "ready",
    )


def _version_verify(world: World) -> Call:
    version = VersionFactory(dataset=world.dataset, manifest=[{"path": "a.csv", "size": 1, "sha256": "0" * 64}])
    # Re-hashed in-process, the fake uri cannot be read: the outcome is recorded as `unreadable`.
    return Call(
        "post",
        f"/api/v1/versions/{version.pk}/verify/",
        None,
        lambda: DatasetVersion.objects.get(pk=version.pk).verification.get("status") == "unreadable",
    )


def _feature_patch(world: World) -> Call:
    version = VersionFactory(dataset=world.dataset)
    feature = Feature.objects.create(version=version, name="a", position=0, dtype="int64")
    return Call(
        "patch",
        f"/api/v1/versions/{version.pk}/features/0/",
        {"description": "d"},
        lambda: Feature.objects.get(pk=feature.pk).description == "d",
    )


def _owner_add(world: World) -> Call:
    newcomer = UserFactory()
    dataset = world.dataset
    return Call(
        "post",
        f"/api/v1/datasets/{dataset.pk}/owners/",
        {"user": newcomer.username, "role": "steward"},
        lambda: Ownership.objects.filter(dataset=dataset, user=newcomer, role=OwnershipRole.STEWARD).exists(),
    )


def _owner_remove(world: World) -> Call:
    extra = OwnershipFactory(dataset=world.dataset, user=UserFactory(), role=OwnershipRole.STEWARD)
    return Call(
        "delete",
        f"/api/v1/datasets/{world.dataset.pk}/owners/{extra.pk}/",
        None,
        lambda: not Ownership.objects.filter(pk=extra.pk).exists(),
    )


def _owner_remove_by_name(world: World) -> Call:
    extra = OwnershipFactory(dataset=world.dataset, user=UserFactory(), role=OwnershipRole.STEWARD)
    return Call(
        "delete",
        f"/api/v1/datasets/{world.dataset.pk}/owners/?user={extra.user.username}&role=steward",
        None,
        lambda: not Ownership.objects.filter(pk=extra.pk).exists(),
    )


def _grant_add(world: World) -> Call:
    group = Group.objects.create(name=f"readers-{uuid.uuid4().hex[:8]}")
    dataset = world.dataset
    return Call(
        "post",
        f"/api/v1/datasets/{dataset.pk}/grants/",
        {"group": group.name},
        lambda: AccessGrant.objects.filter(dataset=dataset, group=group).exists(),
    )


def _grant_remove(world: World) -> Call:
    group = Group.objects.create(name=f"readers-{uuid.uuid4().hex[:8]}")
    grant = AccessGrant.objects.create(dataset=world.dataset, group=group)
    return Call(
        "delete",
        f"/api/v1/datasets/{world.dataset.pk}/grants/{grant.pk}/",
        None,
        lambda: not AccessGrant.objects.filter(pk=grant.pk).exists(),
    )


def _edge_declare(world: World) -> Call:
    source = DatasetFactory(namespace="vendor")
    target = world.dataset
    return Call(
        "post",
        "/api/v1/lineage/edges/",
        {"source": str(source.pk), "target": str(target.pk)},
        lambda: LineageEdge.objects.filter(source=source, target=target).exists(),
    )


def _edge_remove(world: World) -> Call:
    source = DatasetFactory(namespace="vendor")
    edge = lineage_services.edge_declare(actor=world.owner, source=source, target=world.dataset)
    return Call(
        "delete",
        f"/api/v1/lineage/edges/{edge.pk}/",
        None,
        lambda: not LineageEdge.objects.filter(pk=edge.pk).exists(),
    )


def _license_create(world: World) -> Call:
    spdx_id = f"LicenseRef-test-{uuid.uuid4().hex[:12]}"
    return Call(
        "post",
        "/api/v1/licenses/",
        {"spdx_id": spdx_id, "name": "Test"},
        lambda: License.objects.filter(spdx_id=spdx_id).exists(),
    )


def _license_patch(world: World) -> Call:
    return Call(
        "patch",
        "/api/v1/licenses/CC-BY-4.0/",
        {"summary": "s"},
        lambda: License.objects.get(spdx_id="CC-BY-4.0").summary == "s",
    )


def _dataset_scoped(success: int) -> dict[str, int]:
    return {"anonymous": 401, "stranger": 403, "owner": success, "steward": success, "staff": success}


def _staff_only(success: int) -> dict[str, int]:
    return {"anonymous": 401, "stranger": 403, "owner": 403, "steward": 403, "staff": success}


ENDPOINTS: dict[str, tuple[Callable[[World], Call], dict[str, int]]] = {
    "PATCH dataset": (_dataset_patch, _dataset_scoped(200)),
    "DELETE dataset": (_dataset_delete, _dataset_scoped(204)),
    "POST dataset purge": (_dataset_purge, _staff_only(204)),
    "POST dataset versions": (_version_create, _dataset_scoped(201)),
    "PATCH version": (_version_patch, _dataset_scoped(200)),
    "POST version reprofile": (_version_reprofile, _dataset_scoped(202)),
    "POST version verify": (_version_verify, _dataset_scoped(202)),
    "PATCH version feature": (_feature_patch, _dataset_scoped(200)),
    "POST dataset owners": (_owner_add, _dataset_scoped(201)),
    "DELETE dataset owner": (_owner_remove, _dataset_scoped(204)),
    "DELETE dataset owners by name": (_owner_remove_by_name, _dataset_scoped(204)),
    "POST dataset grants": (_grant_add, _dataset_scoped(201)),
    "DELETE dataset grant": (_grant_remove, _dataset_scoped(204)),
    "POST lineage edges": (_edge_declare, _dataset_scoped(201)),
    "DELETE lineage edge": (_edge_remove, _dataset_scoped(204)),
    "POST licenses": (_license_create, _staff_only(201)),
    "PATCH license": (_license_patch, _staff_only(200)),
}

CASES = [
    pytest.param(endpoint, persona, expected[persona], id=f"{endpoint}-{persona}")
    for endpoint, (_, expected) in ENDPOINTS.items()
    for persona in PERSONAS
]


@pytest.fixture
def clients(owner, steward, stranger, staff, client_for) -> dict[str, APIClient]:
    return {
        "anonymous": APIClient(),
        "stranger": client_for(stranger),
        "owner": client_for(owner),
        "steward": client_for(steward),
        "staff": client_for(staff),
    }


@pytest.mark.parametrize(("endpoint", "persona", "expected"), CASES)
def test_it_allows_each_write_only_to_those_who_may_make_it(
    endpoint, persona, expected, clients, dataset, owner, staff, storage_root, django_capture_on_commit_callbacks
):
    assert dataset.sensitivity == "internal"
    arrange, _ = ENDPOINTS[endpoint]
    call = arrange(World(dataset=dataset, owner=owner, staff=staff, storage_root=storage_root))

    send = getattr(clients[persona], call.method)
    with django_capture_on_commit_callbacks(execute=True):  # what a commit hands to the (in-process) worker
        response = send(call.url, call.body, format="json") if call.body is not None else send(call.url)

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["status"] == expected
        assert not call.took_effect(), f"{endpoint} by {persona} was refused but changed something"
    else:
        assert call.took_effect(), f"{endpoint} by {persona} answered {expected} but changed nothing"
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Token")


def test_the_matrix_covers_every_persona_of_every_endpoint():
    assert len(CASES) == len(ENDPOINTS) * len(PERSONAS)
    assert all(set(expected) == set(PERSONAS) for _, expected in ENDPOINTS.values())


def test_it_answers_404_not_403_to_a_strangers_change_of_a_restricted_dataset(stranger_client, owner):
    secret = DatasetFactory(sensitivity="restricted", description="Secret")
    OwnershipFactory(dataset=secret, user=owner)

    response = stranger_client.patch(f"/api/v1/datasets/{secret.pk}/", {"description": "x"}, format="json")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    secret.refresh_from_db()
    assert secret.description == "Secret"


def test_it_answers_404_to_a_strangers_change_of_a_version_of_a_restricted_dataset(stranger_client, owner):
    secret = DatasetFactory(sensitivity="restricted")
    OwnershipFactory(dataset=secret, user=owner)
    version = VersionFactory(dataset=secret)

    response = stranger_client.patch(f"/api/v1/versions/{version.pk}/", {"notes": "n"}, format="json")

    assert response.status_code == 404
    version.refresh_from_db()
    assert version.notes == ""
