"""Instants from outside, made safe to store and compare: in UTC, within what the databases hold.

Python accepts offsets up to ±23:59 and years 1 to 9999 in any zone; PostgreSQL refuses offsets
beyond ±15:59, and a year-1 time east of Greenwich is year 0 in UTC, which Python cannot represent.
"""

from datetime import UTC, datetime


class MomentOutOfRange(ValueError):
    pass


def moment_in_utc(moment: datetime) -> datetime:
    """The same instant in UTC (a naive one is taken as UTC). Raises MomentOutOfRange."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise MomentOutOfRange(f"{moment.isoformat()} is outside the years 1 to 9999 in UTC.") from None
