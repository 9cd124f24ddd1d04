from rest_framework import authentication


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication, also accepting `Bearer <key>`, which OpenLineage clients send."""

    accepted_keywords = ("Token", "Bearer")

    def authenticate(self, request):  # type: ignore[no-untyped-def]
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].decode("latin-1") not in self.accepted_keywords:
            return None
        if len(auth) == 1:
            raise authentication.exceptions.AuthenticationFailed("Invalid token header: no credentials provided.")
        if len(auth) > 2:
            raise authentication.exceptions.AuthenticationFailed(
                "Invalid token header: the token must not contain spaces."
            )
        try:
            token = auth[1].decode()
        except UnicodeError:
            raise authentication.exceptions.AuthenticationFailed(
                "Invalid token header: the token contains invalid characters."
            ) from None
        return self.authenticate_credentials(token)
