"""The one time format the daemon writes: RFC 3339 in UTC with a ``Z`` (API, events, status).

Why one function: the services keep aware datetimes (the unlock lease's end of day is a local
wall-clock rule), and every answer must still say the same instant the same way, whatever the
box's time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime


def rfc3339(moment: datetime) -> str:
    """``2026-11-25T19:00:00.123456Z``; a naive datetime is taken as the box's local time."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def utc_now() -> datetime:
    return datetime.now(UTC)
