"""The fault of a source that cannot be read."""

from __future__ import annotations


class SourceError(Exception):
    """A source that cannot be read; the message says what to do about it."""
