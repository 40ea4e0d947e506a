"""An in-memory Store (maintenance/store.py) for unit tests of the desk and the API.

It keeps every promise of the Store protocols that SqlStore keeps, and the same contract suite
(tests/integration/test_store_contract.py) runs it: ids are assigned, a stale version is
refused with VersionConflict, lists come in the same order, missing records are NotFound,
naive datetimes are refused and aware ones come back in UTC.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import fields, is_dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from facility import ForecastRun
from maintenance.domain import ACTIVE_STATUSES, Priority, Status, WorkOrder
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

V = TypeVar("V")


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
        self.forecast_run = ForecastRun(None)

    # --- work orders and comments ---------------------------------------------------------

    def add_order(self, order: WorkOrder) -> WorkOrder:
        if order.id is not None:
            raise ValueError(f"work order {order.id} is already stored: use update_order")
        if order.repeat_of is not None:
            self.get_order(order.repeat_of)
        stored = replace(_utc(order), id=len(self.orders) + 1)
        self.orders[stored.id or 0] = stored
        return stored

    def get_order(self, order_id: int) -> WorkOrder:
        if order_id not in self.orders:
            raise NotFound(f"no work order {order_id}")
        return self.orders[order_id]

    def update_order(self, order: WorkOrder, expected_version: int) -> WorkOrder:
        if order.id is None:
            raise NotFound("a work order without an id was never stored: use add_order")
        current = self.get_order(order.id)
        if current.version != expected_version:
            raise VersionConflict(f"work order {order.id} changed since version {expected_version}")
        if len(order.history) < len(current.history):
            raise ValueError(f"work order {order.id}: history is append-only")
        version = max(order.version, expected_version + 1)
        stored = replace(_utc(order), version=version)
        self.orders[order.id] = stored
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
        found = [o for o in self.orders.values() if (o.site, o.device, o.alert_signature)
                 == (site, device, signature) and o.status in ACTIVE_STATUSES]  # fmt: skip
        return max(found, key=lambda o: (o.opened_at, o.id or 0), default=None)

    def add_comment(self, comment: Comment) -> Comment:
        self.get_order(comment.work_order_id)
        stored = replace(_utc(comment), id=len(self.notes) + 1)
        self.notes.append(stored)
        return stored

    def comments(self, order_id: int) -> list[Comment]:
        found = [c for c in self.notes if c.work_order_id == order_id]
        return sorted(found, key=lambda c: (c.at, c.id or 0))

    # --- alerts ---------------------------------------------------------------------------

    def add_alert(self, alert: AlertRecord) -> AlertRecord:
        if alert.work_order_id is not None:
            self.get_order(alert.work_order_id)
        stored = replace(_utc(alert), id=len(self.alerts) + 1)
        self.alerts[stored.id or 0] = stored
        return stored

    def update_alert(self, alert: AlertRecord) -> AlertRecord:
        if alert.id is None:
            raise NotFound("an alert without an id was never stored: use add_alert")
        if alert.work_order_id is not None:
            self.get_order(alert.work_order_id)
        if self.get_alert(alert.id).version != alert.version:
            raise VersionConflict(f"alert {alert.id} changed since version {alert.version}")
        stored = replace(_utc(alert), version=alert.version + 1)
        self.alerts[alert.id] = stored
        return stored

    def get_alert(self, alert_id: int) -> AlertRecord:
        if alert_id not in self.alerts:
            raise NotFound(f"no alert {alert_id}")
        return self.alerts[alert_id]

    def list_alerts(
        self, state: AlertState | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        return self.find_alerts(AlertQuery(state=state, site=site, limit=None))

    def find_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        wanted = {k: getattr(query, k) for k in ("state", "site", "work_order_id")}
        found = _newest_first(
            a for a in self.alerts.values()
            if all(v is None or getattr(a, k) == v for k, v in wanted.items())
        )  # fmt: skip
        end = None if query.limit is None else query.offset + query.limit
        return found[query.offset : end]

    def alert_counts(self) -> dict[tuple[AlertState, str], int]:
        return dict(Counter((a.state, a.severity) for a in self.alerts.values()))

    def open_alert_for(self, site: str, device: str, signature: str) -> AlertRecord | None:
        live = (AlertState.OPEN, AlertState.ACKNOWLEDGED)
        found = _newest_first(a for a in self.alerts.values() if (a.site, a.device, a.signature)
                              == (site, device, signature) and a.state in live)  # fmt: skip
        return found[0] if found else None

    # --- API keys -------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> ApiKey:
        if any(k.key_hash == key.key_hash for k in self.keys.values()):
            raise Duplicate(f"a key with hash {key.key_hash[:8]}... already exists")
        stored = replace(_utc(key), id=len(self.keys) + 1)
        self.keys[stored.id or 0] = stored
        return stored

    def find_key(self, key_hash: str) -> ApiKey | None:
        return next((k for k in self.keys.values() if k.key_hash == key_hash), None)

    def revoke_key(self, key_id: int, at: datetime) -> None:
        if key_id not in self.keys:
            raise NotFound(f"no api key {key_id}")
        if self.keys[key_id].revoked_at is None:
            self.keys[key_id] = replace(self.keys[key_id], revoked_at=_aware(at))

    # --- SLA policies ---------------------------------------------------------------------

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        if any(p.name == policy.name for p in self.policies.values()):
            raise Duplicate(f"an SLA policy named {policy.name!r} already exists")
        stored = replace(policy, id=max(self.policies, default=0) + 1)
        self.policies[stored.id or 0] = stored
        return stored

    def get_sla_policy(self, policy_id: int) -> SlaPolicy:
        if policy_id not in self.policies:
            raise NotFound(f"no sla policy {policy_id}")
        return self.policies[policy_id]

    def sla_policies(self) -> list[SlaPolicy]:
        return list(self.policies.values())

    def update_sla_policy(self, policy: SlaPolicy) -> SlaPolicy:
        if policy.id is None:
            raise NotFound("an SLA policy without an id was never stored: use add_sla_policy")
        self.get_sla_policy(policy.id)
        self.policies[policy.id] = policy
        return policy

    def delete_sla_policy(self, policy_id: int) -> None:
        self.get_sla_policy(policy_id)
        del self.policies[policy_id]

    # --- PM plans -------------------------------------------------------------------------

    def add_pm_plan(self, plan: PmPlan) -> PmPlan:
        stored = replace(plan, id=max(self.plans, default=0) + 1)
        self.plans[stored.id or 0] = stored
        return stored

    def get_pm_plan(self, plan_id: int) -> PmPlan:
        if plan_id not in self.plans:
            raise NotFound(f"no pm plan {plan_id}")
        return self.plans[plan_id]

    def pm_plans(self, site: str | None = None) -> list[PmPlan]:
        return [p for p in self.plans.values() if site is None or p.site in (None, site)]

    def update_pm_plan(self, plan: PmPlan) -> PmPlan:
        if plan.id is None:
            raise NotFound("a PM plan without an id was never stored: use add_pm_plan")
        self.get_pm_plan(plan.id)
        self.plans[plan.id] = plan
        return plan

    def delete_pm_plan(self, plan_id: int) -> None:
        self.get_pm_plan(plan_id)
        del self.plans[plan_id]
        for key in [k for k in self.pm_generated if k[0] == plan_id]:
            del self.pm_generated[key]

    def record_pm_order(self, plan_id: int, due_at: datetime, work_order_id: int) -> None:
        self.get_pm_plan(plan_id)
        self.get_order(work_order_id)
        due = _aware(due_at)
        if (plan_id, due) in self.pm_generated or work_order_id in self.pm_generated.values():
            raise Duplicate(f"plan {plan_id} already exists with an order due {due}")
        self.pm_generated[(plan_id, due)] = work_order_id

    def pm_orders(self) -> dict[tuple[int, datetime], int]:
        return dict(self.pm_generated)

    # --- notifications --------------------------------------------------------------------

    def add_notification(self, notification: Notification) -> Notification:
        stored = replace(_utc(notification), id=max(self.outbox, default=0) + 1)
        self.outbox[stored.id or 0] = stored
        return stored

    def discard_notification(self, notification_id: int) -> None:
        self.outbox.pop(notification_id, None)

    def undelivered_notifications(self, limit: int = 100) -> list[Notification]:
        return [n for n in self.outbox.values() if n.delivered_at is None][:limit]

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None:
        if notification_id not in self.outbox:
            raise NotFound(f"no notification {notification_id}")
        found = self.outbox[notification_id]
        self.outbox[notification_id] = replace(
            found,
            delivered_at=_aware(at) if error is None else found.delivered_at,
            attempts=found.attempts + 1,
            last_error=error,
        )

    # --- forecasts ------------------------------------------------------------------------

    def replace_forecasts(self, run: ForecastRun) -> bool:
        if run.computed_ms is None:
            raise ValueError("a forecast run to store needs its computed_ms")
        stored = self.forecast_run.computed_ms
        if stored is not None and stored > run.computed_ms:
            return False
        if len({(f.site, f.device) for f in run.devices}) < len(run.devices):
            raise Duplicate("a device's forecast already exists in this run")
        self.forecast_run = replace(run, devices=tuple(run.devices))
        return True

    def latest_forecasts(self, site: str | None = None) -> ForecastRun:
        found = sorted(self.forecast_run.devices, key=lambda f: (f.site, f.device))
        mine = tuple(f for f in found if site in (None, f.site))
        return replace(self.forecast_run, devices=mine)


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


def _newest_first(alerts: Any) -> list[AlertRecord]:
    return sorted(alerts, key=lambda a: (a.started_at, a.id or 0), reverse=True)


def _aware(moment: datetime) -> datetime:
    """UTC, as a database gives it back; a naive datetime is refused as SqlStore refuses it."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass a timezone-aware one")
    return moment.astimezone(UTC)


def _utc(value: V) -> V:
    """A record with every datetime in it (nested records and tuples too) in UTC."""
    if isinstance(value, datetime):
        return _aware(value)  # type: ignore[return-value]
    if isinstance(value, tuple):
        return tuple(_utc(item) for item in value)  # type: ignore[return-value]
    if is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _utc(getattr(value, f.name)) for f in fields(value)}
        return replace(value, **changes)
    return value
