"""A model's public summary of training content, in the European Commission's template for Article
53(1)(d) of the AI Act (explanatory notice and template of 24 July 2025), filled from the catalog, as
data and as a Markdown document a provider can file.

The summary is of the model's latest completed, confirmed run: the versions it read for training
(inputs of role train or other; validation and test sets are not training content) and every dataset
upstream of them through confirmed lineage. Each dataset is placed in the template's sections by its
origin; sizes, modalities, languages and dates come from the versions' profiles. An item the catalog
cannot know is `{"value": null, "to_complete": true}`, never guessed: its owners fill it with a
narrative (`TrainingContentNarrative`), which the summary merges in.

Queries, whatever the number of inputs or datasets upstream: the run, its inputs with their versions,
the upstream walk, the datasets, the versions upstream (recorded on an edge, or the latest before the
run), their features, and the narratives.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from catalog.choices import VersionStatus
from catalog.models import Dataset, DatasetVersion, Feature
from catalog.selectors import datasets_visible_to
from config import errors
from governance.choices import Origin
from lineage.selectors import lineage_upstream
from profiler.languages import COLUMN_VALUES
from training.choices import InputRole, RunStatus
from training.models import Model, TrainingContentNarrative, TrainingInput, TrainingRun
from training.selectors import RESTRICTED_INPUT, first_of_each, latest_first

TEMPLATE_NAME = (
    "Template for the Public Summary of Training Content for general-purpose AI models, Article 53(1)(d) of "
    "Regulation (EU) 2024/1689 (AI Act); European Commission, 24 July 2025"
)
# The inputs a summary counts: what the model was trained on.
TRAINING_ROLES = (InputRole.TRAIN, InputRole.OTHER)
# A narrative is a paragraph or a few pages, not a file.
MAX_NARRATIVE_CHARS = 20_000
# Characters per token assumed for the text columns of tables (the profiler counts words only in documents).
CHARACTERS_PER_TOKEN = 4
# A public dataset is "large" when it is more than this share of the public data of its modality.
LARGE_SHARE = 0.03
NOT_APPLICABLE = "Not applicable."
TABULAR_FORMATS = ("csv", "tsv", "parquet", "jsonl")


@dataclass(frozen=True)
class Item:
    id: str
    label: str
    optional: bool = False


# Every section of the template that holds items, keyed by its number, with its items in order. The
# ids (`1.3-a`) cross-reference the template's fields; the template itself numbers only sections.
SECTIONS: dict[str, tuple[str, dict[str, Item]]] = {
    "header": (
        "Summary",
        {
            "version": Item("H-a", "Version of the Summary"),
            "last_update": Item("H-b", "Last update"),
        },
    ),
    "1.1": (
        "Provider identification",
        {
            "provider": Item("1.1-a", "Provider name and contact details"),
            "authorised_representative": Item("1.1-b", "Authorised representative name and contact details"),
        },
    ),
    "1.2": (
        "Model identification",
        {
            "model_names": Item("1.2-a", "Versioned model name(s)"),
            "model_dependencies": Item("1.2-b", "Model dependencies"),
            "placement_date": Item("1.2-c", "Date of placement of the model on the Union market"),
        },
    ),
    "1.3": (
        "Modalities, overall training data size and other characteristics",
        {
            "modalities": Item("1.3-a", "Modality"),
            "training_data_size": Item("1.3-b", "Training data size"),
            "content_types": Item("1.3-c", "Types of content"),
            "latest_collection_date": Item("1.3-d", "Latest date of data acquisition/collection for model training"),
            "continued_training": Item("1.3-d", "Is the model continuously trained on new data after this date?"),
            "languages": Item("1.3-e", "Description of the linguistic characteristics of the overall training data"),
            "other_characteristics": Item("1.3-f", "Other relevant characteristics of the overall training data"),
            "additional_comments": Item("1.3-g", "Additional comments", optional=True),
        },
    ),
    "2.1": (
        "Publicly available datasets",
        {
            "used": Item("2.1-a", "Have you used publicly available datasets to train the model?"),
            "modalities": Item("2.1-b", "Modality(ies) of the content covered"),
            "large_datasets": Item("2.1-c", "List of large publicly available datasets"),
            "other_datasets": Item(
                "2.1-d", "General description of other publicly available datasets not listed above"
            ),
            "additional_comments": Item("2.1-e", "Additional comments", optional=True),
        },
    ),
    "2.2.1": (
        "Datasets commercially licensed by rightsholders or their representatives",
        {
            "used": Item(
                "2.2.1-a",
                "Have you concluded transactional commercial licensing agreement(s) with rightsholder(s) or with "
                "their representatives?",
            ),
            "modalities": Item("2.2.1-b", "Modality(ies) of the content covered"),
            "additional_comments": Item("2.2.1-c", "Additional comments", optional=True),
        },
    ),
    "2.2.2": (
        "Private datasets obtained from other third parties",
        {
            "used": Item(
                "2.2.2-a",
                "Have you obtained private datasets from third parties that are not licensed as described in 2.2.1?",
            ),
            "modalities": Item("2.2.2-b", "Modality(ies) of the content covered"),
            "publicly_known_datasets": Item(
                "2.2.2-c", "If publicly known, list private datasets obtained from other third parties"
            ),
            "other_datasets": Item(
                "2.2.2-d", "General description of non-publicly known private datasets obtained from third parties"
            ),
            "additional_comments": Item("2.2.2-e", "Additional comments", optional=True),
        },
    ),
    "2.3": (
        "Data crawled and scraped from online sources",
        {
            "used": Item("2.3-a", "Were crawlers used by the provider or on its behalf?"),
            "crawlers": Item("2.3-b", "Crawler name(s)/identifier(s)"),
            "purposes": Item("2.3-c", "Purposes of the crawler(s)"),
            "behaviour": Item("2.3-d", "General description of crawler behaviour"),
            "collection_period": Item("2.3-e", "Period of data collection"),
            "content_description": Item(
                "2.3-f", "Comprehensive description of the type of content and online sources crawled"
            ),
            "modalities": Item("2.3-g", "Type of modality covered"),
            "domains": Item("2.3-h", "Summary of the most relevant domain names crawled"),
            "additional_comments": Item("2.3-i", "Additional comments", optional=True),
        },
    ),
    "2.4": (
        "User data",
        {
            "model_interactions": Item(
                "2.4-a",
                "Was data from user interactions with the AI model (e.g. user input and prompts) used to train "
                "the model?",
            ),
            "other_services": Item(
                "2.4-b",
                "Was data collected from user interactions with the provider's other services or products used "
                "to train the model?",
            ),
            "services_description": Item(
                "2.4-c", "General description of the provider's services or products used to collect the user data"
            ),
            "modalities": Item("2.4-d", "Type of modality covered"),
            "additional_comments": Item("2.4-e", "Additional comments", optional=True),
        },
    ),
    "2.5": (
        "Synthetic data",
        {
            "used": Item(
                "2.5-a",
                "Was synthetic AI-generated data created by the provider or on their behalf to train the model?",
            ),
            "modalities": Item("2.5-b", "Modality of the synthetic data"),
            "market_models": Item(
                "2.5-c", "General-purpose AI model(s) used to generate the synthetic data, if available on the market"
            ),
            "other_models": Item(
                "2.5-d",
                "Information about other AI models, including the provider's own models not on the market, used "
                "to generate synthetic data",
            ),
            "additional_comments": Item("2.5-e", "Additional comments", optional=True),
        },
    ),
    "2.6": (
        "Other sources of data",
        {
            "used": Item("2.6-a", "Have data sources other than those described in 2.1 to 2.5 been used?"),
            "description": Item("2.6-b", "Narrative description of these data sources and the data"),
            "additional_comments": Item("2.6-c", "Additional comments", optional=True),
        },
    ),
    "3.1": (
        "Respect of reservation of rights from the text and data mining exception or limitation",
        {
            "code_of_practice_signatory": Item(
                "3.1-a",
                "Are you a Signatory to the Code of Practice for general-purpose AI models that includes "
                "commitments to respect reservations of rights from the TDM exception or limitation?",
            ),
            "measures": Item(
                "3.1-b",
                "Measures implemented before model training to respect reservations of rights from the TDM "
                "exception or limitation, before and during data collection",
            ),
            "additional_comments": Item("3.1-c", "Additional comments", optional=True),
        },
    ),
    "3.2": (
        "Removal of illegal content",
        {"measures": Item("3.2-a", "General description of measures taken")},
    ),
    "3.3": (
        "Other information",
        {"other_information": Item("3.3-a", "Other relevant information about data processing", optional=True)},
    ),
}

PARTS = (
    ("1", "General information", ("header", "1.1", "1.2", "1.3")),
    ("2", "List of data sources", ("2.1", "2.2.1", "2.2.2", "2.3", "2.4", "2.5", "2.6")),
    ("3", "Data processing aspects", ("3.1", "3.2", "3.3")),
)

# The template's source sections each origin belongs to. Internal data may be user data (2.4) or another
# source (2.6): the catalog cannot tell, so it is listed under 2.6 and leaves 2.4 open.
ORIGIN_SECTIONS = {
    Origin.PUBLIC_DATASET: "2.1",
    Origin.PURCHASED: "2.2.1",
    Origin.PARTNER: "2.2.2",
    Origin.WEB_CRAWLED: "2.3",
    Origin.SYNTHETIC: "2.5",
    Origin.CROWDSOURCED: "2.6",
    Origin.INTERNAL: "2.6",
}
SOURCE_SECTIONS = ("2.1", "2.2.1", "2.2.2", "2.3", "2.5", "2.6")

# The template's size bands per modality, as (upper bound exclusive, label); the last has no bound.
BANDS: dict[str, tuple[tuple[float, str], ...]] = {
    "Text": (
        (1e9, "Less than 1 billion tokens"),
        (1e13 + 1, "1 billion to 10 trillion tokens"),
        (math.inf, "More than 10 trillion tokens"),
    ),
    "Image": (
        (1e6, "Less than 1 million images"),
        (1e9 + 1, "1 million to 1 billion images"),
        (math.inf, "More than 1 billion images"),
    ),
}
MODALITY_ORDER = ("Text", "Image", "Audio", "Video", "Other")
UNITS = {"Text": "tokens", "Image": "images", "Other": "rows of tables"}
METHODS = {
    "Text": "Documents: the words the profiler counts in each (runs of letters and digits; a subword tokenizer "
    f"gives somewhat more). Text columns of tables: their characters divided by {CHARACTERS_PER_TOKEN}.",
    "Image": "The images of each folder the profiler read.",
    "Other": "Tables without a text column (tabular records): their rows.",
}


def band(modality: str, estimate: float) -> str | None:
    """The template's band for a modality's estimated size; None for a modality it has none for."""
    for bound, label in BANDS.get(modality, ()):
        if estimate < bound:
            return label
    return None


def unknown() -> dict[str, Any]:
    return {"value": None, "to_complete": True}


def known(value: Any) -> dict[str, Any]:
    return {"value": value, "to_complete": False, "source": "catalog"}


class NoCompletedRun(errors.Conflict):
    code = "no_completed_run"

    def __init__(self, model: Model) -> None:
        super().__init__(
            f"The model {model} has no completed, confirmed training run to summarise: record one "
            "(POST /api/v1/training-runs/ with status completed), or confirm a reported one.",
            model=str(model.pk),
        )


def model_summarised_run(model: Model) -> TrainingRun:
    """The run a summary is of: the model's latest completed, confirmed run (NoCompletedRun without one)."""
    runs = TrainingRun.objects.filter(model=model, confirmed=True, status=RunStatus.COMPLETED)
    run = latest_first(runs).first()
    if run is None:
        raise NoCompletedRun(model)
    return run


@dataclass
class _Source:
    """A dataset the training data came from, with the version considered of it."""

    dataset: Dataset
    version: DatasetVersion | None
    reached: str  # "input" or "upstream"
    via: UUID | None = None
    sizes: dict[str, float] = field(default_factory=dict)  # modality -> estimate in its unit
    languages: dict[str, int] = field(default_factory=dict)
    undetermined_language: int = 0
    languages_profiled: bool = False
    languages_estimated: bool = False  # scaled up from the sample of a table's text column

    @property
    def readable(self) -> bool:
        return bool(getattr(self.dataset, "readable", False))


VERSION_COLUMNS = ("id", "dataset_id", "number", "uri", "format", "size_bytes", "row_count", "file_count", "created_at")


@dataclass
class _Sized:
    """What a version's profile says of its size and languages."""

    sizes: dict[str, float] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    undetermined: int = 0
    profiled: bool = False  # whether its languages were identified at all
    estimated: bool = False


def _version_sizes(version: DatasetVersion | None, features: list[dict[str, Any]]) -> _Sized:
    """A version's size per modality, the documents per language, those of no language told, and whether
    languages were profiled at all."""
    if version is None:
        return _Sized()
    if version.format == "images":
        return _Sized(sizes={"Image": float(version.row_count or version.file_count or 0)})
    if version.format == "text":
        by_name = {feature["name"]: feature for feature in features}
        tokens = by_name.get("tokens")
        if tokens is not None and tokens["mean"] is not None:
            estimate = float(tokens["mean"]) * float(tokens["count"] or 0)
        else:
            estimate = (version.size_bytes or 0) / CHARACTERS_PER_TOKEN
        languages: dict[str, int] = {}
        undetermined = 0
        profiled = False
        language = by_name.get("language")
        if language is not None:
            profiled = True
            for entry in language["top_values"] or []:
                if isinstance(entry, dict) and isinstance(entry.get("value"), str):
                    languages[entry["value"]] = int(entry.get("count") or 0)
            undetermined = int(language["null_count"] or 0)
        return _Sized({"Text": estimate}, languages, undetermined, profiled)
    texts = [feature for feature in features if feature["logical_type"] == "text"]
    if texts:
        characters = sum(
            float((feature["string_length"] or {}).get("mean") or 0) * float(feature["count"] or 0) for feature in texts
        )
        sized = _Sized({"Text": characters / CHARACTERS_PER_TOKEN}, profiled=True)
        for feature in texts:
            _add_column_languages(sized, feature)
        return sized
    return _Sized({"Other": float(version.row_count or 0)})


def _add_column_languages(sized: _Sized, feature: dict[str, Any]) -> None:
    """A table's text column's languages, each value a document: identified in a sample of its values
    (`examined`), scaled to all of them. A column profiled before languages were identified has none."""
    found = feature.get("languages")
    if not isinstance(found, dict) or not isinstance(found.get("counts"), dict):
        sized.profiled = False
        return
    examined = int(found.get("examined") or 0)
    values = int(feature["count"] or 0)
    if not examined:
        return
    scale = values / examined if values > examined else 1.0
    sized.estimated = sized.estimated or scale != 1.0
    for language, count in found["counts"].items():
        sized.languages[language] = sized.languages.get(language, 0) + round(int(count) * scale)
    unknown = int(found.get("too_short") or 0) + int(found.get("undetermined") or 0)
    sized.undetermined += round(unknown * scale)


def _features(version_ids: Iterable[UUID]) -> dict[UUID, list[dict[str, Any]]]:
    """The few statistics the summary reads of the features it needs, in one query: a document corpus's
    `tokens` and `language`, and the text columns of tables."""
    found: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
    ids = list(version_ids)
    if not ids:
        return found
    rows = (
        Feature.objects.filter(version_id__in=ids)
        .filter(Q(version__format="text", name__in=("tokens", "language")) | Q(logical_type="text"))
        .exclude(version__format="images")
        .annotate(
            count=KeyTransform("count", "statistics"),
            mean=KeyTransform("mean", "statistics"),
            null_count=KeyTransform("null_count", "statistics"),
            top_values=KeyTransform("top_values", "statistics"),
            string_length=KeyTransform("string_length", "statistics"),
            languages=KeyTransform("languages", "statistics"),
        )
        .values(
            "version_id",
            "name",
            "logical_type",
            "count",
            "mean",
            "null_count",
            "top_values",
            "string_length",
            "languages",
        )
    )
    for row in rows:
        found[row["version_id"]].append(dict(row))
    return found


def _sources(run: TrainingRun, reader: User | AnonymousUser) -> tuple[list[_Source], list[TrainingInput]]:
    """Every dataset the run's training inputs came from, each once (as an input if it is one), and the
    inputs whose dataset was purged."""
    inputs = list(
        run.inputs.filter(role__in=TRAINING_ROLES)
        .select_related("version")
        .only(
            "id",
            "run_id",
            "position",
            "role",
            "dataset_id",
            "dataset_label",
            "version_number",
            *(f"version__{c}" for c in VERSION_COLUMNS),
        )
        .order_by("position")
    )
    roots = {item.dataset_id for item in inputs if item.dataset_id is not None}
    walks = lineage_upstream(roots, depth=settings.CATALOG_LINEAGE_MAX_DEPTH)
    upstream: dict[UUID, tuple[UUID, UUID | None, int]] = {}  # dataset -> (input it is upstream of, version, hops)
    for root in sorted(roots, key=str):
        for node, chain in walks[root].upstream_paths().items():
            if node in roots or not chain:
                continue
            if node not in upstream or len(chain) < upstream[node][2]:
                upstream[node] = (root, chain[-1].source_version_id, len(chain))
    readable = datasets_visible_to(reader).filter(pk=OuterRef("pk"))
    datasets = {
        dataset.pk: dataset
        for dataset in Dataset.objects.filter(pk__in=roots | set(upstream))
        .annotate(readable=Exists(readable))
        .only("id", "namespace", "name", "license", "origin")
    }
    recorded = {version for _, version, _ in upstream.values() if version is not None}
    versions = {
        version.pk: version for version in DatasetVersion.objects.filter(pk__in=recorded).only(*VERSION_COLUMNS)
    }
    # An upstream dataset no edge recorded a version of: its latest ready version when the run started.
    unrecorded = {pk for pk, (_, version, _) in upstream.items() if version is None or version not in versions}
    cutoff = run.started_at or run.created_at
    latest_then = (
        {
            version.dataset_id: version
            for version in first_of_each(
                DatasetVersion.objects.filter(
                    dataset_id__in=unrecorded, status=VersionStatus.READY, created_at__lte=cutoff
                ),
                "dataset_id",
                F("created_at").desc(),
                F("id").desc(),
            ).only(*VERSION_COLUMNS)
        }
        if unrecorded
        else {}
    )
    sources: list[_Source] = []
    seen_inputs: set[UUID] = set()
    for item in inputs:
        if item.dataset_id is None or item.dataset_id not in datasets:
            continue
        # A dataset read in two versions counts twice in the sizes: both were read.
        sources.append(_Source(dataset=datasets[item.dataset_id], version=item.version, reached="input"))
        seen_inputs.add(item.dataset_id)
    for pk, (root, version_id, _) in sorted(upstream.items(), key=lambda entry: (entry[1][2], str(entry[0]))):
        if pk not in datasets:
            continue
        version = versions.get(version_id) if version_id is not None else None
        sources.append(
            _Source(dataset=datasets[pk], version=version or latest_then.get(pk), reached="upstream", via=root)
        )
    features = _features(source.version.pk for source in sources if source.version is not None)
    for source in sources:
        version = source.version
        sized = _version_sizes(version, features.get(version.pk, []) if version is not None else [])
        source.sizes, source.languages = sized.sizes, sized.languages
        source.undetermined_language, source.languages_profiled = sized.undetermined, sized.profiled
        source.languages_estimated = sized.estimated
    purged = [item for item in inputs if item.dataset_id is None]
    return sources, purged


def _label(dataset: Dataset, readable: bool) -> str:
    return f"{dataset.namespace}/{dataset.name}" if readable else RESTRICTED_INPUT


def _entry(source: _Source, names: dict[UUID, str]) -> dict[str, Any]:
    shown = source.readable
    version = source.version
    return {
        "dataset": _label(source.dataset, shown),
        "id": source.dataset.pk if shown else None,
        "restricted": not shown,
        "version": version.number if shown and version is not None else None,
        "origin": source.dataset.origin or None,
        "license": (source.dataset.license or None) if shown else None,
        "reached": source.reached,
        "upstream_of": names.get(source.via) if source.via is not None else None,
        "modalities": _ordered(source.sizes),
        "size": {modality: round(value) for modality, value in source.sizes.items()} if shown else None,
    }


def _ordered(modalities: Iterable[str]) -> list[str]:
    present = set(modalities)
    return [modality for modality in MODALITY_ORDER if modality in present]


def _month(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%m/%Y")


def _https_host(uri: str) -> str | None:
    if uri[:8].lower() != "https://":
        return None
    try:
        return urlsplit(uri).hostname or None
    except ValueError:  # a malformed authority, such as an unclosed IPv6 bracket
        return None


def _crawled_host(source: _Source) -> str | None:
    """The site a crawled dataset the reader may read came from: the host of its version's https source, else
    of its namespace when that is the site's address (OpenLineage names web data `https://host` + path)."""
    if not source.readable:
        return None
    if source.version is not None and (host := _https_host(source.version.uri)) is not None:
        return host
    return _https_host(source.dataset.namespace)


def training_content_summary(model: Model, reader: User | AnonymousUser) -> dict[str, Any]:
    """The summary of the model's latest completed, confirmed run, as the reader may read it: a dataset the
    reader may not read is counted, in its section, under a placeholder name. NoCompletedRun without a run."""
    run = model_summarised_run(model)
    sources, purged = _sources(run, reader)
    names = {source.dataset.pk: _label(source.dataset, source.readable) for source in sources}
    inputs = [source for source in sources if source.reached == "input"]
    notes: list[str] = [
        f"Summarised from training run {run.pk} (the model's latest completed, confirmed run): the "
        f"{len(inputs)} dataset version(s) it read for training (roles train and other; validation and test sets "
        "are not training content) and the datasets upstream of them through confirmed lineage.",
        "Each dataset is placed by its origin: public_dataset in 2.1, purchased in 2.2.1, partner in 2.2.2, "
        "web_crawled in 2.3, synthetic in 2.5, crowdsourced and internal in 2.6 (internal data may be user data, "
        "2.4, which the catalog cannot tell).",
    ]
    sections: dict[str, dict[str, Any]] = {
        key: {name: unknown() for name in items} for key, (_, items) in SECTIONS.items()
    }

    # 1.2 The model.
    label = f"{model.namespace}/{model.name}" + (f" {run.model_version}" if run.model_version else "")
    sections["1.2"]["model_names"] = known([label])

    # 1.3 The overall training data: what the run read.
    totals: dict[str, float] = defaultdict(float)
    drawn: dict[str, list[str]] = defaultdict(list)
    for source in inputs:
        for modality, value in source.sizes.items():
            totals[modality] += value
            if names[source.dataset.pk] not in drawn[modality]:
                drawn[modality].append(names[source.dataset.pk])
    if totals:
        sections["1.3"]["modalities"] = known(_ordered(totals))
        sections["1.3"]["training_data_size"] = known(
            [
                {
                    "modality": modality,
                    "kind": "tabular records" if modality == "Other" else None,
                    "band": band(modality, totals[modality]),
                    "estimate": round(totals[modality]),
                    "unit": UNITS[modality],
                    "method": METHODS[modality],
                    "datasets": drawn[modality],
                }
                for modality in _ordered(totals)
            ]
        )
    dated = [source for source in sources if source.version is not None]
    if dated:
        latest = max(dated, key=lambda source: source.version.created_at)  # type: ignore[union-attr]
        assert latest.version is not None
        sections["1.3"]["latest_collection_date"] = known(
            {
                "month": _month(latest.version.created_at),
                "date": latest.version.created_at.astimezone(UTC).date().isoformat(),
                "dataset": names[latest.dataset.pk],
            }
        )
        notes.append(
            "1.3-d: when the latest version of the data (an input, or a dataset upstream of one) was registered "
            "in the catalog: its bytes were collected by then."
        )
    if inputs and "Text" not in totals:
        sections["1.3"]["languages"] = known(NOT_APPLICABLE)
    else:
        counted: dict[str, int] = defaultdict(int)
        undetermined = 0
        for source in inputs:
            for language, documents in source.languages.items():
                counted[language] += documents
            undetermined += source.undetermined_language
        if counted:
            sections["1.3"]["languages"] = known(
                {
                    "languages": [
                        {"language": language, "documents": documents}
                        for language, documents in sorted(counted.items(), key=lambda pair: (-pair[1], pair[0]))
                    ],
                    "undetermined_documents": undetermined,
                    "estimated": any(source.languages_estimated for source in inputs),
                }
            )
            unprofiled = [
                names[source.dataset.pk]
                for source in inputs
                if "Text" in source.sizes and not source.languages_profiled
            ]
            estimated = [names[source.dataset.pk] for source in inputs if source.languages_estimated]
            notes.append(
                "1.3-e: languages as the profiler identified them in documents and in the values of the text "
                "columns of tables, each value a document (ISO 639-1 codes, documents per language)"
                + (
                    f"; a text column of more than {COLUMN_VALUES:,} values is examined on a sample of "
                    f"{COLUMN_VALUES:,} of its rows and its counts scaled to all its values ({', '.join(estimated)})"
                    if estimated
                    else ""
                )
                + (
                    "; the text columns of tables profiled before their languages were identified are not "
                    f"examined for language ({', '.join(unprofiled)})."
                    if unprofiled
                    else "."
                )
            )

    # 2.x The sources, by origin.
    placed: dict[str, list[_Source]] = defaultdict(list)
    unclassified: list[_Source] = []
    for source in sources:
        section = ORIGIN_SECTIONS.get(source.dataset.origin)  # type: ignore[call-overload]
        (placed[section] if section is not None else unclassified).append(source)
    # Whether "none" can be said: only when the catalog knows the origin of every dataset.
    all_known = not unclassified and not purged

    def answered(section: str, present: bool, conditional: Iterable[str]) -> None:
        if present:
            sections[section]["used"] = known("Yes")
        elif all_known:
            sections[section]["used"] = known("No")
            for name in conditional:
                sections[section][name] = known(NOT_APPLICABLE)

    for section in SOURCE_SECTIONS:
        chosen = placed.get(section, [])
        sections[section]["datasets"] = known([_entry(source, names) for source in chosen])
        conditional = [
            name
            for name, item in SECTIONS[section][1].items()
            if name not in ("used", "additional_comments") and not item.optional
        ]
        internal_only = section == "2.6" and chosen and all(s.dataset.origin == Origin.INTERNAL for s in chosen)
        if internal_only:
            continue  # internal data may be user data instead (2.4): the provider says which
        answered(section, bool(chosen), conditional)
        modalities = _ordered(modality for source in chosen for modality in source.sizes)
        if chosen and modalities and "modalities" in sections[section]:
            sections[section]["modalities"] = known(modalities)

    public = placed.get("2.1", [])
    if public:
        by_modality: dict[str, float] = defaultdict(float)
        for source in public:
            for modality, value in source.sizes.items():
                by_modality[modality] += value
        large = []
        for source in public:
            shares = {
                modality: (value / by_modality[modality] if by_modality[modality] else None)
                for modality, value in source.sizes.items()
            }
            if not shares or any(share is None or share > LARGE_SHARE for share in shares.values()):
                shown = source.readable
                uri = source.version.uri if shown and source.version is not None else ""
                large.append(
                    {
                        "dataset": names[source.dataset.pk],
                        "link": uri if _https_host(uri) else None,
                        "license": (source.dataset.license or None) if shown else None,
                        "share": {m: round(s, 4) if s is not None else None for m, s in shares.items()},
                    }
                )
        sections["2.1"]["large_datasets"] = known(large)
        if len(large) == len(public):
            sections["2.1"]["other_datasets"] = known(NOT_APPLICABLE)
        notes.append(
            f"2.1-c: a public dataset is large when it is more than {LARGE_SHARE:.0%} of the public data of one of "
            "its modalities (by the sizes of 1.3-b); one whose size is unknown is listed."
        )

    crawled = placed.get("2.3", [])
    if crawled:
        moments = [source.version.created_at for source in crawled if source.version is not None]
        if moments:
            sections["2.3"]["collection_period"] = known({"from": _month(min(moments)), "to": _month(max(moments))})
        hosts: dict[str, dict[str, Any]] = {}
        unlocated = 0
        for source in crawled:
            host = _crawled_host(source)
            if host is None:
                unlocated += 1
                continue
            entry = hosts.setdefault(host, {"domain": host, "bytes": 0, "datasets": []})
            entry["bytes"] += (source.version.size_bytes or 0) if source.version is not None else 0
            entry["datasets"].append(names[source.dataset.pk])
        if hosts:
            sections["2.3"]["domains"] = known(sorted(hosts.values(), key=lambda e: (-e["bytes"], e["domain"])))
        notes.append(
            "2.3-e and 2.3-h: the period is that of the crawled versions' registration; the domains are the hosts "
            "of the crawled datasets' https sources, or of their OpenLineage namespace when it is the site's "
            "address (https://host), ranked by bytes"
            + (
                f"; {unlocated} crawled dataset(s) have no https source you may read, so their domains are not known."
                if unlocated
                else "."
            )
        )

    maybe_user_data = any(source.dataset.origin == Origin.INTERNAL for source in sources) or not all_known
    if not maybe_user_data:
        sections["2.4"]["model_interactions"] = known("No")
        sections["2.4"]["other_services"] = known("No")
        sections["2.4"]["services_description"] = known(NOT_APPLICABLE)
        sections["2.4"]["modalities"] = known(NOT_APPLICABLE)

    if unclassified or purged:
        notes.append(
            f"{len(unclassified) + len(purged)} dataset(s) have no origin the catalog knows (listed under "
            "`unclassified`): set their origin to place them; until then, no section can say that none was used."
        )

    return {
        "template": TEMPLATE_NAME,
        "model": {"id": model.pk, "namespace": model.namespace, "name": model.name},
        "run": {
            "id": run.pk,
            "model_version": run.model_version,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
        },
        "generated_at": timezone.now(),
        "sections": _merged(sections, model),
        "unclassified": [_entry(source, names) for source in unclassified]
        + [_purged_entry(item, reader) for item in purged],
        "notes": notes,
    }


def _purged_entry(item: TrainingInput, reader: User | AnonymousUser) -> dict[str, Any]:
    # A purged dataset keeps only the run's record of it, which may name a restricted dataset: staff only.
    shown = reader.is_staff
    return {
        "dataset": item.dataset_label if shown else RESTRICTED_INPUT,
        "id": None,
        "restricted": not shown,
        "version": item.version_number if shown else None,
        "origin": None,
        "license": None,
        "reached": "input",
        "upstream_of": None,
        "modalities": [],
        "size": None,
    }


def _merged(sections: dict[str, dict[str, Any]], model: Model) -> dict[str, dict[str, Any]]:
    """The narratives of the model's owners merged in: one fills an item to complete; beside an item the
    catalog filled it is shown as `narrative`."""
    for narrative in TrainingContentNarrative.objects.filter(model=model).only("section", "item", "text"):
        item = sections.get(narrative.section, {}).get(narrative.item)
        if item is None:
            continue  # an item a later template dropped
        if item["to_complete"]:
            item.update(value=narrative.text, to_complete=False, source="narrative")
        else:
            item["narrative"] = narrative.text
    return sections


def template_labels() -> dict[str, Any]:
    """Each section's title and each item's field id and label, as the template words them."""
    return {
        key: {
            "title": title,
            "items": {
                name: {"id": item.id, "label": item.label, "optional": item.optional} for name, item in items.items()
            },
        }
        for key, (title, items) in SECTIONS.items()
    }


# --- Markdown -----------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return str(value).replace("\r", "")


def _line(value: Any) -> str:
    return " ".join(_text(value).split())


def _value_lines(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        return [_text(value)]
    if name == "training_data_size":
        return [
            f"- {entry['modality']}"
            + (f" ({entry['kind']})" if entry["kind"] else "")
            + (
                f": {entry['band']} (estimated {entry['estimate']:,} {entry['unit']}"
                if entry["band"]
                else f": approximately {entry['estimate']:,} {entry['unit']} ("
            )
            + f"{'; ' if entry['band'] else ''}from {', '.join(_line(label) for label in entry['datasets'])}). "
            + entry["method"]
            for entry in value
        ]
    if name == "latest_collection_date":
        return [f"{value['month']} ({value['date']}, {_line(value['dataset'])})"]
    if name == "languages":
        listed = ", ".join(f"{entry['language']} ({entry['documents']:,} documents)" for entry in value["languages"])
        extra = (
            f"; language not identified in {value['undetermined_documents']:,} documents"
            if value["undetermined_documents"]
            else ""
        )
        estimated = (
            " (estimated: text columns of tables examined on a sample of their rows)" if value.get("estimated") else ""
        )
        return [listed + extra + estimated]
    if name == "collection_period":
        return [f"From {value['from']} to {value['to']}"]
    if name == "domains":
        return [f"- {entry['domain']} ({entry['bytes']:,} bytes; {', '.join(entry['datasets'])})" for entry in value]
    if name == "large_datasets":
        if not value:
            return ["None."]
        return [
            f"- {_line(entry['dataset'])}"
            + (f" <{entry['link']}>" if entry["link"] else "")
            + (f", {entry['license']}" if entry["license"] else "")
            for entry in value
        ]
    if name == "datasets":
        if not value:
            return ["None."]
        return [_dataset_line(entry) for entry in value]
    if isinstance(value, list):
        return [", ".join(_line(entry) for entry in value) or "None."]
    return [_line(value)]


def _dataset_line(entry: dict[str, Any]) -> str:
    parts = [f"- {_line(entry['dataset'])}"]
    if entry["version"] is not None:
        parts.append(f" v{entry['version']}")
    details = []
    if entry["modalities"]:
        details.append(", ".join(entry["modalities"]))
    if entry["license"]:
        details.append(_line(entry["license"]))
    if entry["reached"] == "upstream" and entry["upstream_of"]:
        details.append(f"upstream of {_line(entry['upstream_of'])}")
    if details:
        parts.append(f" ({'; '.join(details)})")
    return "".join(parts)


def training_content_summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as a Markdown document in the template's order; items to complete say so."""
    model, run = summary["model"], summary["run"]
    title = f"{model['namespace']}/{model['name']}" + (f" {run['model_version']}" if run["model_version"] else "")
    lines = [
        f"# Public summary of training content: {_line(title)}",
        "",
        f"_{TEMPLATE_NAME}._",
        "",
        f"Filled from the data catalog on {summary['generated_at']:%Y-%m-%d} from training run `{run['id']}`. "
        "Items marked **To complete** are facts the catalog does not hold: the provider completes them.",
    ]
    for number, heading, keys in PARTS:
        lines += ["", f"## {number}. {heading}"]
        for key in keys:
            title_text, items = SECTIONS[key]
            lines += ["", f"### {key + ' ' if key != 'header' else ''}{title_text}"]
            section = summary["sections"][key]
            for name, item in items.items():
                lines += _item_lines(name, item, section[name])
            if "datasets" in section:
                lines += [
                    "",
                    "**Catalog datasets drawn from**",
                    "",
                    *_value_lines("datasets", section["datasets"]["value"]),
                ]
    if summary["unclassified"]:
        lines += ["", "## Datasets of unknown origin", "", *_value_lines("datasets", summary["unclassified"])]
    lines += ["", "## How the catalog filled this summary", ""]
    lines += [f"- {_line(note)}" for note in summary["notes"]]
    return "\n".join(lines) + "\n"


def _item_lines(name: str, item: Item, shown: dict[str, Any]) -> list[str]:
    lines = ["", f"**{item.label}** ({item.id}{', optional' if item.optional else ''})", ""]
    if shown["to_complete"]:
        lines.append("_To complete._")
    else:
        lines += _value_lines(name, shown["value"])
    if shown.get("narrative"):
        lines += ["", _text(shown["narrative"])]
    return lines
