"""A field named like an attribute of DRF's fields (`source`, `label`, `data`, `errors`) is declared under
another name and renamed: it answers and reads under its own name, in its place among the others."""

import pytest
from rest_framework import serializers

from config.api.serializers import renamed_fields


@renamed_fields(label_field="label")
class _Labelled(serializers.Serializer):
    name = serializers.CharField()
    label_field = serializers.CharField(max_length=5)
    size = serializers.IntegerField()


def test_it_keeps_the_field_in_its_place_under_its_name():
    assert list(_Labelled().fields) == ["name", "label", "size"]


def test_it_answers_and_reads_the_field_under_its_name():
    assert _Labelled({"name": "a", "label": "cat", "size": 2}).data == {"name": "a", "label": "cat", "size": 2}

    payload = _Labelled(data={"name": "a", "label": "too long", "size": 2})
    assert not payload.is_valid()
    assert set(payload.errors) == {"label"}


def test_it_refuses_to_rename_a_field_that_is_not_declared():
    with pytest.raises(TypeError, match="declares no field colour"):

        @renamed_fields(colour="color")
        class _Plain(serializers.Serializer):
            name = serializers.CharField()
