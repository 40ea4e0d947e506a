"""`facmon api` (the REST API with its maintenance jobs) and `facmon keys` (API keys).

The API process owns the work-order database: it migrates it on start, serves the routes with
uvicorn, and runs the maintenance jobs every minute (SLA states and escalation, preventive
orders, notification delivery, verification of fixes from telemetry).
"""

from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime
from functools import partial

from apscheduler.schedulers.background import BackgroundScheduler

from api import KeyGuard, LockoutPolicy, create_app, create_key, kpi_worker, platform_for, serve
from facility import Settings
from facmon.wiring import notify_by_webhook, open_store
from maintenance import (
    Desk,
    Role,
    SqlStore,
    deliver_outbox,
    generate_pm_orders,
    outlooks_from,
    sweep_sla,
)
from timeseries import InfluxClient

log = logging.getLogger("facmon.api")

__all__ = ["add_api_arguments", "add_key_arguments"]


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
    jobs = partial(_maintenance_jobs, desk, store, settings.notify_url)
    scheduler.add_job(jobs, "interval", seconds=args.jobs_every)
    scheduler.start()
    influx = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
    try:
        with kpi_worker(partial(SqlStore, settings.database_url)) as kpis:
            platform = platform_for(settings, influx)
            guard = KeyGuard(
                LockoutPolicy(
                    settings.api_lockout_failures,
                    settings.api_lockout_window_s,
                    settings.api_lockout_s,
                )
            )
            serve(create_app(store, desk, kpis, platform, guard), args.host, args.port)
    finally:
        influx.close()
        scheduler.shutdown(wait=False)
        store.close()
    return 0


def _maintenance_jobs(desk: Desk, store: SqlStore, notify_url: str | None) -> None:
    now = datetime.now(UTC)
    outlooks = outlooks_from(store.latest_forecasts())
    for order in generate_pm_orders(store, desk, now, outlooks=outlooks):
        log.info(f"preventive maintenance order {order.id} opened: {order.title}")
    sweep = sweep_sla(store, store.sla_policies(), now)
    for note in sweep.notifications:
        log.warning(note)
    if notify_url:
        deliver_outbox(store, notify_by_webhook(notify_url), now)
    for order in desk.verify_closures():
        log.info(f"work order {order.id} closed: the fix is verified by telemetry")
