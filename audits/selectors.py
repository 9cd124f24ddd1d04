"""Reads of stored audits."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from governance.models import Audit


def audits_visible_to(user: User | AnonymousUser) -> QuerySet[Audit]:
    """Staff read every audit; others the audits they ran."""
    audits = Audit.objects.select_related("created_by", "rerun_of")
    if user.is_staff:
        return audits
    return audits.filter(created_by_id=user.pk) if user.is_authenticated else audits.none()
