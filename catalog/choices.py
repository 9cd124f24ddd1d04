from typing import Any, cast

from django.db import models

from profiler.formats import DELIMITED_FORMATS, SOURCE_FORMATS


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


class VersionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROFILING = "profiling", "Profiling"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class LabelQualityStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class LabelIssueDecision(models.TextChoices):
    """What an owner or steward decided about a row label quality flagged."""

    UNREVIEWED = "unreviewed", "Unreviewed"
    CONFIRMED = "confirmed", "Confirmed (mislabelled)"
    DISMISSED = "dismissed", "Dismissed (the label is right)"


# The formats a source is profiled as are named once by the engine (profiler.formats): tables, then
# folders of media; delimited text is what read options apply to and a download re-writes as CSV.
__all__ = ["DELIMITED_FORMATS", "SOURCE_FORMATS"]
# How people read each one's name; a format the engine adds fails here until it is named.
_FORMAT_LABELS = {
    "csv": "CSV",
    "tsv": "TSV",
    "parquet": "Parquet",
    "jsonl": "JSON Lines",
    "images": "Images",
    "text": "Text",
}

# Derived from the engine's list by Enum's functional API, which django-stubs does not type.
SourceFormat = cast(Any, models.TextChoices)(
    "SourceFormat", [(format.upper(), (format, _FORMAT_LABELS[format])) for format in SOURCE_FORMATS]
)


class FeatureRole(models.TextChoices):
    FEATURE = "feature", "Feature"
    LABEL = "label", "Label"
    ID = "id", "Identifier"
    TIMESTAMP = "timestamp", "Timestamp"
    WEIGHT = "weight", "Weight"


class LogicalType(models.TextChoices):
    NUMERIC = "numeric", "Numeric"
    CATEGORICAL = "categorical", "Categorical"
    BOOLEAN = "boolean", "Boolean"
    DATETIME = "datetime", "Date/time"
    TEXT = "text", "Text"
    IDENTIFIER = "identifier", "Identifier"
    CONSTANT = "constant", "Constant"


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    REGRESSION = "regression", "Regression"
