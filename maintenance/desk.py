"""The work-order desk: people's actions and analytics' alerts turned into tracked work.

- People open work orders by hand (a resident's complaint, an inspection finding) and move them
  through their lifecycle; every change checks the version the person saw, so two people acting
  at once cannot overwrite each other.
- Alerts open work orders by themselves: one open order per device and fault signature, and a
  repeat of the alert adds its evidence to that order instead of opening another.
- While a device has work in progress (a fire-alarm test, a repair), its alerts are expected:
  kept and marked, but they open no new work.
- An order opened by an alert closes as fixed only once telemetry shows the condition clear for
  long enough; if it comes back within the repeat window, the order reopens as a repeat failure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from facility import AlertNotice
from maintenance.domain import Action, Priority, Status, WorkOrder, apply_action
from maintenance.sla import SlaPolicy, choose_policy, due_times
from maintenance.store import (
    AlertRecord,
    AlertState,
    AlertStore,
    Comment,
    OrderStore,
    VersionConflict,
    WorkOrderQuery,
)

__all__ = ["Desk", "DeskSettings", "DeskStore", "FixNotVerified", "priority_for"]

TELEMETRY = "telemetry"  # the actor name for changes the data made


class DeskStore(OrderStore, AlertStore, Protocol):
    """What the desk keeps: work orders (with comments) and alerts."""


class FixNotVerified(Exception):
    """An alert-born work order closes only when telemetry shows the condition stayed clear."""


@dataclass(frozen=True)
class DeskSettings:
    verify_clear: timedelta = timedelta(minutes=30)  # clear this long before a fix is verified
    repeat_window: timedelta = timedelta(days=7)  # a recurrence within it is a repeat failure


_LIFE_SAFETY = ("fire_alarm", "entrapment")
_BY_SEVERITY = {"critical": Priority.P1, "major": Priority.P2, "warning": Priority.P3}


def priority_for(notice: AlertNotice) -> Priority:
    """P1 for life safety, then by severity."""
    if notice.signature.split(":")[0] in _LIFE_SAFETY:
        return Priority.P1
    return _BY_SEVERITY.get(notice.severity, Priority.P4)


class Desk:
    """Work orders on top of a Store; the clock and SLA policies are passed in."""

    def __init__(
        self,
        store: DeskStore,
        policies: Callable[[], Sequence[SlaPolicy]],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        settings: DeskSettings = DeskSettings(),
    ) -> None:
        self.store = store
        self.policies = policies
        self.clock = clock
        self.settings = settings

    # --- people ---------------------------------------------------------------------------

    def open(
        self,
        title: str,
        priority: Priority,
        actor: str,
        planned_due: datetime | None = None,
        **details: str | None,
    ) -> WorkOrder:
        """A new work order, its SLA due times computed now; planned work (preventive
        maintenance) is due when its plan says instead."""
        now = self.clock()
        order = WorkOrder(None, title, priority, Status.OPEN, now, **details)  # type: ignore[arg-type]
        policy = choose_policy(self.policies(), priority, order.kind)
        if planned_due is not None:
            order = replace(order, resolve_due=planned_due)
        elif policy is not None:
            response_due, resolve_due = due_times(policy, now)
            order = replace(order, response_due=response_due, resolve_due=resolve_due)
        return self.store.add_order(order)

    def act(
        self, order_id: int, action: Action, actor: str, version: int | None = None, note: str = ""
    ) -> WorkOrder:
        """Apply a lifecycle action; InvalidTransition or VersionConflict change nothing."""
        order = self.store.get_order(order_id)
        expected = order.version if version is None else version
        changed = apply_action(order, action, actor, self.clock(), note)
        if action is Action.CLOSE and order.alert_signature is not None:
            self._require_verified(order)
        return self.store.update_order(changed, expected_version=expected)

    def _require_verified(self, order: WorkOrder) -> None:
        clear_since = self._clear_since(order)
        clear_for = None if clear_since is None else self.clock() - clear_since
        if clear_for is not None and clear_for >= self.settings.verify_clear:
            return
        state = "is not clear" if clear_for is None else f"has been clear for only {clear_for}"
        raise FixNotVerified(
            f"work order {order.id} came from the alert {order.alert_signature}: it closes when "
            f"telemetry shows the condition clear for {self.settings.verify_clear}, and it {state}"
        )

    def assign(
        self, order_id: int, assignee: str, actor: str, version: int | None = None
    ) -> WorkOrder:
        order = self.store.get_order(order_id)
        expected = order.version if version is None else version
        changed = replace(order, assignee=assignee, version=order.version + 1)
        return self.store.update_order(changed, expected_version=expected)

    def comment(self, order_id: int, author: str, text: str) -> Comment:
        self.store.get_order(order_id)  # NotFound for a missing order
        return self.store.add_comment(Comment(None, order_id, author, text, self.clock()))

    # --- alerts ---------------------------------------------------------------------------

    def handle(self, notice: AlertNotice) -> AlertRecord:
        """Record an alert change and open, update or verify the work it concerns."""
        if notice.change == "cleared":
            return self._cleared(notice)
        existing = self.store.open_alert_for(notice.site, notice.device, notice.signature)
        if existing is not None:
            return self._repeat(existing, notice)
        alert = self.store.add_alert(self._record(notice))
        if self._under_maintenance(notice):
            return revise_alert(self.store, alert, lambda a: replace(a, expected=True))
        order = self._order_for(notice)
        return revise_alert(self.store, alert, lambda a: replace(a, work_order_id=order.id))

    def _record(self, notice: AlertNotice) -> AlertRecord:
        return AlertRecord(
            None, notice.site, notice.kind, notice.device, notice.signature, notice.severity,
            notice.at, notice.at, score=notice.score, evidence=notice.evidence,
        )  # fmt: skip

    def _repeat(self, alert: AlertRecord, notice: AlertNotice) -> AlertRecord:
        """The alert goes on: refresh it and add its evidence to its work order."""
        if alert.work_order_id is not None and notice.evidence:
            text = "alert repeated: " + "; ".join(notice.evidence)
            self.store.add_comment(Comment(None, alert.work_order_id, TELEMETRY, text, notice.at))
        return revise_alert(self.store, alert, lambda a: replace(
            a, updated_at=notice.at, score=max(a.score, notice.score),
            evidence=notice.evidence or a.evidence))  # fmt: skip

    def _under_maintenance(self, notice: AlertNotice) -> bool:
        query = WorkOrderQuery(status=Status.IN_PROGRESS, site=notice.site, device=notice.device)
        return bool(self.store.list_orders(query))

    def _order_for(self, notice: AlertNotice) -> WorkOrder:
        """The open order for this device and signature, a reopened one, or a new one."""
        current = self.store.open_order_for(notice.site, notice.device, notice.signature)
        if current is not None:
            return current
        unverified = self._latest(notice, Status.RESOLVED, since=None)
        if unverified is not None:
            note = "the condition came back before the fix was verified"
            return self.act(unverified.id or 0, Action.REOPEN, TELEMETRY, note=note)
        recent = self._latest(notice, Status.CLOSED, since=notice.at - self.settings.repeat_window)
        if recent is not None:
            note = "repeat failure: the condition came back after the fix"
            return self.act(recent.id or 0, Action.REOPEN, TELEMETRY, note=note)
        title = f"{notice.signature} on {notice.device}"
        description = "\n".join(notice.evidence)
        return self.open(title, priority_for(notice), TELEMETRY, site=notice.site,
                         device=notice.device, kind=notice.kind, description=description,
                         alert_signature=notice.signature)  # fmt: skip

    def _latest(
        self, notice: AlertNotice, status: Status, since: datetime | None
    ) -> WorkOrder | None:
        """The device's most recent order in `status` for this signature (changed since `since`)."""
        query = WorkOrderQuery(status=status, site=notice.site, device=notice.device)
        matches = [
            o for o in self.store.list_orders(query)
            if o.alert_signature == notice.signature
            and (since is None or (o.history and o.history[-1].at >= since))
        ]  # fmt: skip
        return max(matches, key=lambda o: o.version, default=None)

    def _cleared(self, notice: AlertNotice) -> AlertRecord:
        alert = self.store.open_alert_for(notice.site, notice.device, notice.signature)
        if alert is None:
            return self._record(notice)  # nothing open: nothing to clear

        def clear(current: AlertRecord) -> AlertRecord:
            if current.state is AlertState.DISMISSED:  # dismissed meanwhile: people said false
                return replace(current, cleared_at=notice.at)
            return replace(current, state=AlertState.CLEARED, cleared_at=notice.at)

        return revise_alert(self.store, alert, clear)

    def verify_closures(self) -> list[WorkOrder]:
        """Close resolved alert orders whose condition stayed clear long enough (fixed)."""
        closed = []
        now = self.clock()
        note = f"verified: condition clear for {self.settings.verify_clear}"
        for order in self.store.list_orders(WorkOrderQuery(status=Status.RESOLVED)):
            clear_since = self._clear_since(order)
            if order.id is None or clear_since is None:
                continue
            if now - clear_since >= self.settings.verify_clear:
                closed.append(self.act(order.id, Action.CLOSE, TELEMETRY, note=note))
        return closed

    def _clear_since(self, order: WorkOrder) -> datetime | None:
        """When the order's alert condition last cleared, if it is clear now."""
        if order.site is None or order.device is None or order.alert_signature is None:
            return None
        if self.store.open_alert_for(order.site, order.device, order.alert_signature):
            return None
        alerts = [a for a in self.store.list_alerts(AlertState.CLEARED, order.site)
                  if a.device == order.device and a.signature == order.alert_signature]  # fmt: skip
        return max((a.cleared_at for a in alerts if a.cleared_at), default=None)


ALERT_RETRIES = 5


def revise_alert(
    store: AlertStore, alert: AlertRecord, change: Callable[[AlertRecord], AlertRecord]
) -> AlertRecord:
    """Store `change(alert)`; if someone stored a newer version first (people acknowledge and
    dismiss alerts while the analytics service updates and clears them), apply `change` to that
    one instead, so neither side's change is lost. `change` may raise to refuse."""
    for _ in range(ALERT_RETRIES):
        try:
            return store.update_alert(change(alert))
        except VersionConflict:
            alert = store.get_alert(alert.id or 0)
    return store.update_alert(change(alert))
