"""The REST API (FastAPI) under /api/v1: work orders, alerts, SLA policies, PM plans, KPIs,
and with the platform sources devices, telemetry, health, metrics and the live stream."""

from api.app import (
    create_app,
)
from api.auth import (
    create_key,
)
from api.kpi_cache import (
    KpiCache,
    Period,
    kpis_for_period,
)
from api.lockout import (
    KeyGuard,
    LockoutPolicy,
)
from api.platform import (
    platform_for,
)
from api.serving import (
    kpi_worker,
    serve,
)
from api.sources import (
    DeadLetterRow,
    DeviceKey,
    DeviceSnapshot,
    EventQuery,
    Platform,
    SeriesQuery,
    SourceUnavailable,
)

__all__ = [
    "DeadLetterRow",
    "DeviceKey",
    "DeviceSnapshot",
    "EventQuery",
    "KeyGuard",
    "KpiCache",
    "LockoutPolicy",
    "Period",
    "Platform",
    "SeriesQuery",
    "SourceUnavailable",
    "create_app",
    "create_key",
    "kpi_worker",
    "kpis_for_period",
    "platform_for",
    "serve",
]
