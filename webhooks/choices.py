from django.db import models


class Event(models.TextChoices):
    """What a webhook may be told, named `<thing>.<what happened>`."""

    VERSION_READY = "version.ready", "A version's profile is stored"
    VERSION_FAILED = "version.failed", "A version could not be profiled"
    VERSION_SOURCE_CHANGED = "version.source_changed", "A version's bytes changed after registration"
    AUDIT_COMPLETED = "audit.completed", "An audit is stored, with its verdict"
    CONTRACT_FAILED = "contract.failed", "A version broke its dataset's contract"
    MODEL_AFFECTED = "model.affected", "A model gained a finding about the data it learned from"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending: to be sent, or sent again after a failed attempt"
    SUCCEEDED = "succeeded", "Succeeded: the receiver answered 2xx"
    FAILED = "failed", "Failed: refused for good, or every attempt failed"
