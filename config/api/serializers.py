"""Request bodies read strictly: a key the body may not carry is a 400 naming it, never silently dropped.

DRF ignores keys a serializer does not declare and fields it declares read-only, so `{"licence": "MIT"}`
registered a dataset without a license and answered 201, and a PATCH of a field that cannot change answered
200 having changed nothing. A client that believes it set something must learn that it did not.
"""

import difflib
import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from rest_framework import serializers
from rest_framework.settings import api_settings

# Refused keys named in one answer; a body of thousands of them gets these and a count of the rest.
MAX_NAMED = 20
# Longer keys are shown cut, and no close match is looked for.
MAX_SHOWN = 64
# How alike a key and a field must be (difflib's ratio) for the field to be suggested.
_CLOSE = 0.75


def shown(key: str) -> str:
    return key if len(key) <= MAX_SHOWN else key[:MAX_SHOWN] + "..."


def close_match(key: str, names: list[str]) -> str | None:
    if len(key) > MAX_SHOWN:
        return None
    matches = difflib.get_close_matches(key, names, n=1, cutoff=_CLOSE)
    return matches[0] if matches else None


def unknown_message(key: str, known: list[str], what: str) -> str:
    match = close_match(key, known)
    if match is not None:
        return f"Unknown {what}; did you mean {match!r}?"
    if not known:
        return f"Unknown {what}; none is taken here."
    return f"Unknown {what}; those taken here are {', '.join(known)}."


SerializerClass = TypeVar("SerializerClass", bound=type[serializers.Serializer])


def renamed_fields(**names: str) -> Callable[[SerializerClass], SerializerClass]:
    """Give declared fields the names they are declared under here: `@renamed_fields(source_field="source")`.

    For a field named like an attribute DRF's fields and serializers have themselves (`source`, `label`,
    `data`, `errors`): DRF takes declared fields out of the class body, so such a name works, but a type
    checker reads it as redefining that attribute. The field keeps its place among the others."""

    def rename(serializer_class: SerializerClass) -> SerializerClass:
        declared = serializer_class._declared_fields
        if missing := sorted(names.keys() - declared.keys()):
            raise TypeError(f"{serializer_class.__name__} declares no field {', '.join(missing)} to rename.")
        serializer_class._declared_fields = {names.get(name, name): field for name, field in declared.items()}
        return serializer_class

    return rename


@functools.cache
def _field_names(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    return frozenset(serializer_class().fields)


# The type checker reads the mixin as the serializer it is mixed into; at run time it adds no base of its own.
if TYPE_CHECKING:
    _Serializer = serializers.Serializer
else:
    _Serializer = object


# For a serializer that reads a request body (put before the serializer class in the bases). Every key must be a
# writable field. A key the resource has but this body may not set (`id`, `created_at`, or a field that cannot
# change, such as a dataset's `namespace` on PATCH) is refused as read-only: those are the serializer's read-only
# fields and the fields of `representation`, the serializer that answers the resource. Any other key is unknown,
# refused with the closest field when one is close (`licence`: did you mean `license`?). Nested strict serializers
# refuse their own keys, named with their path (`source.lable_column`). Values meant to be free-form (a JSONField,
# a DictField) are not serializers, and keep any key.
#
# No docstrings on these classes: drf-spectacular would document every request body with them.
class StrictInputMixin(_Serializer):
    representation: type[serializers.Serializer] | None = None

    def refusal(self, key: str) -> str | None:
        """A message of its own for a refused key; None for the usual one."""
        return None

    def refused_keys(self, data: Mapping[str, Any]) -> dict[str, list[str]]:
        fields = self.fields
        writable = sorted(name for name, field in fields.items() if not field.read_only)
        extra = [key for key in data if key not in fields or fields[key].read_only]
        if not extra:
            return {}
        read_only = {name for name, field in fields.items() if field.read_only}
        if self.representation is not None:
            read_only |= _field_names(self.representation) - set(writable)
        refused: dict[str, list[str]] = {}
        for key in extra[:MAX_NAMED]:
            message = self.refusal(key)
            if message is None and key in read_only:
                message = "Read-only: it cannot be set here; leave it out."
            refused[shown(key)] = [message or unknown_message(key, writable, "field")]
        if len(extra) > MAX_NAMED:
            refused[api_settings.NON_FIELD_ERRORS_KEY] = [
                f"{len(extra) - MAX_NAMED} more fields that are not taken here are not named."
            ]
        return refused

    def to_internal_value(self, data: Any) -> Any:
        refused = self.refused_keys(data) if isinstance(data, Mapping) else {}
        if not refused:
            return super().to_internal_value(data)
        # The other fields are checked too, so that one answer names everything to fix.
        try:
            super().to_internal_value(data)
        except serializers.ValidationError as exc:
            detail = exc.detail if isinstance(exc.detail, Mapping) else {api_settings.NON_FIELD_ERRORS_KEY: exc.detail}
            merged: dict[str, Any] = dict(detail)
            for key, messages in refused.items():
                merged[key] = [*merged[key], *messages] if isinstance(merged.get(key), list) else messages
            raise serializers.ValidationError(merged) from None
        raise serializers.ValidationError(refused)


class StrictSerializer(StrictInputMixin, serializers.Serializer):
    pass


class StrictModelSerializer(StrictInputMixin, serializers.ModelSerializer):
    pass
