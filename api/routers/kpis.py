"""/kpis: the KPI report of a period and the weekly trend, from the KPI cache (maintenance
assembles the report; the cache keeps answers off the request path)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.auth import ApiError, KpiReader
from api.kpi_cache import KpiCache
from api.moments import Moment
from api.planning_schemas import KpiReportOut, KpiTrendPoint
from api.routers.common import API_PREFIX, errors
from maintenance import DEFAULT_KPI_PERIOD, trend_point

__all__ = ["kpis_router"]


def kpis_router(cache: KpiCache) -> APIRouter:
    """The KPI routes over a cache of reports per period."""
    router = APIRouter(prefix=API_PREFIX, tags=["KPIs"], responses=errors())

    @router.get("/kpis", response_model=KpiReportOut)
    def kpis(
        _: KpiReader,
        start: Annotated[Moment | None, Query(alias="from")] = None,
        end: Annotated[Moment | None, Query(alias="to")] = None,
    ) -> dict[str, Any]:
        """KPIs for [from, to) (default: the last 30 days), overall, per site and per kind.
        A period's answer is recomputed in the background once it is a minute old, so it may
        be up to a few minutes behind (`computed_s_ago`). Roles: viewer, manager, admin."""
        if start is None and end is None:  # the dashboards' question, kept as one period
            return cache.get(None)
        end = _to_minute(end or datetime.now(UTC))  # to the minute: one period
        start = _to_minute(start or end - DEFAULT_KPI_PERIOD)
        if start >= end:
            raise ApiError(422, "invalid_request", "'from' must be before 'to', a minute or more")
        return cache.get((start, end))

    @router.get("/kpis/trend", response_model=list[KpiTrendPoint])
    def trend(_: KpiReader, weeks: Annotated[int, Query(ge=1, le=52)] = 12) -> list[dict[str, Any]]:
        """Overall KPIs per week (7-day periods ending at the current hour), oldest first,
        without the per-device and per-kind MTBF maps. Roles: viewer, manager, admin."""
        end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        weekly = [(end - timedelta(weeks=n + 1), end - timedelta(weeks=n))
                  for n in reversed(range(weeks))]  # fmt: skip
        return [trend_point(cache.get(period)) for period in weekly]

    return router


def _to_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)
