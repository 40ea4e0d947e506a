"""Anomaly detection and forecasts on telemetry: detectors (pure numpy/scikit-learn), the
streaming engine, alert tracking, forecasts from history, and the service that runs them.

Imports only the ground floor (`facility`); what it reads and where its alerts go are small
protocols (AlertSink, HistorySource, MessageSource, ForecastSink) wired by facmon.
"""

from analytics.alerts import (
    Alert,
    AlertChange,
    AlertPolicy,
    AlertSink,
    AlertTracker,
    ChangeKind,
    Condition,
    Severity,
)
from analytics.engine import Engine, EngineSettings
from analytics.history import HistorySource, forecasts_for, healthy_history
from analytics.service import AnalyticsService, Clock, ForecastSink, MessageSource, Schedule
from analytics.sinks import FanOut, ForecastsFile, JsonLinesSink, alert_fields
from analytics.snapshot import EngineSnapshot, dump_snapshot, load_snapshot, save_snapshot

__all__ = [
    "Alert",
    "AlertChange",
    "AlertPolicy",
    "AlertSink",
    "AlertTracker",
    "AnalyticsService",
    "ChangeKind",
    "Clock",
    "Condition",
    "Engine",
    "EngineSettings",
    "EngineSnapshot",
    "FanOut",
    "ForecastSink",
    "ForecastsFile",
    "HistorySource",
    "JsonLinesSink",
    "MessageSource",
    "Schedule",
    "Severity",
    "alert_fields",
    "dump_snapshot",
    "forecasts_for",
    "healthy_history",
    "load_snapshot",
    "save_snapshot",
]
