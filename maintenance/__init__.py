"""Alerts, work orders, SLAs, schedules and KPIs; arrives with the work-order issue."""

__all__: list[str] = []
