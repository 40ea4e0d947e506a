"""The REST API (FastAPI) under /api/v1: work orders, alerts, SLA policies, PM plans, KPIs."""

from api.app import create_app
from api.auth import create_key
from api.kpi_cache import KpiCache
from api.planning import kpis_in_database
from api.platform import platform_for
from api.serving import kpi_worker, serve

__all__ = [
    "KpiCache",
    "create_app",
    "create_key",
    "kpi_worker",
    "kpis_in_database",
    "platform_for",
    "serve",
]
