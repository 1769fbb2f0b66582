"""MLflow's timestamps (milliseconds since the epoch, 0 or None when unset) as datetimes.

>>> store_time(1_700_000_000_000).isoformat()
'2023-11-14T22:13:20+00:00'
>>> store_time(0) is None
True
"""

from __future__ import annotations

from datetime import datetime, timezone

__all__ = ["iso_time", "store_time"]


def store_time(millis: int | None) -> datetime | None:
    """The UTC datetime of an MLflow timestamp; None when it is unset (0 or None)."""
    if not millis:
        return None
    return datetime.fromtimestamp(millis / 1000, tz=timezone.utc)


def iso_time(millis: int | None, timespec: str = "auto") -> str | None:
    """An MLflow timestamp as ISO 8601 UTC text (``timespec`` as :meth:`datetime.isoformat`)."""
    when = store_time(millis)
    return None if when is None else when.isoformat(timespec=timespec)
