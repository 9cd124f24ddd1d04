import gzip
import zlib
from typing import Any

from django.conf import settings
from rest_framework import exceptions

from config.api.exceptions import PayloadTooLarge
from config.api.parsers import BoundedJSONParser
from lineage.openlineage.validation import identities_normalised


class OpenLineageParser(BoundedJSONParser):
    """JSON, optionally sent with `Content-Encoding: gzip` as OpenLineage's HTTP transport may; decompressed,
    it is bounded like any other body (depth, unstorable text)."""

    def parse(self, stream, media_type=None, parser_context=None):
        event = self.body_parse(self._body(stream, media_type, parser_context), self._encoding(parser_context))
        # Names of jobs and datasets in their one spelling (NFC) before anything reads them.
        identities_normalised(event)
        return event

    def _encoding(self, parser_context) -> str:
        return (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)

    def _body(self, stream, media_type, parser_context) -> bytes:
        request = (parser_context or {}).get("request")
        encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower() if request is not None else ""
        if encoding in ("", "identity"):
            return stream.read()
        if encoding not in ("gzip", "x-gzip"):
            raise exceptions.UnsupportedMediaType(
                media_type,
                detail=f"Content-Encoding {encoding!r} is not supported; send JSON, gzip-compressed or not.",
            )
        limit = self.decompressed_limit()
        try:
            # A bounded read of the decompressed stream: a small body may inflate without end.
            with gzip.GzipFile(fileobj=stream) as unzipped:
                body = unzipped.read(limit + 1)
        except (OSError, EOFError, zlib.error) as exc:
            raise exceptions.ParseError(f"The body is not valid gzip: {exc}") from None
        if len(body) > limit:
            raise PayloadTooLarge(f"The decompressed {self.what} is larger than {limit} bytes.")
        return body

    what = "event"

    def decompressed_limit(self) -> int:
        return settings.CATALOG_LINEAGE_MAX_EVENT_BYTES


class OpenLineageBatchParser(OpenLineageParser):
    """A JSON array of OpenLineage events, gzip-compressed or not, read one event at a time as the view
    asks for them (config.api.parsers.Documents); each event's names normalised as one event's are.
    Compressed, a batch may inflate to CATALOG_LINEAGE_MAX_BATCH_BYTES."""

    what = "batch"

    def decompressed_limit(self) -> int:
        return settings.CATALOG_LINEAGE_MAX_BATCH_BYTES

    def parse(self, stream, media_type=None, parser_context=None):
        return self.array_parse(
            self._body(stream, media_type, parser_context),
            self._encoding(parser_context),
            prepare=_identities_normalised,
        )


def _identities_normalised(event: Any) -> Any:
    identities_normalised(event)
    return event
