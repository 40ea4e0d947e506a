"""One router per resource, each built over the dependencies it needs (passed in by
api/app.py, so no router holds process-wide state). Each carries the /api/v1 prefix."""

from api.routers.alerts import alerts_router
from api.routers.catalogue import catalogue_router
from api.routers.contract import contract_router
from api.routers.dead_letters import dead_letters_router
from api.routers.devices import devices_router
from api.routers.forecasts import forecasts_router
from api.routers.health import health_router
from api.routers.kpis import kpis_router
from api.routers.me import me_router
from api.routers.metrics import metrics_router
from api.routers.pm_plans import pm_plans_router
from api.routers.sla_policies import sla_policies_router
from api.routers.stream import stream_router
from api.routers.telemetry import events_router, telemetry_router
from api.routers.work_orders import work_orders_router

__all__ = [
    "alerts_router",
    "catalogue_router",
    "contract_router",
    "dead_letters_router",
    "devices_router",
    "events_router",
    "forecasts_router",
    "health_router",
    "kpis_router",
    "me_router",
    "metrics_router",
    "pm_plans_router",
    "sla_policies_router",
    "stream_router",
    "telemetry_router",
    "work_orders_router",
]
