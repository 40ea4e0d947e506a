"""`facmon bench detect`: the analytics engine on a simulated fleet with labelled faults.

A simulated compound runs (the `wear` scenario by default: every device suffers one
degradation, plus the usual incidents, sensor errors and outages); its messages are decoded as
ingest decodes them and fed to the engine in time order; the alerts raised are scored against
the labels: recall of degradations, median warning before functional failure, false alerts per
device-day. Everything runs in this process, no broker or database, so it is repeatable.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from analytics.alerts import ChangeKind
from analytics.engine import Engine
from analytics.scoring.fleet import RaisedAlert, score_fleet
from facility import Settings
from ingest import decode_message
from simulators import (
    Label,
    Simulation,
    SimulationOptions,
    parse_duration,
    parse_start,
    realistic_mix,
)

TICK_MS = 10 * 60_000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--devices", type=int, default=24, help="devices in a residential mix")
    parser.add_argument("--duration", type=parse_duration, default=45 * 86_400.0)
    parser.add_argument("--interval", type=parse_duration, default=600.0, help="per reading")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--faults", default="wear", help="fault scenario (see facmon simulate)")
    parser.add_argument("--start", type=parse_start, default=parse_start("2025-01-06T00:00:00Z"))
    parser.set_defaults(handler=run)


def run(settings: Settings, args: argparse.Namespace) -> int:
    options = SimulationOptions(
        site="bench",
        counts=realistic_mix(args.devices),
        start_ms=args.start,
        duration_ms=int(args.duration * 1000),
        interval_s=args.interval,
        seed=args.seed,
        faults=args.faults,
    )
    started = time.monotonic()
    labels, alerts, readings = detect(Simulation(options), Engine())
    score = score_fleet(labels, alerts)
    result = {
        **score.as_dict(),
        "readings": readings,
        "wall_s": round(time.monotonic() - started, 1),
    }
    print(json.dumps(result), flush=True)
    return 0


def detect(
    simulation: Simulation, engine: Engine
) -> tuple[list[dict[str, Any]], list[RaisedAlert], int]:
    """Run the simulation through the engine: the labels, the alerts raised, readings seen."""
    labels: list[dict[str, Any]] = []
    alerts: list[RaisedAlert] = []
    readings, next_tick = 0, simulation.options.start_ms + TICK_MS
    for item in simulation.run():
        if isinstance(item, Label):
            labels.append(item.fields)
            continue
        decoded = decode_message(item.topic, item.payload, item.ts_ms + 1000)
        readings += item.readings
        changes = engine.on_records(decoded.records)
        if item.ts_ms >= next_tick:
            changes += engine.tick(item.ts_ms)
            next_tick = item.ts_ms + TICK_MS
        alerts += [
            RaisedAlert(c.alert.source.device, c.alert.signature, c.alert.updated_ms)
            for c in changes
            if c.kind is ChangeKind.RAISED
        ]
    return labels, alerts, readings
