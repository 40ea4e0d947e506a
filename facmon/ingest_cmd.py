"""`facmon ingest`: run one ingest process until SIGTERM or Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from facility import Settings
from facmon.wiring import PortTaken, ingest_service, stop_on_signals

__all__ = ["run"]


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Ingest until a stop signal, then flush and exit; 2 if its metrics port is taken."""
    try:
        service = ingest_service(settings, args)
    except PortTaken as error:
        print(f"facmon ingest: {error}", file=sys.stderr)
        return 2
    service.run(stop_on_signals())
    return 0
