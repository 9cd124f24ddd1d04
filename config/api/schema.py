"""OpenAPI generation: every operation documents the problem-details errors it can answer."""

from typing import Any

from drf_spectacular import openapi, plumbing
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import force_instance
from drf_spectacular.utils import OpenApiResponse
from rest_framework import permissions, serializers

from config.api.conditional import ETAG_HEADER, IF_MATCH_PARAMETER, IF_NONE_MATCH_PARAMETER, ConditionalMixin
from config.api.exceptions import PROBLEM_CONTENT_TYPE
from config.api.serializers import StrictInputMixin, renamed_fields


class ProblemSerializer(serializers.Serializer):
    """An RFC 9457 problem document."""

    type = serializers.CharField(help_text="A URI reference naming the kind of problem.")
    title = serializers.CharField(help_text="The HTTP status phrase.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong, in a sentence a person can act on.")

    class Meta:
        ref_name = "Problem"


@renamed_fields(errors_field="errors")
class ValidationProblemSerializer(ProblemSerializer):
    errors_field = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text='Messages per field; nested fields are dotted ("source.uri"). Absent when the body is not '
        "JSON at all.",
    )

    class Meta:
        ref_name = "ValidationProblem"


class ConflictProblemSerializer(ProblemSerializer):
    existing_id = serializers.CharField(
        required=False, help_text="The id of the resource the request conflicts with (a UUID, or a license id)."
    )

    class Meta:
        ref_name = "ConflictProblem"


_ERROR_DESCRIPTIONS = {
    "400": "The request is invalid; `errors` names each field and what is wrong with it. Fields the body may not "
    "carry are named too: an unknown one (with the closest field taken, when one is close) or a read-only one; and "
    "on a list, a query parameter it does not take.",
    "401": "No valid credentials: send `Authorization: Token <key>` (or `Bearer <key>`).",
    "403": "The credentials are valid but do not allow this.",
    "404": "No such resource, or not visible to you (a malformed id too).",
    "405": "The method is not allowed on this path; `Allow` names those that are.",
    "406": "None of the media types in `Accept` can be produced.",
    "409": "The request conflicts with an existing resource.",
    "413": "The request body is too large.",
    "412": "The resource changed since you read it: its ETag no longer matches If-Match.",
    "415": "The request body's media type is not supported; send application/json.",
    "429": "Too many requests; wait the number of seconds in Retry-After.",
    "503": "The database cannot be reached just now; nothing was changed. Retry after the seconds in Retry-After.",
}


class AutoSchema(openapi.AutoSchema):
    def _is_conditional(self) -> bool:
        return isinstance(self.view, ConditionalMixin) and self.view._is_conditional()

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._is_conditional():
            if self.method in ("GET", "HEAD"):
                parameters += [IF_NONE_MATCH_PARAMETER, ETAG_HEADER]
            elif self.method in ("PUT", "PATCH"):
                parameters += [IF_MATCH_PARAMETER, ETAG_HEADER]
        return parameters

    def _map_serializer(self, serializer: Any, direction: Any, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # A strict body takes no member it does not declare (read-only ones are not in a request's schema).
        strict = isinstance(force_instance(serializer), StrictInputMixin)
        if direction == "request" and strict and schema.get("type") == "object":
            schema["additionalProperties"] = False
        return schema

    def _error_codes(self) -> list[str]:
        codes = ["400", "406"]
        allows_anyone = any(isinstance(permission, permissions.AllowAny) for permission in self.view.get_permissions())
        if not allows_anyone:
            codes += ["401", "403"]
        if "{" in self.path:
            codes.append("404")
        codes.append("405")
        if self.method in ("POST", "PUT", "PATCH"):
            codes += ["413", "415"]
        if self.method in ("PUT", "PATCH") and self._is_conditional():
            codes.append("412")
        if self.view.get_throttles():
            codes.append("429")
        codes.append("503")
        return codes

    def _error_serializer(self, code: str) -> type[serializers.Serializer]:
        if code == "400":
            return ValidationProblemSerializer
        if code == "409":
            return ConflictProblemSerializer
        return ProblemSerializer

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, response in responses.items():
            # Errors a view declares itself are problem documents too.
            content = response.get("content", {})
            if code.startswith("4") and "application/json" in content:
                content[PROBLEM_CONTENT_TYPE] = content.pop("application/json")
        if self.method in ("GET", "HEAD") and self._is_conditional() and "304" not in responses:
            responses["304"] = {"description": "Not modified: the ETag in If-None-Match is still current."}
        for code in self._error_codes():
            if code in responses:
                continue
            response = OpenApiResponse(response=self._error_serializer(code), description=_ERROR_DESCRIPTIONS[code])
            responses[code] = self._get_response_for_code(
                response, code, media_types=[PROBLEM_CONTENT_TYPE], direction=direction
            )
        return responses


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "config.api.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Token <key>` or `Bearer <key>`. Get a key from POST /api/v1/auth/token/ "
                "or `python manage.py issue_token USERNAME`; it is shown once. A key expires after "
                "CATALOG_TOKEN_TTL and stops working when its user's password changes."
            ),
        }


def lib_doc_excludes() -> list[type]:
    """The classes whose docstrings the schema never takes to describe an operation: drf-spectacular's
    (DRF's own), and the project's base views, which describe themselves, not the views built on them."""
    from config.api.filters import QueryParametersChecked
    from config.api.views import ProjectViewMixin

    return [*plumbing.get_lib_doc_excludes(), ProjectViewMixin, QueryParametersChecked]
