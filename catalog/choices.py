from django.db import models


class Lifecycle(models.TextChoices):
    ACTIVE = "active", "Active"
    DEPRECATED = "deprecated", "Deprecated"
    RETIRED = "retired", "Retired"


class VersionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROFILING = "profiling", "Profiling"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class SourceFormat(models.TextChoices):
    CSV = "csv", "CSV"
    TSV = "tsv", "TSV"
    PARQUET = "parquet", "Parquet"
    JSONL = "jsonl", "JSON Lines"
    IMAGES = "images", "Images"
    TEXT = "text", "Text"


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
