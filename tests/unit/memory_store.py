"""An in-memory Store (maintenance/store.py) for unit tests of the desk and the API.

It keeps the protocol's promises that the rules rely on: ids are assigned, a stale version is
refused with VersionConflict, open_order_for finds only active orders, open_alert_for only
alerts not cleared or dismissed. The SQL store is tested against a real database separately.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import datetime

from maintenance.domain import Priority, Status, WorkOrder
from maintenance.pm import PmPlan
from maintenance.sla import SlaPolicy
from maintenance.store import (
    AlertQuery,
    AlertRecord,
    AlertState,
    ApiKey,
    Comment,
    Duplicate,
    NotFound,
    Notification,
    VersionConflict,
    WorkOrderQuery,
)


class MemoryStore:
    def __init__(self) -> None:
        self.orders: dict[int, WorkOrder] = {}
        self.alerts: dict[int, AlertRecord] = {}
        self.notes: list[Comment] = []
        self.keys: dict[int, ApiKey] = {}
        self.policies: dict[int, SlaPolicy] = {}
        self.plans: dict[int, PmPlan] = {}
        self.pm_generated: dict[tuple[int, datetime], int] = {}
        self.outbox: dict[int, Notification] = {}

    def add_order(self, order: WorkOrder) -> WorkOrder:
        stored = replace(order, id=len(self.orders) + 1)
        self.orders[stored.id or 0] = stored
        return stored

    def get_order(self, order_id: int) -> WorkOrder:
        if order_id not in self.orders:
            raise NotFound(f"work order {order_id} does not exist")
        return self.orders[order_id]

    def update_order(self, order: WorkOrder, expected_version: int) -> WorkOrder:
        current = self.get_order(order.id or 0)
        if current.version != expected_version:
            raise VersionConflict(f"work order {order.id} is at version {current.version}")
        stored = replace(order, version=expected_version + 1)
        self.orders[order.id or 0] = stored
        return stored

    def list_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        found = sorted(
            (o for o in self.orders.values() if _matches(o, query)),
            key=lambda o: (o.priority.value, o.opened_at, o.id or 0),
        )
        found = found[query.offset : query.offset + query.limit]
        return found if query.with_history else [replace(o, history=()) for o in found]

    def order_counts(
        self, statuses: frozenset[Status] | None = None
    ) -> dict[tuple[Status, Priority], int]:
        found = (o for o in self.orders.values() if statuses is None or o.status in statuses)
        return dict(Counter((o.status, o.priority) for o in found))

    def open_order_for(self, site: str, device: str, signature: str) -> WorkOrder | None:
        return next(
            (o for o in self.orders.values() if (o.site, o.device, o.alert_signature)
             == (site, device, signature) and o.status.is_active),
            None,
        )  # fmt: skip

    def add_comment(self, comment: Comment) -> Comment:
        stored = replace(comment, id=len(self.notes) + 1)
        self.notes.append(stored)
        return stored

    def comments(self, order_id: int) -> list[Comment]:
        return [c for c in self.notes if c.work_order_id == order_id]

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        stored = replace(alert, id=len(self.alerts) + 1)
        self.alerts[stored.id or 0] = stored
        return stored

    def update_alert(self, alert: AlertRecord) -> AlertRecord:
        if self.get_alert(alert.id or 0).version != alert.version:
            raise VersionConflict(f"alert {alert.id} changed since version {alert.version}")
        stored = replace(alert, version=alert.version + 1)
        self.alerts[alert.id or 0] = stored
        return stored

    def get_alert(self, alert_id: int) -> AlertRecord:
        if alert_id not in self.alerts:
            raise NotFound(f"alert {alert_id} does not exist")
        return self.alerts[alert_id]

    def list_alerts(
        self, state: AlertState | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        return self.find_alerts(AlertQuery(state=state, site=site, limit=None))

    def find_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        wanted = {k: getattr(query, k) for k in ("state", "site", "work_order_id")}
        found = sorted(
            (a for a in self.alerts.values()
             if all(v is None or getattr(a, k) == v for k, v in wanted.items())),
            key=lambda a: (a.started_at, a.id or 0),
            reverse=True,
        )  # fmt: skip
        end = None if query.limit is None else query.offset + query.limit
        return found[query.offset : end]

    def alert_counts(self) -> dict[tuple[AlertState, str], int]:
        return dict(Counter((a.state, a.severity) for a in self.alerts.values()))

    def open_alert_for(self, site: str, device: str, signature: str) -> AlertRecord | None:
        live = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
        return next((a for a in self.alerts.values() if (a.site, a.device, a.signature)
                     == (site, device, signature) and a.state in live), None)  # fmt: skip

    def add_key(self, key: ApiKey) -> ApiKey:
        stored = replace(key, id=len(self.keys) + 1)
        self.keys[stored.id or 0] = stored
        return stored

    def find_key(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self.keys.values() if k.key_hash == key_hash), None)

    def revoke_key(self, key_id: int, at: datetime) -> None:
        self.keys[key_id] = replace(self.keys[key_id], revoked_at=at)

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        stored = replace(policy, id=max(self.policies, default=0) + 1)
        self.policies[stored.id or 0] = stored
        return stored

    def get_sla_policy(self, policy_id: int) -> SlaPolicy:
        if policy_id not in self.policies:
            raise NotFound(f"SLA policy {policy_id} does not exist")
        return self.policies[policy_id]

    def sla_policies(self) -> list[SlaPolicy]:
        return list(self.policies.values())

    def update_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        self.get_sla_policy(policy.id or 0)
        self.policies[policy.id or 0] = policy
        return policy

    def delete_sla_policy(self, policy_id: int) -> None:
        self.get_sla_policy(policy_id)
        del self.policies[policy_id]

    def add_pm_plan(self, plan: PmPlan) -> PmPlan:
        stored = replace(plan, id=max(self.plans, default=0) + 1)
        self.plans[stored.id or 0] = stored
        return stored

    def get_pm_plan(self, plan_id: int) -> PmPlan:
        if plan_id not in self.plans:
            raise NotFound(f"PM plan {plan_id} does not exist")
        return self.plans[plan_id]

    def pm_plans(self, site: str | None = None) -> list[PmPlan]:
        return [p for p in self.plans.values() if site in (None, p.site)]

    def update_pm_plan(self, plan: PmPlan) -> PmPlan:
        self.get_pm_plan(plan.id or 0)
        self.plans[plan.id or 0] = plan
        return plan

    def delete_pm_plan(self, plan_id: int) -> None:
        self.get_pm_plan(plan_id)
        del self.plans[plan_id]

    def record_pm_order(self, plan_id: int, due_at: datetime, work_order_id: int) -> None:
        if (plan_id, due_at) in self.pm_generated:
            raise Duplicate(f"plan {plan_id} already has an order due {due_at}")
        self.pm_generated[(plan_id, due_at)] = work_order_id

    def pm_orders(self) -> dict[tuple[int, datetime], int]:
        return dict(self.pm_generated)

    def add_notification(self, notification: Notification) -> Notification:
        stored = replace(notification, id=max(self.outbox, default=0) + 1)
        self.outbox[stored.id or 0] = stored
        return stored

    def discard_notification(self, notification_id: int) -> None:
        self.outbox.pop(notification_id, None)

    def undelivered_notifications(self, limit: int = 100) -> list[Notification]:
        return [n for n in self.outbox.values() if n.delivered_at is None][:limit]

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None:
        found = self.outbox[notification_id]
        self.outbox[notification_id] = replace(
            found,
            delivered_at=at if error is None else None,
            attempts=found.attempts + 1,
            last_error=error,
        )


def _matches(order: WorkOrder, query: WorkOrderQuery) -> bool:
    """What SqlStore's WHERE clauses say, in Python."""
    fields = ("priority", "site", "device", "kind")
    if any(getattr(query, k) not in (None, getattr(order, k)) for k in fields):
        return False
    if query.statuses is not None and order.status not in query.statuses:
        return False
    if query.touched_since is not None and not _touched_since(order, query.touched_since):
        return False
    return query.due_by is None or _due_by(order, query.due_by)


def _touched_since(order: WorkOrder, moment: datetime) -> bool:
    done = order.status in (Status.RESOLVED, Status.CLOSED)
    stamps = (order.opened_at, order.resolved_at, order.closed_at)
    return not done or any(t is not None and t >= moment for t in stamps)


def _due_by(order: WorkOrder, moment: datetime) -> bool:
    dues = (order.response_due, order.resolve_due)
    return any(due is None or due <= moment for due in dues)
