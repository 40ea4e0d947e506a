"""Forecasts: one refresh replaces them all in one transaction (ForecastStore)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from facility import DeviceForecast, ForecastRun, HealthForecast, UsageForecast
from maintenance.sql.base import Sessions
from maintenance.sql.schema import ForecastRow, ForecastRunRow

__all__ = ["SqlForecasts"]

_RUN = 1  # the id of forecast_runs' single row (the migration inserts it)


class SqlForecasts(Sessions):
    """Forecasts (ForecastStore)."""

    def replace_forecasts(self, run: ForecastRun) -> bool:
        """Make `run` the stored forecasts, whole, in one transaction; False (and nothing
        changed) when those stored were computed later (a slower writer finished last)."""
        if run.computed_ms is None:
            raise ValueError("a forecast run to store needs its computed_ms")
        with self._write() as session:
            # The run row first: on PostgreSQL its lock queues a second writer here, before
            # it reads which rows to delete (SQLite's BEGIN IMMEDIATE queues it already).
            newer = (ForecastRunRow.computed_ms.is_(None)) | (
                ForecastRunRow.computed_ms <= run.computed_ms
            )
            claimed = session.execute(
                update(ForecastRunRow)
                .where(ForecastRunRow.id == _RUN, newer)
                .values(computed_ms=run.computed_ms)
            )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]
                return False
            session.execute(delete(ForecastRow))
            session.add_all(ForecastRow(**_forecast_values(f)) for f in run.devices)
        return True

    def latest_forecasts(self, site: str | None = None) -> ForecastRun:
        """The forecasts of the latest refresh (of `site`'s devices only, if given)."""
        statement = select(ForecastRow).order_by(ForecastRow.site, ForecastRow.device)
        if site is not None:
            statement = statement.where(ForecastRow.site == site)
        with self._read() as session:
            computed_ms = session.scalar(
                select(ForecastRunRow.computed_ms).where(ForecastRunRow.id == _RUN)
            )
            devices = tuple(_forecast(row) for row in session.scalars(statement))
        return ForecastRun(computed_ms, devices)


def _forecast_values(forecast: DeviceForecast) -> dict[str, Any]:
    health, usage = forecast.health, forecast.usage
    values: dict[str, Any] = {"site": forecast.site, "kind": forecast.kind,
                              "device": forecast.device}  # fmt: skip
    if health is not None:
        values |= {"health_metric": health.metric, "health_crossing_ms": health.crossing_ms,
                   "health_earliest_ms": health.earliest_ms, "health_latest_ms": health.latest_ms,
                   "health_reason": health.reason}  # fmt: skip
    if usage is not None:
        values |= {"usage_meter": usage.meter, "usage_reading": usage.reading,
                   "usage_per_day": usage.per_day, "usage_due_at": usage.due_at,
                   "usage_due_ms": usage.due_ms}  # fmt: skip
    return values


def _forecast(row: ForecastRow) -> DeviceForecast:
    health = usage = None
    if row.health_metric is not None:
        health = HealthForecast(row.health_metric, row.health_crossing_ms, row.health_earliest_ms,
                                row.health_latest_ms, row.health_reason or "")  # fmt: skip
    if row.usage_meter is not None:
        usage = UsageForecast(row.usage_meter, row.usage_reading or 0.0,
                              row.usage_per_day or 0.0, row.usage_due_at or 0.0,
                              row.usage_due_ms)  # fmt: skip
    return DeviceForecast(row.site, row.kind, row.device, health, usage)
