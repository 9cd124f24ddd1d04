from django.contrib.auth.models import User
from rest_framework import exceptions, permissions
from rest_framework.request import Request
from rest_framework.views import APIView


def actor_of(request: Request) -> User:
    """The signed-in user a request acts as, for the services that record who did what.

    Every view that writes lets only authenticated users through (the default permission class, or a
    stricter one), so an anonymous user here is a view that forgot its permissions: it is refused as
    unauthenticated rather than written down as nobody."""
    user = request.user
    if not isinstance(user, User) or not user.is_authenticated:
        raise exceptions.NotAuthenticated()
    return user


class IsStaff(permissions.BasePermission):
    message = "Only staff may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


class StaffWrites(permissions.BasePermission):
    """Reads for any authenticated user; writes for staff."""

    message = "Only staff may change licenses."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in permissions.SAFE_METHODS or request.user.is_staff
