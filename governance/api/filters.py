import django_filters
from django.db.models import Q, QuerySet

from config.api.filters import UTCDateTimeFilter
from governance.choices import ChangeAction, ObjectType
from governance.models import Change, License


class LicenseFilter(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search", help_text="Part of the id or the name.")
    is_custom = django_filters.BooleanFilter(help_text="LicenseRef-* licenses only (true) or SPDX ones (false).")
    is_deprecated = django_filters.BooleanFilter()
    reviewed = django_filters.BooleanFilter(help_text="Terms checked against the legal text.")
    has_terms = django_filters.BooleanFilter(
        field_name="commercial_use", lookup_expr="isnull", exclude=True, help_text="Licenses whose terms are stated."
    )
    commercial_use = django_filters.BooleanFilter()
    share_alike = django_filters.BooleanFilter()
    attribution = django_filters.BooleanFilter()

    class Meta:
        model = License
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[License], name: str, value: str) -> QuerySet[License]:
        return queryset.filter(Q(spdx_id__icontains=value) | Q(name__icontains=value))


class ChangeFilter(django_filters.FilterSet):
    object_type = django_filters.ChoiceFilter(choices=ObjectType.choices)
    object_id = django_filters.CharFilter(help_text="The id of the object changed (a UUID, a license id).")
    dataset = django_filters.UUIDFilter(
        field_name="dataset_id", help_text="Changes to a dataset and everything that belongs to it."
    )
    actor = django_filters.CharFilter(field_name="actor_name", help_text="The username of who made the change.")
    action = django_filters.ChoiceFilter(choices=ChangeAction.choices)
    since = UTCDateTimeFilter(field_name="created_at", lookup_expr="gte", help_text="At or after.")
    until = UTCDateTimeFilter(field_name="created_at", lookup_expr="lt", help_text="Before.")
    request_id = django_filters.CharFilter()

    class Meta:
        model = Change
        fields: list[str] = []
