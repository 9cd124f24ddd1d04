"""The change log, as each reader may see it."""

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins

from config.api.views import ProjectViewSet
from governance.api.filters import ChangeFilter
from governance.api.serializers import ChangeSerializer
from governance.models import Change
from governance.selectors import change_ids_hidden, change_redacted, changes_visible_to


@extend_schema_view(
    list=extend_schema(
        summary="Read the change log",
        description="Every change to a dataset, version, feature, card, owner, grant, license, lineage edge or "
        "group, newest first: who, when, what, and the values before and after. Append-only: entries are never "
        "changed or removed. Entries about datasets you cannot see are not listed; entries about a group to staff "
        "and those who may see the group (its members and owners); entries about storage locations and namespaces "
        "to staff only.",
    ),
    retrieve=extend_schema(summary="Read one change-log entry"),
)
class ChangeViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, ProjectViewSet):
    serializer_class = ChangeSerializer
    filterset_class = ChangeFilter
    lookup_value_converter = "uuid"

    def get_queryset(self) -> QuerySet[Change]:
        return changes_visible_to(self.request.user)

    def get_serializer(self, *args, **kwargs):
        # An entry about a dataset the reader may read can still name one they may not (an edge into
        # theirs from a restricted dataset): such ids are redacted, so the entry stays, saying less.
        if args and not self.request.user.is_staff:
            entries = list(args[0]) if kwargs.get("many") else [args[0]]
            return _RedactedChanges(
                entries, change_ids_hidden(entries, self.request.user), many=kwargs.get("many", False)
            )
        return super().get_serializer(*args, **kwargs)


class _RedactedChanges:
    """Change-log entries serialized with the ids of datasets the reader may not read taken out."""

    def __init__(self, entries: list[Change], hidden: set[str], *, many: bool) -> None:
        self.entries, self.hidden, self.many = entries, hidden, many

    @property
    def data(self) -> Any:
        rows = [ChangeSerializer(entry).data for entry in self.entries]
        if self.hidden:
            rows = [change_redacted(dict(row), self.hidden) for row in rows]
        return rows if self.many else rows[0]
