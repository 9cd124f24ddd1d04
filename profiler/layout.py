"""How a source's names say what its parts are: which column is the label, which files form a
split, and in which order people read the splits. Shared by tables and folders of media."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from profiler.files import SourceError

# Column names taken as the label when none is declared (compared case-insensitively).
LABEL_NAMES = ("label", "labels", "target", "class", "y", "category", "outcome")

SPLIT_ORDER = ("train", "training", "validation", "valid", "val", "dev", "test", "testing", "holdout")
SPLIT_FOLDERS = frozenset(SPLIT_ORDER)

# The files of folders of media, by suffix, and the names a manifest of one has at its top.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp", ".tif", ".tiff"})
TEXT_SUFFIXES = frozenset({".txt"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
MANIFEST_NAMES = frozenset(
    f"{stem}{suffix}" for stem in ("metadata", "manifest", "labels") for suffix in (".csv", ".jsonl")
)


def split_of(relative_path: str, splits: Mapping[str, str]) -> str | None:
    """The split a file of the source belongs to, if any; a file in two splits is an error."""
    found = [name for name, pattern in splits.items() if _matches(relative_path, pattern)]
    if len(found) > 1:
        raise SourceError(
            f"{relative_path} is in more than one split ({', '.join(found)}): make the splits' patterns exclusive."
        )
    return found[0] if found else None


def _matches(relative_path: str, pattern: str) -> bool:
    pattern = pattern.strip().removeprefix("./")
    if pattern.endswith("/"):
        return relative_path.startswith(pattern)
    return relative_path == pattern or fnmatch.fnmatchcase(relative_path, pattern)


def split_order(names: Iterable[str]) -> list[str]:
    """Splits in the order people read them: training, then validation, then test; others by name."""
    known = {name: position for position, name in enumerate(SPLIT_ORDER)}
    return sorted(names, key=lambda name: (known.get(name.lower(), len(SPLIT_ORDER)), name))
