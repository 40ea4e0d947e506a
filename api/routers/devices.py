"""/devices: devices seen in the last week, one device in detail, and new MQTT credentials
for a device (integrators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.auth import Anyone, ApiError, Integrator
from api.platform_schemas import CredentialsOut, DeviceDetailOut, DeviceOut, MetricOut, TopicsOut
from api.routers.common import API_PREFIX, Filter, checked_ref, errors, iso, read
from api.routers.forecasts import forecasts_out
from api.sources import DeviceKey, DeviceSnapshot, Platform
from facility import CATALOGUE, EquipmentKind, device_topics, username_for
from maintenance import Store, open_alerts_by_device

__all__ = ["devices_router"]


def devices_router(store: Store, platform: Platform) -> APIRouter:
    """The device routes: telemetry from the platform, open alerts from the store."""
    router = APIRouter(prefix=API_PREFIX, tags=["devices"], responses=errors(404, 409, 503))
    _listing(router, store, platform)
    _detail(router, store, platform)
    _credentials(router, platform)
    return router


def _listing(router: APIRouter, store: Store, platform: Platform) -> None:
    @router.get("/devices", response_model=list[DeviceOut])
    def devices(
        _: Anyone,
        site: Filter = None,
        kind: EquipmentKind | None = None,
        online: bool | None = None,
    ) -> list[DeviceOut]:
        """Devices seen in the last week: online state, last seen, readings per minute over
        the last 10 minutes, latest readings, metrics outside the catalogue. Roles: all."""
        found = _snapshots(platform, site, kind.value if kind else None)
        alerts = open_alerts_by_device(store, site)
        extras = platform.ingest.uncatalogued()
        out = [_device_out(d, alerts, extras) for d in found]
        return [d for d in out if online is None or d.online is online]


def _detail(router: APIRouter, store: Store, platform: Platform) -> None:
    @router.get("/devices/{site}/{kind}/{device}", response_model=DeviceDetailOut)
    def device(site: str, kind: EquipmentKind, device: str, _: Anyone) -> DeviceDetailOut:
        """One device with its metrics against the catalogue, its topics, MQTT username and
        forecast. Roles: all."""
        ref = checked_ref(site, kind.value, device)
        snapshot = next((d for d in _snapshots(platform, site, kind.value)
                         if d.device == device), None)  # fmt: skip
        if snapshot is None:
            raise ApiError(404, "not_found", f"no telemetry or status from {site}/{kind}/{device}")
        alerts = open_alerts_by_device(store, site)
        summary = _device_out(snapshot, alerts, platform.ingest.uncatalogued())
        username = username_for(ref)
        forecast = next((f for f in forecasts_out(store, site).devices
                         if f.device == device), None)  # fmt: skip
        topics = dict(zip(("telemetry", "event", "status"), device_topics(ref), strict=True))
        return DeviceDetailOut(**summary.model_dump(), metrics=_metrics(kind, snapshot),
                               topics=TopicsOut(**topics), mqtt_username=username,
                               credentials_provisioned=username in platform.provisioned(),
                               forecast=forecast)  # fmt: skip


def _credentials(router: APIRouter, platform: Platform) -> None:
    @router.post("/devices/{site}/{kind}/{device}/credentials", response_model=CredentialsOut)
    def credentials(site: str, kind: EquipmentKind, device: str, _: Integrator) -> CredentialsOut:
        """New MQTT credentials for a device, shown once; its previous password stops working.
        Roles: integrator, admin."""
        checked_ref(site, kind.value, device)
        if platform.provision is None:
            raise ApiError(409, "not_managed", "this API does not manage the broker's accounts: "
                           "run `facmon devices provision` where the broker runs")  # fmt: skip
        issued = platform.provision(site, kind.value, device)
        return CredentialsOut.model_validate(
            {"site": site, "kind": kind.value, "device": device} | issued
        )


def _snapshots(platform: Platform, site: str | None, kind: str | None) -> list[DeviceSnapshot]:
    return read(lambda: platform.telemetry.devices(site, kind))


def _device_out(
    d: DeviceSnapshot, alerts: dict[tuple[str, str], int], extras: dict[DeviceKey, list[str]]
) -> DeviceOut:
    return DeviceOut(site=d.site, kind=d.kind, device=d.device, online=d.online,
                     last_seen=iso(d.last_seen_ms), messages_per_min=d.readings_last_10_min / 10,
                     latest=dict(d.latest),
                     uncatalogued_metrics=extras.get((d.site, d.kind, d.device), []),
                     open_alerts=alerts.get((d.site, d.device), 0))  # fmt: skip


def _metrics(kind: EquipmentKind, d: DeviceSnapshot) -> list[MetricOut]:
    specs = CATALOGUE[kind]
    names = [*specs, *sorted(set(d.latest) - set(specs))]
    found: list[dict[str, Any]] = [
        {"name": n, "unit": specs[n].unit if n in specs else None, "value": d.latest.get(n),
         "in_catalogue": n in specs, "min": specs[n].minimum if n in specs else None,
         "max": specs[n].maximum if n in specs else None} for n in names
    ]  # fmt: skip
    return [MetricOut(**m) for m in found]
