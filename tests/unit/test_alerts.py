"""Alert lifecycle on scripted streams: raise, update, clear, and no flapping; event rules."""

from __future__ import annotations

from datetime import UTC, datetime

from analytics.alerts import AlertPolicy, AlertTracker, Condition, Severity
from analytics.rules import SilenceWatch, condition_for_event, condition_for_status
from facility import AlertNotice, DeviceRef, EquipmentKind, Event, StatusChange

PUMP = DeviceRef("s", EquipmentKind.PUMP, "pump-01")
PANEL = DeviceRef("s", EquipmentKind.FIRE_PANEL, "fp-01")
LIFT = DeviceRef("s", EquipmentKind.ELEVATOR, "lift-01")
MIN = 60_000
POLICY = AlertPolicy(raise_after_ms=10 * MIN, clear_after_ms=30 * MIN, update_every_ms=15 * MIN)


def vibration(minute: int, active: bool, score: float = 3.0) -> Condition:
    evidence = (f"vibration_mm_s {score:.1f}× its normal level",)
    return Condition(
        PUMP, "vibration_mm_s:high", minute * MIN, active, Severity.WARNING, score, evidence
    )


def run(conditions: list[Condition]) -> list[tuple[str, int]]:
    tracker = AlertTracker(POLICY)
    return [(n.change, n.at_ms // MIN) for n in tracker.observe_all(conditions)]


def test_a_condition_shorter_than_the_minimum_duration_raises_nothing() -> None:
    assert run([vibration(m, True) for m in range(9)] + [vibration(9, False)]) == []


def test_a_lasting_condition_raises_once_from_when_it_began_and_updates_on_schedule() -> None:
    tracker = AlertTracker(POLICY)
    notices = tracker.observe_all([vibration(m, True) for m in range(0, 41)])
    assert [n.change for n in notices] == ["raised", "updated", "updated"]
    assert [n.at_ms // MIN for n in notices] == [10, 25, 40]
    assert notices[0].evidence == ("vibration_mm_s 3.0× its normal level",)
    (alert,) = tracker.open_alerts
    assert (alert.started_ms, alert.updated_ms) == (0, 40 * MIN)


def test_a_worse_reading_updates_the_open_alert_at_once() -> None:
    stream = [vibration(m, True) for m in range(11)] + [vibration(11, True, score=6.0)]
    assert run(stream) == [("raised", 10), ("updated", 11)]


def test_a_flickering_condition_raises_once_and_never_clears_while_it_flickers() -> None:
    kinds = [kind for kind, _ in run([vibration(m, m % 2 == 0 or m < 12) for m in range(120)])]
    assert kinds[0] == "raised" and kinds.count("raised") == 1
    assert "cleared" not in kinds and 6 <= kinds.count("updated") <= 8


def test_an_alert_clears_only_after_the_condition_stayed_clear_long_enough() -> None:
    stream = [vibration(m, True) for m in range(12)]
    stream += [vibration(m, False) for m in range(12, 30)] + [vibration(30, True)]
    stream += [vibration(m, False) for m in range(31, 62)]
    tracker = AlertTracker(POLICY)
    notices = [n for n in tracker.observe_all(stream) if n.change != "updated"]
    assert [n.change for n in notices] == ["raised", "cleared"]
    assert notices[1].at_ms == 61 * MIN
    assert [(a.started_ms, a.cleared_ms) for a in tracker.cleared_alerts] == [(0, 61 * MIN)]


def test_immediate_conditions_raise_and_clear_at_once() -> None:
    alarm = Event(PANEL, 5 * MIN, "fire_alarm", {"zone": "B2", "test": 0.0})
    reset = Event(PANEL, 9 * MIN, "fire_alarm_reset", {"zone": "B2"})
    tracker = AlertTracker(POLICY)
    raised = tracker.observe_all(condition_for_event(alarm))
    assert [(n.change, n.severity, n.at_ms) for n in raised] == [("raised", "critical", 5 * MIN)]
    assert raised[0].evidence == ("fire_alarm (test: 0, zone: B2)",)
    assert [a.started_ms for a in tracker.open_alerts] == [5 * MIN]
    cleared = tracker.observe_all(condition_for_event(reset))
    assert [(n.change, n.at_ms) for n in cleared] == [("cleared", 9 * MIN)]
    assert [(a.started_ms, a.cleared_ms) for a in tracker.cleared_alerts] == [(5 * MIN, 9 * MIN)]


def test_walk_test_activations_raise_nothing() -> None:
    assert condition_for_event(Event(PANEL, 0, "fire_alarm", {"zone": "B2", "test": 1.0})) == []


def test_trouble_signals_are_tracked_per_reason() -> None:
    tracker = AlertTracker(POLICY)
    for reason in ("ground_fault", "battery_low"):
        tracker.observe_all(
            condition_for_event(Event(PANEL, 0, "fire_trouble", {"reason": reason}))
        )
    ended = Event(PANEL, MIN, "fire_trouble_cleared", {"reason": "ground_fault"})
    tracker.observe_all(condition_for_event(ended))
    assert [a.signature for a in tracker.open_alerts] == ["fire_trouble:battery_low"]


def test_back_in_service_ends_both_the_entrapment_and_the_outage() -> None:
    tracker = AlertTracker(POLICY)
    tracker.observe_all(condition_for_event(Event(LIFT, 0, "entrapment", {"floor": 3.0})))
    tracker.observe_all(
        condition_for_event(Event(LIFT, 0, "out_of_service", {"reason": "entrapment"}))
    )
    assert {a.signature for a in tracker.open_alerts} == {"entrapment", "out_of_service"}
    tracker.observe_all(condition_for_event(Event(LIFT, 40 * MIN, "in_service", {})))
    assert tracker.open_alerts == []


def test_a_failed_battery_test_raises_and_a_passed_one_clears() -> None:
    tracker = AlertTracker(POLICY)
    failed = Event(PANEL, 0, "battery_test", {"result": "fail", "voltage_under_load_v": 22.1})
    passed = Event(
        PANEL, 86_400_000, "battery_test", {"result": "pass", "voltage_under_load_v": 25.9}
    )
    assert [n.change for n in tracker.observe_all(condition_for_event(failed))] == ["raised"]
    assert [n.change for n in tracker.observe_all(condition_for_event(passed))] == ["cleared"]


def test_offline_opens_an_alert_only_if_it_lasts_and_online_clears_it() -> None:
    tracker = AlertTracker(POLICY)
    blip = [StatusChange(PUMP, 0, False), StatusChange(PUMP, 2 * MIN, True)]
    assert tracker.observe_all([condition_for_status(s) for s in blip]) == []
    outage = [StatusChange(PUMP, 10 * MIN, False), StatusChange(PUMP, 21 * MIN, False)]
    assert [n.change for n in tracker.observe_all([condition_for_status(s) for s in outage])] == [
        "raised"
    ]
    back = tracker.observe(condition_for_status(StatusChange(PUMP, 50 * MIN, True)))
    assert [n.change for n in back] == ["cleared"]


def test_silence_is_judged_against_the_device_own_interval() -> None:
    watch = SilenceWatch(tolerance=5, min_silence_ms=5 * MIN)
    for minute in range(0, 60, 2):  # a reading every 2 minutes
        watch.seen(PUMP, minute * MIN)
    assert watch.check(66 * MIN) == []  # 8 minutes: within 5 intervals
    silent = watch.check(70 * MIN)
    assert [c.signature for c in silent] == ["silent"] and silent[0].active
    assert "no data for 12 min (expected every 120 s)" in silent[0].evidence[0]
    resumed = watch.seen(PUMP, 71 * MIN)
    assert resumed is not None and not resumed.active


def test_a_change_is_reported_as_the_sinks_message_stamped_with_its_own_moment() -> None:
    tracker = AlertTracker(POLICY)
    raised = tracker.observe_all([vibration(m, True, 3.5) for m in range(11)])[0]
    assert raised == AlertNotice(
        "raised", "s", "pump", "pump-01", "vibration_mm_s:high", "warning",
        datetime.fromtimestamp(10 * 60, UTC), ("vibration_mm_s 3.5× its normal level",), 3.5,
    )  # fmt: skip
    cleared = tracker.observe_all([vibration(m, False) for m in range(11, 42)])[-1]
    assert (cleared.change, cleared.at) == ("cleared", datetime.fromtimestamp(41 * 60, UTC))
