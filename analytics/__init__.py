"""Anomaly detection and forecasts on telemetry: detectors (pure numpy/scikit-learn), the
streaming engine, alert tracking, forecasts from history, and the service that runs them.

Imports only the ground floor (`facility`); what it reads and where its alerts go are small
protocols (AlertSink, HistorySource, MessageSource, ForecastSink) wired by facmon.
"""

from analytics.alerts import (
    Alert,
    AlertPolicy,
    AlertSink,
    AlertTracker,
    Condition,
    Severity,
)
from analytics.detectors import (
    AlarmShaper,
    BatchDetector,
    FloatArray,
    Hysteresis,
    LinearResidual,
    MewmaShiftDetector,
    NoveltyAlarm,
    NoveltyAlarmParameters,
    NoveltyDetector,
    Observation,
    RobustBaseline,
    StreamingDetector,
    hysteresis_labels,
)
from analytics.engine import Engine, EngineSettings
from analytics.history import HistorySource, forecasts_for, healthy_history
from analytics.service import AnalyticsService, Clock, ForecastSink, MessageSource, Schedule
from analytics.sinks import FanOut, JsonLinesSink, PersistentSink, notice_fields
from analytics.snapshot import EngineSnapshot, dump_snapshot, load_snapshot, save_snapshot

__all__ = [
    "AlarmShaper",
    "Alert",
    "AlertPolicy",
    "AlertSink",
    "AlertTracker",
    "AnalyticsService",
    "BatchDetector",
    "Clock",
    "Condition",
    "Engine",
    "EngineSettings",
    "EngineSnapshot",
    "FanOut",
    "FloatArray",
    "ForecastSink",
    "HistorySource",
    "Hysteresis",
    "JsonLinesSink",
    "LinearResidual",
    "MessageSource",
    "MewmaShiftDetector",
    "NoveltyAlarm",
    "NoveltyAlarmParameters",
    "NoveltyDetector",
    "Observation",
    "PersistentSink",
    "RobustBaseline",
    "Schedule",
    "Severity",
    "StreamingDetector",
    "dump_snapshot",
    "forecasts_for",
    "healthy_history",
    "hysteresis_labels",
    "load_snapshot",
    "notice_fields",
    "save_snapshot",
]
