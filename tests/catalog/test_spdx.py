"""`GET /api/v1/versions/{id}/spdx`: a version as an SPDX 3.0.1 document (the Dataset profile), valid by the
specification's JSON schema, the SPDX 3 Python bindings and its SHACL shapes (tests/spdx.py), with the hash of
every file equal to the manifest; served only to readers of the dataset, with personal data as elsewhere."""

import hashlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.cards.spdx import SpdxIds, dataset_package, spdx_base, spdx_document
from catalog.models import Dataset, DatasetVersion
from governance.choices import OwnershipRole, Sensitivity
from tests.factories import OwnershipFactory, VersionFactory
from tests.profiling.media_folders import image_folder
from tests.spdx import assert_valid_spdx, bindings_load, by_id, by_type, shacl_report

CARD = {
    "summary": "Thirty iris flowers, measured.",
    "collection": "Measured by hand in the botanic garden, 2024.",
    "intended_uses": "Teaching classification.",
    "out_of_scope_uses": "Identifying plants in the wild.",
    "preprocessing": "Rounded to one decimal.",
    "biases_and_limitations": "Only three species.",
}


@pytest.fixture
def flowers(owner_client, steward, iris_csv, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {
                "namespace": "garden",
                "name": "flowers",
                "license": "CC-BY-4.0",
                "sensitivity": "confidential",
                "source": {"uri": str(iris_csv), "label_column": "species"},
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.latest_version.status == "ready", dataset.latest_version.error
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    assert owner_client.put(f"/api/v1/datasets/{dataset.pk}/card/", CARD, format="json").status_code == 200
    return dataset


def _url(version) -> str:
    return f"/api/v1/versions/{version.pk}/spdx"


def _package(document):
    (package,) = by_type(document, "dataset_DatasetPackage")
    return package


def test_it_describes_a_version_as_a_dataset_package(owner_client, flowers, iris_csv, settings):
    settings.ALLOWED_HOSTS = ["catalog.example.org"]
    version = flowers.latest_version
    response = owner_client.get(_url(version), HTTP_HOST="catalog.example.org")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/spdx+json"
    document = response.json()
    assert document["@context"] == "https://spdx.org/rdf/3.0.1/spdx-context.jsonld"
    package = _package(document)
    assert package["spdxId"] == f"http://catalog.example.org/spdx/versions/{version.pk}"
    assert package["name"] == "garden/flowers"
    assert package["software_packageVersion"] == "1"
    assert package["software_primaryPurpose"] == "data"
    assert package["software_downloadLocation"] == f"http://catalog.example.org/api/v1/versions/{version.pk}/"
    assert package["dataset_datasetType"] == ["structured", "numeric", "categorical"]
    assert package["dataset_datasetSize"] == version.size_bytes == iris_csv.stat().st_size
    assert package["description"] == CARD["summary"]
    assert package["dataset_dataCollectionProcess"] == CARD["collection"]
    assert (
        package["dataset_intendedUse"]
        == "Teaching classification.\n\nNot intended for: Identifying plants in the wild."
    )
    assert package["dataset_knownBias"] == ["Only three species."]
    assert package["dataset_dataPreprocessing"] == ["Rounded to one decimal."]
    assert package["dataset_hasSensitivePersonalInformation"] == "no"
    assert package["dataset_confidentialityLevel"] == "amber"
    assert package["builtTime"].endswith("Z")
    assert len(package["builtTime"]) == 20
    assert package["verifiedUsing"][0]["hashValue"] == version.fingerprint.removeprefix("sha256:")
    elements = by_id(document)
    (owner,) = [elements[agent] for agent in package["originatedBy"]]
    assert (owner["type"], owner["name"]) == ("Person", "olivia-owner")
    # The steward answers for the dataset but did not originate it.
    assert "sam-steward" not in str(document)
    (declared,) = [rel for rel in by_type(document, "Relationship") if rel["relationshipType"] == "hasDeclaredLicense"]
    assert declared["from"] == package["spdxId"]
    assert elements[declared["to"][0]]["simplelicensing_licenseExpression"] == "CC-BY-4.0"
    (spdx_document_element,) = by_type(document, "SpdxDocument")
    assert spdx_document_element["rootElement"] == [package["spdxId"]]
    assert set(spdx_document_element["element"]) == set(elements) - {spdx_document_element["spdxId"]}
    assert_valid_spdx(document)


def test_each_file_of_the_manifest_is_a_data_file_with_its_sha256(owner_client, flowers, iris_csv):
    version = flowers.latest_version
    document = owner_client.get(_url(version)).json()

    package = _package(document)
    elements = by_id(document)
    files = {
        elements[target]["name"]: elements[target]
        for rel in by_type(document, "Relationship")
        if rel["relationshipType"] == "hasDataFile" and rel["from"] == package["spdxId"]
        for target in rel["to"]
    }
    assert set(files) == {entry["path"] for entry in version.manifest} == {"train.csv"}
    digest = hashlib.sha256(iris_csv.read_bytes()).hexdigest()
    assert files["train.csv"]["verifiedUsing"] == [{"type": "Hash", "algorithm": "sha256", "hashValue": digest}]
    assert files["train.csv"]["contentType"] == "text/csv"


def test_it_answers_json_when_asked_and_refuses_what_it_cannot_write(owner_client, flowers):
    url = _url(flowers.latest_version)

    assert owner_client.get(url, HTTP_ACCEPT="application/json")["Content-Type"] == "application/json"
    assert owner_client.get(url, HTTP_ACCEPT="application/spdx+json")["Content-Type"] == "application/spdx+json"
    assert owner_client.get(url, HTTP_ACCEPT="text/html").status_code == 406
    assert owner_client.get(url, {"unknown": "1"}).status_code == 400


def test_ids_stay_under_the_namespace_setting_whatever_host_is_named(owner_client, flowers, settings):
    settings.CATALOG_SPDX_NAMESPACE = "https://data.example.com/ids"
    settings.ALLOWED_HOSTS = ["one.example.org", "two.example.org"]
    version = flowers.latest_version

    first = owner_client.get(_url(version), HTTP_HOST="one.example.org").json()
    second = owner_client.get(_url(version), HTTP_HOST="two.example.org").json()

    assert set(by_id(first)) == set(by_id(second))
    assert _package(first)["spdxId"] == f"https://data.example.com/ids/versions/{version.pk}"
    assert all(spdx_id.startswith("https://data.example.com/ids/") for spdx_id in by_id(first))


def test_a_reader_who_may_not_read_the_dataset_gets_404(owner_client, stranger_client, anonymous_client, flowers):
    Dataset.objects.filter(pk=flowers.pk).update(sensitivity=Sensitivity.RESTRICTED)
    url = _url(flowers.latest_version)

    assert owner_client.get(url).status_code == 200
    refused = stranger_client.get(url)
    assert refused.status_code == 404
    assert "flowers" not in refused.content.decode()
    assert anonymous_client.get(url).status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/versions/not-a-uuid/spdx",
        "/api/v1/versions/%00/spdx",
        "/api/v1/versions/5f0c5a52-8a7e-4c1e-9a43-2b1f0e6d7c11%00/spdx",
        "/api/v1/versions/5f0c5a52-8a7e-4c1e-9a43-2b1f0e6d7c11/spdx",
        f"/api/v1/versions/{'9' * 5000}/spdx",
        "/api/v1/versions/../datasets/spdx",
    ],
)
def test_hostile_ids_are_refused_or_not_found(owner_client, path):
    # NUL bytes are refused before routing (400); anything else is no version (404).
    assert owner_client.get(path).status_code in (400, 404)


def test_hostile_query_parameters_are_refused(owner_client, flowers):
    url = _url(flowers.latest_version)

    assert owner_client.get(url, {"format": "spdx\x00"}).status_code == 400
    unknown_format = owner_client.get(url, {"format": "yaml"})
    assert unknown_format.status_code == 400  # no renderer of that format: the parameter is named
    assert "format" in unknown_format.json()["errors"]
    assert owner_client.get(url, {"x" * 5000: "1"}).status_code == 400


def test_a_pending_version_still_makes_a_valid_document(owner_client, dataset):
    version = VersionFactory(dataset=dataset, status="pending", manifest=[], size_bytes=None, fingerprint="")

    document = owner_client.get(_url(version)).json()

    package = _package(document)
    assert package["dataset_datasetType"] == ["noAssertion"]
    assert package["dataset_hasSensitivePersonalInformation"] == "noAssertion"
    assert "dataset_datasetSize" not in package
    assert not [rel for rel in by_type(document, "Relationship") if rel["relationshipType"] == "hasDataFile"]
    # No license recorded: nothing declared rather than a guess; a group owner is an organization.
    assert not by_type(document, "simplelicensing_LicenseExpression")[1:]
    assert_valid_spdx(document)


def test_the_class_folders_of_a_personal_data_label_go_by_their_aliases(
    owner_client, stranger_client, dataset, storage_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/api/v1/datasets/{dataset.pk}/versions/",
            {"uri": str(image_folder(storage_root / "faces"))},
            format="json",
        )
    version = DatasetVersion.objects.get(pk=response.json()["id"])
    assert version.status == "ready", version.error
    position = version.features.get(name="label").position
    assert owner_client.patch(f"/api/v1/versions/{version.pk}/features/{position}/", {"pii": True}).status_code == 200

    theirs = stranger_client.get(_url(version)).json()
    mine = owner_client.get(_url(version)).json()

    assert _package(theirs)["dataset_datasetType"] == ["image"]
    assert _package(theirs)["dataset_hasSensitivePersonalInformation"] == "yes"

    def classes(document):
        return {
            file["name"].split("/")[1] for file in by_type(document, "software_File") if file["name"].count("/") == 2
        }

    assert classes(theirs) == {"class 1", "class 2"}
    assert "/cat/" not in str(theirs)
    assert "/dog/" not in str(theirs)
    assert classes(mine) == {"cat", "dog"}
    # The same files under the same ids, whoever reads them; the hashes are those of the manifest.
    assert set(by_id(theirs)) == set(by_id(mine))
    assert sorted(file["verifiedUsing"][0]["hashValue"] for file in by_type(theirs, "software_File")) == sorted(
        entry["sha256"] for entry in version.manifest
    )
    assert_valid_spdx(theirs)


def test_the_query_count_does_not_grow_with_the_files(owner_client, dataset):
    few = VersionFactory(dataset=dataset, manifest=[{"path": "a.csv", "size": 1, "sha256": "0" * 64}])
    many = VersionFactory(
        dataset=dataset, manifest=[{"path": f"{n}.csv", "size": 1, "sha256": f"{n:064x}"} for n in range(300)]
    )
    counts = []
    for version in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert owner_client.get(_url(version)).status_code == 200
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_packages_of_several_versions_share_one_document_and_their_agents(owner, dataset):
    first = VersionFactory(dataset=dataset, manifest=[{"path": "a.csv", "size": 1, "sha256": "a" * 64}])
    second = VersionFactory(dataset=dataset, manifest=[{"path": "b.csv", "size": 1, "sha256": "b" * 64}])
    ids = SpdxIds(spdx_base("https://catalog.example.org"))

    packages = [dataset_package(version, ids=ids, shows_personal=True) for version in (first, second)]
    document = spdx_document(
        ids=ids,
        document_id=f"{ids.base}documents/both",
        name="both",
        roots=[package.package_id for package in packages],
        elements=[element for package in packages for element in package.elements],
    )

    people = by_type(document, "Person")
    assert [person["name"] for person in people] == ["olivia-owner"]
    assert {package["spdxId"] for package in by_type(document, "dataset_DatasetPackage")} == {
        ids.version(first.pk),
        ids.version(second.pk),
    }
    assert_valid_spdx(document)


def test_the_checks_catch_a_document_the_specification_refuses(owner_client, flowers):
    document = owner_client.get(_url(flowers.latest_version)).json()
    _package(document)["dataset_datasetType"] = ["tabular"]
    _package(document)["builtTime"] = "2026-01-01T00:00:00.5+00:00"

    with pytest.raises(AssertionError):
        assert_valid_spdx(document)
    conforms, text = shacl_report(document)
    assert not conforms
    assert "DatasetType" in text or "datasetType" in text
    with pytest.raises(ValueError, match=r"is not a (valid value|correctly formatted datetime)"):
        bindings_load(document)


def test_no_one_changes_a_version_through_its_export(owner_client, stranger_client, flowers):
    url = _url(flowers.latest_version)

    for client in (owner_client, stranger_client):
        for method in (client.post, client.put, client.patch, client.delete):
            assert method(url, {"@graph": []}, format="json").status_code == 405
    assert flowers.latest_version.manifest == DatasetVersion.objects.get(pk=flowers.latest_version_id).manifest
