"""The scheduled jobs of maintenance/: keep SLA states current, escalate, verify fixes.

Run every minute or so by the service that owns the database (`facmon api`); each job reads
the current orders, applies the pure rules (maintenance/sla.py, the desk) and stores changes.
A job never loses a person's change: it writes with the version it read, and a conflict simply
leaves that order for the next run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from maintenance.domain import Status
from maintenance.sla import SlaPolicy, SlaReport, SlaState, choose_policy, escalate, sla_status
from maintenance.store import Store, VersionConflict, WorkOrderQuery

__all__ = ["SlaSweep", "sweep_sla"]


@dataclass(frozen=True)
class SlaSweep:
    """What one run found: orders due soon, breached, escalated, and notifications to send."""

    due_soon: list[int]
    breached: list[int]
    escalated: list[int]
    notifications: list[str]


def sweep_sla(store: Store, policies: Sequence[SlaPolicy], now: datetime) -> SlaSweep:
    """Judge every active order against its policy; escalate breaches as the policy says."""
    due_soon: list[int] = []
    breached: list[int] = []
    escalated: list[int] = []
    notes: list[str] = []
    for status in (s for s in Status if s.is_active):
        for order in store.list_orders(WorkOrderQuery(status=status, limit=10_000)):
            policy = choose_policy(policies, order.priority, order.kind)
            if policy is None or order.id is None:
                continue
            report = sla_status(order, policy, now)
            _sort(report, order.id, due_soon, breached)
            changed, found = escalate(order, report, policy, now)
            notes += found
            if changed.version != order.version:
                try:
                    store.update_order(changed, expected_version=order.version)
                    escalated.append(order.id)
                except VersionConflict:
                    continue  # someone acted on it meanwhile: judged again next run
    return SlaSweep(due_soon, breached, escalated, notes)


def _sort(report: SlaReport, order_id: int, due_soon: list[int], breached: list[int]) -> None:
    states = {target.state for target in report.targets()}
    if SlaState.BREACHED in states:
        breached.append(order_id)
    elif SlaState.DUE_SOON in states:
        due_soon.append(order_id)
