"""The storage seam of maintenance/: what the work-order logic and the API need from a database.

One small protocol per kind of record (OrderStore, AlertStore, ...), and `Store`, their union,
for wiring code; maintenance/sql/ implements them with SQLAlchemy (SQLite in WAL mode by
default, PostgreSQL by URL). Keeping the seam small keeps the rules testable without a database
and the database code free of rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from facility import ForecastRun
from maintenance.domain import Priority, Status, WorkOrder
from maintenance.pm import PmPlan
from maintenance.sla import SlaPolicy

__all__ = [
    "AlertQuery",
    "AlertRecord",
    "AlertState",
    "AlertStore",
    "ApiKey",
    "Comment",
    "Duplicate",
    "ForecastStore",
    "KeyStore",
    "NotFound",
    "Notification",
    "NotificationStore",
    "OrderStore",
    "PmPlanStore",
    "Role",
    "SlaPolicyStore",
    "Store",
    "VersionConflict",
    "WorkOrderQuery",
]


class NotFound(LookupError):
    """No such record."""


class Duplicate(Exception):
    """A record with this unique name already exists."""


class VersionConflict(Exception):
    """Someone changed the record since it was read: reload and try again."""


class Role(StrEnum):
    """What an API key may do (api/auth.py admits routes by role)."""

    VIEWER = "viewer"
    CREW = "crew"
    MANAGER = "manager"
    INTEGRATOR = "integrator"
    ADMIN = "admin"


class AlertState(StrEnum):
    """Where an alert stands with people; owned by maintenance (analytics only raises,
    updates and clears alerts)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    DISMISSED = "dismissed"
    CLEARED = "cleared"


@dataclass(frozen=True)
class AlertRecord:
    """An alert as maintenance keeps it: what analytics raised (the facility.AlertNotice
    messages it sent), and what people did with it. Owned by maintenance."""

    id: int | None
    site: str
    kind: str
    device: str
    signature: str
    severity: str
    started_at: datetime
    updated_at: datetime
    state: AlertState = AlertState.OPEN
    score: float = 0.0
    evidence: tuple[str, ...] = ()
    cleared_at: datetime | None = None
    dismissed_reason: str | None = None
    work_order_id: int | None = None
    expected: bool = False  # raised while the device was under maintenance
    version: int = 1  # people and the analytics service both change alerts: see update_alert


@dataclass(frozen=True)
class Comment:
    id: int | None
    work_order_id: int
    author: str
    text: str
    at: datetime


@dataclass(frozen=True)
class Notification:
    """A message for people (an SLA breach escalated with `notify`), kept until delivered: the
    outbox that the delivery job empties."""

    id: int | None
    work_order_id: int | None
    text: str
    created_at: datetime
    delivered_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: only the hash of the secret, never the secret."""

    id: int | None
    name: str
    role: Role
    key_hash: str
    created_at: datetime
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class WorkOrderQuery:
    """Filters for listing work orders; None means any."""

    status: Status | frozenset[Status] | None = None  # one status, or any of several
    priority: Priority | None = None
    site: str | None = None
    device: str | None = None
    kind: str | None = None
    limit: int = 500
    offset: int = 0
    with_history: bool = True  # lists for people skip it: a detail view shows it
    touched_since: datetime | None = None  # active, cancelled, or opened/resolved/closed since
    # A due time (response or resolve) at or before this moment, or not stored: the only
    # orders that can be breached then (holds only move due times later).
    due_by: datetime | None = None

    @property
    def statuses(self) -> frozenset[Status] | None:
        """The statuses wanted, as a set (None: any)."""
        if isinstance(self.status, Status):
            return frozenset({self.status})
        return self.status


@dataclass(frozen=True)
class AlertQuery:
    """Filters for listing alerts (None means any) and the page wanted (limit None: all)."""

    state: AlertState | None = None
    site: str | None = None
    work_order_id: int | None = None
    limit: int | None = 500
    offset: int = 0


class OrderStore(Protocol):
    """Work orders with their history and comments."""

    def add_order(self, order: WorkOrder) -> WorkOrder: ...

    def get_order(self, order_id: int) -> WorkOrder: ...

    def update_order(self, order: WorkOrder, expected_version: int) -> WorkOrder: ...

    def list_orders(self, query: WorkOrderQuery) -> list[WorkOrder]:
        """Matching orders in queue order: most urgent first, then oldest, then by id."""

    def open_order_for(self, site: str, device: str, signature: str) -> WorkOrder | None: ...

    def order_counts(
        self, statuses: frozenset[Status] | None = None
    ) -> dict[tuple[Status, Priority], int]:
        """How many orders there are by (status, priority), of `statuses` (None: all)."""

    def add_comment(self, comment: Comment) -> Comment: ...

    def comments(self, order_id: int) -> list[Comment]: ...


class AlertStore(Protocol):
    """Alerts as maintenance keeps them."""

    def add_alert(self, alert: AlertRecord) -> AlertRecord: ...

    def update_alert(self, alert: AlertRecord) -> AlertRecord:
        """Store `alert` if the stored one is still at `alert.version` (VersionConflict if not);
        returns it at the next version. maintenance.desk.revise_alert retries on a conflict."""

    def get_alert(self, alert_id: int) -> AlertRecord: ...

    def list_alerts(
        self, state: AlertState | None = None, site: str | None = None
    ) -> list[AlertRecord]:
        """Every alert in `state` at `site` (None: any), newest first."""

    def find_alerts(self, query: AlertQuery) -> list[AlertRecord]:
        """A page of the alerts matching `query`, newest first."""

    def alert_counts(self) -> dict[tuple[AlertState, str], int]:
        """How many alerts there are by (state, severity)."""

    def open_alert_for(self, site: str, device: str, signature: str) -> AlertRecord | None: ...


class KeyStore(Protocol):
    """API keys (hashes only)."""

    def add_key(self, key: ApiKey) -> ApiKey: ...

    def find_key(self, key_hash: str) -> ApiKey | None: ...

    def revoke_key(self, key_id: int, at: datetime) -> None: ...


class SlaPolicyStore(Protocol):
    """SLA policies."""

    def add_sla_policy(self, policy: SlaPolicy) -> SlaPolicy: ...

    def get_sla_policy(self, policy_id: int) -> SlaPolicy: ...

    def sla_policies(self) -> list[SlaPolicy]:
        """Every policy in the order it was added (choose_policy prefers the first of equals)."""

    def update_sla_policy(self, policy: SlaPolicy) -> SlaPolicy: ...

    def delete_sla_policy(self, policy_id: int) -> None: ...


class PmPlanStore(Protocol):
    """Preventive-maintenance plans and the orders generated for them."""

    def add_pm_plan(self, plan: PmPlan) -> PmPlan: ...

    def get_pm_plan(self, plan_id: int) -> PmPlan: ...

    def pm_plans(self, site: str | None = None) -> list[PmPlan]:
        """Plans in the order they were added; with `site`, that site's and the kind-wide ones."""

    def update_pm_plan(self, plan: PmPlan) -> PmPlan: ...

    def delete_pm_plan(self, plan_id: int) -> None: ...

    def record_pm_order(self, plan_id: int, due_at: datetime, work_order_id: int) -> None: ...

    def pm_orders(self) -> dict[tuple[int, datetime], int]: ...


class NotificationStore(Protocol):
    """The notification outbox."""

    def add_notification(self, notification: Notification) -> Notification: ...

    def discard_notification(self, notification_id: int) -> None: ...

    def undelivered_notifications(self, limit: int = 100) -> list[Notification]:
        """The oldest notifications not delivered yet."""

    def record_delivery(self, notification_id: int, at: datetime, error: str | None) -> None:
        """A delivery attempt: delivered at `at` when `error` is None, else counted and kept."""


class ForecastStore(Protocol):
    """Analytics' forecasts: one writer (a refresh replaces them all), one reader."""

    def replace_forecasts(self, run: ForecastRun) -> bool:
        """Make `run` the stored forecasts, whole, in one transaction; False (and nothing
        changed) when those stored were computed later."""

    def latest_forecasts(self, site: str | None = None) -> ForecastRun:
        """The forecasts of the latest refresh (of `site`'s devices only, if given)."""


class Store(
    OrderStore,
    AlertStore,
    KeyStore,
    SlaPolicyStore,
    PmPlanStore,
    NotificationStore,
    ForecastStore,
    Protocol,
):
    """Every kind of record: what wiring code passes around. Code that uses only some kinds
    declares the narrower protocols above."""
