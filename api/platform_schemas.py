"""Response bodies of the platform routes: the caller, the catalogue, devices, telemetry,
events, forecasts, dead letters and health. Times are ISO 8601 text, as the sources give them
(telemetry points keep their epoch milliseconds)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.schemas import Number
from api.sources import Aggregate

__all__ = [
    "CallerOut",
    "CheckOut",
    "CredentialsOut",
    "DeadLetterOut",
    "DeadLettersOut",
    "DeviceDetailOut",
    "DeviceOut",
    "EventOut",
    "ForecastOut",
    "ForecastsOut",
    "HealthForecastOut",
    "HealthOut",
    "MetricOut",
    "MetricSpecOut",
    "Scalar",
    "SeriesOut",
    "TopicsOut",
    "UsageForecastOut",
]

Scalar = bool | int | float  # a reading: booleans stay booleans, ints stay ints


class CallerOut(BaseModel):
    id: int | None
    name: str
    role: str


class MetricSpecOut(BaseModel):
    name: str
    unit: str
    type: str  # gauge or counter
    min: Number
    max: Number
    description: str


class DeviceOut(BaseModel):
    site: str
    kind: str
    device: str
    online: bool | None  # None: the device never published a status
    last_seen: str | None
    messages_per_min: Number
    latest: dict[str, Scalar]
    uncatalogued_metrics: list[str]
    open_alerts: int


class MetricOut(BaseModel):
    name: str
    unit: str | None
    value: Scalar | None
    in_catalogue: bool
    min: Number | None
    max: Number | None


class TopicsOut(BaseModel):
    telemetry: str
    event: str
    status: str


class HealthForecastOut(BaseModel):
    metric: str
    crossing_at: str | None
    earliest_at: str | None
    latest_at: str | None
    reason: str


class UsageForecastOut(BaseModel):
    meter: str
    reading: Number | None
    per_day: Number | None
    due_at_reading: Number | None
    due_at: str | None


class ForecastOut(BaseModel):
    site: str
    kind: str | None
    device: str
    health: HealthForecastOut | None
    usage: UsageForecastOut | None


class ForecastsOut(BaseModel):
    computed_at: str | None
    devices: list[ForecastOut]


class DeviceDetailOut(DeviceOut):
    metrics: list[MetricOut]
    topics: TopicsOut
    mqtt_username: str
    credentials_provisioned: bool
    forecast: ForecastOut | None


class CredentialsOut(BaseModel):
    """Shown once: the broker keeps only the password's hash."""

    site: str
    kind: str
    device: str
    username: str
    password: str
    topics: list[str]


class SeriesOut(BaseModel):
    site: str
    kind: str
    device: str
    metric: str
    unit: str | None
    window_s: int
    agg: Aggregate
    # Each point is [window start ms, aggregate or null]. Declared as a list rather than a
    # tuple: pydantic writes a tuple as an array-valued `items`, which OpenAPI 3.0 readers
    # (schemathesis among them) reject as an invalid schema.
    points: list[Annotated[list[Number | None], Field(min_length=2, max_length=2)]]


class EventOut(BaseModel):
    site: str | None
    kind: str | None
    device: str | None
    type: str | None
    fields: dict[str, Any]
    ts: str | None


class DeadLetterOut(BaseModel):
    received_at: str | None
    topic: str
    reason: str
    detail: str
    payload: str
    payload_bytes: int


class DeadLettersOut(BaseModel):
    counts: dict[str, int]
    items: list[DeadLetterOut]


class CheckOut(BaseModel):
    ok: bool
    detail: str


class HealthOut(BaseModel):
    status: str  # ok or degraded
    checks: dict[str, CheckOut]
