"""Routes for devices and what they sent: telemetry, events, forecasts, dead letters, the
metric catalogue and the MQTT contract, and per-device credentials for integrators.

Everything here reads the platform sources (api/sources.py); nothing here writes telemetry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query
from fastapi.responses import PlainTextResponse

from api.auth import ApiError, Caller, require
from api.sources import (
    Aggregate,
    DeviceSnapshot,
    EventQuery,
    Platform,
    SeriesQuery,
    SourceUnavailable,
)
from facility import CATALOGUE, DeviceForecast, DeviceRef, EquipmentKind, MetricSpec
from facility.credentials import device_ref, device_topics, username_for
from maintenance.store import AlertState, ForecastStore, Role, Store

__all__ = ["device_routes", "forecasts_out"]

Anyone = Annotated[Caller, Depends(require(*Role))]
Planner = Annotated[Caller, Depends(require(Role.VIEWER, Role.CREW, Role.MANAGER))]
Integrator = Annotated[Caller, Depends(require(Role.INTEGRATOR))]
RejectReader = Annotated[Caller, Depends(require(Role.INTEGRATOR, Role.MANAGER))]
Kind = Annotated[EquipmentKind, Query()]

T = TypeVar("T")
MAX_POINTS = 400  # a chart is a few hundred pixels wide: more points only cost bytes


def device_routes(router: APIRouter, store: Store, platform: Platform) -> None:
    _reference_routes(router, platform)
    _device_routes(router, store, platform)
    _telemetry_routes(router, platform)
    _record_routes(router, store, platform)


def _reference_routes(router: APIRouter, platform: Platform) -> None:
    @router.get("/me")
    def me(caller: Anyone) -> dict[str, Any]:
        """Who this key belongs to and its role. Roles: all."""
        return {"id": caller.id, "name": caller.name, "role": caller.role.value}

    @router.get("/catalogue")
    def catalogue(_: Anyone) -> dict[str, list[dict[str, Any]]]:
        """Every kind's metrics: unit, gauge or counter, physically possible range. Roles: all."""
        return {kind.value: [_spec_out(s) for s in specs.values()]
                for kind, specs in CATALOGUE.items()}  # fmt: skip

    @router.get("/mqtt-contract", response_class=PlainTextResponse)
    def contract(_: Anyone) -> PlainTextResponse:
        """The MQTT contract for integrators (Markdown). Roles: all."""
        try:
            text = platform.contract_path.read_text(encoding="utf-8")
        except OSError as error:
            missing = (
                f"the MQTT contract is not installed here ({error}); see docs/mqtt-contract.md"
            )
            raise ApiError(404, "not_found", missing) from error
        return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


def _device_routes(router: APIRouter, store: Store, platform: Platform) -> None:
    @router.get("/devices")
    def devices(
        _: Anyone,
        site: str | None = None,
        kind: EquipmentKind | None = None,
        online: bool | None = None,
    ) -> list[dict[str, Any]]:
        """Devices seen in the last week: online state, last seen, readings per minute over
        the last 10 minutes, latest readings, metrics outside the catalogue. Roles: all."""
        found = _snapshots(platform, site, kind.value if kind else None)
        alerts = _open_alerts(store, site)
        extras = platform.ingest.uncatalogued()
        out = [_device_out(d, alerts, extras) for d in found]
        return [d for d in out if online is None or d["online"] is online]  # fmt: skip

    @router.get("/devices/{site}/{kind}/{device}")
    def device(site: str, kind: EquipmentKind, device: str, _: Anyone) -> dict[str, Any]:
        """One device with its metrics against the catalogue, its topics, MQTT username and
        forecast. Roles: all."""
        ref = _ref(site, kind.value, device)
        snapshot = next((d for d in _snapshots(platform, site, kind.value)
                         if d.device == device), None)  # fmt: skip
        if snapshot is None:
            raise ApiError(404, "not_found", f"no telemetry or status from {site}/{kind}/{device}")
        detail = _device_out(snapshot, _open_alerts(store, site), platform.ingest.uncatalogued())
        username = username_for(ref)
        forecast = next((f for f in forecasts_out(store, site)["devices"]
                         if f["device"] == device), None)  # fmt: skip
        return detail | {
            "metrics": _metrics(kind, snapshot),
            "topics": dict(zip(("telemetry", "event", "status"), device_topics(ref), strict=True)),
            "mqtt_username": username,
            "credentials_provisioned": username in platform.provisioned(),
            "forecast": forecast,
        }

    @router.post("/devices/{site}/{kind}/{device}/credentials")
    def credentials(site: str, kind: EquipmentKind, device: str, _: Integrator) -> dict[str, Any]:
        """New MQTT credentials for a device, shown once; its previous password stops working.
        Roles: integrator, admin."""
        _ref(site, kind.value, device)
        if platform.provision is None:
            raise ApiError(409, "not_managed", "this API does not manage the broker's accounts: "
                           "run `facmon devices provision` where the broker runs")  # fmt: skip
        return platform.provision(site, kind.value, device)


def _telemetry_routes(router: APIRouter, platform: Platform) -> None:
    @router.get("/telemetry")
    def telemetry(
        _: Anyone,
        site: str,
        kind: EquipmentKind,
        device: str,
        metric: str,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        window_s: Annotated[int | None, Query(ge=1, le=86_400)] = None,
        agg: Aggregate = "mean",
    ) -> dict[str, Any]:
        """One metric of one device aggregated per window (default: the last 6 hours, a
        window giving at most 400 points). Roles: all."""
        _ref(site, kind.value, device)
        if not metric.replace("_", "").isalnum():
            raise ApiError(422, "invalid_request", "metric names are letters, digits and _")
        start_ms, end_ms = _period_ms(start, end, timedelta(hours=6))
        window = window_s or max(1, -(-(end_ms - start_ms) // (MAX_POINTS * 1000)))
        query = SeriesQuery(site, kind.value, device, metric, start_ms, end_ms, window, agg)
        spec = CATALOGUE[kind].get(metric)
        return {"site": site, "kind": kind.value, "device": device, "metric": metric,
                "unit": spec.unit if spec else None, "window_s": window, "agg": agg,
                "points": _read(lambda: platform.telemetry.series(query))}  # fmt: skip

    @router.get("/events")
    def events(
        _: Anyone,
        site: str | None = None,
        kind: EquipmentKind | None = None,
        device: str | None = None,
        type: str | None = None,
        start: Annotated[datetime | None, Query(alias="from")] = None,
        end: Annotated[datetime | None, Query(alias="to")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[dict[str, Any]]:
        """Events (fire alarms, entrapments, forced doors...), newest first (default: the
        last 7 days). Roles: all."""
        start_ms, end_ms = _period_ms(start, end, timedelta(days=7))
        query = EventQuery(start_ms, end_ms, limit, site, kind.value if kind else None,
                           device, type)  # fmt: skip
        found = _read(lambda: platform.telemetry.events(query))
        return [{k: v for k, v in e.items() if k != "ts_ms"} | {"ts": _iso(e["ts_ms"])}
                for e in found]  # fmt: skip


def _record_routes(router: APIRouter, store: ForecastStore, platform: Platform) -> None:
    @router.get("/forecasts")
    def forecasts(_: Planner, site: str | None = None) -> dict[str, Any]:
        """When each device is expected to need service, soonest first: the health forecast
        (a limit crossing with its interval) and the usage due date. Roles: viewer, crew,
        manager, admin."""
        return forecasts_out(store, site)

    @router.get("/dead-letters")
    def dead_letters(
        _: RejectReader,
        reason: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """What ingest refused and why (counts per reason, the latest refusals). Roles:
        integrator, manager, admin."""
        items = platform.ingest.dead_letters(reason, limit)
        return {"counts": platform.ingest.dead_letter_counts(),
                "items": [{"received_at": _iso(d.received_ms), "topic": d.topic,
                           "reason": d.reason, "detail": d.detail, "payload": d.payload,
                           "payload_bytes": d.payload_bytes} for d in items]}  # fmt: skip


def forecasts_out(store: ForecastStore, site: str | None) -> dict[str, Any]:
    """The latest forecasts of analytics as API values (none until it has written any)."""
    found = store.latest_forecasts(site)
    devices = [_forecast_out(forecast) for forecast in found.devices]
    return {"computed_at": _iso(found.computed_ms),
            "devices": sorted(devices, key=_soonest)}  # fmt: skip


def _forecast_out(found: DeviceForecast) -> dict[str, Any]:
    health, usage = found.health, found.usage
    return {
        "site": found.site, "kind": found.kind, "device": found.device,
        "health": None if health is None else {
            "metric": health.metric, "crossing_at": _iso(health.crossing_ms),
            "earliest_at": _iso(health.earliest_ms),
            "latest_at": _iso(health.latest_ms), "reason": health.reason,
        },
        "usage": None if usage is None else {
            "meter": usage.meter, "reading": usage.reading,
            "per_day": usage.per_day, "due_at_reading": usage.due_at,
            "due_at": _iso(usage.due_ms),
        },
    }  # fmt: skip


def _soonest(forecast: dict[str, Any]) -> str:
    """Sort key: the earlier of the health crossing and the usage due date; none last."""
    dates = [part[name] for part, name in ((forecast["health"], "crossing_at"),
             (forecast["usage"], "due_at")) if part and part.get(name)]  # fmt: skip
    return min(dates, default="9999")


def _snapshots(platform: Platform, site: str | None, kind: str | None) -> list[DeviceSnapshot]:
    return _read(lambda: platform.telemetry.devices(site, kind))


def _spec_out(spec: MetricSpec) -> dict[str, Any]:
    return {"name": spec.name, "unit": spec.unit, "type": spec.type.value, "min": spec.minimum,
            "max": spec.maximum, "description": spec.description}  # fmt: skip


def _device_out(
    d: DeviceSnapshot, alerts: dict[tuple[str, str], int], extras: dict[Any, list[str]]
) -> dict[str, Any]:
    return {"site": d.site, "kind": d.kind, "device": d.device, "online": d.online,
            "last_seen": _iso(d.last_seen_ms), "messages_per_min": d.readings_last_10_min / 10,
            "latest": dict(d.latest), "uncatalogued_metrics": extras.get(
                (d.site, d.kind, d.device), []),
            "open_alerts": alerts.get((d.site, d.device), 0)}  # fmt: skip


def _metrics(kind: EquipmentKind, d: DeviceSnapshot) -> list[dict[str, Any]]:
    specs = CATALOGUE[kind]
    names = [*specs, *sorted(set(d.latest) - set(specs))]
    return [{"name": n, "unit": specs[n].unit if n in specs else None, "value": d.latest.get(n),
             "in_catalogue": n in specs, "min": specs[n].minimum if n in specs else None,
             "max": specs[n].maximum if n in specs else None} for n in names]  # fmt: skip


def _open_alerts(store: Store, site: str | None) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for alert in store.list_alerts(AlertState.OPEN, site):
        counts[(alert.site, alert.device)] = counts.get((alert.site, alert.device), 0) + 1
    return counts


def _ref(site: str, kind: str, device: str) -> DeviceRef:
    try:
        return device_ref(site, kind, device)
    except ValueError as error:
        raise ApiError(422, "invalid_request", str(error)) from error


def _read(call: Callable[[], T]) -> T:
    try:
        return call()
    except SourceUnavailable as error:
        raise ApiError(503, "telemetry_unavailable", str(error)) from error


def _period_ms(start: datetime | None, end: datetime | None, default: timedelta) -> tuple[int, int]:
    end = _aware(end) if end else datetime.now(UTC)
    start = _aware(start) if start else end - default
    if start >= end:
        raise ApiError(422, "invalid_request", "'from' must be before 'to'")
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).isoformat()
