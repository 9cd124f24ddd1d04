"""What the admin's dataset page shows besides the form: the card, the license at a glance, the
features with their histograms, the sample, class balance, findings, versions, lineage one edge
away, the change log and the audits that included the dataset.

This is a composition surface like the API: it reads lineage, audits and the models trained on the
dataset, which the catalog's domain code never does."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Prefetch
from django.urls import NoReverseMatch, reverse

from catalog import charts
from catalog.cards.facts import card_facts
from catalog.cards.html import markdown_html
from catalog.cards.huggingface import HEADINGS
from catalog.choices import FeatureRole, LogicalType
from catalog.models import CARD_SECTIONS, DataCard, Dataset, DatasetVersion, Feature, Thumbnail
from catalog.selectors import personal_data_visible_to
from governance.choices import ChangeAction, ObjectType
from governance.models import AuditSubject, Change
from lineage.models import LineageEdge
from profiler.pii import (
    aliased_paths,
    detected_kinds,
    label_aliases,
    masked_quality,
    masked_sample,
    masked_statistics,
)
from training.impact import impact_read

TERM_LABELS = {
    "commercial_use": "commercial use",
    "modification": "share adaptations",
    "redistribution": "redistribute",
    "attribution": "credit required",
    "share_alike": "share-alike",
    "non_commercial": "non-commercial only",
    "no_derivatives": "no derivatives",
}


# How the change log names an edge: "<source id> -> <target id>".
_EDGE_IDS = re.compile(r"^(?P<source>[0-9a-f-]{36}) -> (?P<target>[0-9a-f-]{36})")


def _edge_ends(change: Change) -> tuple[str, str] | None:
    match = _EDGE_IDS.match(change.object_repr)
    if match:
        return match["source"], match["target"]
    for values in (change.before, change.after):
        if isinstance(values, dict) and values.get("source") and values.get("target"):
            return str(values["source"]), str(values["target"])
    return None


def changes_described(changes: Sequence[Change]) -> None:
    """Give each change-log entry a `subject` to show people: a lineage edge by the names of the
    datasets it joins (the entry keeps their ids, which outlive a rename or a purge; a purged
    dataset is named as its purge recorded it), anything else as recorded."""
    ends = {change.pk: _edge_ends(change) for change in changes if change.object_type == ObjectType.EDGE}
    ids = {end for pair in ends.values() if pair for end in pair}
    names: dict[str, str] = {}
    if ids:
        names = {
            str(pk): f"{namespace}/{name}"
            for pk, namespace, name in Dataset.objects.filter(pk__in=ids).values_list("pk", "namespace", "name")
        }
        if ids - names.keys():
            purged = Change.objects.filter(
                object_type=ObjectType.DATASET, action=ChangeAction.PURGE, object_id__in=ids - names.keys()
            ).values_list("object_id", "object_repr")
            names.update({object_id: f"{name} (purged)" for object_id, name in purged if name})
    for change in changes:
        pair = ends.get(change.pk)
        if pair is None:
            change.subject = change.object_repr or change.object_id  # type: ignore[attr-defined]
        else:
            source, target = (names.get(end, end) for end in pair)
            change.subject = f"{source} → {target}"  # type: ignore[attr-defined]


def _pii_status(feature: Feature) -> str:
    decided = "pii" in feature.curated
    if feature.pii:
        return "confirmed" if decided else "suggested"
    return "dismissed" if decided else ""


def _value_shown(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _is_identifier(feature: Feature) -> bool:
    return feature.logical_type == LogicalType.IDENTIFIER or feature.role == FeatureRole.ID


def _dataset_link(dataset: Dataset) -> str:
    return reverse("admin:catalog_dataset_change", args=[dataset.pk])


def _thumbnails_by_class(version: DatasetVersion) -> list[dict[str, Any]]:
    """A few pictures of each class, as the worker re-encoded them (inline, never the originals)."""
    classes: dict[str, list[dict[str, Any]]] = {}
    for thumbnail in Thumbnail.objects.filter(version=version).order_by("position"):
        classes.setdefault(thumbnail.label, []).append(
            {
                "src": "data:image/jpeg;base64," + base64.b64encode(bytes(thumbnail.content)).decode("ascii"),
                "path": thumbnail.path,
                "width": thumbnail.width,
                "height": thumbnail.height,
            }
        )
    return [{"label": label or "(no label)", "images": images} for label, images in classes.items()]


def _admin_link(name: str, pk: Any) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # an admin without the training pages
        return ""


def _trained_on(dataset: Dataset, user: User | AnonymousUser) -> list[dict[str, Any]]:
    """The training runs that read the dataset or data derived from it, with their models (the first 50)."""
    impact = impact_read(dataset=dataset, reader=user)
    models = {model["id"]: f"{model['namespace']}/{model['name']}" for model in impact.models}
    return [
        {
            **run,
            "model": models[run["model"]],
            "model_link": _admin_link("admin:training_model_change", run["model"]),
            "run_link": _admin_link("admin:training_trainingrun_change", run["id"]),
            # The datasets between, as the lineage names them (placeholders for those the reader may not read).
            "via": " → ".join(step.removeprefix("dataset:") for step in run["path"][1:]),
        }
        for run in impact.training_runs[:50]
    ]


def _contract_shown(version: DatasetVersion, dataset: Dataset, personal: set[str]) -> dict[str, Any]:
    """The version's last check against the dataset's contract, which the contracts app (above the
    catalog) writes on the version, and a link to the contract's versions in that app's admin pages:
    the page reads neither the contracts app nor a signal. Anomalies of personal-data features are
    named without what was found in them, for readers who may not see their values."""
    check = dict(version.contract_check or {"status": "none"})
    check["anomalies"] = [
        {**item, "message": "found in a personal-data feature.", "actual": None}
        if item.get("feature") in personal
        else item
        for item in check.get("anomalies") or []
    ]
    try:
        link = reverse("admin:contracts_contractversion_changelist") + f"?dataset__id__exact={dataset.pk}"
    except NoReverseMatch:  # an admin without the contracts pages
        link = ""
    return {"check": check, "link": link}


def dataset_overview(dataset: Dataset, user: User | AnonymousUser) -> dict[str, Any]:
    shows_personal = personal_data_visible_to(user=user, dataset_id=dataset.pk)
    facts = card_facts(dataset, shows_personal=shows_personal)
    card = DataCard.objects.filter(dataset=dataset).first()
    overview: dict[str, Any] = {
        "facts": facts,
        "card_sections": [
            {"title": HEADINGS[section], "html": markdown_html(getattr(card, section))}
            for section in CARD_SECTIONS
            if card is not None and getattr(card, section).strip()
        ],
        "card_percent": f"{card.completeness if card else 0.0:.0%}",
        "card_missing": [HEADINGS[section] for section in (card.missing_sections if card else CARD_SECTIONS)],
        "licenses": [
            {
                **entry,
                "allows": [TERM_LABELS[term] for term, value in entry["terms"].items() if value is True],
                "stated": any(value is not None for value in entry["terms"].values()),
            }
            for entry in facts["license"]["licenses"]
        ],
        "shows_personal": shows_personal,
        "exports": {
            "markdown": f"/api/v1/datasets/{dataset.pk}/card/markdown",
            "croissant": f"/api/v1/datasets/{dataset.pk}/card/croissant",
            # The latest version as an SPDX dataset package (each version's page links its own).
            "spdx": f"/api/v1/versions/{dataset.latest_version_id}/spdx" if dataset.latest_version_id else None,
        },
    }
    version = (
        DatasetVersion.objects.filter(pk=dataset.latest_version_id).prefetch_related("features").first()
        if dataset.latest_version_id
        else None
    )
    overview["version"] = version
    if version is not None:
        features = []
        pii = {feature.name: detected_kinds(feature.statistics) for feature in version.features.all() if feature.pii}
        aliases = {} if shows_personal else label_aliases(version.quality, pii)
        for feature in version.features.all():
            statistics = feature.statistics or {}
            if feature.pii and not shows_personal:
                statistics = masked_statistics(statistics)
            statistics = aliased_paths(statistics, aliases)
            features.append(
                {
                    "feature": feature,
                    "pii_status": _pii_status(feature),
                    "statistics": statistics,
                    # Bars of an identifier's values would say nothing: each value is another row.
                    "min": _value_shown(statistics.get("min")),
                    "max": _value_shown(statistics.get("max")),
                    "identifier": _is_identifier(feature),
                    "histogram": "" if _is_identifier(feature) else charts.histogram_svg(statistics.get("histogram")),
                }
            )
        overview["features"] = features
        # Masked from the features' current decisions, not from what profiling masked when it ran.
        sample = masked_sample((version.profile or {}).get("sample"), pii, shown=shows_personal, aliases=aliases)
        columns = sample["columns"]
        overview["sample"] = {
            "columns": columns,
            "rows": [[row["values"].get(column) for column in columns] for row in sample["rows"][:25]],
            "masked": sample["masked"],
        }
        quality = version.quality or {}
        thumbnails = _thumbnails_by_class(version)
        if not shows_personal and pii:
            if aliases:
                thumbnails = [
                    {
                        "label": aliases.get(group["label"], "class ?"),
                        "images": [
                            {**image, "path": aliased_paths(image["path"], aliases)} for image in group["images"]
                        ],
                    }
                    for group in thumbnails
                ]
            quality = masked_quality(quality, set(pii))
        overview["class_balance"] = charts.class_balance_svg(quality.get("class_counts") or {})
        overview["thumbnails"] = thumbnails
        overview["findings"] = quality.get("findings") or []
        overview["contract"] = _contract_shown(version, dataset, set(pii) if not shows_personal else set())
    personal_features = Prefetch("features", queryset=Feature.objects.filter(pii=True).only("version_id", "name"))
    overview["versions"] = [
        {
            "version": entry,
            "drift": (
                entry.quality
                if shows_personal
                else masked_quality(entry.quality, {feature.name for feature in entry.features.all()})
            ).get("drift"),
            "link": reverse("admin:catalog_datasetversion_change", args=[entry.pk]),
        }
        for entry in DatasetVersion.objects.filter(dataset=dataset)
        .prefetch_related(personal_features)
        .only(
            "id",
            "number",
            "status",
            "row_count",
            "fingerprint",
            "created_at",
            "quality",
            "deprecated_at",
            "source_changed_at",
        )
        .order_by("-number")[:20]
    ]
    upstream = [
        (f"{edge.source.namespace}/{edge.source.name}", _dataset_link(edge.source))
        for edge in LineageEdge.objects.filter(target=dataset).select_related("source").order_by("id")[:12]
    ]
    downstream = [
        (f"{edge.target.namespace}/{edge.target.name}", _dataset_link(edge.target))
        for edge in LineageEdge.objects.filter(source=dataset).select_related("target").order_by("id")[:12]
    ]
    overview["lineage"] = charts.lineage_svg(
        (f"{dataset.namespace}/{dataset.name}", _dataset_link(dataset)),
        sorted(set(upstream)),
        sorted(set(downstream)),
    )
    overview["trained"] = _trained_on(dataset, user)
    overview["changes"] = list(Change.objects.filter(dataset_id=dataset.pk)[:25])
    changes_described(overview["changes"])
    overview["audits"] = [
        {
            "audit": subject.audit,
            "role": subject.role,
            "link": reverse("admin:governance_audit_change", args=[subject.audit_id]),
        }
        for subject in AuditSubject.objects.filter(dataset=dataset)
        .select_related("audit", "audit__created_by")
        .order_by("-audit__created_at")[:10]
    ]
    return overview
