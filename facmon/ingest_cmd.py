"""`facmon ingest`: run one ingest process until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse

from facility import Settings
from facmon.wiring import ingest_service, stop_on_signals

__all__ = ["run"]


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Ingest until a stop signal, then flush and exit."""
    ingest_service(settings, args).run(stop_on_signals())
    return 0
