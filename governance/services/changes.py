"""The change log: every service that changes a governed object appends its entry here."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib.auth.models import User
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from config.request_ids import current_request_id
from governance.models import Change


@dataclass(frozen=True)
class ChangeSpec:
    """One entry to record; `change_record_many` writes a batch in one INSERT."""

    action: str
    object_type: str
    object_id: Any
    dataset_id: UUID | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None
    object_repr: str = ""


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # Stored as the API would show them: UUIDs and times as strings, so a stored entry reads the same
    # on PostgreSQL and SQLite.
    if values is None:
        return None
    return json.loads(json.dumps(dict(values), cls=DjangoJSONEncoder))


def change_record_many(*, actor: User | None, changes: Iterable[ChangeSpec], using: str = "default") -> list[Change]:
    """Append entries to the change log, stamped with the actor, the time and the request id."""
    now = timezone.now()
    request_id = current_request_id() or ""
    actor = actor if actor is not None and actor.is_authenticated else None
    rows = [
        Change(
            created_at=now,
            actor=actor,
            actor_name=actor.get_username() if actor is not None else "",
            action=spec.action,
            object_type=spec.object_type,
            object_id=str(spec.object_id),
            object_repr=spec.object_repr[:512],
            dataset_id=spec.dataset_id,
            before=_jsonable(spec.before),
            after=_jsonable(spec.after),
            request_id=request_id,
        )
        for spec in changes
    ]
    return Change.objects.using(using).bulk_create(rows, batch_size=500) if rows else []


def change_record(*, actor: User | None, **spec: Any) -> Change:
    return change_record_many(actor=actor, changes=[ChangeSpec(**spec)])[0]


def changed_values(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The fields that differ, as (before, after) mappings holding only those fields."""
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}
