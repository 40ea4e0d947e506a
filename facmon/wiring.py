"""Wiring that several `facmon` commands share: the work-order database, stop signals, the
notification channel, ingest's options and service (`facmon ingest` and `facmon up`) and
`facmon simulate`'s fleet options. Nothing else: each command's own wiring stays in its
module, and no command module imports another's."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from pathlib import Path
from types import FrameType

from prometheus_client import start_http_server
from sqlalchemy.engine import make_url

from facility import EquipmentKind, Settings
from ingest import (
    BatchLimits,
    DecodePolicy,
    IngestMetrics,
    IngestOptions,
    IngestService,
    SessionOptions,
)
from maintenance import OutboxItem, Send, SqlStore, upgrade
from notifications import Message, Webhook

log = logging.getLogger("facmon")

__all__ = [
    "DEFAULT_METRICS_PORT",
    "KIND_OPTIONS",
    "PortTaken",
    "add_ingest_arguments",
    "ingest_options",
    "ingest_service",
    "migrate",
    "notify_by_webhook",
    "open_store",
    "sqlite_path",
    "stop_on_signals",
]

DEFAULT_METRICS_PORT = 9108  # ingest's Prometheus port when --metrics-port is not given


class PortTaken(Exception):
    """A port this process was told to listen on is in use; the message says which and why."""


# `facmon simulate`'s option for the number of devices of each kind (`facmon up --demo` too).
KIND_OPTIONS = {
    EquipmentKind.ELEVATOR: "--elevators",
    EquipmentKind.PUMP: "--pumps",
    EquipmentKind.FIRE_PANEL: "--fire-panels",
    EquipmentKind.ACCESS_GATE: "--gates",
}


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite.

    >>> sqlite_path("sqlite:///./var/facmon.db")
    PosixPath('var/facmon.db')
    >>> sqlite_path("postgresql://db.example/facmon") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def migrate(url: str) -> str:
    """Create or migrate the database at ``url``; the revision it is at now."""
    path = sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)  # SQLite creates the file, not its folder
    return upgrade(url)


def open_store(settings: Settings) -> SqlStore:
    """The migrated database at FACMON_DATABASE_URL (created if missing)."""
    migrate(settings.database_url)
    return SqlStore(settings.database_url)


def stop_on_signals() -> threading.Event:
    """An event set by SIGTERM or SIGINT, so the service can flush before exiting."""
    stop = threading.Event()

    def handle(signum: int, _: FrameType | None) -> None:
        log.info("stopping", extra={"signal": signal.Signals(signum).name})
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    return stop


def notify_by_webhook(url: str) -> Send:
    """maintenance's outbox delivered to the webhook at ``url`` (see notifications/)."""
    webhook = Webhook(url)

    def send(notification: OutboxItem) -> str | None:
        return webhook.send(
            Message(notification.text, notification.work_order_id, notification.created_at)
        )

    return send


def add_ingest_arguments(parser: argparse.ArgumentParser) -> None:
    """Ingest's options, for `facmon ingest` and `facmon up` (which runs ingest in-process)."""
    parser.add_argument(
        "--client-id",
        default="facmon-ingest",
        help="stable MQTT client id: the broker keeps this session's messages",
    )
    parser.add_argument(
        "--topic", default="facmon/#", help="MQTT topic filter, e.g. facmon/tower-a/# for one site"
    )
    parser.add_argument(
        "--share-group",
        default=None,
        help="join MQTT shared subscription $share/GROUP/... to split load",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help=f"Prometheus metrics port (0 = off; default {DEFAULT_METRICS_PORT}, or under "
        "`facmon up` a free port when that one is taken)",
    )
    parser.add_argument(
        "--metrics-host", default="127.0.0.1", help="address for metrics (0.0.0.0 in containers)"
    )
    parser.add_argument(
        "--spool-max-mb",
        type=int,
        default=2048,
        help="spool cap during InfluxDB outages; when full, ingest stops acknowledging",
    )
    parser.add_argument("--batch-lines", type=int, default=5000)
    parser.add_argument("--batch-delay", type=float, default=0.2, help="seconds")
    parser.add_argument(
        "--max-future-skew",
        type=float,
        default=300.0,
        help="seconds a timestamp may be ahead of the receive time",
    )
    parser.add_argument(
        "--max-new-metrics-per-site",
        type=int,
        default=IngestOptions.max_new_metrics_per_site,
        help="metric names outside the catalogue one site may bring; more are dead-lettered",
    )


def ingest_options(args: argparse.Namespace) -> IngestOptions:
    """The ingest service's options from its command-line arguments."""
    return IngestOptions(
        session=SessionOptions(
            client_id=args.client_id, topic_filter=args.topic, share_group=args.share_group
        ),
        limits=BatchLimits(
            max_lines=args.batch_lines,
            # Half the MQTT Receive Maximum (65535), so one batch fills while another is written.
            max_messages=min(args.batch_lines, 30000),
            max_delay_s=args.batch_delay,
        ),
        policy=DecodePolicy(max_future_skew_ms=int(args.max_future_skew * 1000)),
        spool_max_bytes=args.spool_max_mb * 1024**2,
        max_new_metrics_per_site=args.max_new_metrics_per_site,
    )


def ingest_service(settings: Settings, args: argparse.Namespace) -> IngestService:
    """The ingest service the arguments ask for, its Prometheus metrics served if asked;
    PortTaken if the metrics port is in use."""
    metrics = IngestMetrics()
    port = DEFAULT_METRICS_PORT if args.metrics_port is None else args.metrics_port
    if port:
        try:
            start_http_server(port, addr=args.metrics_host, registry=metrics.registry)
        except OSError as error:
            raise PortTaken(
                f"ingest's metrics port {args.metrics_host}:{port} is taken ({error.strerror}; "
                "another facmon?): choose a free one with --metrics-port, or 0 for none"
            ) from None
    return IngestService(settings, ingest_options(args), metrics)
