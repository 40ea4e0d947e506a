"""A simulated site: its devices, their faults and outages, and the messages they send, in order.

`Simulation.run()` yields what happens in simulated time: MQTT messages exactly as the devices
would publish them (docs/mqtt-contract.md) interleaved with the ground-truth labels, each at the
moment it becomes true. It is pure: the same options give the same messages, byte for byte,
so a benchmark or a failing test can be replayed. Publishing is simulators/publisher.py's job.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from facility import NAME_PATTERN, DeviceRef, EquipmentKind
from simulators.equipment.base import DeviceEvent, EquipmentModel
from simulators.equipment.registry import MODELS
from simulators.faults import DAY_MS, MINUTE_MS, PROFILES, Fault, active_at
from simulators.scenarios import plan_faults
from simulators.sensors import SensorIncident, SensorRealism, Sensors

__all__ = [
    "Label",
    "Message",
    "Outage",
    "Simulation",
    "SimulationOptions",
    "device_names",
    "realistic_mix",
]

# A residential compound: per tower two or three lifts, two booster pumps, one fire panel, and
# gates at the entrances and car park. Ratios of elevators : pumps : panels : gates.
_MIX = {
    EquipmentKind.ELEVATOR: 3,
    EquipmentKind.PUMP: 2,
    EquipmentKind.FIRE_PANEL: 1,
    EquipmentKind.ACCESS_GATE: 2,
}


def realistic_mix(devices: int) -> dict[EquipmentKind, int]:
    """Split `devices` over the kinds as a residential compound has them (largest remainder).

    >>> realistic_mix(8)
    {<EquipmentKind.ELEVATOR: 'elevator'>: 3, <EquipmentKind.PUMP: 'pump'>: 2, \
<EquipmentKind.FIRE_PANEL: 'fire_panel'>: 1, <EquipmentKind.ACCESS_GATE: 'access_gate'>: 2}
    """
    total = sum(_MIX.values())
    shares = {kind: devices * weight / total for kind, weight in _MIX.items()}
    counts = {kind: math.floor(share) for kind, share in shares.items()}
    by_remainder = sorted(_MIX, key=lambda kind: counts[kind] - shares[kind])
    for kind in by_remainder[: devices - sum(counts.values())]:
        counts[kind] += 1
    return counts


def device_names(site: str, counts: Mapping[EquipmentKind, int]) -> list[DeviceRef]:
    """Devices named by kind and number, as an asset register would: `pump-02`, `elevator-11`."""
    names = {
        EquipmentKind.ELEVATOR: "elevator",
        EquipmentKind.PUMP: "pump",
        EquipmentKind.FIRE_PANEL: "fire-panel",
        EquipmentKind.ACCESS_GATE: "gate",
    }
    return [
        DeviceRef(site, kind, f"{names[kind]}-{number:02d}")
        for kind in EquipmentKind
        for number in range(1, counts.get(kind, 0) + 1)
    ]


@dataclass(frozen=True)
class SimulationOptions:
    """Everything that decides a run's messages; equal options give equal messages."""

    site: str
    counts: Mapping[EquipmentKind, int]
    start_ms: int
    duration_ms: int | None = None  # None: until stopped
    interval_s: float = 60.0
    seed: int = 0
    faults: str = "default"
    gateway_batch: int = 1  # readings per telemetry message; 1 = no gateway batching
    sensors: SensorRealism = field(default_factory=SensorRealism)
    outages_per_day: float = 0.05  # per device
    outage_minutes: tuple[float, float] = (5.0, 180.0)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.site):
            raise ValueError(f"site {self.site!r} must match {NAME_PATTERN.pattern}")
        if not 0.1 <= self.interval_s <= 86_400:
            raise ValueError("interval must be between 0.1 s and one day")
        if self.gateway_batch < 1:
            raise ValueError("gateway batch must be at least 1 reading")
        if sum(self.counts.values()) < 1:
            raise ValueError("a simulation needs at least one device")

    @property
    def end_ms(self) -> int | None:
        return None if self.duration_ms is None else self.start_ms + self.duration_ms


@dataclass(frozen=True)
class Message:
    """One MQTT publication at simulated time ts_ms (QoS 1)."""

    ts_ms: int
    topic: str
    payload: bytes
    retain: bool = False
    readings: int = 0  # telemetry readings the payload carries


@dataclass(frozen=True)
class Label:
    """One line of ground truth for the labels file, known at simulated time ts_ms."""

    ts_ms: int
    fields: dict[str, Any]

    def json_line(self) -> bytes:
        return orjson.dumps(self.fields) + b"\n"


@dataclass(frozen=True)
class Outage:
    """A device off the network: no readings, its status `offline`, events held until back."""

    source: DeviceRef
    start_ms: int
    end_ms: int


def random_outages(
    devices: Sequence[DeviceRef],
    start_ms: int,
    end_ms: int,
    rng: random.Random,
    per_day: float,
    minutes: tuple[float, float],
) -> list[Outage]:
    """Network outages as a Poisson process per device, none overlapping on one device."""
    outages = []
    for source in devices:
        clock = start_ms
        while per_day > 0:
            clock += int(-math.log(1.0 - rng.random()) / per_day * DAY_MS)
            if clock >= end_ms:
                break
            length = int(rng.uniform(*minutes) * MINUTE_MS)
            outages.append(Outage(source, clock, clock + length))
            clock += length
    return sorted(outages, key=lambda o: (o.start_ms, o.source.device))


def _device_seed(seed: int, source: DeviceRef) -> int:
    """A stable per-device seed (Python's hash() changes between runs; CRC-32 does not)."""
    return zlib.crc32(f"{seed}/{source.site}/{source.kind}/{source.device}".encode())


class _Device:
    """One simulated device: its model, sensors, faults, outages and unsent readings."""

    def __init__(self, source: DeviceRef, options: SimulationOptions) -> None:
        rng = random.Random(_device_seed(options.seed, source))
        self.source = source
        self.model: EquipmentModel = MODELS[source.kind](rng)
        self.sensors = Sensors(source.kind, self.model.sensors, rng, options.sensors)
        self.phase_ms = int(rng.random() * options.interval_s * 1000)
        self.rng = rng
        self.faults: list[Fault] = []
        self.outages: list[Outage] = []
        self.batch: list[dict[str, Any]] = []
        self.held_events: list[DeviceEvent] = []
        self.last_ts = -1
        prefix = f"facmon/{source.site}/{source.kind}/{source.device}"
        self.telemetry_topic = f"{prefix}/telemetry"
        self.event_topic = f"{prefix}/event"
        self.status_topic = f"{prefix}/status"

    def offline(self, ts_ms: int) -> Outage | None:
        return next((o for o in self.outages if o.start_ms <= ts_ms < o.end_ms), None)

    def reading_time(self, ts_ms: int) -> int:
        """The device's own clock: jittered by up to a few hundred ms, never going backwards."""
        stamped = max(ts_ms + round(self.rng.gauss(0.0, 150.0)), self.last_ts + 1)
        self.last_ts = stamped
        return stamped


class Simulation:
    """A site's devices over simulated time; `run()` yields messages and labels in time order."""

    def __init__(self, options: SimulationOptions) -> None:
        self.options = options
        refs = device_names(options.site, options.counts)
        plan_rng = random.Random(zlib.crc32(f"plan/{options.seed}".encode()))
        horizon = options.end_ms
        self.faults = plan_faults(options.faults, refs, options.start_ms, horizon, plan_rng)
        planned_end = horizon if horizon is not None else options.start_ms + 365 * DAY_MS
        self.outages = random_outages(
            refs,
            options.start_ms,
            planned_end,
            plan_rng,
            options.outages_per_day,
            options.outage_minutes,
        )
        self.devices = [_Device(ref, options) for ref in refs]
        for device in self.devices:
            device.faults = [f for f in self.faults if f.source == device.source]
            device.outages = [o for o in self.outages if o.source == device.source]
        self.devices.sort(key=lambda d: (d.phase_ms, d.source.device))

    def run(self) -> Generator[Message | Label, None, None]:
        """Everything that happens, tick by tick, until the duration ends (or forever)."""
        options = self.options
        yield Label(options.start_ms, self._run_label())
        for device in self.devices:
            yield _status(device, options.start_ms, online=True)
        interval_ms = options.interval_s * 1000
        tick = 0
        end = options.end_ms
        while end is None or options.start_ms + tick * interval_ms < end:
            tick_ms = options.start_ms + int(tick * interval_ms)
            for device in self.devices:
                yield from self._advance(device, tick_ms + device.phase_ms)
            tick += 1
        yield from self.finish(end)

    def _run_label(self) -> dict[str, Any]:
        options = self.options
        return {
            "label": "run",
            "site": options.site,
            "seed": options.seed,
            "faults": options.faults,
            "start_ms": options.start_ms,
            "end_ms": options.end_ms,
            "interval_s": options.interval_s,
            "devices": [_device_fields(d.source) for d in self.devices],
        }

    def _advance(self, device: _Device, ts_ms: int) -> Iterator[Message | Label]:
        """One interval of one device: fault and outage labels, its reading, its events."""
        options = self.options
        dt_s = options.interval_s
        since = ts_ms - int(dt_s * 1000)
        for fault in device.faults:
            if since < fault.onset_ms <= ts_ms:
                yield Label(fault.onset_ms, _fault_fields(fault))
        step = device.model.step(ts_ms, dt_s, active_at(device.faults, ts_ms, since))
        outage = device.offline(ts_ms)
        yield from self._outage_edges(device, since, ts_ms)
        if outage is not None:
            device.held_events.extend(step.events)
            return
        yield from self._send_events(device, [*device.held_events, *step.events])
        device.held_events = []
        yield from self._reading(device, ts_ms, step.metrics)

    def _outage_edges(self, device: _Device, since: int, ts_ms: int) -> Iterator[Message | Label]:
        """Status messages as the broker would publish them: the will at a drop, `online` back."""
        for outage in device.outages:
            if since < outage.start_ms <= ts_ms:
                yield from self._flush_batch(device)
                yield Label(outage.start_ms, _outage_fields(outage))
                yield _status(device, outage.start_ms, online=False)
            if since < outage.end_ms <= ts_ms:
                yield _status(device, outage.end_ms, online=True)

    def _send_events(self, device: _Device, events: list[DeviceEvent]) -> Iterator[Message | Label]:
        for event in sorted(events, key=lambda e: e.ts_ms):
            payload = {"ts": event.ts_ms, "type": event.type, **event.attributes}
            yield Label(event.ts_ms, {"label": "event", **_device_fields(device.source), **payload})
            yield Message(event.ts_ms, device.event_topic, orjson.dumps(payload))

    def _reading(
        self, device: _Device, ts_ms: int, truth: dict[str, Any]
    ) -> Iterator[Message | Label]:
        metrics, incidents = device.sensors.read(ts_ms, truth)
        for incident in incidents:
            yield Label(incident.ts_ms, _incident_fields(device.source, incident))
        if not metrics:
            return  # every metric dropped out: the device sends nothing this time
        device.batch.append({"ts": device.reading_time(ts_ms), "metrics": metrics})
        if len(device.batch) >= self.options.gateway_batch:
            yield from self._flush_batch(device)

    def _flush_batch(self, device: _Device) -> Iterator[Message]:
        if not device.batch:
            return
        batch, device.batch = device.batch, []
        body = batch[0] if self.options.gateway_batch == 1 else batch
        yield Message(
            batch[-1]["ts"], device.telemetry_topic, orjson.dumps(body), readings=len(batch)
        )

    def finish(self, end_ms: int) -> Iterator[Message | Label]:
        """At the end every device's last readings go out and its will marks it offline.

        `run()` ends with this; a run stopped early calls it with the simulated time it reached.
        """
        for device in self.devices:
            yield from self._flush_batch(device)
            yield from self._send_events(device, device.held_events)
            device.held_events = []
            yield _status(device, end_ms, online=False)
        yield Label(end_ms, {"label": "end", "end_ms": end_ms})


def _status(device: _Device, ts_ms: int, online: bool) -> Message:
    return Message(ts_ms, device.status_topic, b"online" if online else b"offline", retain=True)


def _device_fields(source: DeviceRef) -> dict[str, str]:
    return {"site": source.site, "kind": str(source.kind), "device": source.device}


def _fault_fields(fault: Fault) -> dict[str, Any]:
    profile = PROFILES[fault.type]
    return {
        "label": "fault",
        **_device_fields(fault.source),
        "fault": str(fault.type),
        "gradual": profile.gradual,
        "equipment_fault": profile.equipment_fault,
        "onset_ms": fault.onset_ms,
        "failure_ms": fault.failure_ms,
        "repaired_ms": fault.repaired_ms,
    }


def _outage_fields(outage: Outage) -> dict[str, Any]:
    return {
        "label": "offline",
        **_device_fields(outage.source),
        "start_ms": outage.start_ms,
        "end_ms": outage.end_ms,
    }


def _incident_fields(source: DeviceRef, incident: SensorIncident) -> dict[str, Any]:
    return {
        "label": f"sensor_{incident.type}",
        **_device_fields(source),
        "metric": incident.metric,
        "ts_ms": incident.ts_ms,
        "readings": incident.readings,
    }
