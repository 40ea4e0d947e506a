"""The scheduled jobs' logic on an in-memory history: refits skip alerts, forecasts per device."""

from __future__ import annotations

from analytics.alerts import Alert, Severity
from analytics.history import forecasts_for, healthy_history
from facility import DeviceRef, EquipmentKind, Reading

PUMP = DeviceRef("s", EquipmentKind.PUMP, "pump-01")
OTHER = DeviceRef("s", EquipmentKind.PUMP, "pump-02")
DAY = 86_400_000
NOW = 1_720_000_000_000


class MemoryHistory:
    """A pump whose vibration rises 0.1 mm/s a day and which runs 10 hours a day."""

    def readings(self, device: DeviceRef, since_ms: int, until_ms: int) -> list[Reading]:
        return [
            Reading(device, t, {"vibration_mm_s": 2.0}) for t in range(since_ms, until_ms, DAY // 4)
        ]

    def series(
        self,
        device: DeviceRef,
        field: str,
        since_ms: int,
        until_ms: int,
        only_when: str | None = None,
    ) -> tuple[list[float], list[float]]:
        times = [float(t) for t in range(since_ms, until_ms, DAY // 24)]
        if field == "vibration_mm_s":  # half the hours stopped (0.2 mm/s): only asked while on
            running = [3.0 + 0.1 * (t - NOW) / DAY for t in times]
            stopped = [0.2 for _ in times]
            return (times, running) if only_when == "running" else (times * 2, running + stopped)
        return times, [10_000 + 10.0 * (t - since_ms) / DAY for t in times]  # run hours


def alert(device: DeviceRef, start: int, end: int | None) -> Alert:
    return Alert(device, "vibration_running:high", Severity.WARNING, start, start, 5.0, (), end)


def test_refit_history_leaves_out_the_device_alert_periods_only() -> None:
    alerts = [alert(PUMP, NOW - 3 * DAY, NOW - 2 * DAY), alert(OTHER, NOW - 6 * DAY, None),
              alert(PUMP, NOW - DAY // 2, None)]  # fmt: skip
    kept = healthy_history(MemoryHistory(), PUMP, NOW, alerts)
    assert len(kept) == 28 - 5 - 2  # a week of 4 readings a day, minus the alert periods
    assert all(not (NOW - 3 * DAY <= r.ts_ms <= NOW - 2 * DAY) for r in kept)
    assert all(r.ts_ms < NOW - DAY // 2 for r in kept)


def test_forecasts_give_the_health_crossing_and_the_usage_due_date() -> None:
    found = forecasts_for(MemoryHistory(), PUMP, NOW)
    health, usage = found.health, found.usage
    assert health is not None and usage is not None
    assert (found.site, found.kind, found.device) == (PUMP.site, "pump", PUMP.device)
    assert health.metric == "vibration_mm_s"
    assert health.crossing_ms is not None
    assert abs(health.crossing_ms - (NOW + 41 * DAY)) < DAY  # 3.0 + 0.1/day reaches 7.1
    assert "vibration_mm_s is" in health.reason
    assert usage.meter == "run_hours_h" and abs(usage.per_day - 10.0) < 0.01
    assert usage.due_at == 12_000
