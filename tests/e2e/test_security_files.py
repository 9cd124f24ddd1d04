"""Finding 2 of the security review, against gunicorn and a real worker: a registered file replaced by
a symbolic link to a secret outside the storage roots, or linked to one, is never read."""

import os

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SECRET = "secret-patient@hospital.example"


@pytest.fixture
def secret(tmp_path):
    """A file outside the storage roots, readable by the worker's user, shaped like a source."""
    path = tmp_path / "outside" / "patients.csv"
    path.parent.mkdir()
    path.write_text(f"email,diagnosis\n{SECRET},HIV positive\n{SECRET},HIV positive\n")
    return path


def register(people, folder, name):
    created = people.owner.post(
        "/api/v1/datasets/",
        {"namespace": "files", "name": f"{folder.name}-{name}", "source": {"uri": f"{folder.name}/{name}"}},
    )
    assert created.status_code == 201, created.text
    return created.json()["latest_version"]["id"]


def test_it_fails_a_version_whose_file_was_swapped_for_a_link_to_a_secret(people, e2e_storage_root, secret):
    folder = e2e_storage_root / f"swap-{people.owner.user.username}"
    folder.mkdir()
    data = folder / "patients.csv"
    data.write_text("email,diagnosis\na@example.org,flu\nb@example.org,cold\n")
    version_id = register(people, folder, "patients.csv")
    assert people.owner.wait(version_id)["status"] == "ready"

    staged = folder / "staged"
    staged.symlink_to(secret)
    staged.replace(data)  # the registered name now leads outside the root
    queued = people.owner.post(f"/api/v1/versions/{version_id}/reprofile/")
    assert queued.status_code == 202, queued.text
    version = people.owner.wait(version_id)

    assert version["status"] == "failed", version
    assert version["error"].startswith("patients.csv "), version["error"]
    sample = people.owner.get(f"/api/v1/versions/{version_id}/sample/")
    features = people.owner.get(f"/api/v1/versions/{version_id}/features/")
    for answer in (repr(version), sample.text, features.text):
        assert SECRET not in answer
        assert "HIV" not in answer


def test_it_refuses_a_registered_file_hard_linked_to_a_secret(people, e2e_storage_root, secret):
    folder = e2e_storage_root / f"hard-{people.owner.user.username}"
    folder.mkdir()
    os.link(secret, folder / "patients.csv")
    version_id = register(people, folder, "patients.csv")

    version = people.owner.wait(version_id)

    assert version["status"] == "failed", version
    assert version["error"].startswith("patients.csv has other hard links"), version["error"]
    sample = people.owner.get(f"/api/v1/versions/{version_id}/sample/")
    assert SECRET not in sample.text
    assert SECRET not in repr(version)
