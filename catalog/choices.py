from typing import Any, cast

from django.db import models

from profiler.engine import TABULAR_FORMATS
from profiler.media import MEDIA_FORMATS


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


class VersionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROFILING = "profiling", "Profiling"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


# The formats a source is profiled as, named once by the engine: tables, then folders of media.
SOURCE_FORMATS: tuple[str, ...] = (*TABULAR_FORMATS, *MEDIA_FORMATS)
# Delimited text: the tables read options apply to, and those a download re-writes as CSV.
DELIMITED_FORMATS = ("csv", "tsv")
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
