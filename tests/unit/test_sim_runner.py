"""Pacing simulated time onto the wall clock, counting, and stopping a run cleanly."""

from __future__ import annotations

import threading

import pytest

from facility import EquipmentKind
from simulators import Label, Message, Pacer, Simulation, SimulationOptions, Tally, run_simulation

START = 1_714_521_600_000


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_pacer_spreads_simulated_time_over_wall_time_by_the_speed() -> None:
    clock = FakeClock()
    pacer = Pacer(speed=3600, clock=clock)
    assert pacer.delay_s(START) == 0.0  # the first message sets the origin
    assert pacer.delay_s(START + 3_600_000) == 1.0  # a simulated hour is a second
    clock.now += 0.25
    assert pacer.delay_s(START + 3_600_000) == 0.75
    clock.now += 5
    assert pacer.delay_s(START + 7_200_000) == 0.0  # late: send at once, do not wait


def test_a_live_pacer_never_sends_a_message_before_its_own_time() -> None:
    clock, wall = FakeClock(), FakeClock()
    wall.now = START / 1000 + 10  # the run started 10 s before the present
    pacer = Pacer(speed=3600, live=True, clock=clock, wall_clock=wall)
    assert pacer.delay_s(START) == 0.0
    assert pacer.delay_s(START + 5_000) == pytest.approx(5 / 3600)  # catching up: fast
    assert pacer.delay_s(START + 70_000) == pytest.approx(60.0)  # then real time


def test_without_a_speed_nothing_waits() -> None:
    pacer = Pacer(speed=None, clock=FakeClock())
    assert pacer.delay_s(START) == pacer.delay_s(START + 10**9) == 0.0


def test_tally_counts_readings_events_status_and_labels() -> None:
    tally = Tally()
    tally.count(Message(START, "facmon/s/pump/p/telemetry", b"[]", readings=10))
    tally.count(Message(START + 5000, "facmon/s/pump/p/event", b"{}"))
    tally.count(Message(START + 9000, "facmon/s/pump/p/status", b"online", retain=True))
    tally.count(Label(START, {"label": "fault"}))
    summary = tally.summary(published=3, devices=1, wall_s=2.0)
    assert summary["published"] == summary["sent"] == 3
    assert (summary["readings"], summary["events"], summary["status"]) == (10, 1, 1)
    assert (summary["faults"], summary["simulated_s"], summary["messages_per_s"]) == (1, 9.0, 1.5)


def test_a_stopped_run_flushes_and_marks_every_device_offline() -> None:
    options = SimulationOptions(
        site="s", counts={EquipmentKind.PUMP: 3}, start_ms=START, gateway_batch=5
    )
    sent: list[Message] = []
    stop = threading.Event()

    def send(message: Message) -> None:
        sent.append(message)
        if len(sent) == 40:
            stop.set()

    tally = run_simulation(Simulation(options), send, lambda _: None, Pacer(None), stop)
    assert tally.messages == len(sent) > 40
    last = {m.topic: m.payload for m in sent if m.topic.endswith("/status")}
    assert sorted(last.values()) == [b"offline"] * 3
    # readings held for a gateway batch were sent, not lost, when the run stopped
    assert sum(m.readings for m in sent) == tally.readings > 40 * 4
