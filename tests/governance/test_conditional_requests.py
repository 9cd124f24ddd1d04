"""Conditional requests (RFC 9110 §13): ETags on detail reads and writes, 412 on a stale If-Match,
304 on a current If-None-Match, for datasets, versions, features and licenses."""

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from catalog.models import Dataset, DatasetVersion, Feature
from governance.models import License
from tests.factories import VersionFactory, token_for

ETAG = re.compile(r'^"[0-9a-f]+"$')


@dataclass
class Resource:
    """A detail endpoint, who may change it, a field to change, and where that field is stored."""

    client: APIClient
    url: str
    field: str
    stored: Callable[[], Any]

    def change(self, value: str) -> dict[str, str]:
        return {self.field: value}


@pytest.fixture(params=["dataset", "version", "feature", "license"])
def resource(request, dataset, owner_client, staff_client) -> Resource:
    if request.param == "dataset":
        return Resource(
            owner_client,
            f"/api/v1/datasets/{dataset.pk}/",
            "description",
            lambda: Dataset.objects.get(pk=dataset.pk).description,
        )
    if request.param == "version":
        version = VersionFactory(dataset=dataset)
        return Resource(
            owner_client,
            f"/api/v1/versions/{version.pk}/",
            "notes",
            lambda: DatasetVersion.objects.get(pk=version.pk).notes,
        )
    if request.param == "feature":
        version = VersionFactory(dataset=dataset)
        feature = Feature.objects.create(version=version, name="a", position=0, dtype="int64")
        return Resource(
            owner_client,
            f"/api/v1/versions/{version.pk}/features/0/",
            "description",
            lambda: Feature.objects.get(pk=feature.pk).description,
        )
    return Resource(
        staff_client, "/api/v1/licenses/CC-BY-4.0/", "summary", lambda: License.objects.get(pk="CC-BY-4.0").summary
    )


def etag_of(resource: Resource) -> str:
    response = resource.client.get(resource.url)
    assert response.status_code == 200, response.content
    return response["ETag"]


def patch(resource: Resource, value: str, **headers: str):  # type: ignore[no-untyped-def]
    return resource.client.patch(resource.url, resource.change(value), format="json", headers=headers)


def assert_precondition_failed(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 412, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 412
    assert body["type"].endswith("precondition_failed")
    assert body["title"] == "Precondition Failed"
    assert "If-Match" in body["detail"]


@pytest.mark.django_db
def test_it_gives_a_detail_read_a_quoted_hex_etag(resource):
    response = resource.client.get(resource.url)

    assert response.status_code == 200
    assert ETAG.match(response["ETag"]), response["ETag"]
    assert resource.client.get(resource.url)["ETag"] == response["ETag"]  # stable while nothing changes


@pytest.mark.django_db
def test_it_rejects_a_change_with_a_stale_etag_with_412_and_changes_nothing(resource):
    stale = etag_of(resource)
    assert patch(resource, "someone else's").status_code == 200

    response = patch(resource, "mine", **{"If-Match": stale})

    assert_precondition_failed(response)
    assert resource.stored() == "someone else's"


@pytest.mark.django_db
def test_it_accepts_a_change_with_the_current_etag_and_answers_a_new_one(resource):
    current = etag_of(resource)

    response = patch(resource, "mine", **{"If-Match": current})

    assert response.status_code == 200, response.content
    assert response.json()[resource.field] == "mine"
    assert resource.stored() == "mine"
    assert ETAG.match(response["ETag"])
    assert response["ETag"] != current
    # The answer's ETag is the one a read now gives, so the client can chain its next change on it.
    assert response["ETag"] == etag_of(resource)
    assert patch(resource, "again", **{"If-Match": response["ETag"]}).status_code == 200


@pytest.mark.django_db
def test_it_accepts_if_match_star(resource):
    response = patch(resource, "mine", **{"If-Match": "*"})

    assert response.status_code == 200, response.content
    assert resource.stored() == "mine"


@pytest.mark.django_db
def test_it_accepts_if_match_listing_the_current_etag_among_others(resource):
    current = etag_of(resource)

    response = patch(resource, "mine", **{"If-Match": f'"0000", {current}'})

    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_it_rejects_a_weak_etag_in_if_match(resource):
    current = etag_of(resource)

    response = patch(resource, "mine", **{"If-Match": f"W/{current}"})

    assert_precondition_failed(response)
    assert resource.stored() != "mine"


@pytest.mark.django_db
def test_it_accepts_a_change_without_if_match(resource):
    response = patch(resource, "mine")

    assert response.status_code == 200, response.content
    assert resource.stored() == "mine"
    assert ETAG.match(response["ETag"])


@pytest.mark.django_db
def test_it_answers_304_without_a_body_to_if_none_match_of_the_current_etag(resource):
    current = etag_of(resource)

    response = resource.client.get(resource.url, headers={"If-None-Match": current})
    weak = resource.client.get(resource.url, headers={"If-None-Match": f"W/{current}"})

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == current
    assert weak.status_code == 304  # If-None-Match compares weakly


@pytest.mark.django_db
def test_it_answers_200_to_if_none_match_of_an_etag_from_before_a_change(resource):
    old = etag_of(resource)
    assert patch(resource, "changed").status_code == 200

    response = resource.client.get(resource.url, headers={"If-None-Match": old})

    assert response.status_code == 200
    assert response.json()[resource.field] == "changed"
    assert response["ETag"] != old


@pytest.mark.django_db
def test_it_gives_lists_no_etag(owner_client, dataset):
    response = owner_client.get("/api/v1/datasets/")
    again = owner_client.get("/api/v1/datasets/", headers={"If-None-Match": "*"})

    assert response.status_code == 200
    assert "ETag" not in response
    assert again.status_code == 200
    assert again.json()["count"] == 1


@pytest.mark.django_db
def test_it_changes_the_dataset_etag_when_something_shown_with_it_changes(owner_client, dataset):
    before = owner_client.get(f"/api/v1/datasets/{dataset.pk}/")["ETag"]
    VersionFactory(dataset=dataset)  # a new latest version is part of the representation

    after = owner_client.get(f"/api/v1/datasets/{dataset.pk}/", headers={"If-None-Match": before})

    assert after.status_code == 200
    assert after["ETag"] != before


@pytest.mark.django_db(transaction=True)
def test_it_lets_exactly_one_of_two_concurrent_changes_with_the_same_etag_win(owner, dataset):
    url = f"/api/v1/datasets/{dataset.pk}/"
    token = token_for(owner)
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    current = reader.get(url)["ETag"]
    barrier = threading.Barrier(2, timeout=30)
    answers: dict[str, int] = {}
    failures: list[BaseException] = []

    def change(description: str) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
            barrier.wait()
            response = client.patch(url, {"description": description}, format="json", headers={"If-Match": current})
            answers[description] = response.status_code
        except BaseException as exc:
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=change, args=(description,)) for description in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures, failures
    assert sorted(answers.values()) == [200, 412], answers
    [winner] = [description for description, code in answers.items() if code == 200]
    dataset.refresh_from_db()
    assert dataset.description == winner
