"""The paths a new user walks, over HTTP against gunicorn and real workers: a second version keeps its
label; groups made and filled through the API, and not entered by outsiders; datasets named by
`namespace/name` in audits and lineage; credit lines that name each creator once."""

import uuid

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def _ready(caller, version_id: str) -> dict:
    version = caller.wait(version_id)
    assert version["status"] == "ready", version
    return version


@pytest.fixture
def suffix() -> str:
    return uuid.uuid4().hex[:8]


@pytest.fixture
def flowers(people, e2e_storage_root, suffix):
    """The README's flowers: version 1 labelled by `species`, registered over HTTP."""
    folder = e2e_storage_root / f"flowers-{suffix}"
    folder.mkdir()
    rows = "".join(f"{1 + index / 10},{('setosa', 'versicolor', 'virginica')[index % 3]}\n" for index in range(30))
    (folder / "train.csv").write_text("petal_length,species\n" + rows)
    dataset = _created(
        people.owner.post(
            "/api/v1/datasets/",
            {
                "namespace": f"team-tabular-{suffix}",
                "name": "flowers",
                "license": "CC-BY-4.0",
                "source": {"uri": f"{folder.name}/train.csv", "label_column": "species"},
            },
        )
    )
    _ready(people.owner, dataset["latest_version"]["id"])
    dataset["folder"] = folder
    return dataset


def test_a_second_version_registered_without_its_label_keeps_it(people, flowers):
    # As the README registers version 2: the folder, no label column.
    second = _created(
        people.owner.post(
            f"/api/v1/datasets/{flowers['id']}/versions/", {"uri": f"{flowers['folder'].name}/", "format": "csv"}
        )
    )
    assert second["label_column"] == "species"

    version = _ready(people.owner, second["id"])

    assert version["quality"]["label_column"] == "species"
    assert version["quality"]["class_counts"] == {"setosa": 10, "versicolor": 10, "virginica": 10}
    features = {feature["name"]: feature["role"] for feature in version["features"]}
    assert features["species"] == "label"

    # Data whose label column is gone: profiled, with a warning naming the column.
    (flowers["folder"] / "unlabelled.csv").write_text("petal_length\n" + "".join(f"{index}\n" for index in range(30)))
    third = _created(
        people.owner.post(
            f"/api/v1/datasets/{flowers['id']}/versions/", {"uri": f"{flowers['folder'].name}/unlabelled.csv"}
        )
    )
    version = _ready(people.owner, third["id"])
    warnings = [
        finding
        for finding in version["quality"]["findings"]
        if (finding["code"], finding["severity"]) == ("schema_change", "warning")
    ]
    assert [warning["feature"] for warning in warnings] == ["species"]

    # And an explicit null removes it.
    fourth = _created(
        people.owner.post(
            f"/api/v1/datasets/{flowers['id']}/versions/",
            {"uri": f"{flowers['folder'].name}/train.csv", "label_column": None},
        )
    )
    assert fourth["label_column"] == ""

    # Nobody else registers a version of it, with a label or without.
    stranger = people.other.post(
        f"/api/v1/datasets/{flowers['id']}/versions/", {"uri": f"{flowers['folder'].name}/", "label_column": None}
    )
    assert stranger.status_code == 403


def test_a_group_is_made_filled_and_kept_from_outsiders(people, e2e_storage_root, suffix):
    name = f"vision-team-{suffix}"
    group = _created(people.staff.post("/api/v1/groups/", {"name": name, "owners": [people.owner.user.username]}))
    assert group["owners"] == [people.owner.user.username]
    assert group["members"] == []

    folder = e2e_storage_root / f"faces-{suffix}"
    folder.mkdir()
    (folder / "faces.csv").write_text("width,height\n1,2\n3,4\n")
    secret = _created(
        people.owner.post(
            "/api/v1/datasets/",
            {
                "namespace": f"vision-{suffix}",
                "name": "faces",
                "sensitivity": "restricted",
                "source": {"uri": f"{folder.name}/faces.csv"},
            },
        )
    )
    granted = people.owner.post(f"/api/v1/datasets/{secret['id']}/grants/", {"group": name})
    assert granted.status_code == 201, granted.text

    # The outsider: no way into the group, nor to the dataset it reads.
    assert people.other.post(f"/api/v1/groups/{name}/members/", {"user": people.other.user.username}).status_code == 404
    assert (
        people.other.post(f"/api/v1/groups/{group['id']}/members/", {"user": people.other.user.username}).status_code
        == 404
    )
    assert people.other.patch(f"/api/v1/groups/{name}/", {"name": f"mine-{suffix}"}).status_code == 403
    assert people.other.delete(f"/api/v1/groups/{name}/").status_code == 403
    assert people.other.get(f"/api/v1/groups/{name}/").status_code == 404
    assert name not in {entry["name"] for entry in people.other.get("/api/v1/groups/").json()["results"]}
    assert people.other.get(f"/api/v1/datasets/{secret['id']}/").status_code == 404
    # The group's owner is not thereby a staff member: no rename either.
    assert people.owner.patch(f"/api/v1/groups/{name}/", {"name": f"mine-{suffix}"}).status_code == 403

    # Its owner lets the other user in; the grant now reaches them.
    added = people.owner.post(f"/api/v1/groups/{name}/members/", {"user": people.other.user.username})
    assert added.status_code == 201, added.text
    assert people.other.get(f"/api/v1/datasets/{secret['id']}/").status_code == 200
    assert people.other.get(f"/api/v1/groups/{name}/").json()["members"] == [people.other.user.username]

    changes = people.staff.get("/api/v1/changes/", object_type="group", object_id=str(group["id"])).json()
    assert [entry["action"] for entry in changes["results"]] == ["update", "create"]
    assert changes["results"][0]["after"] == {"members": [people.other.user.username]}

    # They leave; the dataset is hidden from them again.
    assert people.other.delete(f"/api/v1/groups/{name}/members/{people.other.user.username}/").status_code == 204
    assert people.other.get(f"/api/v1/datasets/{secret['id']}/").status_code == 404


def test_hostile_group_input_is_a_4xx(people, suffix):
    for body in (
        {"name": f"a/b-{suffix}"},
        {"name": "1234567"},
        {"name": f"nul\x00{suffix}"},
        {"name": "x" * 100_000},
        {"name": f"ok-{suffix}", "owners": [["nested"]]},
    ):
        response = people.staff.post("/api/v1/groups/", body)
        assert response.status_code == 400, (body["name"][:20], response.text)
    deep = people.staff.request(
        "POST",
        "/api/v1/groups/",
        data='{"name": "deep", "owners": ' + "[" * 50_000 + "]" * 50_000 + "}",
        headers={"Content-Type": "application/json"},
    )
    assert 400 <= deep.status_code < 500


def test_audits_and_lineage_name_datasets_by_namespace_and_name(people, flowers, e2e_storage_root, suffix):
    namespace = f"team-tabular-{suffix}"
    # The owner also stewards it: credited once all the same.
    owner_name = people.owner.user.username
    assert people.owner.post(
        f"/api/v1/datasets/{flowers['id']}/owners/", {"user": owner_name, "role": "steward"}
    ).status_code in (200, 201)

    audit = _created(
        people.owner.post(
            "/api/v1/audits/",
            {"datasets": [f"{namespace}/flowers"], "purpose": {"commercial": True, "distribute_model": True}},
        )
    )
    assert audit["requested"] == [{"dataset": flowers["id"], "version": None}]
    (attribution,) = audit["attributions"]
    assert attribution["credit"].startswith(f'"{namespace}/flowers" by {owner_name}, licensed under CC-BY-4.0')
    markdown = people.owner.get(f"/api/v1/audits/{audit['id']}/markdown").text
    assert f"{owner_name}, {owner_name}" not in markdown

    # A restricted dataset named by someone who may not read it: answered as a missing one.
    (flowers["folder"] / "secret.csv").write_text("a,b\n1,2\n")
    _created(
        people.owner.post(
            "/api/v1/datasets/",
            {
                "namespace": namespace,
                "name": "secret",
                "sensitivity": "restricted",
                "source": {"uri": f"{flowers['folder'].name}/secret.csv"},
            },
        )
    )
    hidden = people.other.post("/api/v1/audits/", {"datasets": [f"{namespace}/secret"], "purpose": {}})
    missing = people.other.post("/api/v1/audits/", {"datasets": [f"{namespace}/secreT"], "purpose": {}})
    assert hidden.status_code == missing.status_code == 400
    assert hidden.json()["errors"]["datasets"][0].replace("secret", "?") == missing.json()["errors"]["datasets"][
        0
    ].replace("secreT", "?")

    # Lineage declared between datasets by name.
    (flowers["folder"] / "raw.csv").write_text("petal_length\n1.0\n")
    raw = _created(
        people.owner.post(
            "/api/v1/datasets/",
            {"namespace": namespace, "name": "raw-flowers", "source": {"uri": f"{flowers['folder'].name}/raw.csv"}},
        )
    )
    edge = _created(
        people.owner.post(
            "/api/v1/lineage/edges/", {"source": f"{namespace}/raw-flowers", "target": f"{namespace}/flowers"}
        )
    )
    assert (edge["source"], edge["target"]) == (raw["id"], flowers["id"])
    refused = people.other.post(
        "/api/v1/lineage/edges/", {"source": f"{namespace}/secret", "target": f"{namespace}/flowers"}
    )
    assert refused.status_code == 400
    assert "secret" in refused.json()["errors"]["source"][0]
