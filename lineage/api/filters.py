"""The filters of lineage's lists: edges, jobs and runs."""

from django.db.models import Q
from django_filters import rest_framework as filters

from catalog.selectors import datasets_visible_to
from config.api.filters import UTCDateTimeFilter
from lineage.choices import EdgeOrigin, EdgeStatus, ProjectionState, RunState
from lineage.models import Job, LineageEdge, LineageEvent, Run


class EdgeFilter(filters.FilterSet):
    dataset = filters.UUIDFilter(method="filter_dataset", help_text="Edges into or out of this dataset.")
    source = filters.UUIDFilter(field_name="source_id")
    target = filters.UUIDFilter(field_name="target_id")
    origin = filters.ChoiceFilter(choices=EdgeOrigin.choices)
    status = filters.ChoiceFilter(choices=EdgeStatus.choices)
    job = filters.UUIDFilter(field_name="job_id")

    class Meta:
        model = LineageEdge
        fields = ["dataset", "source", "target", "origin", "status", "job"]

    def filter_dataset(self, queryset, name, value):
        return queryset.filter(Q(source_id=value) | Q(target_id=value))


class EventFilter(filters.FilterSet):
    state = filters.ChoiceFilter(choices=ProjectionState.choices)
    kind = filters.CharFilter()

    class Meta:
        model = LineageEvent
        fields = ["state", "kind"]


class JobFilter(filters.FilterSet):
    namespace = filters.CharFilter()
    name = filters.CharFilter()
    job_type = filters.CharFilter()

    class Meta:
        model = Job
        fields = ["namespace", "name", "job_type"]


class RunFilter(filters.FilterSet):
    job = filters.UUIDFilter(field_name="job_id")
    namespace = filters.CharFilter(field_name="job__namespace", help_text="The job's namespace.")
    job_name = filters.CharFilter(field_name="job__name", help_text="The job's name.")
    state = filters.ChoiceFilter(choices=RunState.choices)
    started_after = UTCDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UTCDateTimeFilter(field_name="started_at", lookup_expr="lt")
    dataset = filters.UUIDFilter(method="filter_dataset", help_text="Runs that read or wrote it.")

    class Meta:
        model = Run
        fields = ["job", "namespace", "job_name", "state", "started_after", "started_before", "dataset"]

    def filter_dataset(self, queryset, name, value):
        # Only a dataset the caller may read: asking by a restricted dataset's id tells nothing.
        readable = datasets_visible_to(self.request.user).filter(pk=value)
        return queryset.filter(datasets__dataset__in=readable).distinct()
