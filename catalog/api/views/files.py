"""One file of a version, downloaded as it is or as a CSV rendition, with the Basic credentials Croissant
readers send."""

import base64
import logging
import mimetypes
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import authentication, exceptions, generics, serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request

from catalog import downloads, selectors
from catalog.models import DatasetVersion
from catalog.selectors import personal_data_visible_to
from config.api.authentication import TokenAuthentication
from config.api.schema import ProblemSerializer
from config.api.views import ProjectAPIView

logger = logging.getLogger(__name__)


class TokenAsBasicPassword(authentication.BaseAuthentication):
    """`Authorization: Basic` with an API token as the password (the user name is not looked at), for the file
    downloads alone: Croissant readers send only Basic credentials (mlcroissant takes them from
    CROISSANT_BASIC_AUTH_USERNAME and CROISSANT_BASIC_AUTH_PASSWORD). The token is checked as any other."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        auth = authentication.get_authorization_header(request).split()
        if not auth or auth[0].lower() != b"basic":
            return None
        try:
            if len(auth) != 2:
                raise ValueError
            _, separator, key = base64.b64decode(auth[1], validate=True).decode("utf-8").partition(":")
            if not separator or not key:
                raise ValueError
        except (ValueError, UnicodeError):
            raise exceptions.AuthenticationFailed(
                "Invalid basic header: give base64 of 'any-name:<your API token>'."
            ) from None
        return TokenAuthentication().authenticate_credentials(key)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="api"'


class TokenAsBasicPasswordScheme(OpenApiAuthenticationExtension):
    target_class = "catalog.api.views.files.TokenAsBasicPassword"
    name = "tokenAsBasicPassword"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "basic",
            "description": "File downloads only: any user name, an API token as the password.",
        }


class _Chunks:
    """A response body that closes the file it streams when the response is closed, read to its end or not."""

    def __init__(self, chunks: Iterator[bytes], files: ExitStack) -> None:
        self.chunks, self.files = chunks, files

    def __iter__(self) -> "_Chunks":
        return self

    def __next__(self) -> bytes:
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()  # a rendition first lets go of the file
        try:
            self.files.close()
        except downloads.SourceChanged as exc:
            # Too late for a 409: the bytes sent may be mixed, which the reader's sha256 check catches.
            logger.warning("A file changed while it was downloaded: %s", exc)


_SERVED_TYPES = {
    "text/csv",
    "text/tab-separated-values",
    "text/plain",
    "application/json",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/webp",
}


class VersionFileView(ProjectAPIView):
    query_parameters = ("as",)
    authentication_classes = [*generics.GenericAPIView.authentication_classes, TokenAsBasicPassword]
    queryset = DatasetVersion.objects.none()  # for the schema; requests use the visible versions
    pagination_class = None

    @extend_schema(
        summary="Download one file of a version",
        description="The bytes of one file of the version's manifest (a local source; a URL source's file is at "
        "its URL), once its size and sha256 are found to be the manifest's (else 409 `source_changed`). Readable "
        "by whoever may read the version, except that a version with personal-data features is served only to "
        "those who see their values (its owners and stewards): the file is not masked. `?as=csv` gives a "
        "delimited table as UTF-8 comma-separated values under a header row of its profiled column names, which "
        "the Croissant export uses for a delimiter, header or encoding Croissant cannot state. Clients that send "
        "only Basic credentials (Croissant readers) give an API token as the password.",
        parameters=[
            OpenApiParameter("as", OpenApiTypes.STR, enum=["csv"], description="Re-write a table as CSV."),
        ],
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            403: OpenApiResponse(ProblemSerializer, description="The version has personal data you may not see."),
            404: OpenApiResponse(ProblemSerializer, description="No such version (for you), or no such file."),
            409: OpenApiResponse(
                ProblemSerializer, description="The file's bytes changed, or the table is unreadable."
            ),
        },
    )
    def get(self, request: Request, version_id, path: str) -> StreamingHttpResponse:
        version = get_object_or_404(selectors.version_detail_queryset(request.user), pk=version_id)
        features = list(version.features.all())
        if any(feature.pii for feature in features) and not personal_data_visible_to(
            user=request.user, dataset_id=version.dataset_id
        ):
            raise PermissionDenied(
                "This version has personal-data features, and its files hold their values unmasked: only the "
                "dataset's owners and stewards may download them. Its sample and statistics are masked for you."
            )
        rendition = request.query_params.get("as")
        if rendition not in (None, "csv"):
            raise serializers.ValidationError({"as": [f"{rendition!r} is not a rendition; the one there is is csv."]})
        entry = downloads.manifest_entry(version, path)
        if rendition and not downloads.is_table(path, version.format):
            raise serializers.ValidationError(
                {"as": [f"{path} is not a delimited table (a file of a csv or tsv source)."]}
            )
        files = ExitStack()
        try:
            handle = files.enter_context(downloads.file_opened(version, entry))
            chunks: Iterator[bytes]
            if rendition:
                names = [feature.name for feature in features]
                dialect = downloads.table_dialect(
                    downloads.table_head(handle), path=path, names=names, read_options=downloads.how_read(version)
                )
                if dialect is None:
                    raise downloads.TableUnreadable(
                        f"No delimiter splits the first row of {path} into the {len(names)} columns profiled; "
                        "give the version's read options."
                    )
                chunks = downloads.csv_rendition(handle, dialect, names)
            else:
                chunks = downloads.file_chunks(handle)
        except BaseException:  # SourceChanged among them: a 409 the exception handler answers
            files.close()
            raise
        name = PurePosixPath(path).name
        if rendition:
            content_type = "text/csv; charset=utf-8"
            name = f"{PurePosixPath(name).stem.removesuffix('.csv')}.csv"
        else:
            guessed, compressed = mimetypes.guess_type(name)
            # Never a type a browser would render as a page.
            content_type = (
                "application/gzip" if compressed == "gzip" else guessed if guessed in _SERVED_TYPES else None
            ) or "application/octet-stream"
        response = StreamingHttpResponse(_Chunks(chunks, files), content_type=content_type)
        if not rendition:
            response["Content-Length"] = str(entry["size"])
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response
