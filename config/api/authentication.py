from typing import Any

from django.contrib.auth.models import User
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from governance.models import AccessToken
from governance.services import access_token_authenticate


class TokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>`, or `Bearer <key>` as OpenLineage clients send it. Keys are
    checked against their stored digests (governance.AccessToken); an expired key, or one issued
    before its user's password last changed, is refused like an unknown one."""

    keyword = "Token"
    accepted_keywords = ("Token", "Bearer")

    def authenticate(self, request: Request) -> tuple[User, AccessToken] | None:
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].decode("latin-1") not in self.accepted_keywords:
            return None
        if len(auth) == 1:
            raise exceptions.AuthenticationFailed("Invalid token header: no credentials provided.")
        if len(auth) > 2:
            raise exceptions.AuthenticationFailed("Invalid token header: the token must not contain spaces.")
        try:
            key = auth[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(
                "Invalid token header: the token contains invalid characters."
            ) from None
        return self.authenticate_credentials(key)

    def authenticate_credentials(self, key: str) -> tuple[User, AccessToken]:
        token = access_token_authenticate(key=key)
        if token is None:
            raise exceptions.AuthenticationFailed(
                "Invalid token: unknown, expired, or issued before the password was changed. Get a new one "
                "from POST /api/v1/auth/token/."
            )
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
