"""The services record who did what: the views hand them the signed-in user a request acts as, and an
anonymous request that reached one (a view without its permission classes) is refused, never recorded."""

import pytest
from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from config.api.permissions import actor_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _request(user=None) -> Request:
    class Echo(APIView):
        def post(self, request: Request) -> Request:
            return request

    django_request = APIRequestFactory().post("/")
    if user is not None:
        force_authenticate(django_request, user=user)
    return Echo().initialize_request(django_request)


def test_it_gives_the_signed_in_user():
    user = UserFactory()

    assert actor_of(_request(user)) == user


def test_it_refuses_an_anonymous_request_as_unauthenticated():
    request = _request()
    assert isinstance(request.user, AnonymousUser)

    with pytest.raises(exceptions.NotAuthenticated):
        actor_of(request)
