"""`facmon up`: the platform on one machine, starting its own broker and InfluxDB if needed."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlparse

from facility import Settings
from facmon import ingest_cmd
from facmon.localstack import Influxd, Mosquitto, is_reachable

log = logging.getLogger("facmon.up")


def up(settings: Settings, args: argparse.Namespace) -> int:
    """Use the configured broker and InfluxDB when reachable, else run local ones under
    FACMON_STATE_DIR (their data persists there, so a restart continues where it stopped)."""
    state = Path(settings.state_dir).resolve()
    with contextlib.ExitStack() as services:
        if not is_reachable(settings.mqtt_url):
            port = urlparse(settings.mqtt_url).port or 1883
            broker = services.enter_context(Mosquitto.start(state / "mosquitto", port))
            log.info("started local mosquitto", extra={"url": broker.url})
        if not is_reachable(settings.influx_url):
            port = urlparse(settings.influx_url).port or 8086
            influx = services.enter_context(Influxd.start(state / "influxdb", port))
            log.info("started local influxdb", extra={"url": influx.url})
        print(_banner(settings, args), flush=True)
        return ingest_cmd.run(settings, args)


def _banner(settings: Settings, args: argparse.Namespace) -> str:
    """What a person starting the platform needs to know, on stdout (logs go to stderr)."""
    metrics = f"http://127.0.0.1:{args.metrics_port}/metrics" if args.metrics_port else "off"
    return "\n".join(
        [
            "facmon is running (Ctrl-C stops it):",
            f"  devices publish to  {settings.mqtt_url}  topics facmon/<site>/<kind>/<device>/...",
            f"  telemetry stored in {settings.influx_url}  database {settings.influx_db}",
            f"  ingest metrics      {metrics}",
            f"  state directory     {Path(settings.state_dir).resolve()}",
        ]
    )
