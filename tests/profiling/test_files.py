"""The file layer of the engine: which files a source has, their manifest and the fingerprint."""

import hashlib
import os

import pytest

from catalog.profiling.files import (
    SourceError,
    build_manifest,
    expand,
    format_from_name,
    manifest_fingerprint,
)


def fingerprint_of(source, **kwargs) -> str:
    return manifest_fingerprint(build_manifest(expand(source, **kwargs)))


def test_it_names_a_single_file_by_its_name(tmp_path):
    path = tmp_path / "data.csv"
    path.write_bytes(b"a,b\n1,2\n")

    [entry] = build_manifest(expand(path))

    assert entry.path == "data.csv"
    assert entry.size == 8
    assert entry.sha256 == hashlib.sha256(b"a,b\n1,2\n").hexdigest()


def test_it_lists_a_directory_recursively_in_path_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.jsonl").write_text("{}\n")
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "b" / "1.jsonl").write_text("{}\n")

    assert [entry.path for entry in build_manifest(expand(tmp_path))] == ["a.jsonl", "b/1.jsonl", "b/2.jsonl"]


def test_it_expands_a_glob_relative_to_its_fixed_part(tmp_path):
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "part-0.parquet").write_bytes(b"x")
    (tmp_path / "train" / "part-1.parquet").write_bytes(b"y")
    (tmp_path / "train" / "_SUCCESS").write_bytes(b"")

    files = expand(str(tmp_path / "train" / "*.parquet"))

    assert [file.relative_path for file in files] == ["part-0.parquet", "part-1.parquet"]


def test_the_fingerprint_follows_bytes_names_and_presence(tmp_path):
    (tmp_path / "a.csv").write_text("x\n1\n")
    (tmp_path / "b.csv").write_text("x\n2\n")
    original = fingerprint_of(tmp_path)

    assert fingerprint_of(tmp_path) == original  # stable
    (tmp_path / "b.csv").write_text("x\n3\n")
    changed_bytes = fingerprint_of(tmp_path)
    (tmp_path / "b.csv").rename(tmp_path / "c.csv")
    renamed = fingerprint_of(tmp_path)
    (tmp_path / "d.csv").write_text("")
    added_empty = fingerprint_of(tmp_path)

    assert len({original, changed_bytes, renamed, added_empty}) == 4
    assert original.startswith("sha256:")
    assert len(original) == len("sha256:") + 64


def test_the_fingerprint_does_not_depend_on_where_the_data_lives(tmp_path):
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "data.csv").write_text("x\n1\n")

    assert fingerprint_of(tmp_path / "one") == fingerprint_of(tmp_path / "two")


def test_it_refuses_a_symlink_that_leads_out_of_the_allowed_roots(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", root / "link.csv")
    (root / "ok.csv").write_text("x\n")

    with pytest.raises(SourceError, match="outside the allowed storage roots"):
        expand(root, confine_to=[root])


def test_it_accepts_symlinks_that_stay_inside(tmp_path):
    (tmp_path / "real.csv").write_text("x\n")
    os.symlink(tmp_path / "real.csv", tmp_path / "alias.csv")

    files = expand(tmp_path / "alias.csv", confine_to=[tmp_path])

    assert [file.relative_path for file in files] == ["alias.csv"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda root: root / "missing.csv", "does not exist"),
        (lambda root: (root / "empty").mkdir() or root / "empty", "contains no files"),
        (lambda root: str(root / "*.nothing"), "contains no files"),
    ],
)
def test_it_explains_an_unusable_source(tmp_path, make, message):
    with pytest.raises(SourceError, match=message):
        expand(make(tmp_path))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("train.csv", "csv"),
        ("TRAIN.CSV.GZ", "csv"),
        ("x.tsv", "tsv"),
        ("part-0.snappy.parquet", "parquet"),
        ("events.ndjson.gz", "jsonl"),
        ("dog.JPEG", "images"),
        ("corpus.txt", "text"),
        ("archive.gz", None),
        ("README", None),
    ],
)
def test_it_tells_the_format_from_a_name(name, expected):
    assert format_from_name(name) == expected


def test_a_confined_walk_refuses_links_that_lead_out_and_never_follows_linked_folders(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "set" / "inner").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.txt").write_text("not yours")
    (root / "set" / "a.txt").write_text("a")
    (root / "set" / "inner" / "b.txt").write_text("b")
    (root / "set" / "same.txt").symlink_to(root / "set" / "a.txt")  # a link that stays inside
    (root / "set" / "away").symlink_to(outside, target_is_directory=True)  # a linked folder: not walked
    names = [file.relative_path for file in expand(root / "set", confine_to=[root])]
    assert names == ["a.txt", "same.txt", "inner/b.txt"]

    (root / "set" / "leak.txt").symlink_to(outside / "secret.txt")
    with pytest.raises(SourceError, match=r"leak\.txt resolves to a location outside"):
        expand(root / "set", confine_to=[root])
    (root / "elsewhere").symlink_to(outside, target_is_directory=True)
    with pytest.raises(SourceError, match="outside the allowed storage roots"):
        expand(root / "elsewhere", confine_to=[root])
