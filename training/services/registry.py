"""Models: created, described and tagged by their owners; found or created by the runs that name them.

Models are visible to every authenticated user; their owners and stewards (and staff) change them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from catalog.services.datasets import _tags_for
from config import errors
from config.identities import IdentityInvalid, identity_checked
from governance.choices import ChangeAction, ObjectType, OwnershipRole
from governance.permissions import user_can_write_model
from governance.services import change_record, changed_values, model_ownership_add
from training.models import Model
from training.specs import ModelRef


class ModelExists(errors.Conflict):
    code = "model_exists"

    def __init__(self, model: Model) -> None:
        super().__init__(
            f"A model {model.namespace}/{model.name} exists already; change it with PATCH, or choose another name.",
            id=str(model.pk),
        )


def model_values(model: Model, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """What the change log records of a model: the fields people set."""
    names = sorted(tags) if tags is not None else sorted(tag.name for tag in model.tags.all())
    return {"namespace": model.namespace, "name": model.name, "description": model.description, "tags": names}


def _identity(value: str, field: str) -> str:
    if not value or not value.strip():
        raise errors.Invalid(f"A model's {field} may not be empty.", field=field)
    try:
        return identity_checked(value)
    except IdentityInvalid as exc:
        raise errors.Invalid(f"This name {exc}.", field=field) from None


def model_create(*, actor: User, namespace: str, name: str, description: str = "", tags: Iterable[str] = ()) -> Model:
    """A new model, with its creator as its owner. A (namespace, name) taken is ModelExists."""
    namespace, name = _identity(namespace, "namespace"), _identity(name, "name")
    tag_names = list(tags)
    try:
        with transaction.atomic():
            model = Model.objects.create(namespace=namespace, name=name, description=description, created_by=actor)
            tag_rows = _tags_for(tag_names) if tag_names else []
            model.tags.set(tag_rows)
            change_record(
                actor=actor,
                action=ChangeAction.CREATE,
                object_type=ObjectType.MODEL,
                object_id=model.pk,
                after=model_values(model, [tag.name for tag in tag_rows]),
                object_repr=str(model),
            )
            model_ownership_add(model_id=model.pk, user=actor, role=OwnershipRole.OWNER, actor=actor)
    except IntegrityError:
        existing = Model.objects.filter(namespace=namespace, name=name).first()
        if existing is None:
            raise
        raise ModelExists(existing) from None
    return model


def model_update(
    *, actor: User, model: Model, description: str | None = None, tags: Iterable[str] | None = None
) -> Model:
    """Change a model's description or tags: its owners and stewards, or staff (Forbidden otherwise)."""
    if not user_can_write_model(actor, model.pk):
        raise errors.Forbidden("Only the model's owners and stewards (or staff) may change it.")
    with transaction.atomic():
        locked = Model.objects.select_for_update().get(pk=model.pk)
        before = model_values(locked)
        tag_names: list[str] | None = None
        if description is not None:
            locked.description = description
        locked.save()
        if tags is not None:
            tag_rows = _tags_for(tags)
            locked.tags.set(tag_rows)
            tag_names = [tag.name for tag in tag_rows]
        old, new = changed_values(before, model_values(locked, tag_names if tag_names is not None else before["tags"]))
        if new:
            change_record(
                actor=actor,
                action=ChangeAction.UPDATE,
                object_type=ObjectType.MODEL,
                object_id=locked.pk,
                before=old,
                after=new,
                object_repr=str(locked),
            )
    return locked


def model_from_ref(*, actor: User, ref: ModelRef) -> tuple[Model, bool]:
    """The model a run names, by id or by (namespace, name); one named that does not exist yet is
    created with `actor` as its owner. Returns the model and whether it was created. An existing
    model is never changed here (its description, its owners)."""
    if ref.id is not None:
        model = Model.objects.filter(pk=ref.id).first()
        if model is None:
            raise errors.Invalid(f"There is no model {ref.id}.", field="model")
        return model, False
    namespace, name = _identity(ref.namespace, "model.namespace"), _identity(ref.name, "model.name")
    model = Model.objects.filter(namespace=namespace, name=name).first()
    if model is not None:
        return model, False
    try:
        with transaction.atomic():
            return model_create(actor=actor, namespace=namespace, name=name, description=ref.description), True
    except ModelExists:
        # Created by another request at the same moment.
        return Model.objects.get(namespace=namespace, name=name), False
