"""The file layer of the engine: which files a source has, their manifest and the fingerprint."""

import hashlib
import os

import pytest

from profiler.files import (
    SourceError,
    build_manifest,
    check_identities,
    expand,
    format_from_name,
    hash_file,
    manifest_fingerprint,
    read_bytes,
)

SECRET = b"patient-zero@example.org,HIV positive\n"


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


@pytest.fixture
def rooted(tmp_path):
    """A storage root holding a folder with one file, and a secret outside the root."""
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "set" / "inner").mkdir(parents=True)
    outside.mkdir()
    (outside / "secret.csv").write_bytes(SECRET)
    (root / "set" / "inner" / "data.csv").write_bytes(b"x\n1\n")
    return root.resolve(), outside.resolve()


def swap_for_link(path, target):
    """Replace `path` by a symbolic link to `target` in one step, as an attacker would."""
    staged = path.with_name(path.name + ".staged")
    staged.symlink_to(target, target_is_directory=target.is_dir())
    if path.is_dir():  # a folder cannot be renamed over: moved aside first
        path.rename(path.with_name(path.name + ".old"))
    staged.replace(path)


def test_it_refuses_a_file_swapped_for_a_link_after_the_source_was_expanded(rooted):
    root, outside = rooted
    [file] = expand(root / "set", confine_to=[root])
    swap_for_link(root / "set" / "inner" / "data.csv", outside / "secret.csv")

    with pytest.raises(SourceError, match=r"^inner/data\.csv was replaced by a symbolic link while it was being read"):
        build_manifest([file])
    with pytest.raises(SourceError, match="was replaced by a symbolic link") as refused:
        read_bytes(file, 1024)
    assert "HIV" not in str(refused.value)


def test_it_refuses_a_folder_on_the_path_swapped_for_a_link(rooted):
    root, outside = rooted
    (outside / "data.csv").write_bytes(SECRET)
    [file] = expand(root / "set", confine_to=[root])
    swap_for_link(root / "set" / "inner", outside)

    with pytest.raises(SourceError, match=r"inner/data\.csv was replaced by a symbolic link.*a folder on its path"):
        hash_file(file)


def test_it_refuses_a_file_replaced_by_another_file_or_modified_after_it_was_expanded(rooted):
    root, _ = rooted
    data = root / "set" / "inner" / "data.csv"
    [file] = expand(root / "set", confine_to=[root])
    (root / "set" / "other.csv").write_bytes(b"x\n2\n")
    (root / "set" / "other.csv").replace(data)

    with pytest.raises(SourceError, match=r"inner/data\.csv was replaced by another file while it was being read"):
        build_manifest([file])

    [file] = expand(root / "set", confine_to=[root])
    data.write_bytes(b"x\n1\n2\n")
    with pytest.raises(SourceError, match=r"inner/data\.csv was modified while it was being read"):
        build_manifest([file])


def test_the_identities_recorded_elsewhere_bind_the_files_read_again(rooted):
    """What a chord part does: its own expansion must find the files the first worker hashed."""
    root, _ = rooted
    first = expand(root / "set", confine_to=[root])
    recorded = {file.relative_path: file.identity.as_list() for file in first}

    assert check_identities(expand(root / "set", confine_to=[root]), recorded) == first
    (root / "set" / "inner" / "data.csv").write_bytes(b"y\n9\n9\n")
    with pytest.raises(SourceError, match=r"inner/data\.csv was modified"):
        check_identities(expand(root / "set", confine_to=[root]), recorded)
    (root / "set" / "late.csv").write_bytes(b"x\n")
    with pytest.raises(SourceError, match=r"late\.csv was added"):
        check_identities(expand(root / "set", confine_to=[root]), recorded)


def test_it_refuses_a_file_with_other_hard_links_unless_they_are_allowed(rooted):
    root, outside = rooted
    os.link(outside / "secret.csv", root / "set" / "linked.csv")

    with pytest.raises(SourceError, match=r"^linked\.csv has other hard links") as refused:
        expand(root / "set", confine_to=[root])
    assert "CATALOG_ALLOW_HARD_LINKS" in str(refused.value)
    allowed = expand(root / "set", confine_to=[root], allow_hard_links=True)
    assert [file.relative_path for file in allowed] == ["linked.csv", "inner/data.csv"]
    assert build_manifest(allowed)[1].sha256 == hashlib.sha256(SECRET).hexdigest()


def test_a_link_that_stays_inside_is_read_from_the_file_it_leads_to(rooted):
    root, _ = rooted
    (root / "set" / "alias.csv").symlink_to(root / "set" / "inner" / "data.csv")

    files = expand(root / "set", confine_to=[root])

    assert [(file.relative_path, file.path) for file in files] == [
        ("alias.csv", root / "set" / "inner" / "data.csv"),
        ("inner/data.csv", root / "set" / "inner" / "data.csv"),
    ]
    assert {entry.sha256 for entry in build_manifest(files)} == {hashlib.sha256(b"x\n1\n").hexdigest()}


def test_bytes_rewritten_in_place_with_the_old_modification_time_are_still_caught(rooted):
    root, _ = rooted
    data = root / "set" / "inner" / "data.csv"
    before = data.stat()
    [file] = expand(root / "set", confine_to=[root])
    data.write_bytes(b"x\n9\n")  # same size
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))

    with pytest.raises(SourceError, match=r"inner/data\.csv was modified while it was being read"):
        build_manifest([file])
