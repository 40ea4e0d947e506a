"""`facmon bench ingest`: measured by the load generator (being written)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.set_defaults(handler=None)
