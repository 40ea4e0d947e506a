"""The ground floor: domain model, metric catalogue and settings. Imports no other package."""

from facility.alerts import AlertNotice
from facility.catalogue import CATALOGUE, EquipmentKind, MetricSpec, MetricType, metric_spec
from facility.credentials import device_ref, device_topics, username_for
from facility.forecasts import DeviceForecast, ForecastRun, HealthForecast, UsageForecast
from facility.settings import Settings
from facility.telemetry import (
    NAME_PATTERN,
    Channel,
    DeviceRef,
    Event,
    Reading,
    Record,
    StatusChange,
)

__all__ = [
    "CATALOGUE",
    "NAME_PATTERN",
    "AlertNotice",
    "Channel",
    "DeviceForecast",
    "DeviceRef",
    "EquipmentKind",
    "Event",
    "ForecastRun",
    "HealthForecast",
    "MetricSpec",
    "MetricType",
    "Reading",
    "Record",
    "Settings",
    "StatusChange",
    "UsageForecast",
    "device_ref",
    "device_topics",
    "metric_spec",
    "username_for",
]
