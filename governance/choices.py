from django.db import models


class Sensitivity(models.TextChoices):
    PUBLIC = "public", "Public"
    INTERNAL = "internal", "Internal"
    CONFIDENTIAL = "confidential", "Confidential"
    RESTRICTED = "restricted", "Restricted"


class OwnershipRole(models.TextChoices):
    OWNER = "owner", "Owner"
    STEWARD = "steward", "Steward"
    CUSTODIAN = "custodian", "Custodian"


# Roles that may change a dataset, its versions, its card and its owners.
WRITING_ROLES = (OwnershipRole.OWNER, OwnershipRole.STEWARD)


class Origin(models.TextChoices):
    """How a dataset was obtained; web-crawled data with no known license is an audit blocker."""

    INTERNAL = "internal", "Internal"
    CROWDSOURCED = "crowdsourced", "Crowdsourced"
    WEB_CRAWLED = "web_crawled", "Web-crawled"
    PURCHASED = "purchased", "Purchased"
    SYNTHETIC = "synthetic", "Synthetic"
    PUBLIC_DATASET = "public_dataset", "Public dataset"
    PARTNER = "partner", "Partner"


class ChangeAction(models.TextChoices):
    CREATE = "create", "Create"
    UPDATE = "update", "Update"
    DELETE = "delete", "Delete"
    RETIRE = "retire", "Retire"
    PURGE = "purge", "Purge"


class ObjectType(models.TextChoices):
    """What a change-log entry is about."""

    DATASET = "dataset", "Dataset"
    VERSION = "version", "Version"
    FEATURE = "feature", "Feature"
    CARD = "card", "Data card"
    OWNERSHIP = "ownership", "Ownership"
    ACCESS_GRANT = "access_grant", "Access grant"
    LICENSE = "license", "License"
    EDGE = "edge", "Lineage edge"
    STORAGE_LOCATION = "storage_location", "Storage location"
    NAMESPACE = "namespace", "Namespace"
    GROUP = "group", "Group"
    MODEL = "model", "Model"
    TRAINING_RUN = "training_run", "Training run"
    MODEL_OWNERSHIP = "model_ownership", "Model ownership"
    WEBHOOK = "webhook", "Webhook"
    CONTRACT = "contract", "Contract"


# Entries about these are shown to staff only: they name no dataset, and say who may register where or
# which receivers are told what happens.
STAFF_ONLY_OBJECT_TYPES = (ObjectType.STORAGE_LOCATION, ObjectType.NAMESPACE, ObjectType.WEBHOOK)


# The terms a license states, in the order they are shown.
LICENSE_TERMS = (
    "commercial_use",
    "modification",
    "redistribution",
    "attribution",
    "share_alike",
    "non_commercial",
    "no_derivatives",
)


class PrincipalType(models.TextChoices):
    """Who an ownership or a grant names."""

    USER = "user", "User"
    GROUP = "group", "Group"


class Verdict(models.TextChoices):
    PASS = "pass", "Pass"
    CONDITIONAL = "conditional", "Conditional: obligations or warnings"
    FAIL = "fail", "Fail: at least one blocker"


class AuditRole(models.TextChoices):
    """How a dataset entered an audit."""

    AUDITED = "audited", "Audited (read by the training run)"
    UPSTREAM = "upstream", "Upstream (derived from)"
