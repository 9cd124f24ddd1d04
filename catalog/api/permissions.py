from rest_framework import permissions

from governance.permissions import user_can_write_dataset


class CanWriteDataset(permissions.BasePermission):
    """Reads for anyone who can see the dataset; writes for its owners and stewards, and staff."""

    message = "Only the dataset's owners and stewards (or staff) may change it."

    def has_object_permission(self, request, view, obj) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        dataset_id = getattr(obj, "dataset_id", None) or obj.pk
        return user_can_write_dataset(request.user, dataset_id)
