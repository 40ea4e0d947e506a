"""The ground floor: domain model, metric catalogue and settings. Imports no other package."""

from facility.catalogue import CATALOGUE, EquipmentKind, MetricSpec, MetricType, metric_spec
from facility.credentials import device_ref, device_topics, username_for
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
    "Channel",
    "DeviceRef",
    "EquipmentKind",
    "Event",
    "MetricSpec",
    "MetricType",
    "Reading",
    "Record",
    "Settings",
    "StatusChange",
    "device_ref",
    "device_topics",
    "metric_spec",
    "username_for",
]
