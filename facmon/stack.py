"""`facmon up`: the platform on one machine, starting its own broker and InfluxDB if needed.

Ingest runs in this process; analytics and the API run as child processes with the same
settings, and stop with it (Ctrl-C or SIGTERM). On the first start an admin API key is created
and printed, once.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlparse

from api.auth import create_key
from facility import Settings
from facmon import ingest_cmd
from facmon.api_cmd import open_store
from facmon.localstack import Influxd, Mosquitto, is_reachable
from maintenance.store import Role

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
        settings = _database_in_state_dir(settings)
        admin_key = _first_admin_key(settings)
        for command in (["analytics"], ["api", "--port", str(args.port)]):
            services.enter_context(_child(settings, command))
        print(_banner(settings, args, admin_key), flush=True)
        return ingest_cmd.run(settings, args)


def _database_in_state_dir(settings: Settings) -> Settings:
    """The default database lives in the state directory, with the broker's and InfluxDB's data."""
    if settings.database_url != Settings().database_url:
        return settings  # chosen explicitly
    path = Path(settings.state_dir).resolve() / "facmon.db"
    return replace(settings, database_url=f"sqlite:///{path}")


def _first_admin_key(settings: Settings) -> str | None:
    """A new admin key when the database has none yet (the first start), else None."""
    store = open_store(settings)
    try:
        if store.has_keys():
            return None
        return create_key(store, "admin (created by facmon up)", Role.ADMIN)[1]
    finally:
        store.close()


@contextlib.contextmanager
def _child(settings: Settings, command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """`facmon <command>` as a child process with these settings, stopped on the way out."""
    env = {**os.environ, **settings.as_env()}
    process = subprocess.Popen([sys.executable, "-m", "facmon.cli", *command], env=env)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def _banner(settings: Settings, args: argparse.Namespace, admin_key: str | None = None) -> str:
    """What a person starting the platform needs to know, on stdout (logs go to stderr)."""
    metrics = f"http://127.0.0.1:{args.metrics_port}/metrics" if args.metrics_port else "off"
    return "\n".join(
        [
            "facmon is running (Ctrl-C stops it):",
            f"  API                 http://127.0.0.1:{args.port}/docs",
            f"  devices publish to  {settings.mqtt_url}  topics facmon/<site>/<kind>/<device>/...",
            f"  telemetry stored in {settings.influx_url}  database {settings.influx_db}",
            f"  ingest metrics      {metrics}",
            f"  work orders in      {settings.database_url}",
            f"  state directory     {Path(settings.state_dir).resolve()}",
            *([f"  admin API key (shown once, keep it): {admin_key}"] if admin_key else []),
        ]
    )
