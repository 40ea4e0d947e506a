"""Translations the routers share: periods and times between HTTP and milliseconds, and
source and naming errors into HTTP ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from api.auth import ApiError
from api.moments import MAX_SPAN
from api.sources import SourceUnavailable
from facility import DeviceRef, device_ref

__all__ = ["API_PREFIX", "aware", "checked_ref", "iso", "period_ms", "read"]

T = TypeVar("T")

API_PREFIX = "/api/v1"  # every router carries it, so each route knows its full path


def checked_ref(site: str, kind: str, device: str) -> DeviceRef:
    """The device these path parts name; a name outside the MQTT naming rules is a 422."""
    try:
        return device_ref(site, kind, device)
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from error


def read(call: Callable[[], T]) -> T:
    """`call()`, with a source that does not answer reported as 503 and its reason."""
    try:
        return call()
    except SourceUnavailable as error:
        raise ApiError(503, "telemetry_unavailable", str(error)) from error


def period_ms(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[int, int]:
    """[from, to) in epoch milliseconds: to defaults to now, from to `default` before it.
    Both ends are `Moment`s (inside the calendar the stores hold), so `default` before the
    earliest one still is a datetime; a longer span than MAX_SPAN is a 422."""
    end = aware(end) if end else datetime.now(UTC)
    start = aware(start) if start else end - default
    if start >= end:
        raise ApiError(422, "invalid_request", "'from' must be before 'to'")
    if end - start > MAX_SPAN:
        raise ApiError(422, "invalid_request", f"a period may span at most {MAX_SPAN.days} days")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def aware(moment: datetime) -> datetime:
    """A time without a zone is taken as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 in UTC (None stays None)."""
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()
