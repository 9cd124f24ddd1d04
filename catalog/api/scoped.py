"""The base of every view of something that belongs to one dataset (its versions, card, owners, grants)."""

from typing import TYPE_CHECKING

from django.shortcuts import get_object_or_404

from catalog.api.permissions import CanWriteDataset
from catalog.models import Dataset
from catalog.selectors import datasets_visible_to
from config.api.views import ProjectViewMixin

# The type checker reads the mixin as the view it is mixed into; at run time it adds no base of its own.
if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView as _View
else:
    _View = object


class DatasetScoped(ProjectViewMixin, _View):
    # Read by whoever can see the dataset named by the path's `dataset_id`; changed by its owners and
    # stewards (or staff). A dataset the caller cannot see answers 404, as if it did not exist.
    # (A comment, not a docstring: the schema describes an operation by its view's docstrings.)

    added_permissions = (CanWriteDataset,)

    def get_dataset(self) -> Dataset:
        dataset = get_object_or_404(datasets_visible_to(self.request.user), pk=self.kwargs["dataset_id"])
        self.check_object_permissions(self.request, dataset)
        return dataset
