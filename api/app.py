"""The FastAPI application: the routers under /api/v1, errors as JSON, the dashboard.

Routes are thin: they check the caller's role, call maintenance (the desk, the store, its
rules) or the platform sources, and translate domain errors into HTTP ones (409 for a refused
transition or a lost race, 404 for a missing record, 422 for a contradictory plan). Every route
states the roles it admits (see api/auth.py) and the shape of its answer.
"""

from __future__ import annotations

from functools import partial
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.auth import ApiError
from api.kpi_cache import KpiCache, kpis_for_period
from api.lockout import KeyGuard
from api.routers import (
    alerts_router,
    catalogue_router,
    contract_router,
    dead_letters_router,
    devices_router,
    events_router,
    forecasts_router,
    health_router,
    kpis_router,
    me_router,
    metrics_router,
    pm_plans_router,
    sla_policies_router,
    stream_router,
    telemetry_router,
    work_orders_router,
)
from api.sources import Platform
from api.stream import ChangeFeed
from maintenance import (
    AlertTransitionRefused,
    Desk,
    Duplicate,
    FixNotVerified,
    InvalidPlan,
    InvalidTransition,
    NotFound,
    Store,
    VersionConflict,
)

__all__ = ["create_app"]


def create_app(
    store: Store,
    desk: Desk,
    kpis: KpiCache | None = None,
    platform: Platform | None = None,
    guard: KeyGuard | None = None,
) -> FastAPI:
    """The application over a store and a desk (both passed in, so tests choose them); KPIs
    from `kpis` when given (`facmon api` computes them in a process of its own), else computed
    from `store` in a thread. With a `platform` (telemetry, ingest records, forecasts) it also
    serves devices, telemetry, health, metrics, the live stream and the dashboard. `guard`
    locks out addresses that keep sending unknown keys (default: LockoutPolicy's defaults)."""
    app = FastAPI(title="facmon", version="0.1.0", description=__doc__)
    app.state.store = store  # read by the role check (api/auth.py)
    app.state.key_guard = guard = guard or KeyGuard()  # read by the role check too
    _errors(app)
    for router in _maintenance_routers(store, desk, kpis):
        app.include_router(router)
    if platform is not None:
        for router in _platform_routers(store, platform, guard):
            app.include_router(router)
        _dashboard(app)
    return app


def _maintenance_routers(store: Store, desk: Desk, kpis: KpiCache | None) -> list[APIRouter]:
    cache = kpis or KpiCache(partial(kpis_for_period, store))
    return [work_orders_router(desk, store), alerts_router(store), sla_policies_router(store),
            pm_plans_router(store), kpis_router(cache)]  # fmt: skip


def _platform_routers(store: Store, platform: Platform, guard: KeyGuard) -> list[APIRouter]:
    feed = ChangeFeed(store, platform.telemetry)
    return [me_router(), catalogue_router(), contract_router(platform.contract_path),
            devices_router(store, platform), telemetry_router(platform.telemetry),
            events_router(platform.telemetry), forecasts_router(store),
            dead_letters_router(platform.ingest), health_router(store, platform),
            metrics_router(store, platform, guard), stream_router(feed)]  # fmt: skip


def _dashboard(app: FastAPI) -> None:
    """The web dashboard's static files at /dashboard/; / leads there."""
    web = Path(str(resources.files("dashboards") / "web"))
    app.mount(
        "/dashboard", StaticFiles(directory=web, html=True, check_dir=False), name="dashboard"
    )

    @app.get("/", include_in_schema=False, response_class=RedirectResponse)
    def root() -> RedirectResponse:
        return RedirectResponse("/dashboard/")


# Domain errors as (HTTP status, error code, how the message ends).
_DOMAIN_ERRORS: dict[type[Exception], tuple[int, str, str]] = {
    InvalidTransition: (409, "invalid_transition", ""),
    AlertTransitionRefused: (409, "invalid_transition", ""),
    FixNotVerified: (409, "fix_not_verified", ""),
    VersionConflict: (409, "version_conflict", "; reload it and try again"),
    Duplicate: (409, "duplicate", ": choose another name"),
    NotFound: (404, "not_found", ""),
    InvalidPlan: (422, "invalid_request", ""),
}


def _errors(app: FastAPI) -> None:
    """Every error is {"error": {"code", "message"}} with a message a person can act on."""
    for kind in _DOMAIN_ERRORS:
        app.add_exception_handler(kind, _domain_error)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError) -> JSONResponse:
        return _reply(error.status, error.code, error.message, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, error: RequestValidationError) -> JSONResponse:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return _reply(422, "invalid_request", where)


def _reply(
    status_code: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status_code, headers=headers)


async def _domain_error(_: Request, error: Exception) -> JSONResponse:
    """A maintenance error as its status and code; a subclass answers as its base does."""
    kind = next(k for k in type(error).__mro__ if k in _DOMAIN_ERRORS)
    status_code, code, ending = _DOMAIN_ERRORS[kind]
    return _reply(status_code, code, f"{error}{ending}")
