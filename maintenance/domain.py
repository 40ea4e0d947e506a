"""Work orders and their lifecycle: pure values and rules, no database.

open → acknowledged → in_progress ⇄ on_hold → resolved → closed, plus cancelled, and reopened
(from resolved or closed, back to open). An action that the current status does not allow is
refused with InvalidTransition, naming what is allowed, and changes nothing. Every change is a
HistoryEntry: who did what, when, from which status to which.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

__all__ = [
    "ACTIONS",
    "Action",
    "HistoryEntry",
    "InvalidTransition",
    "Priority",
    "Status",
    "WorkOrder",
    "allowed_actions",
    "apply_action",
]


class Status(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    IN_PROGRESS = "in_progress"
    ON_HOLD = "on_hold"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """Work still to do: counts in the backlog and against the SLA."""
        return self not in (Status.RESOLVED, Status.CLOSED, Status.CANCELLED)


ACTIVE_STATUSES = frozenset(s for s in Status if s.is_active)


class Priority(StrEnum):
    """P1 is life safety (fire alarm, entrapment); P4 can wait for the next planned visit."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    def raised(self) -> Priority:
        """One step more urgent (P1 stays P1): what an SLA escalation does."""
        order = list(Priority)
        return order[max(0, order.index(self) - 1)]


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    START = "start"
    HOLD = "hold"
    RESUME = "resume"
    RESOLVE = "resolve"
    CLOSE = "close"
    CANCEL = "cancel"
    REOPEN = "reopen"


_S, _A = Status, Action

# action -> (statuses it may be taken from, status it leads to)
ACTIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    _A.ACKNOWLEDGE: (frozenset({_S.OPEN}), _S.ACKNOWLEDGED),
    _A.START: (frozenset({_S.OPEN, _S.ACKNOWLEDGED}), _S.IN_PROGRESS),
    _A.HOLD: (frozenset({_S.IN_PROGRESS}), _S.ON_HOLD),
    _A.RESUME: (frozenset({_S.ON_HOLD}), _S.IN_PROGRESS),
    _A.RESOLVE: (frozenset({_S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.ON_HOLD}), _S.RESOLVED),
    _A.CLOSE: (frozenset({_S.RESOLVED}), _S.CLOSED),
    _A.CANCEL: (frozenset({_S.OPEN, _S.ACKNOWLEDGED, _S.IN_PROGRESS, _S.ON_HOLD}), _S.CANCELLED),
    _A.REOPEN: (frozenset({_S.RESOLVED, _S.CLOSED}), _S.OPEN),
}


class InvalidTransition(Exception):
    """The action is not allowed from the work order's current status."""

    def __init__(self, status: Status, action: Action) -> None:
        allowed = ", ".join(sorted(a.value for a in allowed_actions(status))) or "none"
        super().__init__(
            f"cannot {action.value} a work order that is {status.value}; allowed now: {allowed}"
        )
        self.status = status
        self.action = action


def allowed_actions(status: Status) -> frozenset[Action]:
    """What can be done to a work order in this status."""
    return frozenset(action for action, (sources, _) in ACTIONS.items() if status in sources)


@dataclass(frozen=True)
class HistoryEntry:
    """One change to a work order: who, what, when, and the status before and after."""

    at: datetime
    actor: str
    action: str
    from_status: Status | None
    to_status: Status
    note: str = ""


@dataclass(frozen=True)
class WorkOrder:
    """A piece of maintenance work, tracked from opening to a verified close.

    `version` increases with every change: an update that names an older version lost a race
    with another person's change and is refused (optimistic concurrency).
    """

    id: int | None
    title: str
    priority: Priority
    status: Status
    opened_at: datetime
    site: str | None = None
    device: str | None = None
    kind: str | None = None
    description: str = ""
    alert_signature: str | None = None  # set when an alert opened it
    response_due: datetime | None = None
    resolve_due: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    assignee: str | None = None
    repeat_of: int | None = None
    version: int = 1
    history: tuple[HistoryEntry, ...] = field(default_factory=tuple)


def apply_action(
    order: WorkOrder, action: Action, actor: str, at: datetime, note: str = ""
) -> WorkOrder:
    """The work order after `action`, with its history entry; InvalidTransition if not allowed."""
    sources, target = ACTIONS[action]
    if order.status not in sources:
        raise InvalidTransition(order.status, action)
    entry = HistoryEntry(at, actor, action.value, order.status, target, note)
    changed = replace(order, status=target, version=order.version + 1,
                      history=(*order.history, entry))  # fmt: skip
    return _stamp(changed, action, at)


def _stamp(order: WorkOrder, action: Action, at: datetime) -> WorkOrder:
    """Record the moments the KPIs need: first response, resolution, close."""
    if action in (Action.ACKNOWLEDGE, Action.START) and order.acknowledged_at is None:
        order = replace(order, acknowledged_at=at)
    if action is Action.RESOLVE:
        order = replace(order, resolved_at=at)
    if action is Action.CLOSE:
        order = replace(order, closed_at=at)
    if action is Action.REOPEN:
        order = replace(order, resolved_at=None, closed_at=None)
    return order
