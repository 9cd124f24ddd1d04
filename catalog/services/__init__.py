"""Writes to the catalog, on the request side: what views, the admin and commands call. Nothing else
changes catalog rows, except the worker side (`catalog.pipeline`), which profiles and verifies the
versions these register. The public names are gathered here: `services.dataset_register(...)`."""

from catalog.services.cards import card_import, card_update
from catalog.services.datasets import (
    DATASET_FIELDS,
    dataset_describe,
    dataset_purge,
    dataset_purging,
    dataset_retire,
    dataset_update,
    dataset_values,
    datasets_discover,
    users_answering_for,
)
from catalog.services.errors import (
    DatasetAlreadyExists,
    DatasetNotPurgeable,
    NamespaceClosed,
    ReadOptionsInapplicable,
    VersionBusy,
    VersionNotProfiled,
    VersionNotVerifiable,
)
from catalog.services.label_review import (
    LabelDecisionsInvalid,
    LabelReviewForbidden,
    decision_problems,
    label_classes,
    label_issues_decide,
)
from catalog.services.registration import (
    INHERIT,
    SENSITIVITY_FROM_SHARED_BYTES,
    Inherit,
    SourceSpec,
    dataset_register,
    source_confined,
    version_create,
    version_reprofile,
)
from catalog.services.versions import feature_curate, version_drift, version_update, version_verify_request

__all__ = [
    "DATASET_FIELDS",
    "INHERIT",
    "SENSITIVITY_FROM_SHARED_BYTES",
    "DatasetAlreadyExists",
    "DatasetNotPurgeable",
    "Inherit",
    "LabelDecisionsInvalid",
    "LabelReviewForbidden",
    "NamespaceClosed",
    "ReadOptionsInapplicable",
    "SourceSpec",
    "VersionBusy",
    "VersionNotProfiled",
    "VersionNotVerifiable",
    "card_import",
    "card_update",
    "dataset_describe",
    "dataset_purge",
    "dataset_purging",
    "dataset_register",
    "dataset_retire",
    "dataset_update",
    "dataset_values",
    "datasets_discover",
    "decision_problems",
    "feature_curate",
    "label_classes",
    "label_issues_decide",
    "source_confined",
    "users_answering_for",
    "version_create",
    "version_drift",
    "version_reprofile",
    "version_update",
    "version_verify_request",
]
