"""The one message crossing from analytics to maintenance: an alert raised, updated or cleared.

Analytics' alert tracker reports its live alerts' changes as these (analytics.AlertTracker); the
maintenance desk reads them (maintenance.desk.Desk.handle). It lives on the ground floor so that
both sides import the same type and the wiring between them only passes it on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["AlertNotice"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    @property
    def at_ms(self) -> int:
        """`at` in epoch milliseconds, exactly (no float rounding): what analytics counts in."""
        return (self.at - _EPOCH) // timedelta(milliseconds=1)
