"""`facmon simulate`: a simulated building publishing over MQTT, or load for benchmarks."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import FrameType
from typing import IO, Any

import orjson
from rich.console import Console
from rich.live import Live

from facility import Settings
from facmon.wiring import KIND_OPTIONS
from simulators import (
    SCENARIOS,
    BuildingView,
    Label,
    Message,
    MqttPublisher,
    Pacer,
    PublishFailed,
    ResumedSimulation,
    SensorRealism,
    Simulation,
    SimulationOptions,
    Tally,
    parse_duration,
    parse_start,
    realistic_mix,
    run_load,
    run_simulation,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    fleet = parser.add_argument_group("fleet")
    fleet.add_argument("--site", default="demo-site", help="site name in the topics")
    fleet.add_argument("--devices", type=int, help="N devices in a residential mix")
    for kind, flag in KIND_OPTIONS.items():
        fleet.add_argument(flag, type=int, default=0, help=f"number of {kind} devices")
    time_group = parser.add_argument_group("time")
    time_group.add_argument("--interval", type=parse_duration, default=60.0, help="per reading")
    time_group.add_argument(
        "--duration", type=parse_duration, help="simulated time; default: forever"
    )
    time_group.add_argument(
        "--speed",
        type=float,
        help="simulated seconds per second; 0: flat out (default 1 when publishing, else 0)",
    )
    time_group.add_argument(
        "--start",
        type=parse_start,
        help="simulated start (ISO 8601); default now, or in the past when accelerated",
    )
    time_group.add_argument(
        "--publish-from",
        type=parse_start,
        help="send only what happens from this time (ISO 8601) on: resumes a run from --start",
    )
    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument("--seed", type=int, default=0, help="same seed and options: same bytes")
    behaviour.add_argument("--faults", default="default", choices=sorted(SCENARIOS))
    behaviour.add_argument("--labels", type=Path, help="write ground truth here (JSON Lines)")
    behaviour.add_argument(
        "--gateway-batch", type=int, default=1, help="readings per message (1: no gateway)"
    )
    behaviour.add_argument("--clean", action="store_true", help="no sensor errors, no outages")
    behaviour.add_argument(
        "--output",
        choices=("mqtt", "stdout", "none"),
        default="mqtt",
        help="publish (default), print JSON Lines to stdout, or send nowhere (no broker)",
    )
    behaviour.add_argument("--watch", action="store_true", help="show the building live")
    load = parser.add_argument_group("load mode (benchmarks)")
    load.add_argument("--load", action="store_true", help="rate-controlled pump load instead")
    load.add_argument("--rate", type=float, help="messages per second (default: flat out)")
    load.add_argument("--processes", type=int, default=2, help="publisher processes")
    load.add_argument("--messages", type=int, default=100_000, help="messages to publish")
    parser.set_defaults(handler=run)


def speed_of(args: argparse.Namespace) -> float:
    """The asked speed; unasked, real time when publishing and flat out when printing."""
    if args.speed is not None:
        return float(args.speed)
    return 1.0 if args.output == "mqtt" else 0.0


HISTORY_MS = 7 * 86_400_000  # an endless accelerated run first simulates the past week


def default_start(args: argparse.Namespace, duration_ms: int | None, now_ms: int) -> int:
    """Now for a real-time run; an accelerated run simulates history that ends at the present
    (its whole duration, or the past week when endless), since devices cannot report the future.
    """
    if speed_of(args) == 1.0:
        return now_ms
    return now_ms - (duration_ms if duration_ms is not None else HISTORY_MS)


def options_from(args: argparse.Namespace, now_ms: int) -> SimulationOptions:
    """The simulation the command line asks for."""
    counts = {
        kind: getattr(args, flag[2:].replace("-", "_")) for kind, flag in KIND_OPTIONS.items()
    }
    if args.devices is not None:
        counts = realistic_mix(args.devices)
    elif not any(counts.values()):
        counts = realistic_mix(8)
    duration_ms = None if args.duration is None else int(args.duration * 1000)
    start = args.start if args.start is not None else default_start(args, duration_ms, now_ms)
    clean = args.clean
    return SimulationOptions(
        site=args.site,
        counts=counts,
        start_ms=start,
        duration_ms=duration_ms,
        interval_s=args.interval,
        seed=args.seed,
        faults=args.faults,
        gateway_batch=args.gateway_batch,
        sensors=SensorRealism.clean() if clean else SensorRealism(),
        outages_per_day=0.0 if clean else SimulationOptions.outages_per_day,
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.load:
        return _run_load(settings, args)
    try:
        options = options_from(args, now_ms=int(time.time() // 1 * 1000))
    except ValueError as error:
        print(f"facmon simulate: {error}", file=sys.stderr)
        return 2
    simulation = (
        Simulation(options)
        if args.publish_from is None
        else ResumedSimulation(options, args.publish_from)
    )
    if args.output != "mqtt":
        return _run_offline(simulation, args)
    publisher = MqttPublisher(settings.mqtt_url, settings.mqtt_username, settings.mqtt_password)
    started = time.monotonic()
    try:
        publisher.connect()
        tally = _drive(simulation, args, _sender(publisher))
        publisher.close()
    except PublishFailed as error:
        print(f"facmon simulate: {error}", file=sys.stderr)
        return 1
    wall_s = time.monotonic() - started
    summary = tally.summary(publisher.acknowledged, len(simulation.devices), wall_s)
    print(json.dumps(_with_withheld(summary, simulation)), flush=True)
    return 0


def _with_withheld(summary: dict[str, Any], simulation: Simulation) -> dict[str, Any]:
    if isinstance(simulation, ResumedSimulation):
        summary["withheld"] = simulation.withheld
    return summary


def _run_offline(simulation: Simulation, args: argparse.Namespace) -> int:
    """No broker: the messages as JSON Lines on stdout (or nowhere), the summary on stderr."""
    started = time.monotonic()
    out = sys.stdout.buffer

    def send(message: Message) -> None:
        if args.output == "stdout":
            line = {"ts": message.ts_ms, "topic": message.topic, "retain": message.retain}
            out.write(orjson.dumps({**line, "payload": message.payload.decode()}) + b"\n")

    tally = _drive(simulation, args, send)
    out.flush()
    summary = tally.summary(tally.messages, len(simulation.devices), time.monotonic() - started)
    print(json.dumps(_with_withheld(summary, simulation)), file=sys.stderr, flush=True)
    return 0


def _drive(
    simulation: Simulation, args: argparse.Namespace, send: Callable[[Message], None]
) -> Tally:
    """Run the simulation paced as asked, labels to their file, until done or signalled."""
    with ExitStack() as stack:
        labels = stack.enter_context(args.labels.open("wb")) if args.labels else None
        stop = stack.enter_context(_stop_on_signals())
        record = _recorder(labels)
        if args.watch:
            send, record = stack.enter_context(_watching(send, record))
        pacer = Pacer(speed_of(args) or None, live=args.output == "mqtt")
        return run_simulation(simulation, send, record, pacer, stop)


@contextmanager
def _watching(
    send: Callable[[Message], None], record: Callable[[Label], None]
) -> Iterator[tuple[Callable[[Message], None], Callable[[Label], None]]]:
    """send and record that also update a live view of the building on stderr."""
    view = BuildingView()

    def watched_send(message: Message) -> None:
        view.observe(message)
        send(message)

    def watched_record(label: Label) -> None:
        view.observe(label)
        record(label)

    console = Console(stderr=True)
    with Live(get_renderable=view.render, console=console, refresh_per_second=4):
        yield watched_send, watched_record


def _sender(publisher: MqttPublisher) -> Callable[[Message], None]:
    def send(message: Message) -> None:
        publisher.publish(message.topic, message.payload, message.retain)

    return send


def _recorder(labels: IO[bytes] | None) -> Callable[[Label], None]:
    def record(label: Label) -> None:
        if labels is not None:
            labels.write(label.json_line())
            labels.flush()  # ground truth survives a killed run up to its last label

    return record


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """Ctrl-C or SIGTERM ends the run cleanly: last readings sent, devices marked offline."""
    stop = threading.Event()

    def handle(_: int, __: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_load(settings: Settings, args: argparse.Namespace) -> int:
    report = run_load(
        settings.mqtt_url,
        processes=args.processes,
        total_messages=args.messages,
        rate=args.rate,
        batch=args.gateway_batch,
        site=args.site,
    )
    print(json.dumps(report.as_dict()), flush=True)
    return 0
