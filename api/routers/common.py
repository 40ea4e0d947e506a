"""Translations the routers share: periods and times between HTTP and milliseconds, and
source and naming errors into HTTP ones."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Query

from api.auth import ApiError
from api.moments import MAX_SPAN
from api.schemas import ErrorOut
from api.sources import SourceUnavailable
from facility import DeviceRef, device_ref

__all__ = ["API_PREFIX", "Filter", "aware", "checked_ref", "errors", "iso", "period_ms", "read"]

T = TypeVar("T")

API_PREFIX = "/api/v1"  # every router carries it, so each route knows its full path
# A filter on telemetry is compared with tag values, which never hold control characters: one
# that does is the client's mistake (422), not a question for InfluxDB (which refuses it: 503).
Filter = Annotated[str | None, Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]


_MEANINGS = {
    401: "no API key, or one unknown or revoked",
    403: "the key's role may not do this",
    404: "no such record",
    409: "the record's state or version does not allow this; reload it",
    422: "the request does not fit the schema or the rules; the message says what to change",
    429: "this address sent too many unknown keys: wait Retry-After seconds",
    503: "InfluxDB (telemetry) does not answer",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The error answers of a router whose routes need a key (401, 403, 422, 429) and may
    also answer `codes`, for the OpenAPI schema (schemathesis holds the API to it)."""
    return {code: {"model": ErrorOut, "description": _MEANINGS[code]}
            for code in sorted({401, 403, 422, 429, *codes})}  # fmt: skip


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
