"""/forecasts: when each device is expected to need service, as the analytics service last
forecast it (the one reader of `ForecastStore`, beside its one writer in analytics)."""

from __future__ import annotations

import time

from fastapi import APIRouter

from api.auth import Reader
from api.platform_schemas import ForecastOut, ForecastsOut
from api.routers.common import API_PREFIX, errors, iso
from facility import DeviceForecast
from maintenance import ForecastStore

__all__ = ["forecast_age_s", "forecasts_out", "forecasts_router"]


def forecasts_router(store: ForecastStore) -> APIRouter:
    """The forecasts route over the stored forecasts."""
    router = APIRouter(prefix=API_PREFIX, tags=["forecasts"], responses=errors())

    @router.get("/forecasts", response_model=ForecastsOut)
    def forecasts(_: Reader, site: str | None = None) -> ForecastsOut:
        """When each device is expected to need service, soonest first: the health forecast
        (a limit crossing with its interval) and the usage due date. Roles: viewer, crew,
        manager, admin."""
        return forecasts_out(store, site)

    return router


def forecasts_out(store: ForecastStore, site: str | None) -> ForecastsOut:
    """The latest forecasts as API values (none until analytics has written any)."""
    found = store.latest_forecasts(site)
    devices = [_forecast_out(forecast) for forecast in found.devices]
    return ForecastsOut(computed_at=iso(found.computed_ms),
                        devices=sorted(devices, key=_soonest))  # fmt: skip


def _forecast_out(found: DeviceForecast) -> ForecastOut:
    health, usage = found.health, found.usage
    return ForecastOut.model_validate({
        "site": found.site, "kind": found.kind, "device": found.device,
        "health": None if health is None else {
            "metric": health.metric, "crossing_at": iso(health.crossing_ms),
            "earliest_at": iso(health.earliest_ms),
            "latest_at": iso(health.latest_ms), "reason": health.reason,
        },
        "usage": None if usage is None else {
            "meter": usage.meter, "reading": usage.reading,
            "per_day": usage.per_day, "due_at_reading": usage.due_at,
            "due_at": iso(usage.due_ms),
        },
    })  # fmt: skip


def _soonest(forecast: ForecastOut) -> str:
    """Sort key: the earlier of the health crossing and the usage due date; none last."""
    dates = [forecast.health.crossing_at if forecast.health else None,
             forecast.usage.due_at if forecast.usage else None]  # fmt: skip
    return min((d for d in dates if d), default="9999")


def forecast_age_s(store: ForecastStore) -> float | None:
    """Seconds since analytics last wrote its forecasts (None: never)."""
    computed_ms = store.latest_forecasts().computed_ms
    if computed_ms is None:
        return None
    return max(0.0, time.time() - computed_ms / 1000)
