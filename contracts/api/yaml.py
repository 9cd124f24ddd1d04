"""YAML on the wire for the ODCS export and import: the text is read as text, and parsed within
bounds by `contracts.odcs.odcs_loaded`, never by a generic loader."""

import json

from rest_framework import parsers, renderers
from rest_framework.exceptions import ParseError


class YamlRenderer(renderers.BaseRenderer):
    """An ODCS document as YAML text; an error is still its problem document, as JSON."""

    media_type = "application/yaml"
    format = "yaml"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if isinstance(data, str):
            return data.encode(self.charset)
        return json.dumps(data).encode(self.charset)


class YamlTextParser(parsers.BaseParser):
    """The body as text (UTF-8), for the view to parse within bounds."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        data = stream.read() if stream is not None else b""
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None


class YamlTextAliasParser(YamlTextParser):
    media_type = "text/yaml"
