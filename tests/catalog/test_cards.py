"""Data cards: structured sections, completeness, the catalog's facts, and the two exports."""

import json
import logging

import pytest
import yaml

from catalog.models import CARD_SECTIONS, DataCard, Dataset, DatasetVersion
from governance.choices import OwnershipRole
from governance.models import Change
from tests.factories import OwnershipFactory

pytestmark = pytest.mark.django_db

SECTIONS = {
    "summary": "Iris-like flowers measured by hand.",
    "citation": "@misc{flowers, title={Flowers}}",
    "people": "Curated by the botany team.",
    "motivation": "To teach classification.",
    "intended_uses": "Teaching and benchmarks.",
    "out_of_scope_uses": "Anything medical.",
    "composition": "One row per flower.",
    "collection": "Measured in 2026 in the garden.",
    "preprocessing": "Rounded to one decimal.",
    "labeling": "Labelled by two botanists; agreement 0.97.",
    "personal_information": "None.",
    "biases_and_limitations": "Only three species.",
    "distribution": "Through the catalog.",
    "maintenance": "The botany team; report problems to botany@example.org.",
}


@pytest.fixture
def flowers(owner_client, steward, iris_csv, django_capture_on_commit_callbacks):
    """A registered and profiled dataset (tasks run in-process in unit tests, on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            "/api/v1/datasets/",
            {
                "namespace": "garden",
                "name": "flowers",
                "license": "CC-BY-4.0",
                "source": {"uri": str(iris_csv), "label_column": "species"},
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    dataset = Dataset.objects.get(pk=response.json()["id"])
    assert dataset.latest_version.status == "ready", dataset.latest_version.error
    OwnershipFactory(dataset=dataset, user=steward, role=OwnershipRole.STEWARD)
    return dataset


def _card_url(dataset) -> str:
    return f"/api/v1/datasets/{dataset.pk}/card/"


def test_a_dataset_without_a_card_has_an_empty_one_with_the_catalog_s_facts(stranger_client, flowers):
    body = stranger_client.get(_card_url(flowers)).json()

    assert body["completeness"] == 0.0
    assert body["missing_sections"] == list(CARD_SECTIONS)
    facts = body["facts"]
    assert facts["version"]["row_count"] == 30
    assert [feature["name"] for feature in facts["version"]["features"]] == ["petal length", "petal width", "species"]
    assert facts["version"]["class_counts"] == {"setosa": 10, "versicolor": 10, "virginica": 10}
    assert facts["license"]["licenses"][0]["terms"]["attribution"] is True
    assert {"type": "user", "name": "olivia-owner", "role": "owner"} in facts["owners"]
    assert facts["version"]["fingerprint"].startswith("sha256:")


def test_patching_sections_updates_completeness_and_the_change_log(steward_client, flowers):
    response = steward_client.patch(
        _card_url(flowers),
        {"summary": "Flowers.", "labeling": "By hand.", "task_categories": ["tabular-classification"]},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["completeness"] == round(2 / 14, 4)
    assert "summary" not in body["missing_sections"]
    assert body["updated_by"] == "sam-steward"
    entry = Change.objects.get(object_type="card", object_id=str(flowers.pk))
    assert entry.action == "create"
    assert entry.after["labeling"] == "By hand."


def test_put_replaces_the_whole_card(owner_client, flowers):
    owner_client.patch(_card_url(flowers), SECTIONS)

    response = owner_client.put(_card_url(flowers), {"summary": "Only this."})

    assert response.json()["missing_sections"] == [section for section in CARD_SECTIONS if section != "summary"]
    update = Change.objects.filter(object_type="card", action="update").first()
    assert update.before["labeling"] == SECTIONS["labeling"]
    assert update.after["labeling"] == ""


def test_only_owners_stewards_and_staff_write_a_card(stranger_client, staff_client, flowers):
    assert stranger_client.patch(_card_url(flowers), {"summary": "mine"}).status_code == 403
    assert staff_client.patch(_card_url(flowers), {"summary": "staff"}).status_code == 200


def test_it_rejects_what_is_not_a_section(owner_client, flowers):
    response = owner_client.patch(_card_url(flowers), {"row_count": 3, "summary": 5})

    assert response.status_code == 400
    assert set(response.json()["errors"]) >= {"row_count"}
    assert not DataCard.objects.exists()


def test_a_stale_write_is_refused(owner_client, steward_client, flowers):
    etag = owner_client.get(_card_url(flowers))["ETag"]
    steward_client.patch(_card_url(flowers), {"summary": "first"})

    response = owner_client.patch(_card_url(flowers), {"summary": "second"}, HTTP_IF_MATCH=etag)

    assert response.status_code == 412
    assert DataCard.objects.get(dataset=flowers).summary == "first"


def test_the_list_filters_on_card_completeness(owner_client, flowers):
    other = owner_client.post("/api/v1/datasets/", {"namespace": "garden", "name": "weeds"}).json()
    owner_client.patch(_card_url(flowers), SECTIONS)

    incomplete = owner_client.get("/api/v1/datasets/?card_completeness_lt=0.5").json()["results"]

    assert [entry["id"] for entry in incomplete] == [other["id"]]


def test_search_covers_card_text(owner_client, flowers):
    owner_client.patch(_card_url(flowers), {"collection": "Gathered from the monastery herb garden."})

    found = owner_client.get("/api/v1/datasets/?search=monastery").json()["results"]

    assert [entry["name"] for entry in found] == ["flowers"]


def _split(markdown: str) -> tuple[dict, str]:
    assert markdown.startswith("---\n")
    head, body = markdown[4:].split("\n---\n", 1)
    return yaml.safe_load(head), body


def test_the_markdown_export_has_hugging_face_front_matter_and_the_sections(owner_client, flowers):
    owner_client.patch(_card_url(flowers), {**SECTIONS, "task_categories": ["tabular-classification"]})

    response = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/markdown")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/markdown")
    meta, body = _split(response.content.decode())
    assert meta["license"] == "cc-by-4.0"
    assert meta["pretty_name"] == "flowers"
    assert meta["size_categories"] == ["n<1K"]
    assert meta["task_categories"] == ["tabular-classification"]
    assert meta["dataset_info"]["features"] == [
        {"name": "petal length", "dtype": "float64"},
        {"name": "petal width", "dtype": "float64"},
        {"name": "species", "dtype": "string"},
    ]
    assert meta["dataset_info"]["splits"] == [
        {"name": "train", "num_bytes": flowers.latest_version.size_bytes, "num_examples": 30}
    ]
    assert "## Labeling\n\nLabelled by two botanists; agreement 0.97." in body
    assert "| petal length | double | numeric | feature |" in body
    assert "- setosa: 10 (33.3%)" in body


def test_it_writes_dataset_info_the_datasets_library_reads_without_warnings(owner_client, flowers):
    from datasets.info import DatasetInfosDict
    from datasets.utils import logging as datasets_logging
    from huggingface_hub import DatasetCardData

    meta, _ = _split(owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/markdown").content.decode())
    warned: list[str] = []
    handler = logging.Handler(level=logging.WARNING)
    handler.emit = lambda record: warned.append(record.getMessage())  # type: ignore[method-assign]
    logger = datasets_logging.get_logger("datasets")
    logger.addHandler(handler)
    try:
        infos = DatasetInfosDict.from_dataset_card_data(DatasetCardData(**meta))
    finally:
        logger.removeHandler(handler)

    assert warned == []
    split = infos["default"].splits["train"]
    assert (split.num_examples, split.num_bytes) == (30, flowers.latest_version.size_bytes)
    assert list(infos["default"].features) == ["petal length", "petal width", "species"]


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        ("ODbL-1.0", {"license": "odbl"}),
        ("CC-BY-4.0 AND ODbL-1.0", {"license": ["cc-by-4.0", "odbl"]}),
        ("etalab-2.0", {"license": "etalab-2.0"}),
        ("MIT OR Apache-2.0", {"license": "other", "license_name": "MIT OR Apache-2.0"}),
        (
            "Apache-2.0 WITH LLVM-exception",
            {"license": "other", "license_name": "Apache-2.0 WITH LLVM-exception"},
        ),
        ("CC-BY-4.0 AND (MIT OR Zlib)", {"license": "other", "license_name": "CC-BY-4.0 AND (MIT OR Zlib)"}),
        ("LicenseRef-BigScience-OpenRAIL-M", {"license": "bigscience-openrail-m"}),
        ("Zlib", {"license": "zlib"}),
        ("Beerware", {"license": "other", "license_name": "Beerware"}),
        ("", {"license": "unknown"}),
    ],
)
def test_it_maps_licenses_to_the_hub_s_slugs(owner_client, flowers, license, expected):
    Dataset.objects.filter(pk=flowers.pk).update(license=license)

    meta, _ = _split(owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/markdown").content.decode())

    assert {key: meta[key] for key in expected} == expected


def test_a_card_read_back_from_its_markdown_is_the_same_card(owner_client, flowers):
    owner_client.patch(_card_url(flowers), {**SECTIONS, "task_categories": ["tabular-classification"]})
    markdown = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/markdown").content.decode()
    copy = owner_client.post("/api/v1/datasets/", {"namespace": "garden", "name": "copy"}).json()

    response = owner_client.post(
        f"/api/v1/datasets/{copy['id']}/card/import", {"format": "huggingface", "content": markdown}
    )

    assert response.status_code == 200, response.content
    imported = response.json()
    assert {section: imported[section] for section in CARD_SECTIONS} == SECTIONS
    assert imported["task_categories"] == ["tabular-classification"]


def test_it_imports_a_card_written_from_the_hugging_face_template(owner_client, flowers):
    readme = """---
license: mit
task_categories:
- text-classification
---

# Dataset Card for Reviews

## Dataset Details

### Dataset Description

Product reviews with a sentiment label.

## Uses

### Direct Use

Sentiment classifiers.

### Out-of-Scope Use

[More Information Needed]

## Dataset Creation

### Curation Rationale

No public set in our domain.

#### Who are the annotators?

Three paid annotators.

## Bias, Risks, and Limitations

English only.

## Citation

**BibTeX:**

[More Information Needed]
"""
    response = owner_client.post(_card_url(flowers) + "import", {"format": "huggingface", "content": readme})

    card = response.json()
    assert card["summary"] == "Product reviews with a sentiment label."
    assert card["intended_uses"] == "Sentiment classifiers."
    assert card["motivation"] == "No public set in our domain."
    assert card["labeling"] == "Three paid annotators."
    assert card["biases_and_limitations"] == "English only."
    assert card["out_of_scope_uses"] == ""
    assert card["citation"] == "**BibTeX:**"
    assert card["task_categories"] == ["text-classification"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "huggingface", "content": "---\nlicense: [unclosed\n---\n# x"}, "content"),
        ({"format": "huggingface", "content": "---\nlicense: mit\n# never closed"}, "content"),
        ({"format": "huggingface", "content": {"not": "text"}}, "content"),
        ({"format": "huggingface", "content": "# Title only"}, "content"),
        ({"format": "croissant", "content": "not an object"}, "content"),
        ({"format": "datasheet", "content": ""}, "format"),
    ],
)
def test_it_rejects_documents_it_cannot_read(owner_client, flowers, body, field):
    response = owner_client.post(_card_url(flowers) + "import", body)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_the_croissant_export_carries_what_the_spec_requires(owner_client, flowers):
    owner_client.patch(_card_url(flowers), SECTIONS)

    response = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/croissant")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    document = response.json()
    for key in ("name", "description", "license", "url", "creator", "datePublished", "conformsTo"):
        assert document.get(key), key
    assert document["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert document["license"] == ["https://spdx.org/licenses/CC-BY-4.0.html"]
    assert document["rai:dataAnnotationProtocol"] == SECTIONS["labeling"]
    version = flowers.latest_version
    assert [(item["name"], item["sha256"]) for item in document["distribution"]] == [
        (entry["path"], entry["sha256"]) for entry in version.manifest
    ]
    (records,) = document["recordSet"]
    assert [field["name"] for field in records["field"]] == ["petal length", "petal width", "species"]
    assert [field["dataType"] for field in records["field"]] == ["sc:Float", "sc:Float", "sc:Text"]


@pytest.mark.parametrize(
    ("license", "expected"),
    [
        ("CC-BY-4.0", ["https://spdx.org/licenses/CC-BY-4.0.html"]),
        (
            "CC-BY-4.0 AND ODbL-1.0",
            ["https://spdx.org/licenses/CC-BY-4.0.html", "https://spdx.org/licenses/ODbL-1.0.html"],
        ),
        ("MIT OR Apache-2.0", "MIT OR Apache-2.0"),
        ("Apache-2.0 WITH LLVM-exception", "Apache-2.0 WITH LLVM-exception"),
        ("", "unknown"),
    ],
)
def test_the_croissant_license_keeps_exceptions_and_tells_and_from_or(owner_client, flowers, license, expected):
    Dataset.objects.filter(pk=flowers.pk).update(license=license)

    stated = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/croissant").json()["license"]

    if isinstance(expected, list) or expected == "unknown":
        assert stated == expected
    else:
        (work,) = stated
        assert work["@type"] == "sc:CreativeWork"
        assert work["name"] == expected


def test_the_croissant_export_names_where_the_api_serves_each_file(owner_client, flowers):
    document = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/croissant").json()

    (item,) = document["distribution"]
    assert item["contentUrl"] == f"http://testserver/api/v1/versions/{flowers.latest_version_id}/files/train.csv"
    assert item["encodingFormat"] == "text/csv"
    assert str(flowers.latest_version.uri.removeprefix("file://")) not in json.dumps(document)


def test_the_croissant_export_of_a_url_source_names_its_url(owner_client, flowers):
    DatasetVersion.objects.filter(pk=flowers.latest_version_id).update(uri="https://data.example.org/flowers/train.csv")

    document = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/croissant").json()

    (item,) = document["distribution"]
    assert item["contentUrl"] == "https://data.example.org/flowers/train.csv"
    assert item["encodingFormat"] == "text/csv"
    assert [field["source"]["fileObject"]["@id"] for field in document["recordSet"][0]["field"]] == [item["@id"]] * 3


def test_a_croissant_document_fills_the_card_s_responsible_ai_sections(owner_client, flowers):
    owner_client.patch(_card_url(flowers), SECTIONS)
    document = owner_client.get(f"/api/v1/datasets/{flowers.pk}/card/croissant").json()
    copy = owner_client.post("/api/v1/datasets/", {"namespace": "garden", "name": "copy"}).json()

    imported = owner_client.post(
        f"/api/v1/datasets/{copy['id']}/card/import", {"format": "croissant", "content": document}
    ).json()

    for section in ("summary", "citation", "collection", "preprocessing", "labeling", "personal_information"):
        assert imported[section] == SECTIONS[section], section
    assert imported["biases_and_limitations"] == SECTIONS["biases_and_limitations"]
    # What it is not for follows its use cases in the export, and comes back as its own section.
    assert document["rai:dataUseCases"] == "Teaching and benchmarks.\n\nNot intended for: Anything medical."
    assert imported["intended_uses"] == SECTIONS["intended_uses"]
    assert imported["out_of_scope_uses"] == SECTIONS["out_of_scope_uses"]


def test_it_numbers_the_classes_of_a_personal_data_label_in_the_facts_and_exports_for_other_readers(
    owner_client, stranger_client, flowers
):
    species = flowers.latest_version.features.get(name="species")
    decided = owner_client.patch(
        f"/api/v1/versions/{flowers.latest_version_id}/features/{species.position}/", {"pii": True}
    )
    assert decided.status_code == 200

    facts = stranger_client.get(_card_url(flowers)).json()["facts"]["version"]
    markdown = stranger_client.get(f"{_card_url(flowers)}markdown").content.decode()
    croissant = stranger_client.get(f"{_card_url(flowers)}croissant").content.decode()
    mine = owner_client.get(f"{_card_url(flowers)}markdown").content.decode()

    assert facts["class_counts"] == {"class 1": 10, "class 2": 10, "class 3": 10}
    assert facts["class_names_masked"] is True
    assert "numbered by size" in markdown
    assert "- class 1: 10 (33.3%)" in markdown
    for species_name in ("setosa", "versicolor", "virginica"):
        assert species_name not in markdown
        assert species_name not in croissant
        assert f"- {species_name}: 10 (33.3%)" in mine


def test_a_table_croissant_cannot_state_and_too_large_to_copy_is_flagged_not_exported_silently(
    owner_client, storage_root, monkeypatch, django_capture_on_commit_callbacks
):
    path = storage_root / "flowers.csv"
    path.write_text("petal;species\n" + "".join(f"{index / 10};setosa\n" for index in range(40)))
    monkeypatch.setattr("catalog.downloads.RENDITION_BUDGET_BYTES", 100)
    with django_capture_on_commit_callbacks(execute=True):
        created = owner_client.post(
            "/api/v1/datasets/", {"namespace": "garden", "name": "semi", "source": {"uri": str(path)}}, format="json"
        ).json()

    document = owner_client.get(f"/api/v1/datasets/{created['id']}/card/croissant").json()

    assert document["recordSet"] == []
    assert "separated by ';'" in document["rai:dataLimitations"]
    assert "Croissant cannot state" in document["rai:dataLimitations"]
    (item,) = document["distribution"]
    assert item["encodingFormat"] == "text/csv"
    assert item["sha256"] == Dataset.objects.get(pk=created["id"]).latest_version.manifest[0]["sha256"]


def test_each_split_of_the_hugging_face_card_has_its_bytes(
    owner_client, storage_root, django_capture_on_commit_callbacks
):
    folder = storage_root / "splits"
    for split, rows in (("train", 20), ("test", 10)):
        (folder / split).mkdir(parents=True)
        (folder / split / "data.csv").write_text("x,y\n" + "".join(f"{index},{index % 2}\n" for index in range(rows)))
    with django_capture_on_commit_callbacks(execute=True):
        created = owner_client.post(
            "/api/v1/datasets/",
            {
                "namespace": "garden",
                "name": "split",
                "source": {"uri": str(folder), "splits": {"train": "train/", "test": "test/"}},
            },
            format="json",
        ).json()

    meta, _ = _split(owner_client.get(f"/api/v1/datasets/{created['id']}/card/markdown").content.decode())

    splits = {split["name"]: split for split in meta["dataset_info"]["splits"]}
    assert splits["train"]["num_examples"] == 20
    assert splits["train"]["num_bytes"] == (folder / "train" / "data.csv").stat().st_size
    assert splits["test"]["num_bytes"] == (folder / "test" / "data.csv").stat().st_size
