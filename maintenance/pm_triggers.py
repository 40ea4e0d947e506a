"""Which trigger a PM plan's fields describe (pm.py has the triggers themselves).

A plan is due by the calendar (every_days, optionally from first_due), by use (meter and
every_units) or by condition (forecast_metric and within_days); the first complete set wins.
"""

from __future__ import annotations

from datetime import UTC, datetime

from maintenance.pm import EveryDays, EveryUsage, Trigger, WhenForecast

__all__ = ["InvalidPlan", "pm_trigger"]


class InvalidPlan(ValueError):
    """A plan's fields contradict each other or name no trigger; the message says which."""


def pm_trigger(
    every_days: int | None = None,
    first_due: datetime | None = None,
    meter: str | None = None,
    every_units: float | None = None,
    forecast_metric: str | None = None,
    within_days: int | None = None,
) -> Trigger:
    """The trigger these fields describe. A naive `first_due` is taken as UTC.

    >>> pm_trigger(every_days=15)
    EveryDays(days=15, first_due=None)
    """
    if first_due is not None and every_days is None:
        raise InvalidPlan("first_due goes with every_days (a calendar plan)")
    if every_days is not None:
        return EveryDays(every_days, _utc(first_due) if first_due else None)
    if meter is not None and every_units is not None:
        return EveryUsage(meter, every_units)
    if forecast_metric is not None and within_days is not None:
        return WhenForecast(forecast_metric, within_days)
    raise InvalidPlan(
        "give every_days, or meter and every_units, or forecast_metric and within_days"
    )


def _utc(moment: datetime) -> datetime:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC)
