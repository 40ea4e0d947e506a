"""What people may do with an alert, and what the alert list says per device.

Analytics raises, updates and clears alerts; people acknowledge them (it is real) or dismiss
them (it is not, with the reason kept for tuning). An alert that is already dismissed or
cleared cannot be acknowledged any more: there is nothing left to confirm.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from maintenance.desk import revise_alert
from maintenance.store import AlertRecord, AlertState, Store

__all__ = [
    "AlertTransitionRefused",
    "acknowledge_alert",
    "alert_in_state",
    "dismiss_alert",
    "open_alerts_by_device",
]

_NOT_ACKNOWLEDGEABLE = frozenset({AlertState.DISMISSED, AlertState.CLEARED})


class AlertTransitionRefused(Exception):
    """The alert's current state does not allow the change asked for."""


def alert_in_state(alert: AlertRecord, state: AlertState, reason: str | None) -> AlertRecord:
    """`alert` moved to `state` (with the dismissal `reason`, None otherwise), or
    AlertTransitionRefused when acknowledging an alert that is dismissed or cleared."""
    if state is AlertState.ACKNOWLEDGED and alert.state in _NOT_ACKNOWLEDGEABLE:
        raise AlertTransitionRefused(f"alert {alert.id} is already {alert.state.value}")
    return replace(alert, state=state, dismissed_reason=reason)


def acknowledge_alert(store: Store, alert_id: int) -> AlertRecord:
    """A person confirms the alert is real; judged against the alert as stored, again if
    analytics changed it meanwhile."""
    return _set_state(store, alert_id, AlertState.ACKNOWLEDGED, None)


def dismiss_alert(store: Store, alert_id: int, reason: str) -> AlertRecord:
    """A person says the alert is not a real problem, and why."""
    return _set_state(store, alert_id, AlertState.DISMISSED, reason)


def _set_state(store: Store, alert_id: int, state: AlertState, reason: str | None) -> AlertRecord:
    return revise_alert(
        store, store.get_alert(alert_id), lambda alert: alert_in_state(alert, state, reason)
    )


def open_alerts_by_device(store: Store, site: str | None = None) -> dict[tuple[str, str], int]:
    """How many open alerts each (site, device) has, at one site or all."""
    return dict(Counter((a.site, a.device) for a in store.list_alerts(AlertState.OPEN, site)))
