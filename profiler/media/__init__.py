"""Folders of images and corpora of documents: what their layout says, and what is in them.

A folder of media is profiled as the table it implies, one row per image or document, with the
columns a person would ask about (`path`, `label`, `split`, `width`, `height`, `characters`, ...),
so the tabular engine gives every feature its statistics (histograms, quantiles, class balance).
What a table cannot say is kept beside it, one record per item: a content hash for exact
duplicates and a similarity key for near ones (a perceptual hash of an image, a MinHash of a
document's word shingles). Items that are the same or nearly the same form groups; a group under
two labels is a label conflict, a group in two splits is leakage.

Layouts (DESIGN §4):

- one folder per class, `poodle/001.jpg`, as torchvision's ImageFolder and Keras read them: the
  first folder below the source (or below a split folder) is the label;
- split folders above the classes, `train/poodle/001.jpg`, `test/...` (the names in
  `layout.SPLIT_ORDER`), or splits declared with the version, as for tables;
- a manifest at the top of the source (`metadata.csv`, as Hugging Face's imagefolder names it,
  `manifest.csv`, `labels.csv`, or the same as `.jsonl`) with a path column (`file_name`, `path`,
  ...) relative to the source and a label column (declared, or one of `layout.LABEL_NAMES`);
- a text corpus of `.txt` files (one document each, labelled by folder as above), or of JSON Lines
  files with one document per line: the text is the field named `text` (or `content`, `document`,
  ...), the label the declared field or one of `layout.LABEL_NAMES`.

Unreadable items are listed and counted, never fatal; files that are neither items nor the manifest
(a README, `.DS_Store`) are counted as ignored. Every file, those included, is in the fingerprint.

imagehash, datasketch, scipy and py3langid are imported where they are used: loading them takes over half a
second, which every profile of a table would otherwise pay at start.
"""

from __future__ import annotations

from profiler.formats import MEDIA_FORMATS
from profiler.media import documents, images
from profiler.media.folder import build
from profiler.media.groups import hamming_pairs
from profiler.media.images import THUMBNAIL_SIDE, THUMBNAILS_PER_CLASS
from profiler.media.items import DOCUMENTS_PER_PARTITION, IMAGES_PER_PARTITION, plan
from profiler.media.partition import Item, MediaPartition
from profiler.state import MediaState, PartialProfile

__all__ = [
    "DOCUMENTS_PER_PARTITION",
    "IMAGES_PER_PARTITION",
    "MEDIA_FORMATS",
    "THUMBNAILS_PER_CLASS",
    "THUMBNAIL_SIDE",
    "Item",
    "MediaPartition",
    "build",
    "hamming_pairs",
    "plan",
    "profile_partition",
]


def profile_partition(partition: MediaPartition, *, file_index: int, seed: int = 0) -> PartialProfile:
    if partition.format == "images":
        profile = images.profile_images(partition, file_index, seed)
    else:
        profile = documents.profile_text(partition, file_index, seed)
    assert profile.media is not None
    profile.media.ignored_count = len(partition.ignored)
    profile.media.ignored = list(partition.ignored[: MediaState.EXAMPLES_KEPT])
    profile.media.missing_count = len(partition.missing)
    profile.media.missing = list(partition.missing[: MediaState.EXAMPLES_KEPT])
    profile.media.file_count = len(partition.items) + len(partition.ignored) + (1 if partition.manifest else 0)
    return profile
