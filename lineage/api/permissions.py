"""Who may act on lineage through the API, checked by the views' `added_permissions`."""

from typing import Any
from uuid import UUID

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q
from rest_framework import permissions
from rest_framework.request import Request

from catalog.api.permissions import CanWriteDataset
from governance.choices import OwnershipRole
from governance.models import Ownership
from governance.permissions import user_can_write_dataset
from lineage.models import LineageEdge


def user_owns_dataset(user: User | AnonymousUser, dataset_id: UUID) -> bool:
    """Owners (themselves or through a group) and staff: stewards keep a dataset, owners decide what
    it is made from."""
    if not user.is_authenticated:
        return False
    if user.is_staff:
        return True
    return Ownership.objects.filter(
        Q(user=user) | Q(group__user=user), dataset_id=dataset_id, role=OwnershipRole.OWNER
    ).exists()


class AnswersForEdgeTarget(permissions.BasePermission):
    """An edge is read by whoever sees both its datasets; the target's owners and stewards (and staff)
    remove it, and its owners (and staff) decide whether reported lineage counts (confirm, reject)."""

    DECIDING_ACTIONS = ("confirm", "reject")

    def has_object_permission(self, request: Request, view: Any, obj: LineageEdge) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        if getattr(view, "action", None) in self.DECIDING_ACTIONS:
            self.message = "Only the target dataset's owners (or staff) decide whether reported lineage counts."
            return user_owns_dataset(request.user, obj.target_id)
        self.message = "Only the target dataset's owners and stewards (or staff) may remove this edge."
        return user_can_write_dataset(request.user, obj.target_id)


class ChoosesTrustedProducers(CanWriteDataset):
    message = "Only the dataset's owners and stewards (or staff) choose whose lineage it trusts."
