"""What held in the security review, kept as tests against gunicorn and a real worker: a restricted
dataset answers 404 to a stranger on every direct path."""

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_it_hides_a_restricted_dataset_from_another_user_on_every_direct_path(people, e2e_storage_root):
    folder = e2e_storage_root / f"held-{people.owner.user.username}"
    folder.mkdir()
    (folder / "patients.csv").write_text("email,diagnosis\na@example.org,flu\nb@example.org,cold\n")
    created = people.owner.post(
        "/api/v1/datasets/",
        {
            "namespace": "held",
            "name": f"patients-{people.owner.user.username}",
            "sensitivity": "restricted",
            "source": {"uri": f"{folder.name}/patients.csv"},
        },
    )
    assert created.status_code == 201, created.text
    dataset = created.json()
    version = people.owner.wait(dataset["latest_version"]["id"])
    assert version["status"] == "ready", version

    paths = [
        f"/api/v1/datasets/{dataset['id']}/",
        f"/api/v1/datasets/{dataset['id']}/versions/",
        f"/api/v1/datasets/{dataset['id']}/card/",
        f"/api/v1/datasets/{dataset['id']}/card/markdown",
        f"/api/v1/datasets/{dataset['id']}/card/croissant",
        f"/api/v1/datasets/{dataset['id']}/owners/",
        f"/api/v1/versions/{version['id']}/",
        f"/api/v1/versions/{version['id']}/features/",
        f"/api/v1/versions/{version['id']}/sample/",
        f"/api/v1/versions/{version['id']}/thumbnails/",
    ]
    for path in paths:
        assert people.other.get(path).status_code == 404, path
        assert people.owner.get(path).status_code == 200, path
    listed = people.other.get("/api/v1/datasets/", namespace="held").json()
    assert dataset["id"] not in {item["id"] for item in listed["results"]}
