"""/metrics: Prometheus text format, computed on each scrape (for monitoring)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from api.auth import Anyone
from api.lockout import KeyGuard
from api.routers.common import API_PREFIX, errors
from api.routers.forecasts import forecast_age_s
from api.sources import Platform, SourceUnavailable
from maintenance import ACTIVE_STATUSES, AlertState, Store

__all__ = ["KeyGuardCollector", "PlatformCollector", "metrics_router"]


def metrics_router(store: Store, platform: Platform, guard: KeyGuard) -> APIRouter:
    """The metrics route, with a registry of its own (none shared between apps)."""
    router = APIRouter(prefix=API_PREFIX, tags=["operations"], responses=errors())
    registry = CollectorRegistry()
    registry.register(PlatformCollector(store, platform))
    registry.register(KeyGuardCollector(guard))

    @router.get("/metrics", response_class=PlainTextResponse)
    def metrics(_: Anyone) -> Response:
        """Prometheus text format: active work orders, open alerts, dead letters, devices
        online, forecast age, unknown API keys and lockouts. Roles: all (give Prometheus a
        viewer key)."""
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    return router


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
        for (state, severity), count in sorted(self.store.alert_counts().items()):
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
        age = forecast_age_s(self.store)
        if age is None:
            return None
        help_text = "Seconds since analytics last wrote forecasts"
        return GaugeMetricFamily("facmon_forecasts_age_seconds", help_text, value=age)


class KeyGuardCollector(Collector):
    """The API key lockout's counts since the process started: a rising failure count is
    someone trying keys, lockouts and refusals show the lockout at work."""

    def __init__(self, guard: KeyGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterator[Metric]:
        counts = [("facmon_api_key_failures", "Requests with an unknown or revoked API key",
                   self.guard.failures),
                  ("facmon_api_lockouts", "Addresses locked out for unknown API keys",
                   self.guard.lockouts),
                  ("facmon_api_locked_out_requests", "Requests refused 429 during a lockout",
                   self.guard.refused)]  # fmt: skip
        for name, help_text, value in counts:
            yield CounterMetricFamily(name, help_text, value=value)
