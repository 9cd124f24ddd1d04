from datetime import timedelta

import pytest
from django.utils import timezone

from catalog.models import Dataset, DatasetVersion
from governance import services as governance_services
from governance.models import IdempotencyRecord

URL = "/api/v1/datasets/"
BODY = {"namespace": "team", "name": "retried"}


@pytest.mark.django_db
def test_a_retried_registration_answers_the_first_response(owner_client):
    first = owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="4d3f9c1e-retry")
    again = owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="4d3f9c1e-retry")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["Location"] == first["Location"]
    assert Dataset.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_a_retry_is_a_conflict(owner_client):
    owner_client.post(URL, BODY)

    assert owner_client.post(URL, BODY).status_code == 409


@pytest.mark.django_db
def test_it_refuses_a_key_reused_with_another_body(owner_client):
    owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="k-1")

    response = owner_client.post(URL, {**BODY, "name": "other"}, HTTP_IDEMPOTENCY_KEY="k-1")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "different request" in response.json()["detail"]
    assert Dataset.objects.count() == 1


@pytest.mark.django_db
def test_keys_belong_to_their_user(owner_client, stranger_client):
    owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="shared")

    response = stranger_client.post(URL, {**BODY, "name": "strangers"}, HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 201
    assert response.json()["name"] == "strangers"


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "caf\u00e9"])
def test_it_rejects_a_malformed_key(owner_client, key):
    response = owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


@pytest.mark.django_db
def test_a_failed_request_is_not_remembered(owner_client, storage_root):
    bad = owner_client.post(URL, {**BODY, "source": {"uri": "missing.csv"}}, HTTP_IDEMPOTENCY_KEY="k-2")
    (storage_root / "missing.csv").write_text("a\n1\n")
    good = owner_client.post(URL, {**BODY, "source": {"uri": "missing.csv"}}, HTTP_IDEMPOTENCY_KEY="k-2")

    assert bad.status_code == 400
    assert good.status_code == 201
    assert not IdempotencyRecord.objects.filter(response_status=400).exists()


@pytest.mark.django_db
def test_a_retried_version_registration_creates_one_version(owner_client, dataset, iris_csv):
    url = f"/api/v1/datasets/{dataset.pk}/versions/"

    first = owner_client.post(url, {"uri": str(iris_csv)}, HTTP_IDEMPOTENCY_KEY="v-1")
    again = owner_client.post(url, {"uri": str(iris_csv)}, HTTP_IDEMPOTENCY_KEY="v-1")

    assert again.json()["id"] == first.json()["id"]
    assert DatasetVersion.objects.count() == 1


@pytest.mark.django_db
def test_keys_expire_and_are_purged(owner_client):
    owner_client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))

    reused = owner_client.post(URL, {**BODY, "name": "fresh"}, HTTP_IDEMPOTENCY_KEY="old")

    assert reused.status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert governance_services.idempotency_records_purge() == 1
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_create_once(owner, client_for):
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL")
    barrier = threading.Barrier(4)
    responses = []
    clients = [client_for(owner) for _ in range(4)]

    def send(client) -> None:
        try:
            barrier.wait()
            responses.append(client.post(URL, BODY, HTTP_IDEMPOTENCY_KEY="race"))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=send, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(response.status_code for response in responses) == [201, 201, 201, 201]
    assert len({response.json()["id"] for response in responses}) == 1
    assert Dataset.objects.count() == 1
