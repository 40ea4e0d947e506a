"""`facmon bench ...`: the benchmarks' command lines; each runs in benchmarks/."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from benchmarks import run_anomaly, run_api, run_detect, run_ingest, run_latency, run_throughput
from simulators import parse_duration, parse_start

__all__ = ["add_arguments"]

Subparsers = Any  # argparse's _SubParsersAction, which it does not name publicly


def add_arguments(bench: Subparsers) -> None:
    """`facmon bench <name>` for each benchmark (see docs/benchmarks.md)."""
    _ingest(bench.add_parser("ingest", help="ingest throughput and latency"))
    _anomaly(bench.add_parser("anomaly", help="detectors on the SKAB and NAB labelled benchmarks"))
    _latency(bench.add_parser("latency", help="publish-to-alert latency of the analytics service"))
    _throughput(bench.add_parser("throughput", help="readings scored per second, streaming path"))
    _api(
        bench.add_parser("api", help="latency of the work-order list and KPI endpoints under load")
    )
    _detect(bench.add_parser("detect", help="alerts against a simulated fleet's labelled faults"))


def _ingest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--messages", type=int, default=300_000, help="messages to publish")
    parser.add_argument(
        "--rate", type=float, default=12_000, help="messages/s in total (0 = as fast as possible)"
    )
    parser.add_argument("--processes", type=int, default=2, help="publisher processes")
    parser.add_argument("--batch", type=int, default=1, help="readings per message")
    parser.add_argument("--devices", type=int, default=1000, help="devices per publisher")
    parser.add_argument("--mqtt-url", default=None, help="use this broker (default: start one)")
    parser.add_argument("--influx-url", default=None, help="use this InfluxDB (default: start one)")
    parser.add_argument("--ingest-processes", type=int, default=1)
    parser.add_argument(
        "--share-group", default="facmon-bench", help="shared subscription group (if >1 ingest)"
    )
    parser.add_argument(
        "--ingest-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `facmon ingest`, e.g. --ingest-arg=--batch-delay=0.1",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--stall-timeout", type=float, default=30.0, help="give up after this long without progress"
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep servers' data and logs here"
    )
    parser.set_defaults(handler=run_ingest)


def _anomaly(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", choices=("skab", "nab"), required=True)
    parser.add_argument("--data", type=Path, required=True, help="the dataset's data folder")
    parser.add_argument("--labels", type=Path, help="NAB: labels/combined_windows.json")
    parser.add_argument("--out", type=Path, required=True, help="predictions are written here")
    parser.set_defaults(handler=run_anomaly)


def _latency(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--alarms", type=int, default=200, help="fire alarms, one per panel")
    parser.add_argument("--pumps", type=int, default=50, help="pumps whose bearings wear out")
    parser.set_defaults(handler=run_latency)


def _throughput(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--series", type=int, default=100_000, help="device-metric series")
    parser.add_argument("--batch", type=int, default=10_000, help="readings per batch")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to measure")
    parser.set_defaults(handler=run_throughput)


def _api(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--orders", type=int, default=100_000, help="work orders to seed")
    parser.add_argument("--devices", type=int, default=1_000, help="devices to seed")
    parser.add_argument("--rate", type=float, default=100.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="load time per endpoint")
    parser.set_defaults(handler=run_api)


def _detect(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=24, help="devices in a residential mix")
    parser.add_argument("--duration", type=parse_duration, default=45 * 86_400.0)
    parser.add_argument("--interval", type=parse_duration, default=600.0, help="per reading")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default="wear", help="fault scenario (see facmon simulate)")
    parser.add_argument("--start", type=parse_start, default=parse_start("2025-01-06T00:00:00Z"))
    parser.set_defaults(handler=run_detect)
