"""The one mapping of the domain's refusals to problem documents, and the base views' permissions."""

import pytest
from rest_framework import permissions
from rest_framework.test import APIRequestFactory

from config import errors
from config.api.exceptions import problem_exception_handler
from config.api.views import ProjectAPIView


def answer(exc: Exception):
    request = APIRequestFactory().get("/api/v1/datasets/")
    response = problem_exception_handler(exc, {"request": request, "view": None})
    assert response is not None
    return response


def test_invalid_names_the_field_at_fault():
    response = answer(errors.Invalid("Give an https URL.", field="source.uri"))
    assert response.status_code == 400
    assert response.data["errors"] == {"source.uri": ["Give an https URL."]}
    assert response.data["detail"] == "The request has invalid input in: source.uri."
    assert response.content_type == "application/problem+json"


def test_invalid_without_a_field_is_about_the_whole_request():
    response = answer(errors.Invalid("Nothing to change."))
    assert response.data["errors"] == {"non_field_errors": ["Nothing to change."]}


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NotFound("No dataset test/x."), 404, "not_found"),
        (errors.Forbidden("Only its owners may."), 403, "permission_denied"),
        (errors.Conflict("It is in use."), 409, "conflict"),
    ],
)
def test_each_kind_has_its_status_and_keeps_its_message(error, status, code):
    response = answer(error)
    assert response.status_code == status
    assert response.data["detail"] == str(error)
    assert response.data["type"] == f"urn:catalog:problem:{code}"


def test_a_conflict_carries_its_members():
    response = answer(errors.Conflict("A dataset with this name exists.", existing_id="42"))
    assert response.data["existing_id"] == "42"


def test_domain_kinds_stay_the_builtin_exceptions_callers_catch():
    assert isinstance(errors.Invalid("x"), ValueError)
    assert isinstance(errors.NotFound("x"), LookupError)


class OnlyStaff(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_staff)


class Scoped(ProjectAPIView):
    added_permissions = (OnlyStaff,)


def test_added_permissions_come_after_the_defaults():
    assert Scoped.permission_classes == [permissions.IsAuthenticated, OnlyStaff]
    assert ProjectAPIView.permission_classes == [permissions.IsAuthenticated]


def test_a_refusal_with_a_code_of_its_own_names_it_and_carries_its_counts():
    class TooManyEdges(errors.TooLarge):
        code = "too_much_lineage"

    response = answer(TooManyEdges("Split it into several events.", edges=90_000))

    assert response.status_code == 413
    assert response.data["type"] == "urn:catalog:problem:too_much_lineage"
    assert response.data["edges"] == 90_000
