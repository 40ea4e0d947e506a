"""The one message crossing from analytics to maintenance: an alert raised, updated or cleared.

Analytics builds it from its own live alert (analytics.alerts.AlertChange.notice); the
maintenance desk reads it (maintenance.desk.Desk.handle). It lives on the ground floor so that
both sides import the same type and the wiring between them only passes it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["AlertNotice"]


@dataclass(frozen=True)
class AlertNotice:
    """An alert change as it crosses the alert sink: owned by neither side, built by
    analytics and read by maintenance (which keeps it as a maintenance.AlertRecord)."""

    change: str  # raised | updated | cleared
    site: str
    kind: str
    device: str
    signature: str
    severity: str  # critical | major | warning | info
    at: datetime
    evidence: tuple[str, ...] = ()
    score: float = 0.0
