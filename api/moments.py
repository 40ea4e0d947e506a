"""Times a client may send: inside the years the stores can hold, as a type FastAPI checks.

A date near the ends of the calendar (year 1, year 9999) overflows when a period is derived
from it, and InfluxDB holds nothing outside 1677-2262; such a time is the client's mistake
(422), not a server error.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["EARLIEST", "LATEST", "MAX_SPAN", "Moment", "within_calendar"]

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)  # well inside InfluxDB's 2262 and Python's 9999
MAX_SPAN = timedelta(days=20 * 366)  # the longest period a read may cover


def within_calendar(moment: datetime) -> datetime:
    """`moment` as an aware time (no zone: UTC); outside [EARLIEST, LATEST) a ValueError."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if not EARLIEST <= aware < LATEST:
        raise ValueError(f"times must lie between {EARLIEST.date()} and {LATEST.date()}")
    return aware


Moment = Annotated[datetime, AfterValidator(within_calendar)]
