"""The profile of a whole folder of media from its merged parts: the implicit table's profile, with
duplicates, near duplicates, label conflicts, leakage and unreadable files."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from profiler import report
from profiler.findings import finding, sort_findings
from profiler.layout import (
    split_order,
)
from profiler.media.documents import MINHASH_PERMUTATIONS, SHINGLE_WORDS
from profiler.media.groups import NEAR_IMAGE_BITS, NEAR_TEXT_JACCARD, exact_groups, similar_groups
from profiler.media.images import THUMBNAILS_PER_CLASS
from profiler.result import Finding, LeakageExample, Profile, SplitLeakage, SplitSummary, Thumbnail
from profiler.state import MediaState, PartialProfile

THUMBNAIL_CLASSES = 50
EXAMPLES = 5
PII_NAMES = {
    "email": "e-mail addresses",
    "phone": "phone numbers",
    "ip_address": "IP addresses",
    "card_number": "card numbers",
}
# Columns that count things: their logical type is numeric whatever their values look like.
COUNT_COLUMNS = frozenset({"width", "height", "bytes", "channels", "frames", "characters", "tokens", "lines"})
KEPT_TABLE_FINDINGS = frozenset({"class_imbalance", "label_missing", "label_leakage", "mostly_missing"})


def build(profile: PartialProfile) -> Profile:
    """The profile of a folder of media: its implicit table's profile, with duplicates, near
    duplicates, label conflicts and leakage found among its items, and its unreadable files."""
    media = profile.media
    assert media is not None
    built = report.build(profile)
    records = media.records
    assert records is not None
    content = records.column("content").to_pylist()
    exact = exact_groups(content)
    groups = similar_groups(media.kind, records, exact)
    quality = built["quality"]
    noun = "images" if media.kind == "images" else "documents"
    # Of the implicit table's findings, those about the labels and what predicts them; its columns
    # are facts about files (a constant mode or correlated width and height says nothing about the data).
    findings = [
        entry
        for entry in quality["findings"]
        if entry["code"] in KEPT_TABLE_FINDINGS and entry.get("feature") != "path" and "'path'" not in entry["message"]
    ]
    paths = records.column("path").to_pylist()
    labels = records.column("label").to_pylist()
    splits = records.column("split").to_pylist()

    duplicates = sum(len(members) - 1 for members in exact)
    near = [members for members in groups if len({content[index] for index in members}) > 1]
    conflicts = [members for members in groups if len({labels[index] for index in members} - {None}) > 1]
    leaking = [members for members in groups if len({splits[index] for index in members} - {None}) > 1]

    quality["duplicate_rows"] = duplicates
    quality["duplicates"] = {
        "exact": {"groups": len(exact), "items": sum(map(len, exact)), "examples": _examples(exact, paths)},
        "near": {"groups": len(near), "items": sum(map(len, near)), "examples": _examples(near, paths)},
        "method": (
            f"exact: sha256 of the bytes; near: perceptual hash (64-bit DCT) within {NEAR_IMAGE_BITS} bits"
            if media.kind == "images"
            else f"exact: sha256 of the text with whitespace collapsed; near: MinHash ({MINHASH_PERMUTATIONS} "
            f"permutations) of word {SHINGLE_WORDS}-grams, estimated Jaccard similarity at least {NEAR_TEXT_JACCARD}"
        ),
    }
    quality["label_conflicts"] = {
        "groups": len(conflicts),
        "rows": sum(map(len, conflicts)),
        "examples": [
            [f"{paths[index]} ({labels[index]})" for index in sorted(members, key=lambda i: paths[i])[:4]]
            for members in conflicts[:EXAMPLES]
        ],
    }
    quality["split_leakage"] = _leakage(leaking, paths, splits)
    quality["unreadable"] = {"count": media.unreadable_count, "examples": media.unreadable[:EXAMPLES]}
    quality["ignored_files"] = {"count": media.ignored_count, "examples": media.ignored[:EXAMPLES]}

    if media.unreadable_count:
        shown = "; ".join(f"{path} {reason}" for path, reason in media.unreadable[:3])
        findings.append(
            finding(
                "error",
                "unreadable_files",
                None,
                f"Unreadable: {media.unreadable_count:,} of "
                f"{profile.rows + (media.unreadable_count if media.kind == 'text' else 0):,} {noun} ({shown}); "
                "the statistics that need their content leave them out.",
            )
        )
    if duplicates:
        findings.append(
            finding(
                "warning",
                f"duplicate_{noun}",
                None,
                f"Exact copies of another of the {noun}: {duplicates:,} (in {_many(len(exact), 'group')}), e.g. "
                f"{' and '.join(sorted(paths[index] for index in exact[0])[:3])}.",
            )
        )
    if near:
        findings.append(
            finding(
                "warning",
                f"near_duplicate_{noun}",
                None,
                f"Near-identical {noun}: {_many(len(near), 'group')} of {sum(map(len, near)):,}, e.g. "
                f"{' and '.join(sorted(paths[index] for index in near[0])[:3])}.",
            )
        )
    if conflicts:
        shown = " and ".join(quality["label_conflicts"]["examples"][0])
        findings.append(
            finding(
                "error",
                "label_conflicts",
                "label",
                f"Identical or near-identical {noun} under different labels: {_many(len(conflicts), 'group')} "
                f"of {sum(map(len, conflicts)):,}, e.g. {shown}.",
            )
        )
    if leaking:
        leakage = quality["split_leakage"]
        pairs = ", ".join(f"{pair.replace('/', ' and ')}: {count:,}" for pair, count in leakage["between"].items())
        example = " and ".join(leakage["examples"][0]["rows"])
        findings.append(
            finding(
                "error",
                "split_leakage",
                None,
                f"The same or near-identical {noun} in more than one split: {len(leaking):,} ({pairs}), "
                f"e.g. {example}; a model would be evaluated on {noun} it was trained on.",
            )
        )
    if media.missing_count:
        findings.append(
            finding(
                "warning",
                "manifest_missing_files",
                None,
                f"Rows of the manifest naming files the source does not hold: {media.missing_count:,}, e.g. "
                f"{', '.join(media.missing[:3])}.",
            )
        )
    if media.ignored_count:
        findings.append(
            finding(
                "info",
                "ignored_files",
                None,
                f"Files that are not {noun}, so not profiled (the fingerprint covers them): {media.ignored_count:,}, "
                f"e.g. {', '.join(media.ignored[:3])}.",
            )
        )
    if media.kind == "text":
        findings += _text_findings(built, media, profile.rows)
    for feature in built["features"]:
        if feature["name"] in COUNT_COLUMNS and feature["logical_type"] in ("identifier", "categorical"):
            feature["logical_type"], feature["role"] = "numeric", "feature"
    quality["findings"] = sort_findings(findings)
    built["label_association"] = [entry for entry in built["label_association"] if entry["feature"] != "path"]
    built["splits"] = _split_summaries(labels, splits, exact_duplicates=_duplicates_by_split(exact, splits))
    built["file_count"] = media.file_count
    built["media"] = {"kind": media.kind, "items": profile.rows, "files": media.file_count}
    built["thumbnails"] = _chosen_thumbnails(media, quality.get("class_counts") or {})
    return built


def _many(count: int, noun: str) -> str:
    """'1 image', '2 images'; `noun` is given in the plural or singular, and a trailing "s" decides."""
    singular = noun[:-1] if noun.endswith("s") else noun
    return f"{count:,} {singular if count == 1 else singular + 's'}"


def _text_findings(built: Profile, media: MediaState, rows: int) -> list[Finding]:
    findings = []
    characters = next(feature for feature in built["features"] if feature["name"] == "characters")
    empty = int(characters["statistics"].get("zeros") or 0)
    built["quality"]["empty_documents"] = empty
    if empty:
        findings.append(
            finding(
                "warning",
                "empty_documents",
                "text",
                f"Empty documents: {empty:,} ({empty / rows:.1%}).",
            )
        )
    built["quality"]["pii_documents"] = dict(media.pii_documents)
    found = {kind: count for kind, count in media.pii_documents.items() if count}
    if found:
        text = next(feature for feature in built["features"] if feature["name"] == "text")
        text["pii"] = True
        text["pii_kinds"] = sorted(found)
        text["statistics"]["pii_kinds"] = sorted(found)
        shown = "; ".join(f"{PII_NAMES[kind]} in {count:,}" for kind, count in sorted(found.items()))
        findings.append(
            finding(
                "warning",
                "personal_data_in_text",
                "text",
                f"Documents holding what looks like personal data: {shown}; review them before training.",
            )
        )
    return findings


def _examples(groups: list[list[int]], paths: list[str]) -> list[list[str]]:
    return [sorted(paths[index] for index in members)[:4] for members in groups[:EXAMPLES]]


def _leakage(groups: list[list[int]], paths: list[str], splits: list[str | None]) -> SplitLeakage:
    between: Counter[str] = Counter()
    examples: list[LeakageExample] = []
    for members in groups:
        by_split: dict[str, str] = {}
        for index in sorted(members, key=lambda i: paths[i]):
            if splits[index] is not None:
                by_split.setdefault(str(splits[index]), paths[index])
        names = split_order(by_split)
        for position, first in enumerate(names):
            for second in names[position + 1 :]:
                between[f"{first}/{second}"] += 1
                if len(examples) < EXAMPLES:
                    examples.append({"splits": [first, second], "rows": [by_split[first], by_split[second]]})
    return {"rows": len(groups), "between": dict(between), "examples": examples}


def _duplicates_by_split(exact: list[list[int]], splits: list[str | None]) -> Counter[str | None]:
    counted: Counter[str | None] = Counter()
    for members in exact:
        for split, count in Counter(splits[index] for index in members).items():
            counted[split] += count - 1
    return counted


def _split_summaries(
    labels: list[str | None], splits: list[str | None], *, exact_duplicates: Counter[str | None]
) -> dict[str, SplitSummary]:
    names = split_order({split for split in splits if split is not None})
    summaries: dict[str, SplitSummary] = {}
    for name in names:
        counts = Counter(
            label for label, split in zip(labels, splits, strict=True) if split == name and label is not None
        )
        class_counts = dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))
        summaries[name] = {
            "row_count": sum(1 for split in splits if split == name),
            "quality": {
                "duplicate_rows": exact_duplicates.get(name, 0),
                "class_counts": class_counts,
                "imbalance_ratio": round(max(counts.values()) / min(counts.values()), 4) if counts else None,
            },
        }
    return summaries


def _chosen_thumbnails(media: MediaState, class_counts: Mapping[str, int]) -> list[Thumbnail]:
    """A few thumbnails of each class, the largest classes first (unlabelled images as one group)."""
    order = list(class_counts) + sorted(label for label in media.thumbnails if label not in class_counts)
    chosen: list[Thumbnail] = []
    for label in order[:THUMBNAIL_CLASSES]:
        for path, content, width, height in media.thumbnails.get(label, [])[:THUMBNAILS_PER_CLASS]:
            chosen.append({"label": label or None, "path": path, "content": content, "width": width, "height": height})
    return chosen
