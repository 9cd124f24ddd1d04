"""Over HTTP, with real workers: a folder of images, large enough to be shared by two workers as a
chord, and a corpus of documents."""

import pytest

from catalog.models import Thumbnail
from profiler import media
from tests.profiling.media_folders import draw, image_folder, text_corpus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _findings(version):
    return {finding["code"]: finding for finding in version["quality"]["findings"]}


def test_a_class_per_folder_image_dataset_is_profiled_by_the_workers(api, e2e_storage_root):
    root = image_folder(e2e_storage_root / "pets")
    for index in range(media.IMAGES_PER_PARTITION):  # one more partition: the workers share the folder
        draw(root / "train" / "bird" / f"{index:04d}.png", 10_000 + index, size=(24, 24))

    registered = api.register("pets", {"uri": str(root)}, license="CC-BY-4.0")
    version = api.wait(registered["latest_version"]["id"], timeout=180)

    assert version["status"] == "ready", version["error"]
    assert version["format"] == "images"
    assert version["row_count"] == 2_022
    assert version["file_count"] == 2_023
    quality = version["quality"]
    assert quality["class_counts"] == {"bird": 2_000, "cat": 14, "dog": 8}
    findings = _findings(version)
    assert "train/cat/broken.png" in findings["unreadable_files"]["message"]
    assert findings["label_conflicts"]["message"].endswith(
        "e.g. train/cat/000.png (cat) and train/dog/copy-of-cat.png (dog)."
    )
    assert "train/dog/001.png and test/dog/leaked.png" in findings["split_leakage"]["message"]
    assert findings["class_imbalance"]["feature"] == "label"
    assert quality["duplicates"]["near"]["examples"] == [["train/cat/001-large.jpg", "train/cat/001.png"]]
    features = {feature["name"]: feature for feature in version["features"]}
    assert features["width"]["statistics"]["min"] == 24
    assert features["height"]["statistics"]["max"] == 80
    assert Thumbnail.objects.filter(version_id=version["id"]).count() == 12

    # The audit sees the findings of the folder.
    audit = api.post("/api/v1/audits/", {"datasets": [registered["id"]], "purpose": {"commercial": False}}).json()
    assert {"label_conflicts", "split_leakage"} <= {finding["code"] for finding in audit["findings"]}


def test_a_text_corpus_gets_its_length_distribution_and_duplicates(api, e2e_storage_root):
    corpus = text_corpus(e2e_storage_root / "reviews")
    registered = api.register("reviews", {"uri": str(corpus)})
    version = api.wait(registered["latest_version"]["id"])

    assert version["status"] == "ready", version["error"]
    assert version["format"] == "text"
    features = {feature["name"]: feature for feature in version["features"]}
    lengths = sorted(len(path.read_text()) for path in corpus.rglob("*.txt"))
    characters = features["characters"]["statistics"]
    assert (characters["count"], characters["min"], characters["max"]) == (len(lengths), lengths[0], lengths[-1])
    assert sum(characters["histogram"]["counts"]) == len(lengths)
    assert set(characters["quantiles"]) == {"p1", "p5", "p25", "p50", "p75", "p95", "p99"}
    quality = version["quality"]
    assert quality["duplicates"]["exact"]["examples"] == [["neg/000.txt", "pos/copy.txt"]]
    assert quality["duplicates"]["near"]["examples"] == [["neg/002.txt", "neg/near.txt"]]
    assert {"duplicate_documents", "near_duplicate_documents", "empty_documents", "personal_data_in_text"} <= set(
        _findings(version)
    )
    sample = api.get(f"/api/v1/versions/{version['id']}/sample/").json()
    assert {"path", "characters", "text"} <= set(sample["columns"])
