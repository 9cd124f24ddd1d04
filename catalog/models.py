import uuid

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Left

from catalog.choices import (
    FeatureRole,
    LabelIssueDecision,
    LabelQualityStatus,
    Lifecycle,
    LogicalType,
    SourceFormat,
    TaskType,
    VersionStatus,
)
from governance.choices import Origin, Sensitivity

# Source URIs are indexed by their start: a whole 2048-character URI may not fit in an index entry.
URI_PREFIX_LENGTH = 512

tag_name_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9._:/+-]*$",
    "A tag is lower-case letters, digits and . _ : / + - (starting with a letter or digit).",
)


class Tag(models.Model):
    name = models.CharField(max_length=64, unique=True, validators=[tag_name_validator])

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# The fields of a dataset people set (at registration, PATCH /datasets/{id}/, the admin's form) and the
# change log records, besides its identity and its tags.
DATASET_FIELDS = (
    "description",
    "license",
    "sensitivity",
    "origin",
    "origin_terms",
    "lifecycle",
    "deprecation_reason",
)


class Dataset(models.Model):
    """A dataset, identified like OpenLineage does by (namespace, name)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    namespace = models.CharField(max_length=255)
    name = models.CharField(max_length=512)
    description = models.TextField(blank=True)
    license = models.CharField(max_length=255, blank=True, help_text="An SPDX license expression; empty means unknown.")
    tags = models.ManyToManyField(Tag, blank=True, related_name="datasets")
    sensitivity = models.CharField(max_length=16, choices=Sensitivity.choices, default=Sensitivity.INTERNAL)
    origin = models.CharField(
        max_length=16, choices=Origin.choices, blank=True, help_text="How the data was obtained; empty means unknown."
    )
    origin_terms = models.TextField(
        blank=True, help_text="The terms of service, contract or agreement the data came under (text or a link)."
    )
    lifecycle = models.CharField(max_length=16, choices=Lifecycle.choices, default=Lifecycle.ACTIVE)
    latest_version = models.ForeignKey(
        "DatasetVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    deprecated_at = models.DateTimeField(null=True, blank=True, editable=False)
    deprecation_reason = models.TextField(blank=True, help_text="Why the dataset is deprecated; what to use instead.")

    class Meta:
        ordering = ["namespace", "name"]
        constraints = [
            models.UniqueConstraint(fields=["namespace", "name"], name="dataset_unique_identity"),
        ]
        indexes = [
            models.Index(fields=["updated_at"], name="dataset_updated_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def contract_check_none() -> dict:
    """A version no contract was checked against."""
    return {"status": "none"}


class DatasetVersion(models.Model):
    """One immutable snapshot of a dataset's source, and what profiling found in it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    uri = models.CharField(max_length=2048, help_text="Where the bytes are: a file:// URI or an https:// URL.")
    format = models.CharField(max_length=16, choices=SourceFormat.choices)
    label_column = models.CharField(max_length=1024, blank=True)
    splits = models.JSONField(
        default=dict, blank=True, help_text="Split name -> the files of the source it holds (path, glob or folder/)."
    )
    read_options = models.JSONField(
        default=dict,
        blank=True,
        help_text="How delimited text is read: delimiter, header, quote, encoding, null_values, skip_rows.",
    )
    task_type = models.CharField(
        max_length=16, choices=TaskType.choices, blank=True, help_text="What the label is, when the source says so."
    )
    status = models.CharField(max_length=16, choices=VersionStatus.choices, default=VersionStatus.PENDING)
    error = models.TextField(blank=True)
    fingerprint = models.CharField(max_length=71, blank=True, help_text="sha256:<hex> over the manifest.")
    manifest = models.JSONField(default=list, blank=True, help_text="Every file: path, size, sha256.")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    file_count = models.PositiveIntegerField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    quality = models.JSONField(default=dict, blank=True)
    profile = models.JSONField(
        default=dict, blank=True, help_text="Correlations, label association, the row sample, engine facts."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    status_changed_at = models.DateTimeField()
    # Set when a worker claims the version; only the holder of the current claim may store results,
    # so a redelivered or re-queued task can never overwrite a newer outcome.
    profiling_claim = models.UUIDField(null=True, blank=True, editable=False)
    profile_attempts = models.PositiveIntegerField(default=0)
    # When its profiling was last handed to the broker (at registration, a reprofile, by the sweeper);
    # null when it ran in the process that asked for it (no broker). The sweeper sends again only
    # what went through the broker and was not taken in time, never a version another process holds.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)
    profiled_at = models.DateTimeField(null=True, blank=True)
    # Set when profiling finds the bytes identical to the version before (same fingerprint).
    unchanged_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    notes = models.TextField(blank=True)
    deprecated_at = models.DateTimeField(null=True, blank=True, editable=False)
    deprecation_reason = models.TextField(blank=True)
    # Re-hashing the source: when it last matched the manifest, and when it was first found changed.
    verified_at = models.DateTimeField(null=True, blank=True, editable=False)
    source_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    verification = models.JSONField(default=dict, blank=True, help_text="The outcome of the last re-hash.")
    # Written by the contracts app (above the catalog) when the version settles or its dataset's
    # contract is saved: {"version", "status", "anomalies", ...}; {"status": "none"} before any.
    contract_check = models.JSONField(
        default=contract_check_none, blank=True, help_text="The last check against the dataset's contract."
    )
    # Label quality runs on a worker once the version is profiled (catalog/pipeline/labels.py).
    group_features = models.JSONField(
        default=list, blank=True, help_text="Features whose groups are examined for representation and bias."
    )
    label_quality_status = models.CharField(
        max_length=16, choices=LabelQualityStatus.choices, default=LabelQualityStatus.PENDING
    )
    label_quality_error = models.TextField(blank=True)
    label_quality_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Analyses started since the version was last profiled: the sweep gives up on a version whose
    # analysis keeps dying (catalog.tasks.versions_label_quality_requeue).
    label_quality_attempts = models.PositiveSmallIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["dataset", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "number"], name="version_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="version_number_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "status_changed_at"], name="version_status_idx"),
            models.Index(Left("uri", URI_PREFIX_LENGTH), name="version_uri_prefix_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.number}"


class LabelIssue(models.Model):
    """A row of a version that label quality flagged as likely mislabelled, and what its owners and
    stewards decided about it. Stored by the analysis (catalog/pipeline/label_review.py), at most
    `LABEL_ISSUES_STORED` per version, most likely mislabelled first; a decision made on an earlier
    version of the dataset about a row of the same content is carried (`carried_from`)."""

    id = models.BigAutoField(primary_key=True)
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="label_issues")
    rank = models.PositiveIntegerField(help_text="0 for the row most likely mislabelled.")
    row_hash = models.CharField(max_length=64, help_text="sha256 of the row's values (label and features).")
    row = models.CharField(max_length=2048, help_text="Where the row is: file:row, data rows from 1.")
    given = models.TextField(help_text="The label the row has.")
    suggested = models.TextField(help_text="The label the model finds most likely.")
    confidence = models.FloatField(help_text="The model's probability of the suggested label.")
    values = models.JSONField(default=dict, help_text="The row's values of the columns analysed.")
    decision = models.CharField(
        max_length=16, choices=LabelIssueDecision.choices, default=LabelIssueDecision.UNREVIEWED
    )
    label = models.TextField(blank=True, help_text="The corrected label of a confirmed row.")
    note = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by_name = models.CharField(max_length=150, blank=True, help_text="The username at the time.")
    decided_at = models.DateTimeField(null=True, blank=True)
    # The version whose review decided this row, when the decision was carried from there.
    carried_from = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["version", "rank"]
        constraints = [models.UniqueConstraint(fields=["version", "rank"], name="label_issue_unique_rank")]
        indexes = [
            models.Index(fields=["version", "row_hash"], name="label_issue_hash_idx"),
            models.Index(fields=["version", "decision"], name="label_issue_decision_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.row} ({self.given} -> {self.suggested})"


# What people decide about a feature: profiling never overrides it, and it carries over to later
# versions by feature name.
CURATED_FIELDS = ("description", "role", "pii")


class Feature(models.Model):
    """A column (or an implicit one, such as an image's label) of a dataset version."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="features")
    name = models.CharField(max_length=1024)
    position = models.PositiveIntegerField()
    dtype = models.CharField(max_length=128)
    logical_type = models.CharField(max_length=16, choices=LogicalType.choices, blank=True)
    role = models.CharField(max_length=16, choices=FeatureRole.choices, default=FeatureRole.FEATURE)
    description = models.TextField(blank=True)
    pii = models.BooleanField(default=False)
    statistics = models.JSONField(default=dict, blank=True)
    # The fields (description, role, pii) a person set; they carry over to the next version by name.
    curated = models.JSONField(default=list, blank=True)
    curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    curated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="feature_unique_position"),
        ]
        indexes = [models.Index(fields=["name"], name="feature_name_idx")]

    def __str__(self) -> str:
        return self.name


class ProfilePart(models.Model):
    """The partial profile of one partition of a version, waiting to be merged (a chord's result)."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="profile_parts")
    claim = models.UUIDField()
    index = models.PositiveIntegerField()
    data = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "claim", "index"]
        constraints = [
            models.UniqueConstraint(fields=["version", "claim", "index"], name="profile_part_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} part {self.index}"


class Thumbnail(models.Model):
    """A small picture of one image of a version's folder, re-encoded when it was profiled (the
    original bytes are never served), a few per class for people browsing the dataset."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="thumbnails")
    label = models.CharField(max_length=1024, blank=True)
    path = models.CharField(max_length=2048)
    position = models.PositiveIntegerField()
    content = models.BinaryField(help_text="JPEG bytes, at most 128 pixels a side.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()

    class Meta:
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="thumbnail_unique_position")]

    def __str__(self) -> str:
        return f"{self.path} ({self.label or 'no label'})"


class DriftReport(models.Model):
    """How a version differs from another (by default the one before it), from their stored profiles."""

    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="drift_reports")
    against = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="+")
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["version", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["version", "against"], name="drift_report_unique_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.version} against {self.against}"


# The sections of a data card, in the order a card shows them (DESIGN §5 and §8).
CARD_SECTIONS = (
    "summary",
    "citation",
    "people",
    "motivation",
    "intended_uses",
    "out_of_scope_uses",
    "composition",
    "collection",
    "preprocessing",
    "labeling",
    "personal_information",
    "biases_and_limitations",
    "distribution",
    "maintenance",
)


class DataCard(models.Model):
    """What people wrote about a dataset, one Markdown field per section. Facts the catalog knows
    (rows, features, class balance, license, owners, fingerprint) are added when it is rendered."""

    dataset = models.OneToOneField(Dataset, primary_key=True, on_delete=models.CASCADE, related_name="card")
    summary = models.TextField(blank=True, help_text="Identity: what the dataset is, in a paragraph.")
    citation = models.TextField(blank=True, help_text="How to cite it (BibTeX or a sentence).")
    people = models.TextField(blank=True, help_text="Creators, curators, funders, contact.")
    motivation = models.TextField(blank=True, help_text="Why it was made.")
    intended_uses = models.TextField(blank=True, help_text="What it is for.")
    out_of_scope_uses = models.TextField(blank=True, help_text="What it must not be used for.")
    composition = models.TextField(blank=True, help_text="What the instances are; the catalog adds the statistics.")
    collection = models.TextField(blank=True, help_text="How and when the data was collected.")
    preprocessing = models.TextField(blank=True, help_text="Preprocessing and cleaning.")
    labeling = models.TextField(blank=True, help_text="Labeling instructions, who labeled, agreement.")
    personal_information = models.TextField(blank=True, help_text="Personal and sensitive information.")
    biases_and_limitations = models.TextField(blank=True, help_text="Biases, risks and limitations.")
    distribution = models.TextField(blank=True, help_text="How it is distributed; the catalog adds the license.")
    maintenance = models.TextField(blank=True, help_text="Who maintains it, how, and how to report problems.")
    task_categories = models.JSONField(default=list, blank=True, help_text="Hugging Face task categories.")
    # The share of sections people wrote, kept with the card so lists can filter on it.
    completeness = models.FloatField(default=0.0)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dataset"]
        indexes = [models.Index(fields=["completeness"], name="card_completeness_idx")]

    def __str__(self) -> str:
        return f"card of {self.dataset_id}"

    @property
    def missing_sections(self) -> list[str]:
        return [section for section in CARD_SECTIONS if not getattr(self, section).strip()]
