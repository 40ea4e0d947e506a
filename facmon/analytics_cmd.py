"""`facmon analytics`: the streaming engine on live MQTT telemetry, with its scheduled jobs.

Wiring only: ingest's subscriber and codec feed analytics' service (the same contract, the
same refusals); alert changes go to a JSON Lines journal under FACMON_STATE_DIR/analytics/,
the log, and maintenance's work-order desk; history comes from InfluxDB through timeseries.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from analytics import (
    AnalyticsService,
    EngineSettings,
    FanOut,
    JsonLinesSink,
    PersistentSink,
    Schedule,
)
from facility import Settings
from facmon.wiring import open_store, stop_on_signals
from ingest import SessionOptions, record_subscriber
from maintenance import Desk
from timeseries import InfluxClient, InfluxHistory

log = logging.getLogger("facmon.analytics")

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default="facmon-analytics", help="stable MQTT client id")
    parser.add_argument("--topic", default="facmon/#", help="MQTT topic filter")
    parser.add_argument("--tick", type=float, default=30.0, help="seconds between silence checks")
    parser.add_argument("--forecast-every", type=float, default=3600.0, help="seconds")
    parser.add_argument("--refit-every", type=float, default=86_400.0, help="seconds")
    parser.add_argument(
        "--snapshot-every", type=float, default=300.0, help="seconds between engine snapshots"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=EngineSettings().warmup,
        help="readings each device learns from before they are judged",
    )
    parser.add_argument(
        "--warmup-hours",
        type=float,
        default=24.0,
        help="and hours (of the readings' own time) since a device's first reading",
    )
    parser.set_defaults(handler=run)


def schedule_from(args: argparse.Namespace) -> Schedule:
    """The service's job intervals the command line asks for."""
    return Schedule(args.tick, args.forecast_every, args.refit_every, args.snapshot_every)


def run(settings: Settings, args: argparse.Namespace) -> int:
    folder = Path(settings.state_dir) / "analytics"
    journal = JsonLinesSink(folder / "alerts.jsonl")
    store = open_store(settings)
    influx = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
    engine = EngineSettings(warmup=args.warmup, warmup_s=args.warmup_hours * 3600)
    service = AnalyticsService(
        FanOut(journal, PersistentSink(Desk(store, store.sla_policies))),
        InfluxHistory(influx),
        forecasts=store.replace_forecasts,
        engine=engine,
        snapshot_path=folder / "engine.snapshot",
    )
    session = SessionOptions(client_id=args.client_id, topic_filter=args.topic)
    subscriber = record_subscriber(settings, session, service.on_records, service.clock)
    log.info("analytics subscribing", extra={"subscription": session.subscription})
    try:
        service.run(subscriber, stop_on_signals(), schedule_from(args), folder / "subscribed")
    finally:
        influx.close()
        journal.close()
        store.close()
    return 0
