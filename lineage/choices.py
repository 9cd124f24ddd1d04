from django.db import models

from lineage.openlineage import EventKind


class RunState(models.TextChoices):
    """OpenLineage's eventType, as the state of a run."""

    START = "START", "Started"
    RUNNING = "RUNNING", "Running"
    COMPLETE = "COMPLETE", "Complete"
    ABORT = "ABORT", "Aborted"
    FAIL = "FAIL", "Failed"
    OTHER = "OTHER", "Other"


# Events of one run may arrive in any order: a run's state is the one of highest rank seen, the
# later event time breaking ties, so a late START never reopens a finished run.
RUN_STATE_RANK = {
    RunState.OTHER: 0,
    RunState.START: 1,
    RunState.RUNNING: 2,
    RunState.COMPLETE: 3,
    RunState.ABORT: 3,
    RunState.FAIL: 3,
}
FINISHED_STATES = (RunState.COMPLETE, RunState.ABORT, RunState.FAIL)


# OpenLineage's kinds of event are named once, where events are validated (no Django there); the
# model's choices are derived from them: ("RunEvent", "Run event").
EVENT_KIND_CHOICES = [(kind.value, kind.value.removesuffix("Event") + " event") for kind in EventKind]


class ProjectionState(models.TextChoices):
    """Where an accepted event stands: recorded and waiting for the projector, in the graph, or refused by
    the projection (the event's `outcome` says why; it changed nothing)."""

    PENDING = "pending", "Waiting to be projected"
    PROJECTED = "projected", "Projected into the graph"
    REFUSED = "refused", "Refused by the projection"


class AliasKind(models.TextChoices):
    SYMLINK = "symlink", "Symlinks facet"
    LOCATION = "location", "The location of a registered source"


class Direction(models.TextChoices):
    INPUT = "input", "Input"
    OUTPUT = "output", "Output"


class EdgeOrigin(models.TextChoices):
    OPENLINEAGE = "openlineage", "OpenLineage event"
    MANUAL = "manual", "Declared through the API"


class EdgeStatus(models.TextChoices):
    """Whether lineage counts: reported by someone who may write its target, or held for the target's owners."""

    CONFIRMED = "confirmed", "Confirmed"
    UNCONFIRMED = "unconfirmed", "Unconfirmed: reported by someone who may not write the target"
