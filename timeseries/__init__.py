"""The one InfluxDB adapter, on the ground floor: ingest writes through it, analytics and the
API read through it. Imports nothing of facmon's packages but `facility`."""

from timeseries.client import InfluxClient, InfluxRejected, InfluxUnavailable
from timeseries.history import InfluxHistory, newest_reading_ms
from timeseries.telemetry import DeviceTelemetry, EventSelection, SeriesWindows, TelemetryReader

__all__ = [
    "DeviceTelemetry",
    "EventSelection",
    "InfluxClient",
    "InfluxHistory",
    "InfluxRejected",
    "InfluxUnavailable",
    "SeriesWindows",
    "TelemetryReader",
    "newest_reading_ms",
]
