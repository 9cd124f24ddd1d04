"""A data card as a Hugging Face dataset card: YAML front matter (license, pretty_name,
size_categories, task_categories, dataset_info), then one Markdown section per card section.

What the catalog adds (statistics, license terms, owners, fingerprint) sits between
`<!-- catalog:facts -->` markers, so reading an exported card back gives the card people wrote.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from catalog.models import CARD_SECTIONS
from config import errors

HEADINGS = {
    "summary": "Dataset Summary",
    "citation": "Citation",
    "people": "People",
    "motivation": "Motivation",
    "intended_uses": "Intended Uses",
    "out_of_scope_uses": "Out-of-Scope Uses",
    "composition": "Composition",
    "collection": "Collection Process",
    "preprocessing": "Preprocessing and Cleaning",
    "labeling": "Labeling",
    "personal_information": "Personal and Sensitive Information",
    "biases_and_limitations": "Bias, Risks, and Limitations",
    "distribution": "Distribution and License",
    "maintenance": "Maintenance",
}

# Headings of the Hugging Face dataset card template (and common variants), read into our sections.
READ_AS = {
    **{heading.lower(): section for section, heading in HEADINGS.items()},
    "dataset description": "summary",
    "dataset card for": "summary",
    "citation information": "citation",
    "bibtex": "citation",
    "dataset card authors": "people",
    "dataset card contact": "people",
    "dataset curators": "people",
    "curation rationale": "motivation",
    "uses": "intended_uses",
    "direct use": "intended_uses",
    "out-of-scope use": "out_of_scope_uses",
    "dataset structure": "composition",
    "data instances": "composition",
    "data fields": "composition",
    "data splits": "composition",
    "source data": "collection",
    "data collection and processing": "collection",
    "who are the source data producers?": "collection",
    "annotations": "labeling",
    "annotation process": "labeling",
    "who are the annotators?": "labeling",
    "personal and sensitive information": "personal_information",
    "bias, risks, and limitations": "biases_and_limitations",
    "recommendations": "biases_and_limitations",
    "discussion of biases": "biases_and_limitations",
    "other known limitations": "biases_and_limitations",
    "licensing information": "distribution",
    "maintenance": "maintenance",
}

FACTS_START, FACTS_END = "<!-- catalog:facts -->", "<!-- /catalog:facts -->"
# What the Hugging Face template writes where nothing was said.
PLACEHOLDERS = re.compile(r"\[More Information Needed\]\s*")

# SPDX ids whose Hugging Face hub license slug is not the id in lower case.
HUB_LICENSES = {
    "ODbL-1.0": "odbl",
    "ODC-By-1.0": "odc-by",
    "PDDL-1.0": "pddl",
    "C-UDA-1.0": "c-uda",
    "GPL-2.0-only": "gpl-2.0",
    "GPL-2.0-or-later": "gpl-2.0",
    "GPL-3.0-only": "gpl-3.0",
    "GPL-3.0-or-later": "gpl-3.0",
    "LGPL-2.1-only": "lgpl-2.1",
    "LGPL-2.1-or-later": "lgpl-2.1",
    "LGPL-3.0-only": "lgpl-3.0",
    "LGPL-3.0-or-later": "lgpl-3.0",
    "AGPL-3.0-only": "agpl-3.0",
    "AGPL-3.0-or-later": "agpl-3.0",
    "LicenseRef-OpenRAIL": "openrail",
    "LicenseRef-BigScience-OpenRAIL-M": "bigscience-openrail-m",
    "LicenseRef-CreativeML-OpenRAIL-M": "creativeml-openrail-m",
    "LicenseRef-BigScience-BLOOM-RAIL-1.0": "bigscience-bloom-rail-1.0",
    "LicenseRef-BigCode-OpenRAIL-M": "bigcode-openrail-m",
    "LicenseRef-OpenRAIL-PlusPlus": "openrail++",
}
# Slugs the hub knows that are an SPDX id in lower case (https://huggingface.co/docs/hub/repositories-licenses).
HUB_LOWERCASE = {
    "apache-2.0", "mit", "afl-3.0", "artistic-2.0", "bsl-1.0", "bsd-2-clause", "bsd-3-clause",
    "bsd-3-clause-clear", "cc0-1.0", "cc-by-2.0", "cc-by-2.5", "cc-by-3.0", "cc-by-4.0", "cc-by-sa-3.0",
    "cc-by-sa-4.0", "cc-by-nc-2.0", "cc-by-nc-3.0", "cc-by-nc-4.0", "cc-by-nd-4.0", "cc-by-nc-nd-3.0",
    "cc-by-nc-nd-4.0", "cc-by-nc-sa-2.0", "cc-by-nc-sa-3.0", "cc-by-nc-sa-4.0", "cdla-sharing-1.0",
    "cdla-permissive-1.0", "cdla-permissive-2.0", "wtfpl", "ecl-2.0", "epl-1.0", "epl-2.0", "eupl-1.1",
    "isc", "lppl-1.3c", "ms-pl", "mpl-2.0", "osl-3.0", "postgresql", "ofl-1.1", "ncsa", "unlicense", "zlib",
    "etalab-2.0", "eupl-1.2",
}  # fmt: skip

SIZE_CATEGORIES = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
]


def hub_license(spdx_id: str) -> str | None:
    if spdx_id in HUB_LICENSES:
        return HUB_LICENSES[spdx_id]
    return spdx_id.lower() if spdx_id.lower() in HUB_LOWERCASE else None


def size_category(rows: int) -> str:
    return next((name for limit, name in SIZE_CATEGORIES if rows < limit), "n>1T")


def hub_dtype(dtype: str) -> str:
    """An Arrow type as the `datasets` library names it."""
    lowered = dtype.lower()
    if lowered in ("double", "float64"):
        return "float64"
    if lowered in ("float", "float32", "halffloat", "float16"):
        return "float32" if "16" not in lowered else "float16"
    if lowered.startswith(("int", "uint")) or lowered == "bool":
        return lowered
    if lowered.startswith("date32"):
        return "date32"
    if lowered.startswith("timestamp"):
        return lowered
    return "string"


def hub_licenses(terms: dict[str, Any] | None) -> str | list[str] | None:
    """The hub's `license` for an expression's terms, when its slugs say it all: one license, or licenses
    that all apply (AND; the hub lists them). A choice (OR) or an exception (WITH) has no slug: None."""
    if terms is None:
        return None
    parts = terms.get("all_of", [terms])
    if any("license" not in part or part["exception"] for part in parts):
        return None
    slugs = [hub_license(part["license"]) for part in parts]
    if not all(slugs):
        return None
    return slugs[0] if len(slugs) == 1 else [slug for slug in slugs if slug]


_LIST = re.compile(r"^(?:large_|fixed_size_)?list<[^:<>]+: ([^<>]+)>(?:\[\d+\])?$")


def hub_feature(name: str, dtype: str) -> dict[str, str]:
    """A feature as `datasets` reads it from a card: a value, or a list of values."""
    listed = _LIST.match(dtype.lower())
    if listed:
        return {"name": name, "list": hub_dtype(listed.group(1))}
    return {"name": name, "dtype": hub_dtype(dtype)}


def front_matter(facts: dict[str, Any], card: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"pretty_name": facts["name"]}
    license_facts = facts["license"]
    slugs = hub_licenses(license_facts.get("terms"))
    if not license_facts["expression"] or license_facts.get("terms") is None:
        data["license"] = "unknown"
    elif slugs is not None:
        data["license"] = slugs
    else:
        # The whole SPDX expression, so that a choice stays a choice and an exception stays with its license.
        data["license"] = "other"
        data["license_name"] = license_facts["expression"]
        if license_facts["licenses"]:
            data["license_link"] = license_facts["licenses"][0]["url"]
    if card is not None and card.task_categories:
        data["task_categories"] = list(card.task_categories)
    version = facts["version"]
    if version and version["row_count"] is not None:
        data["size_categories"] = [size_category(version["row_count"])]
        info: dict[str, Any] = {
            "features": [hub_feature(feature["name"], feature["dtype"]) for feature in version["features"]],
            "dataset_size": version["size_bytes"],
        }
        info["splits"] = _splits(version)
        data["dataset_info"] = info
    return data


def _splits(version: dict[str, Any]) -> list[dict[str, Any]]:
    """The splits as `datasets` reads them: name, examples and bytes (the sizes of the split's files)."""
    if not version["splits"]:
        return [{"name": "train", "num_bytes": version["size_bytes"] or 0, "num_examples": version["row_count"]}]
    sizes = {entry["path"]: entry["size"] for entry in version["manifest"]}
    return [
        {
            "name": name,
            "num_bytes": sum(sizes.get(path, 0) for path in split["files"]),
            "num_examples": split["row_count"] or 0,
        }
        for name, split in version["splits"].items()
    ]


def _facts_block(section: str, facts: dict[str, Any]) -> str:
    version = facts["version"]
    lines: list[str] = []
    if section == "composition" and version:
        lines.append(
            f"Version {version['number']}: {version['row_count'] if version['row_count'] is not None else 'unknown'} "
            f"rows, {len(version['features'])} features, {version['file_count'] or 0} file(s), "
            f"{version['size_bytes'] or 0} bytes ({version['status']})."
        )
        if version["features"]:
            lines += ["", "| feature | type | logical type | role |", "|---|---|---|---|"]
            lines += [
                f"| {feature['name']} | {feature['dtype']} | {feature['logical_type'] or '—'} | {feature['role']} |"
                for feature in version["features"]
            ]
        if version["class_counts"]:
            total = sum(version["class_counts"].values()) or 1
            lines += ["", f"Class balance of `{version['label_column']}`:", ""]
            if version.get("class_names_masked"):
                lines += ["Its classes are personal data: numbered by size here, named to its owners and stewards.", ""]
            lines += [
                f"- {label}: {count} ({count / total:.1%})"
                for label, count in sorted(version["class_counts"].items(), key=lambda item: -item[1])
            ]
        if version["splits"]:
            lines += [
                "",
                "Splits: " + ", ".join(f"{name} ({s['row_count']} rows)" for name, s in version["splits"].items()),
            ]
    elif section == "distribution":
        expression = facts["license"]["expression"] or "unknown (never treated as permissive)"
        lines.append(f"License: {expression}.")
        if " OR " in expression or " AND " in expression or " WITH " in expression:
            lines.append(
                "(SPDX: with AND every license applies, with OR the licensee chooses one, "
                "WITH adds the named exception to its license.)"
            )
        for entry in facts["license"]["licenses"]:
            allowed = [term for term, value in entry["terms"].items() if value]
            lines.append(
                f"- {entry['spdx_id']} ({entry['name']}, {entry['url']}): {', '.join(allowed) or 'terms not stated'}."
            )
        if version:
            lines.append(
                f"Fingerprint of version {version['number']}: `{version['fingerprint'] or 'not computed yet'}`."
            )
    elif section == "people" and facts["owners"]:
        lines.append(people_line(facts["owners"]))
    if not lines:
        return ""
    return "\n".join([FACTS_START, *lines, FACTS_END])


# Who a card names, by role: its owners are its creators; stewards and custodians are not credited as such.
PEOPLE_ROLES = (("owner", "Created by"), ("steward", "stewarded by"), ("custodian", "in the custody of"))


def people_line(owners: list[dict[str, Any]]) -> str:
    """The credit line of a card: creators (owners) first, then the others, each named once."""
    parts, named = [], set()
    for role, words in PEOPLE_ROLES:
        names = [name for name in dict.fromkeys(o["name"] for o in owners if o["role"] == role) if name not in named]
        named.update(names)
        if names:
            parts.append(f"{words} {', '.join(names)}")
    text = "; ".join(parts)
    return f"{text[0].upper()}{text[1:]}." if text else ""


def card_markdown(facts: dict[str, Any], card: Any) -> str:
    """The card as a Hugging Face README.md."""
    yaml_text = yaml.safe_dump(front_matter(facts, card), sort_keys=False, allow_unicode=True)
    parts = [f"---\n{yaml_text}---", "", f"# {facts['name']}", ""]
    if facts["description"]:
        parts += [facts["description"], ""]
    for section in CARD_SECTIONS:
        text = getattr(card, section, "").strip() if card is not None else ""
        block = _facts_block(section, facts)
        if not text and not block:
            continue
        parts += [f"## {HEADINGS[section]}", ""]
        if text:
            parts += [text, ""]
        if block:
            parts += [block, ""]
    return "\n".join(parts)


class CardDocumentInvalid(errors.Invalid):
    field = "content"


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


# Front matter is metadata (dataset_info holds a few levels of features), and the catalog reads only
# task_categories from it: anything deeper or longer is not a card. Parsing YAML costs about a second per
# hundred kilobytes even in libyaml's parser, so the length is bounded too.
MAX_FRONT_MATTER_DEPTH = 20
MAX_FRONT_MATTER_CHARS = 128 * 1024
# libyaml's parser where PyYAML was built with it (the wheels are): ten times faster than the pure Python one.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _front_matter_checked(text: str) -> None:
    """Refuse front matter that is too long, nests too deep, or has anchors or aliases (CardDocumentInvalid).

    An alias shares a node, so a few hundred bytes of nested aliases stand for billions of values: whatever
    walks the result (a `str()`, a JSON encoder) runs until the worker is killed. Cards have no use for them.
    The events are read one by one before anything is built, so nothing is expanded or recursed into first.
    """
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise CardDocumentInvalid(
            f"The YAML front matter is longer than {MAX_FRONT_MATTER_CHARS // 1024} KiB; the catalog reads only "
            "task_categories from it, so leave out the rest (dataset_info, configs)."
        )
    depth = 0
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise CardDocumentInvalid(
                "The YAML front matter uses anchors or aliases (& and *); write the values out instead."
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_FRONT_MATTER_DEPTH:
                raise CardDocumentInvalid(
                    f"The YAML front matter nests more than {MAX_FRONT_MATTER_DEPTH} levels deep."
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---"):
        return {}, text
    match = re.match(r"^---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|$)", text, flags=re.DOTALL)
    if match is None:
        raise CardDocumentInvalid("The front matter opened with --- is never closed by a --- line.")
    try:
        _front_matter_checked(match.group(1))
        data = yaml.load(match.group(1), Loader=_YAML_LOADER) or {}  # noqa: S506  # a safe loader
    except yaml.YAMLError as exc:
        raise CardDocumentInvalid(f"The YAML front matter does not parse: {exc}") from None
    if not isinstance(data, dict):
        raise CardDocumentInvalid("The YAML front matter is not a mapping of keys to values.")
    return data, text[match.end() :]


def card_from_markdown(text: str) -> dict[str, Any]:
    """The card sections (and task categories) of a Hugging Face dataset card."""
    meta, body = _split_front_matter(text)
    body = re.sub(re.escape(FACTS_START) + r".*?" + re.escape(FACTS_END), "", body, flags=re.DOTALL)
    chunks: dict[str, list[str]] = {section: [] for section in CARD_SECTIONS}
    current: str | None = None
    current_level = 0
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            title = heading.group(2).strip().lower().rstrip(":")
            mapped = READ_AS.get(title) or next(
                (
                    section
                    for prefix, section in READ_AS.items()
                    if prefix.endswith(" for") and title.startswith(prefix)
                ),
                None,
            )
            if level == 1:  # the title of the card: the dataset's name, not a section
                current = None
                continue
            if mapped is not None:
                current, current_level = mapped, level
                continue
            if level <= current_level:  # an unknown heading beside the section's own ends it
                current = None
                continue
        if current is not None:
            chunks[current].append(line)
    sections = {section: PLACEHOLDERS.sub("", "\n".join(lines)).strip() for section, lines in chunks.items()}
    categories = meta.get("task_categories") or []
    if isinstance(categories, str):
        categories = [categories]
    return {**sections, "task_categories": [str(category) for category in categories][:50]}
