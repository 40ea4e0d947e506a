"""Times and durations as people type them on a command line (`90s`, `2026-03-01T08:00`)."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime

_UNITS_S = {"ms": 0.001, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 604_800}
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|min|m|h|d|w)?\s*")


def parse_duration(text: str) -> float:
    """Seconds in a duration such as `90s`, `15m`, `6h`, `30d` or `2w` (bare numbers: seconds).

    >>> parse_duration("1.5h"), parse_duration("30d"), parse_duration("45")
    (5400.0, 2592000.0, 45.0)
    """
    match = _DURATION.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 6h, 30d")
    return float(match.group(1)) * _UNITS_S[match.group(2) or "s"]


def parse_start(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 time (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time: {error}") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)
