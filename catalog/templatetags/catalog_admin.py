"""How the admin shows long values (URIs, hashes, sample values, JSON documents) without making a
page wider than the screen: shortened with the whole value on hover, or wrapped anywhere."""

from __future__ import annotations

import json
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()

ELLIPSIS = "…"


@register.filter
def shortened(value: Any, limit: int = 32) -> SafeString | str:
    """The value, or its start and end with the whole of it in the title (shown on hover). The end
    is kept: a file's name, a hash's last digits tell values apart as well as their start."""
    text = "" if value is None else str(value)
    if len(text) <= limit:
        return text
    tail = max(limit // 3, 4)
    head = max(limit - tail - 1, 4)
    return format_html('<span class="shortened" title="{}">{}{}{}</span>', text, text[:head], ELLIPSIS, text[-tail:])


@register.filter
def wrapped(value: Any) -> SafeString:
    """The whole value, allowed to break anywhere (a URI or a hash has no spaces to break at)."""
    return format_html('<span class="wrapped">{}</span>', "" if value is None else str(value))


def json_block(value: Any, *, summary: str | None = None) -> SafeString:
    """A JSON document, indented and wrapped, inside a <details> when a summary is given (folded:
    profiles run to thousands of lines)."""
    block = format_html('<pre class="json">{}</pre>', json.dumps(value, indent=1, ensure_ascii=False, default=str))
    if summary is None:
        return block
    return format_html('<details class="json"><summary>{}</summary>{}</details>', summary, block)
