"""/telemetry and /events: what devices sent, read from the platform's telemetry source (a
source that does not answer is a 503)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import Anyone, ApiError
from api.moments import Moment
from api.platform_schemas import EventOut, SeriesOut
from api.routers.common import API_PREFIX, Filter, checked_ref, errors, iso, period_ms, read
from api.sources import Aggregate, EventQuery, SeriesQuery, Telemetry
from facility import CATALOGUE, EquipmentKind

__all__ = ["events_router", "telemetry_router"]

MAX_POINTS = 400  # a chart is a few hundred pixels wide: more points only cost bytes
MAX_WINDOWS = 100_000  # an explicit window_s may ask for more, but not for millions


def telemetry_router(telemetry: Telemetry) -> APIRouter:
    """/telemetry: one metric of one device, aggregated per window."""
    router = APIRouter(prefix=API_PREFIX, tags=["telemetry"], responses=errors(503))

    @router.get("/telemetry", response_model=SeriesOut)
    def series(
        _: Anyone,
        site: str,
        kind: EquipmentKind,
        device: str,
        metric: str,
        start: Annotated[Moment | None, Query(alias="from")] = None,
        end: Annotated[Moment | None, Query(alias="to")] = None,
        window_s: Annotated[int | None, Query(ge=1, le=86_400)] = None,
        agg: Aggregate = "mean",
    ) -> SeriesOut:
        """One metric of one device aggregated per window (default: the last 6 hours, a
        window giving at most 400 points). Roles: all."""
        checked_ref(site, kind.value, device)
        if not metric.replace("_", "").isalnum():
            raise ApiError(422, "invalid_request", "metric names are letters, digits and _")
        start_ms, end_ms = period_ms(start, end, timedelta(hours=6))
        window = window_s or max(1, -(-(end_ms - start_ms) // (MAX_POINTS * 1000)))
        if (end_ms - start_ms) // (window * 1000) > MAX_WINDOWS:
            raise ApiError(422, "invalid_request", f"at most {MAX_WINDOWS} windows: widen window_s")
        query = SeriesQuery(site, kind.value, device, metric, start_ms, end_ms, window, agg)
        spec = CATALOGUE[kind].get(metric)
        points = read(lambda: telemetry.series(query))
        return SeriesOut(site=site, kind=kind.value, device=device, metric=metric,
                         unit=spec.unit if spec else None, window_s=window, agg=agg,
                         points=[[ms, value] for ms, value in points])  # fmt: skip

    return router


def events_router(telemetry: Telemetry) -> APIRouter:
    """/events: fire alarms, entrapments, forced doors..., newest first."""
    router = APIRouter(prefix=API_PREFIX, tags=["telemetry"], responses=errors(503))

    @router.get("/events", response_model=list[EventOut])
    def events(
        _: Anyone,
        site: Filter = None,
        kind: EquipmentKind | None = None,
        device: Filter = None,
        type: Filter = None,
        start: Annotated[Moment | None, Query(alias="from")] = None,
        end: Annotated[Moment | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[EventOut]:
        """Events (fire alarms, entrapments, forced doors...), newest first (default: the
        last 7 days). Roles: all."""
        start_ms, end_ms = period_ms(start, end, timedelta(days=7))
        query = EventQuery(start_ms, end_ms, limit, site, kind.value if kind else None,
                           device, type)  # fmt: skip
        found = read(lambda: telemetry.events(query))
        return [EventOut(**{k: v for k, v in e.items() if k != "ts_ms"}, ts=iso(e["ts_ms"]))
                for e in found]  # fmt: skip

    return router
