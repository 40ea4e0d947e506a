"""Which trigger a PM plan's fields describe (maintenance/pm_triggers.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from maintenance.pm import EveryDays, EveryUsage, WhenForecast
from maintenance.pm_triggers import InvalidPlan, pm_trigger


def test_the_calendar_wins_and_its_first_due_is_kept_in_utc() -> None:
    local = datetime(2026, 12, 1, 8, tzinfo=timezone(timedelta(hours=1)))
    trigger = pm_trigger(every_days=15, first_due=local, meter="trips", every_units=5)
    assert trigger == EveryDays(15, datetime(2026, 12, 1, 7, tzinfo=UTC))
    naive = pm_trigger(every_days=15, first_due=datetime(2026, 12, 1, 8))
    assert naive == EveryDays(15, datetime(2026, 12, 1, 8, tzinfo=UTC))


def test_by_use_and_by_condition() -> None:
    assert pm_trigger(meter="trips", every_units=50_000) == EveryUsage("trips", 50_000)
    assert pm_trigger(forecast_metric="vibration_mm_s", within_days=0) == WhenForecast(
        "vibration_mm_s", 0
    )


def test_a_first_due_without_a_calendar_is_refused() -> None:
    with pytest.raises(InvalidPlan, match="first_due goes with every_days"):
        pm_trigger(first_due=datetime(2026, 12, 1, tzinfo=UTC), meter="trips", every_units=5)


@pytest.mark.parametrize("fields", [{}, {"meter": "trips"}, {"within_days": 3}])
def test_fields_naming_no_trigger_are_refused(fields: dict[str, object]) -> None:
    with pytest.raises(InvalidPlan, match="give every_days"):
        pm_trigger(**fields)  # type: ignore[arg-type]
