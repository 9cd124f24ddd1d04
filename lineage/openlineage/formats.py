"""The two string formats the OpenLineage schemas rely on: `date-time` (eventTime) and `uuid` (runId).

Implemented here rather than taken from jsonschema's FormatChecker(), which checks whichever formats its
optional extras provide: without rfc3339-validator a malformed date-time passes silently, and installing an
extra would change which events are accepted. Other formats the schemas name (`uri`) are not checked.
"""

import re
from collections.abc import Callable, Mapping
from datetime import datetime

_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:(?P<second>[0-9]{2})(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_date_time(instance: object) -> bool:
    """RFC 3339, which is what JSON Schema's date-time means: a full date, `T`, a time and an offset.

    datetime.fromisoformat() alone is laxer (a date alone, no offset, the basic format 20230717T105422Z),
    so the shape is matched first and fromisoformat() only checks the ranges: month 13, February 30, hour 25.
    """
    if not isinstance(instance, str):
        return True  # a format constrains strings only; `type` speaks for the rest
    match = _DATE_TIME.fullmatch(instance)
    if match is None:
        return False
    text = instance.upper()
    if match["second"] == "60":  # RFC 3339 allows a leap second, which datetime cannot hold
        text = text[: match.start("second")] + "59" + text[match.end("second") :]
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def is_uuid(instance: object) -> bool:
    """RFC 4122's hyphenated hex form. uuid.UUID() is laxer: braces, a urn: prefix, bare hex, even underscores."""
    if not isinstance(instance, str):
        return True
    return _UUID.fullmatch(instance) is not None


FORMATS: Mapping[str, Callable[[object], bool]] = {"date-time": is_date_time, "uuid": is_uuid}
