"""Exchanging a username and password for an API token."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.throttling import LoginThrottle, client_address, login_failure_record
from config.api.views import ProjectAPIView
from governance import services
from governance.api.serializers import TokenRequestSerializer, TokenSerializer


class TokenCreateView(ProjectAPIView):
    """Exchange a username and password for a new API token, shown once."""

    serializer_class = TokenRequestSerializer  # what OPTIONS describes
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [*ProjectAPIView.throttle_classes, LoginThrottle]

    @extend_schema(
        summary="Obtain an API token",
        description="Each call issues a new token, valid for the deployment's token lifetime and until the "
        "password changes. Failed logins are counted per client address and per username; past the limit "
        "the endpoint answers 429 until the period ends.",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer},
    )
    def post(self, request: Request) -> Response:
        payload = TokenRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        username = payload.validated_data["username"]
        user = authenticate(request=request, username=username, password=payload.validated_data["password"])
        if user is None or not user.is_active:
            login_failure_record(address=client_address(request), username=username)
            raise serializers.ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}, code="authorization"
            )
        issued = services.access_token_issue(user=user, name=payload.validated_data["name"])
        return Response(TokenSerializer({"token": issued.key, "expires_at": issued.token.expires_at}).data)
