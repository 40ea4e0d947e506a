"""`facmon ingest`: run one ingest process until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse

from prometheus_client import start_http_server

from facility import Settings
from facmon.wiring import stop_on_signals
from ingest import (
    BatchLimits,
    DecodePolicy,
    IngestMetrics,
    IngestOptions,
    IngestService,
    SessionOptions,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
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
        "--metrics-port", type=int, default=9108, help="Prometheus metrics port (0 = off)"
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


def options_from(args: argparse.Namespace) -> IngestOptions:
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
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    metrics = IngestMetrics()
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.metrics_host, registry=metrics.registry)
    service = IngestService(settings, options_from(args), metrics)
    service.run(stop_on_signals())
    return 0
