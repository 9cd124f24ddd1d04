"""Folders of images and corpora of documents, profiled by the engine in process."""

from __future__ import annotations

import io
import json
import random

import numpy as np
import pytest
from PIL import Image

from profiler import engine, media
from profiler.files import SourceError, expand
from profiler.media import documents as media_documents
from profiler.media import items as media_items
from profiler.state import PartialProfile
from tests.profiling.media_folders import document, draw, image_folder, text_corpus


def profile(path, format, **options):
    return engine.profile_files(expand(path), format, options=engine.Options(**options), workers=1)


def codes(result):
    return {finding["code"] for finding in result["quality"]["findings"]}


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return image_folder(tmp_path_factory.mktemp("pets"))


@pytest.fixture(scope="module")
def images_profile(images):
    return profile(images, "images")


def test_a_class_folder_layout_gives_class_counts_and_splits(images_profile):
    quality = images_profile["quality"]
    # 9 drawn per split and class, plus the broken PNG, the large JPEG, the copy under dog and the leak.
    assert images_profile["row_count"] == 22
    assert quality["label_column"] == "label"
    assert quality["class_counts"] == {"cat": 14, "dog": 8}
    assert quality["imbalance_ratio"] == 1.75
    assert images_profile["splits"]["train"]["quality"]["class_counts"] == {"cat": 8, "dog": 4}
    assert images_profile["splits"]["test"]["row_count"] == 10
    names = [feature["name"] for feature in images_profile["features"]]
    assert names == [
        "path",
        "label",
        "split",
        "format",
        "mode",
        "channels",
        "width",
        "height",
        "aspect_ratio",
        "frames",
        "bytes",
    ]


def test_image_statistics_describe_every_readable_file(images_profile):
    features = {feature["name"]: feature for feature in images_profile["features"]}
    width = features["width"]["statistics"]
    assert width["count"] == 21
    assert width["null_count"] == 1  # the broken file
    assert images_profile["file_count"] == 23  # the README too
    assert (width["min"], width["max"]) == (48, 96)
    assert features["width"]["logical_type"] == "numeric"
    assert {item["value"]: item["count"] for item in features["format"]["statistics"]["top_values"]} == {
        "PNG": 20,
        "JPEG": 1,
    }
    assert features["bytes"]["statistics"]["null_count"] == 0


def test_a_corrupt_file_is_listed_not_fatal(images_profile):
    unreadable = images_profile["quality"]["unreadable"]
    assert unreadable["count"] == 1
    assert unreadable["examples"][0][0] == "train/cat/broken.png"
    assert "truncated" in unreadable["examples"][0][1]
    assert "unreadable_files" in codes(images_profile)


def test_duplicates_conflicts_and_leakage_name_the_images(images_profile):
    quality = images_profile["quality"]
    assert quality["duplicate_rows"] == 2
    assert sorted(quality["duplicates"]["exact"]["examples"]) == [
        ["test/dog/leaked.png", "train/dog/001.png"],
        ["train/cat/000.png", "train/dog/copy-of-cat.png"],
    ]
    assert quality["duplicates"]["near"]["examples"] == [["train/cat/001-large.jpg", "train/cat/001.png"]]
    assert quality["label_conflicts"]["groups"] == 1
    assert quality["label_conflicts"]["examples"] == [["train/cat/000.png (cat)", "train/dog/copy-of-cat.png (dog)"]]
    assert quality["split_leakage"]["between"] == {"train/test": 1}
    assert quality["split_leakage"]["examples"] == [
        {"splits": ["train", "test"], "rows": ["train/dog/001.png", "test/dog/leaked.png"]}
    ]
    assert {"label_conflicts", "split_leakage", "duplicate_images", "near_duplicate_images", "ignored_files"} <= codes(
        images_profile
    )
    # The path names an item: not an identifier finding, not associated with the label.
    assert not [entry for entry in images_profile["label_association"] if entry["feature"] == "path"]
    assert "identifier" not in codes(images_profile)


def test_thumbnails_are_small_reencoded_and_a_few_per_class(images_profile, images):
    thumbnails = images_profile["thumbnails"]
    by_label = {}
    for thumbnail in thumbnails:
        by_label.setdefault(thumbnail["label"], []).append(thumbnail["path"])
        picture = Image.open(io.BytesIO(thumbnail["content"]))
        assert picture.format == "JPEG"
        assert max(picture.size) <= media.THUMBNAIL_SIDE
        assert thumbnail["content"] != (images / thumbnail["path"]).read_bytes()
    assert by_label["cat"] == ["test/cat/000.png", "test/cat/001.png", "test/cat/002.png", "test/cat/003.png"]
    assert len(by_label["dog"]) == media.THUMBNAILS_PER_CLASS


def test_parts_merged_give_the_profile_of_the_whole(images, images_profile, monkeypatch):
    monkeypatch.setattr(media_items, "IMAGES_PER_PARTITION", 4)
    partitions, label, declared = engine.plan(expand(images), "images", None)
    assert len(partitions) == 6
    files = sorted(file.relative_path for file in expand(images))
    parts = [
        PartialProfile.from_bytes(
            engine.profile_partition(
                partition,
                file_index=files.index(partition.relative_path),
                label_column=label,
                declared=declared,
                options=engine.Options(),
            ).to_bytes()
        )
        for partition in reversed(partitions)
    ]
    merged = engine.merge_and_build(parts)
    for key in ("duplicate_rows", "class_counts", "label_conflicts", "split_leakage", "unreadable", "ignored_files"):
        assert merged["quality"][key] == images_profile["quality"][key], key
    assert merged["quality"]["duplicates"]["near"] == images_profile["quality"]["duplicates"]["near"]
    assert [thumbnail["path"] for thumbnail in merged["thumbnails"]] == [
        thumbnail["path"] for thumbnail in images_profile["thumbnails"]
    ]
    whole = {feature["name"]: feature["statistics"] for feature in images_profile["features"]}
    for feature in merged["features"]:
        for key in ("count", "null_count", "min", "max"):
            assert feature["statistics"][key] == whole[feature["name"]][key], (feature["name"], key)
        assert feature["statistics"]["mean"] == pytest.approx(whole[feature["name"]]["mean"])


def test_a_manifest_gives_the_labels(tmp_path):
    for index in range(4):
        draw(tmp_path / "images" / f"{index}.png", index)
    (tmp_path / "metadata.csv").write_text(
        "file_name,breed\nimages/0.png,poodle\nimages/1.png,poodle\nimages/2.png,beagle\nimages/gone.png,beagle\n"
    )
    result = profile(tmp_path, "images", label_column="breed")
    assert result["quality"]["class_counts"] == {"poodle": 2, "beagle": 1}
    assert result["quality"]["label_inferred"] is False
    assert "label_missing" in codes(result)  # images/3.png is not in the manifest
    missing = next(finding for finding in result["quality"]["findings"] if finding["code"] == "manifest_missing_files")
    assert "images/gone.png" in missing["message"]
    with pytest.raises(SourceError, match=r"'grade' is not a column of metadata\.csv"):
        profile(tmp_path, "images", label_column="grade")


def test_a_jsonl_manifest_with_a_path_column(tmp_path):
    draw(tmp_path / "a.png", 1)
    draw(tmp_path / "b.png", 2)
    (tmp_path / "labels.jsonl").write_text(
        json.dumps({"path": "a.png", "label": "x"}) + "\n" + json.dumps({"path": "b.png", "label": "y"}) + "\n"
    )
    assert profile(tmp_path, "images")["quality"]["class_counts"] == {"x": 1, "y": 1}


def test_declared_splits_replace_split_folders(images):
    result = profile(images, "images", splits={"train": "train/", "holdout": "test/cat/"})
    assert set(result["splits"]) == {"train", "holdout"}
    assert result["splits"]["holdout"]["row_count"] == 6
    # The leaked copy is in test/dog/, which no declared split holds.
    assert result["quality"]["split_leakage"]["rows"] == 0
    with pytest.raises(SourceError, match="'valid'"):
        profile(images, "images", splits={"train": "train/", "valid": "valid/"})


def test_a_folder_without_images_or_with_none_readable_fails_clearly(tmp_path):
    (tmp_path / "notes.md").write_text("no pictures")
    with pytest.raises(SourceError, match=r"holds no image files .*notes.md"):
        profile(tmp_path, "images")
    (tmp_path / "a.png").write_bytes(b"not a png at all")
    with pytest.raises(
        SourceError, match=r"No image of the source can be read .*a\.png is not an image Pillow can read"
    ):
        profile(tmp_path, "images")


def test_a_decompression_bomb_is_unreadable_not_decoded(tmp_path):
    Image.new("1", (14_000, 14_000)).save(tmp_path / "bomb.png")  # 196M pixels in a few kilobytes
    draw(tmp_path / "fine.png", 1)
    result = profile(tmp_path, "images")
    unreadable = dict(result["quality"]["unreadable"]["examples"])
    assert list(unreadable) == ["bomb.png"]
    assert "pixels" in unreadable["bomb.png"]


def test_other_formats_modes_and_animated_frames(tmp_path):
    draw(tmp_path / "a.jpg", 1, format="JPEG")
    Image.new("L", (10, 20)).save(tmp_path / "grey.bmp")
    Image.new("RGBA", (30, 10), (1, 2, 3, 100)).save(tmp_path / "alpha.webp")
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    result = profile(tmp_path, "images")
    assert result["quality"]["unreadable"]["count"] == 0
    features = {feature["name"]: feature["statistics"] for feature in result["features"]}
    assert {item["value"] for item in features["mode"]["top_values"]} == {"RGB", "L", "RGBA", "P"}
    assert features["frames"]["max"] == 3
    assert (features["channels"]["min"], features["channels"]["max"]) == (1, 4)
    assert result["quality"]["label_column"] is None
    assert len(result["thumbnails"]) == 4  # unlabelled images are one group


def test_hamming_pairs_find_exactly_the_close_hashes():
    rng = np.random.default_rng(7)
    hashes = rng.integers(0, 2**63, size=600, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    # Plant neighbours: flip up to 6 bits of some hashes.
    planted = hashes[:80].copy()
    for row in range(80):
        for bit in rng.choice(64, size=row % 7, replace=False):
            planted[row] ^= np.uint64(1) << np.uint64(int(bit))
    everything = np.concatenate([hashes, planted, np.full(100, 5, dtype=np.uint64)])  # and a long run of equals
    first, second = media.hamming_pairs(everything, 6)
    found = set(zip(first.tolist(), second.tolist(), strict=True))
    distances = np.bitwise_count(everything[:, None] ^ everything[None, :])
    expected = {(i, j) for i, j in zip(*np.nonzero(np.triu(distances <= 6, k=1)), strict=True)}
    within_runs = {(i, j) for i, j in expected if i >= 680 and j >= 680}
    # Outside the run of 100 equal hashes every close pair is found; inside it, each is joined to its
    # neighbours, which groups them all the same.
    assert expected - within_runs <= found
    assert found <= expected
    assert {(i, i + 1) for i in range(680, 779)} <= found


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return text_corpus(tmp_path_factory.mktemp("reviews"))


@pytest.fixture(scope="module")
def corpus_profile(corpus):
    return profile(corpus, "text")


def test_a_text_corpus_gets_its_length_distribution(corpus, corpus_profile):
    features = {feature["name"]: feature for feature in corpus_profile["features"]}
    assert list(features) == ["path", "label", "characters", "tokens", "lines", "language", "text"]
    lengths = sorted(len(path.read_text()) for path in corpus.rglob("*.txt"))
    characters = features["characters"]["statistics"]
    assert corpus_profile["row_count"] == len(lengths) == 25
    assert (characters["min"], characters["max"]) == (lengths[0], lengths[-1])
    assert characters["mean"] == pytest.approx(sum(lengths) / len(lengths))
    assert characters["histogram"]["kind"] == "equal_width"
    assert sum(characters["histogram"]["counts"]) == 25
    assert features["tokens"]["statistics"]["max"] >= 30
    assert corpus_profile["quality"]["class_counts"] == {"neg": 13, "pos": 12}


def test_text_duplicates_near_duplicates_and_empty_documents(corpus_profile):
    quality = corpus_profile["quality"]
    assert quality["duplicates"]["exact"]["examples"] == [["neg/000.txt", "pos/copy.txt"]]
    assert quality["duplicates"]["near"]["examples"] == [["neg/002.txt", "neg/near.txt"]]
    assert quality["label_conflicts"]["examples"] == [["neg/000.txt (neg)", "pos/copy.txt (pos)"]]
    assert quality["empty_documents"] == 1
    assert {"duplicate_documents", "near_duplicate_documents", "empty_documents", "label_conflicts"} <= codes(
        corpus_profile
    )


def test_language_and_personal_data_in_documents(corpus_profile):
    features = {feature["name"]: feature for feature in corpus_profile["features"]}
    languages = {item["value"]: item["count"] for item in features["language"]["statistics"]["top_values"]}
    assert languages["fr"] == 1
    assert languages["en"] >= 20
    assert corpus_profile["quality"]["pii_documents"]["email"] == 1
    assert features["text"]["pii"] is True
    assert "personal_data_in_text" in codes(corpus_profile)


def test_a_json_lines_corpus_reads_its_text_and_label_fields(tmp_path):
    lines = [json.dumps({"id": index, "review": document(index), "stars": str(1 + index % 5)}) for index in range(12)]
    lines.insert(3, "{not json")
    lines.append(json.dumps({"id": 99, "review": document(4), "stars": "9"}))
    (tmp_path / "reviews.jsonl").write_text("\n".join(lines) + "\n")
    result = profile(tmp_path, "text", label_column="stars")
    assert result["row_count"] == 13
    [(where, reason)] = result["quality"]["unreadable"]["examples"]
    assert where == "reviews.jsonl:4"
    assert reason.startswith("is not JSON")
    assert result["quality"]["class_counts"]["9"] == 1
    assert result["quality"]["label_conflicts"]["examples"] == [["reviews.jsonl:14 (9)", "reviews.jsonl:6 (5)"]]


def test_a_legacy_encoded_document_is_decoded(tmp_path):
    (tmp_path / "menu.txt").write_bytes("Café crème brûlée, très réussi, déjà vu.".encode("latin-1"))
    (tmp_path / "other.txt").write_text(document(1))
    result = profile(tmp_path, "text")
    text = next(feature for feature in result["features"] if feature["name"] == "text")
    assert "Café crème brûlée, très réussi, déjà vu." in {item["value"] for item in text["statistics"]["top_values"]}


def test_many_documents_spread_over_partitions_merge(tmp_path, monkeypatch):
    rng = random.Random(5)
    for index in range(40):
        (tmp_path / f"{index:02d}.txt").write_text(document(rng.randrange(1000)))
    (tmp_path / "copy.txt").write_text(document(7))
    (tmp_path / "07-again.txt").write_text(document(7))
    whole = profile(tmp_path, "text")
    monkeypatch.setattr(media_items, "DOCUMENTS_PER_PARTITION", 7)
    split = engine.profile_files(expand(tmp_path), "text", workers=2)
    assert split["quality"]["duplicates"] == whole["quality"]["duplicates"]
    assert split["row_count"] == whole["row_count"] == 42


def test_documents_are_profiled_a_batch_at_a_time_with_the_same_result(tmp_path, monkeypatch):
    lines = [json.dumps({"text": document(index % 9), "label": str(index % 3)}) for index in range(30)]
    lines.append(json.dumps({"text": "reach me at someone@example.com please", "label": "0"}))
    (tmp_path / "corpus.jsonl").write_text("\n".join(lines) + "\n")
    whole = profile(tmp_path, "text")
    monkeypatch.setattr(media_documents, "TEXT_BATCH_DOCUMENTS", 4)
    batched = profile(tmp_path, "text")
    for key in ("duplicate_rows", "duplicates", "class_counts", "label_conflicts", "pii_documents", "empty_documents"):
        assert batched["quality"][key] == whole["quality"][key], key
    assert batched["quality"]["pii_documents"]["email"] == 1
    by_name = {feature["name"]: feature["statistics"] for feature in whole["features"]}
    for feature in batched["features"]:
        assert feature["statistics"]["count"] == by_name[feature["name"]]["count"]
        assert feature["statistics"]["max"] == by_name[feature["name"]]["max"]
