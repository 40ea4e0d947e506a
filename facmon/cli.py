"""The `facmon` command line: one entry point, one subcommand per service or tool."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from facility import Settings, configure_logging
from facmon import (
    analytics_cmd,
    api_cmd,
    bench_cmd,
    db_cmd,
    devices_cmd,
    ingest_cmd,
    simulate_cmd,
    stack,
)
from facmon.wiring import add_ingest_arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facmon", description=__doc__)
    parser.add_argument("--log-level", default="INFO")
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the platform (local broker and InfluxDB if needed)")
    add_ingest_arguments(up)
    stack.add_arguments(up)
    up.set_defaults(handler=stack.up)

    ingest = commands.add_parser("ingest", help="MQTT telemetry into InfluxDB")
    add_ingest_arguments(ingest)
    ingest.set_defaults(handler=ingest_cmd.run)

    analytics_cmd.add_arguments(
        commands.add_parser("analytics", help="anomaly detection and forecasts on live telemetry")
    )

    api_cmd.add_api_arguments(commands.add_parser("api", help="the REST API and its jobs"))
    api_cmd.add_key_arguments(commands.add_parser("keys", help="create or revoke API keys"))
    db_cmd.add_arguments(commands.add_parser("db", help="the work-order database"))
    devices_cmd.add_arguments(
        commands.add_parser("devices", help="per-device MQTT credentials for the broker")
    )

    simulate_cmd.add_arguments(
        commands.add_parser("simulate", help="a simulated building publishing telemetry over MQTT")
    )

    bench_cmd.add_arguments(
        commands.add_parser("bench", help="benchmarks").add_subparsers(dest="bench", required=True)
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    result: int = args.handler(Settings.from_env(), args)
    return result


if __name__ == "__main__":
    sys.exit(main())
