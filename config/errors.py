"""The domain's refusals, named by what went wrong rather than by an HTTP status.

Services raise these; the HTTP edge turns each kind into a problem document in one place
(`config.api.exceptions`), and the admin shows the message as it is. A message says what was wrong
and what to do instead, in words a person can act on.
"""

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on. `extra` members travel into the problem document (for
    example the id of the record a conflict is with); `code`, when a kind of refusal has its own,
    names it in the document's type (`urn:catalog:problem:<code>`) in place of the status's."""

    code: str | None = None

    def __init__(self, message: str = "", **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


class Invalid(DomainError, ValueError):
    """The input cannot be accepted as given (400). `field` names the input at fault as a dotted path
    (`source.uri`); without one the refusal is about the request as a whole."""

    field: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None, **extra: Any) -> None:
        super().__init__(message, **extra)
        if field is not None:
            self.field = field


class NotFound(DomainError, LookupError):
    """What the request names does not exist, or is not one the caller may read (404)."""


class Forbidden(DomainError):
    """The caller may not do this (403)."""


class Conflict(DomainError):
    """The request conflicts with the current state of what it names (409)."""


class TooLarge(DomainError):
    """The request would make more than the service takes in one request (413)."""
