from drf_spectacular.utils import extend_schema
from rest_framework import serializers, views
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="Send as `Authorization: Token <token>`.")


class TokenCreateView(views.APIView):
    """Exchange a username and password for the user's API token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(summary="Obtain an API token", request=AuthTokenSerializer, responses={200: TokenSerializer})
    def post(self, request: Request) -> Response:
        payload = AuthTokenSerializer(data=request.data, context={"request": request})
        payload.is_valid(raise_exception=True)
        token, _ = Token.objects.get_or_create(user=payload.validated_data["user"])
        return Response({"token": token.key})
