"""/forecasts: when each device is expected to need service, from the analytics service's
forecasts file."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter

from api.auth import Reader
from api.platform_schemas import ForecastOut, ForecastsOut
from api.routers.common import API_PREFIX, iso
from api.sources import Platform

__all__ = ["forecast_age_s", "forecasts_out", "forecasts_router"]


def forecasts_router(platform: Platform) -> APIRouter:
    """The forecasts route over the platform's forecasts file."""
    router = APIRouter(prefix=API_PREFIX, tags=["forecasts"])

    @router.get("/forecasts", response_model=ForecastsOut)
    def forecasts(_: Reader, site: str | None = None) -> ForecastsOut:
        """When each device is expected to need service, soonest first: the health forecast
        (a limit crossing with its interval) and the usage due date. Roles: viewer, crew,
        manager, admin."""
        return forecasts_out(platform, site)

    return router


def forecasts_out(platform: Platform, site: str | None) -> ForecastsOut:
    """The analytics service's forecasts file as API values (none until it has written one)."""
    try:
        found = json.loads(platform.forecasts_path.read_text())
    except (OSError, ValueError):
        return ForecastsOut(computed_at=None, devices=[])
    devices = [_forecast_out(key, value) for key, value in found.get("devices", {}).items()]
    devices = [d for d in devices if site is None or d.site == site]
    return ForecastsOut(computed_at=iso(found.get("computed_ms")),
                        devices=sorted(devices, key=_soonest))  # fmt: skip


def _forecast_out(key: str, found: dict[str, Any]) -> ForecastOut:
    site, _, device = key.partition("/")
    health, usage = found.get("health"), found.get("usage")
    return ForecastOut.model_validate({
        "site": site, "kind": found.get("kind"), "device": device,
        "health": None if health is None else {
            "metric": health["metric"], "crossing_at": iso(health.get("crossing_ms")),
            "earliest_at": iso(health.get("earliest_ms")),
            "latest_at": iso(health.get("latest_ms")), "reason": health.get("reason", ""),
        },
        "usage": None if usage is None else {
            "meter": usage["meter"], "reading": usage.get("reading"),
            "per_day": usage.get("per_day"), "due_at_reading": usage.get("due_at"),
            "due_at": iso(usage.get("due_ms")),
        },
    })  # fmt: skip


def _soonest(forecast: ForecastOut) -> str:
    """Sort key: the earlier of the health crossing and the usage due date; none last."""
    dates = [forecast.health.crossing_at if forecast.health else None,
             forecast.usage.due_at if forecast.usage else None]  # fmt: skip
    return min((d for d in dates if d), default="9999")


def forecast_age_s(platform: Platform) -> float | None:
    """Seconds since analytics last wrote its forecasts (None: never, or unreadable)."""
    try:
        computed_ms = json.loads(platform.forecasts_path.read_text())["computed_ms"]
    except (OSError, ValueError, KeyError):
        return None
    return max(0.0, time.time() - float(computed_ms) / 1000)
