import django_filters
from django import forms
from django_filters.fields import IsoDateTimeField

from config.moments import MomentOutOfRange, moment_in_utc


class UTCDateTimeField(IsoDateTimeField):
    def to_python(self, value):  # type: ignore[no-untyped-def]
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment_in_utc(moment)
        except MomentOutOfRange as exc:
            raise forms.ValidationError(str(exc)) from None


class UTCDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 instant, compared in UTC: any offset Python accepts, any year the database holds."""

    field_class = UTCDateTimeField
