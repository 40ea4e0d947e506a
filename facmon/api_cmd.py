"""`facmon api` (the REST API with its maintenance jobs) and `facmon keys` (API keys).

The API process owns the work-order database: it migrates it on start, serves the routes with
uvicorn, and runs the maintenance jobs every minute (SLA states and escalation, verification of
fixes from telemetry).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import uvicorn
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI

from api import KpiCache, create_app, kpis_in_database, platform_for
from api.auth import create_key
from facility import Settings
from facmon.db_cmd import sqlite_path
from facmon.notify import deliver_notifications
from maintenance.desk import Desk
from maintenance.jobs import DeviceOutlook, generate_pm_orders, sweep_sla
from maintenance.migrate import upgrade
from maintenance.sql import SqlStore
from maintenance.store import Role
from timeseries import InfluxClient

log = logging.getLogger("facmon.api")

__all__ = ["add_api_arguments", "add_key_arguments", "kpi_worker", "open_store", "serve"]


def add_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--jobs-every", type=float, default=60.0, help="seconds between SLA runs")
    parser.set_defaults(handler=run_api)


def add_key_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="keys_command", required=True)
    create = commands.add_parser("create", help="create a key; it is printed once")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--name", required=True, help="who or what uses it (kept in history)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int)
    parser.set_defaults(handler=run_keys)


def open_store(settings: Settings) -> SqlStore:
    """The migrated database at FACMON_DATABASE_URL (created if missing)."""
    path = sqlite_path(settings.database_url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    return SqlStore(settings.database_url)


def run_keys(settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(settings)
    try:
        if args.keys_command == "revoke":
            store.revoke_key(args.id, datetime.now(UTC))
            print(f"key {args.id} revoked")
            return 0
        key, secret = create_key(store, args.name, Role(args.role))
        print(
            f"created key {key.id} for {key.name!r} with role {key.role.value}; it is shown once:"
        )
        print(secret, flush=True)
        return 0
    finally:
        store.close()


def run_api(settings: Settings, args: argparse.Namespace) -> int:
    store = open_store(settings)
    desk = Desk(store, store.sla_policies)
    scheduler = BackgroundScheduler()
    forecasts = Path(settings.state_dir) / "analytics" / "forecasts.json"
    jobs = partial(_maintenance_jobs, desk, store, forecasts, settings.notify_url)
    scheduler.add_job(jobs, "interval", seconds=args.jobs_every)
    scheduler.start()
    influx = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
    try:
        with kpi_worker(settings.database_url) as kpis:
            platform = platform_for(settings, influx)
            serve(create_app(store, desk, kpis, platform), args.host, args.port)
    finally:
        influx.close()
        scheduler.shutdown(wait=False)
        store.close()
    return 0


@contextmanager
def kpi_worker(database_url: str) -> Iterator[KpiCache]:
    """KPIs computed in a process of their own: a cold period is about a second of Python,
    which in this process would stall every request behind the interpreter lock."""
    spawn = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited locks
    parent = os.getpid()
    with ProcessPoolExecutor(
        1, mp_context=spawn, initializer=_exit_with_parent, initargs=(parent,)
    ) as worker:
        worker.submit(int).result()  # started now rather than by the first KPI request
        yield KpiCache(partial(kpis_in_database, database_url), executor=worker)


def _exit_with_parent(parent: int) -> None:
    """In the KPI worker: end when the API process has gone. uvicorn re-raises SIGTERM after
    its graceful shutdown, so the API process can end without shutting the pool down."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def serve(app: FastAPI, host: str, port: int) -> None:
    """uvicorn with the long-lived start-up objects frozen out of the garbage collector: full
    collections over them took 40-55 ms every second or two under load (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)  # requests make short-lived garbage: collect it in bulk
    uvicorn.run(app, host=host, port=port, log_config=None)


def _maintenance_jobs(desk: Desk, store: SqlStore, forecasts: Path, notify_url: str | None) -> None:
    now = datetime.now(UTC)
    for order in generate_pm_orders(store, desk, now, outlooks=read_outlooks(forecasts)):
        log.info(f"preventive maintenance order {order.id} opened: {order.title}")
    sweep = sweep_sla(store, store.sla_policies(), now)
    for note in sweep.notifications:
        log.warning(note)
    if notify_url:
        deliver_notifications(store, notify_url, now)
    for order in desk.verify_closures():
        log.info(f"work order {order.id} closed: the fix is verified by telemetry")


def read_outlooks(path: Path) -> dict[str, DeviceOutlook]:
    """Meters and forecasts from the analytics service's forecasts file ({} if none yet)."""
    try:
        devices = json.loads(path.read_text())["devices"]
    except (OSError, ValueError, KeyError):
        return {}
    return {key: _outlook(found) for key, found in devices.items()}


def _outlook(found: dict[str, Any]) -> DeviceOutlook:
    usage, health = found.get("usage") or {}, found.get("health") or {}
    crossing_ms = health.get("crossing_ms")
    crossing = None if crossing_ms is None else datetime.fromtimestamp(crossing_ms / 1000, UTC)
    return DeviceOutlook(usage.get("meter"), usage.get("reading"), usage.get("per_day"),
                         health.get("metric"), crossing)  # fmt: skip
