import json

from rest_framework import renderers


class MarkdownRenderer(renderers.BaseRenderer):
    """Text documents (a data card, an audit report); an error is still its problem document, as JSON."""

    media_type = "text/markdown"
    format = "md"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        return json.dumps(data).encode(self.charset)


class JsonLdRenderer(renderers.JSONRenderer):
    media_type = "application/ld+json"
    format = "jsonld"


class SpdxJsonRenderer(renderers.JSONRenderer):
    """SPDX 3 documents in their JSON-LD serialization (an error is still its problem document)."""

    media_type = "application/spdx+json"
    format = "spdx"
