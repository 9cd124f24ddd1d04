"""Datasets named in request bodies: by id or by `namespace/name`, resolved by one selector
(`catalog.selectors.datasets_resolve`) wherever a body names one."""

from collections.abc import Mapping
from typing import Any, cast

from django.contrib.auth.models import AnonymousUser, User
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from catalog.models import Dataset
from catalog.selectors import (
    REFERENCE_MAX_LENGTH,
    ReferenceAmbiguous,
    ReferenceInvalid,
    ReferencesUnknown,
    datasets_resolve,
    reference_parse,
)


@extend_schema_field(
    {
        "type": "string",
        "maxLength": REFERENCE_MAX_LENGTH,
        "description": "A dataset's id, or its `namespace/name` (such as `team-tabular/flowers`).",
        "example": "team-tabular/flowers",
    }
)
class DatasetReferenceField(serializers.CharField):
    """A dataset by its id or its `namespace/name`; the text is kept, checked for its shape only:
    what it names depends on who asks, so it is resolved with the caller (`references_resolve`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", REFERENCE_MAX_LENGTH)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Give a dataset's id or its namespace/name, as a string.")
        text = super().to_internal_value(data)
        try:
            reference_parse(text)
        except ReferenceInvalid as exc:
            raise serializers.ValidationError(str(exc)) from None
        return text.strip()


def references_resolve(*, user: User | AnonymousUser, fields: Mapping[str, str]) -> dict[str, Dataset]:
    """The dataset each field of a body names (field -> reference), for this user; a 400 naming each
    field whose reference names nothing they may read (unknown and hidden alike) or more than one."""
    try:
        found = datasets_resolve(user=user, references=list(fields.values()))
    except ReferenceAmbiguous as exc:
        raise serializers.ValidationError(
            {field: [str(exc)] for field, reference in fields.items() if reference == exc.reference}
        ) from None
    except ReferencesUnknown as exc:
        raise serializers.ValidationError(
            {
                field: [str(ReferencesUnknown([reference]))]
                for field, reference in fields.items()
                if reference in exc.references
            }
        ) from None
    # Without `versions`, only datasets are looked for.
    return {field: cast(Dataset, found[reference]) for field, reference in fields.items()}
