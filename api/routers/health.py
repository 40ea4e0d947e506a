"""/health: for load balancers and people; each check says what it found."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.platform_schemas import CheckOut, HealthOut
from api.routers.common import API_PREFIX
from api.routers.forecasts import forecast_age_s
from api.sources import Platform
from maintenance import Store

__all__ = ["health_router"]

FORECASTS_STALE_S = 26 * 3600  # analytics writes them hourly; a day without is worth a look


def health_router(store: Store, platform: Platform) -> APIRouter:
    """The health route: the database and InfluxDB must answer; forecasts are informational."""
    router = APIRouter(prefix=API_PREFIX, tags=["operations"])

    down: dict[int | str, dict[str, Any]] = {
        503: {"model": HealthOut, "description": "a component is down"}
    }

    @router.get("/health", response_model=HealthOut, responses=down)
    def health() -> JSONResponse:
        """200 when the database and InfluxDB answer, else 503; each check says what it found.
        No key needed (load balancers and uptime monitors call it)."""
        checks = {"database": _database(store), "influxdb": _influxdb(platform),
                  "analytics": _analytics(store)}  # fmt: skip
        healthy = checks["database"].ok and checks["influxdb"].ok
        body = HealthOut(status="ok" if healthy else "degraded", checks=checks)
        return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)

    return router


def _database(store: Store) -> CheckOut:
    try:
        store.sla_policies()
    except Exception as error:  # any driver error means the same thing here: down
        return CheckOut(ok=False, detail=f"{type(error).__name__}: {error}"[:300])
    return CheckOut(ok=True, detail="answers")


def _influxdb(platform: Platform) -> CheckOut:
    up = platform.telemetry.is_up()
    return CheckOut(ok=up, detail="answers" if up else "does not answer /ping")


def _analytics(store: Store) -> CheckOut:
    """Informational: forecasts are written by the analytics service once an hour."""
    age = forecast_age_s(store)
    if age is None:
        return CheckOut(ok=False, detail="no forecasts written yet")
    return CheckOut(ok=age < FORECASTS_STALE_S, detail=f"forecasts written {age:.0f} s ago")
