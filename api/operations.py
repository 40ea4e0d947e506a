"""Health (for load balancers and people) and Prometheus metrics (for monitoring)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.auth import Caller, require
from api.sources import Platform, SourceUnavailable
from maintenance.domain import ACTIVE_STATUSES
from maintenance.store import AlertState, ForecastStore, Role, Store

__all__ = ["operations_routes"]

Anyone = Annotated[Caller, Depends(require(*Role))]
FORECASTS_STALE_S = 26 * 3600  # analytics writes them hourly; a day without is worth a look


def operations_routes(router: APIRouter, store: Store, platform: Platform) -> None:
    registry = CollectorRegistry()
    registry.register(PlatformCollector(store, platform))

    @router.get("/health", responses={503: {"description": "a component is down"}})
    def health() -> JSONResponse:
        """200 when the database and InfluxDB answer, else 503; each check says what it found.
        No key needed (load balancers and uptime monitors call it)."""
        checks = {"database": _database(store), "influxdb": _influxdb(platform),
                  "analytics": _analytics(store)}  # fmt: skip
        healthy = checks["database"]["ok"] and checks["influxdb"]["ok"]
        body = {"status": "ok" if healthy else "degraded", "checks": checks}
        return JSONResponse(body, status_code=200 if healthy else 503)

    @router.get("/metrics", response_class=Response)
    def metrics(_: Anyone) -> Response:
        """Prometheus text format: active work orders, open alerts, dead letters, devices
        online, forecast age. Roles: all (give Prometheus a viewer key)."""
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")


def _database(store: Store) -> dict[str, Any]:
    try:
        store.sla_policies()
    except Exception as error:  # any driver error means the same thing here: down
        return {"ok": False, "detail": f"{type(error).__name__}: {error}"[:300]}
    return {"ok": True, "detail": "answers"}


def _influxdb(platform: Platform) -> dict[str, Any]:
    up = platform.telemetry.is_up()
    return {"ok": up, "detail": "answers" if up else "does not answer /ping"}


def _analytics(store: ForecastStore) -> dict[str, Any]:
    """Informational: forecasts are written by the analytics service once an hour."""
    age = _forecast_age_s(store)
    if age is None:
        return {"ok": False, "detail": "no forecasts written yet"}
    return {"ok": age < FORECASTS_STALE_S, "detail": f"forecasts written {age:.0f} s ago"}


def _forecast_age_s(store: ForecastStore) -> float | None:
    computed_ms = store.latest_forecasts().computed_ms
    if computed_ms is None:
        return None
    return max(0.0, time.time() - computed_ms / 1000)


class PlatformCollector(Collector):
    """Computed on each scrape from the store and the sources (nothing kept in between)."""

    def __init__(self, store: Store, platform: Platform) -> None:
        self.store, self.platform = store, platform

    def collect(self) -> Iterator[Metric]:
        yield self._orders()
        yield self._alerts()
        yield self._outbox()
        dead = GaugeMetricFamily("facmon_dead_letters", "Messages refused by ingest",
                                 labels=["reason"])  # fmt: skip
        for reason, count in sorted(self.platform.ingest.dead_letter_counts().items()):
            dead.add_metric([reason], count)
        yield dead
        yield from self._devices()
        age = self._forecast_age()
        if age is not None:
            yield age

    def _orders(self) -> Metric:
        family = GaugeMetricFamily("facmon_work_orders_active", "Active work orders",
                                   labels=["status", "priority"])  # fmt: skip
        counts = self.store.order_counts(ACTIVE_STATUSES)
        for (status, priority), count in sorted(counts.items()):
            family.add_metric([status.value, priority.value], count)
        return family

    def _alerts(self) -> Metric:
        family = GaugeMetricFamily("facmon_alerts_open", "Open alerts", labels=["severity"])
        counts = self.store.alert_counts()
        for (state, severity), count in sorted(counts.items()):
            if state is AlertState.OPEN:
                family.add_metric([severity], count)
        return family

    def _outbox(self) -> Metric:
        """Undelivered SLA notifications, and how many have failed at least once: a stuck
        webhook shows here before anyone misses a message."""
        family = GaugeMetricFamily(
            "facmon_notifications_undelivered", "SLA notifications to deliver", labels=["tried"]
        )
        waiting = self.store.undelivered_notifications(limit=1_000_000)
        failed = sum(1 for n in waiting if n.attempts)
        family.add_metric(["no"], len(waiting) - failed)
        family.add_metric(["yes"], failed)
        return family

    def _devices(self) -> Iterator[Metric]:
        try:
            found = self.platform.telemetry.devices()
        except SourceUnavailable:
            return
        family = GaugeMetricFamily("facmon_devices", "Devices seen in the last week",
                                   labels=["kind", "online"])  # fmt: skip
        counts = Counter((d.kind, str(d.online).lower()) for d in found)
        for (kind, online), count in sorted(counts.items()):
            family.add_metric([kind, online], count)
        yield family

    def _forecast_age(self) -> Metric | None:
        age = _forecast_age_s(self.store)
        if age is None:
            return None
        help_text = "Seconds since analytics last wrote forecasts"
        return GaugeMetricFamily("facmon_forecasts_age_seconds", help_text, value=age)
