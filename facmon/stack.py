"""`facmon up`: the platform on one machine, starting its own broker and InfluxDB if needed.

Ingest runs in this process; analytics and the API run as child processes with the same
settings, and stop with it (Ctrl-C or SIGTERM). On the first start an admin API key is created
and printed, once. Once devices have credentials (`facmon devices provision`), the local broker
refuses anonymous clients and the platform's own services use the platform account.

With `--demo`, a simulated site publishes too: on the first start it replays a few days of
history at full speed (wear already under way, so forecasts have a trend) and then goes on in
real time, with incidents in the first minutes; after a restart it resumes where its stored
telemetry ends, so nothing is sent twice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

from api import create_key
from broker import auth_dir, refresh_accounts, service_credentials
from facility import EquipmentKind, Settings
from facmon.wiring import (
    DEFAULT_METRICS_PORT,
    KIND_OPTIONS,
    PortTaken,
    ingest_service,
    open_store,
    stop_on_signals,
)
from localservers import Influxd, Mosquitto, free_port, is_reachable, port_is_free
from maintenance import Role, seed_site_plans, seed_sla_policies
from simulators import LIVE_DEMO_HISTORY_MS, device_names
from timeseries import InfluxClient, InfluxRejected, InfluxUnavailable, newest_reading_ms

log = logging.getLogger("facmon.up")

DEMO_SITE = "demo"
# A small building: two of each kind (one of them faulty, one a healthy twin), one fire panel.
DEMO_FLEET = {EquipmentKind.ELEVATOR: 2, EquipmentKind.PUMP: 2, EquipmentKind.FIRE_PANEL: 1,
              EquipmentKind.ACCESS_GATE: 2}  # fmt: skip
DEMO_WARMUP_READINGS = 24 * 60  # one day of the demo's minutely readings
DEMO_FORECAST_EVERY_S = 120  # forecasts soon after the history is in, then every 2 minutes
DEMO_CALENDAR_START = timedelta(days=8)  # first calendar visits just after the 7-day lead
READY_TIMEOUT_S = 60.0  # how long the demo site waits for ingest and analytics to subscribe


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`facmon up`'s own options (ingest's come from facmon.wiring.add_ingest_arguments)."""
    parser.add_argument("--port", type=int, default=8000, help="port of the API and dashboard")
    parser.add_argument(
        "--demo", action="store_true", help="also run a simulated site whose faults raise alerts"
    )


def up(settings: Settings, args: argparse.Namespace) -> int:
    """Use the configured broker and InfluxDB when reachable, else run local ones under
    FACMON_STATE_DIR (their data persists there, so a restart continues where it stopped).
    A port it must use that is taken (the API's, an asked-for metrics port) ends it with a
    message and exit code 2; the ports it chooses itself are free ones, printed."""
    state = Path(settings.state_dir).resolve()
    try:
        settings = _with_platform_account(settings, state)
        _check_api_port(args.port, args.metrics_port)
    except (ValueError, PortTaken) as error:
        print(f"facmon up: {error}", file=sys.stderr)
        return 2
    args = _with_metrics_port(args)
    with contextlib.ExitStack() as services:
        settings, devices_url = _local_servers(services, settings, state)
        settings = _database_in_state_dir(settings)
        try:
            ingest = ingest_service(settings, args)
        except PortTaken as error:
            print(f"facmon up: {error}", file=sys.stderr)
            return 2
        admin_key = _first_start(settings, demo=args.demo)
        analytics_subscribed = state / "analytics" / "subscribed"  # written by analytics
        analytics_subscribed.unlink(missing_ok=True)
        services.enter_context(_child(settings, _analytics_command(args)))
        services.enter_context(_child(settings, ["api", "--port", str(args.port)]))
        stop = stop_on_signals()
        if args.demo:

            def subscribed() -> bool:
                return ingest.subscriber.subscribed.is_set() and analytics_subscribed.exists()

            services.enter_context(_demo_site(settings, state, subscribed))
        print(_banner(settings, args, devices_url, admin_key), flush=True)
        ingest.run(stop)
        return 0


def _check_api_port(port: int, metrics_port: int | None) -> None:
    """PortTaken unless the API can listen on ``port`` (the URL people open: never moved) and
    ingest's metrics are not asked to listen there too."""
    if metrics_port == port:
        raise PortTaken(f"port {port} is taken by the API: choose another --metrics-port")
    if not port_is_free(port):
        raise PortTaken(
            f"port {port} for the API and dashboard is taken (another facmon up?): "
            "choose a free one with --port"
        )


def _with_metrics_port(args: argparse.Namespace) -> argparse.Namespace:
    """The arguments with ingest's metrics port chosen: the default one, or a free one when
    it is taken (another facmon on this machine). A port asked for is kept as it is."""
    port = args.metrics_port
    if port is None:
        default_free = port_is_free(DEFAULT_METRICS_PORT, args.metrics_host)
        port = DEFAULT_METRICS_PORT if default_free else free_port()
    return argparse.Namespace(**{**vars(args), "metrics_port": port})


def _local_servers(
    services: contextlib.ExitStack, settings: Settings, state: Path
) -> tuple[Settings, str]:
    """A broker and an InfluxDB under the state directory where the configured ones do not
    answer, each on its configured port when free, else on a free one. Returns the settings
    for the platform's own services and the URL devices publish to (with accounts, the
    platform has a listener of its own: see localservers.Mosquitto)."""
    devices_url = settings.mqtt_url
    if not is_reachable(settings.mqtt_url):
        refresh_accounts(state)  # platform-passwd for brokers whose files an older facmon wrote
        port = _configured_port_if_free(settings.mqtt_url, 1883)
        mosquitto = Mosquitto.start(state / "mosquitto", port, auth_dir=auth_dir(state))
        broker = services.enter_context(mosquitto)
        log.info("started local mosquitto", extra={"url": broker.url})
        devices_url = broker.url
        settings = replace(settings, mqtt_url=broker.platform_url)
    if not is_reachable(settings.influx_url):
        port = _configured_port_if_free(settings.influx_url, 8086)
        influx = services.enter_context(Influxd.start(state / "influxdb", port))
        log.info("started local influxdb", extra={"url": influx.url})
        settings = replace(settings, influx_url=influx.url)
    return settings, devices_url


def _configured_port_if_free(url: str, default: int) -> int | None:
    """The URL's port if a local server can have it, else None (the server takes a free one)."""
    port = urlparse(url).port or default
    return port if port_is_free(port) else None


def _with_platform_account(settings: Settings, state: Path) -> Settings:
    """The platform account's credentials for our own services, unless set explicitly; there
    are none before the first device is provisioned (the broker is then anonymous)."""
    if settings.mqtt_username:
        return settings
    account = service_credentials(state)
    if account is None:
        return settings
    return replace(settings, mqtt_username=account[0], mqtt_password=account[1])


def _database_in_state_dir(settings: Settings) -> Settings:
    """The default database lives in the state directory, with the broker's and InfluxDB's data."""
    if settings.database_url != Settings().database_url:
        return settings  # chosen explicitly
    path = Path(settings.state_dir).resolve() / "facmon.db"
    return replace(settings, database_url=f"sqlite:///{path}")


def _first_start(settings: Settings, demo: bool) -> str | None:
    """On the first start (no API key yet): an admin key, returned to be printed once, and the
    default SLA policies unless some exist. The demo site also gets its maintenance plans."""
    store = open_store(settings)
    try:
        if demo:
            devices = device_names(DEMO_SITE, DEMO_FLEET)
            seed_site_plans(store, DEMO_SITE, devices, datetime.now(UTC) + DEMO_CALENDAR_START)
        if store.has_keys():
            return None
        seed_sla_policies(store)
        return create_key(store, "admin (created by facmon up)", Role.ADMIN)[1]
    finally:
        store.close()


def _analytics_command(args: argparse.Namespace) -> list[str]:
    if args.demo:  # forecasts soon; learn a whole day of the replayed history (its daily rhythm)
        return ["analytics", "--forecast-every", str(DEMO_FORECAST_EVERY_S),
                "--warmup", str(DEMO_WARMUP_READINGS)]  # fmt: skip
    return ["analytics"]


@contextlib.contextmanager
def _child(settings: Settings, command: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    """`facmon <command>` as a child process with these settings, stopped on the way out."""
    process = _spawn(settings, command)
    try:
        yield process
    finally:
        _stop(process)


def _spawn(settings: Settings, command: list[str]) -> subprocess.Popen[bytes]:
    """A child in a process group of its own: a terminal's Ctrl-C reaches only us, so we stop
    the children in order, and whatever a child starts (the API's KPI worker) is found again."""
    env = {**os.environ, **settings.as_env()}
    argv = [sys.executable, "-m", "facmon.cli", *command]
    return subprocess.Popen(argv, env=env, process_group=0)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, so the child can finish what it was doing; SIGKILL if it has not in 20 s.
    Then wait for the processes it started, which end with it (SIGKILL after 5 s)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    deadline = time.monotonic() + 5.0
    while _group_alive(process.pid):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            return
        time.sleep(0.1)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def _demo_site(settings: Settings, state: Path, subscribed: Callable[[], bool]) -> Iterator[None]:
    """The `--demo` site as a child `facmon simulate`, started once ingest and analytics have
    subscribed (on the very first start the broker keeps nothing for them before that, and the
    replayed history would be lost); stopped on the way out."""
    cancelled = threading.Event()
    started: list[subprocess.Popen[bytes]] = []

    def start_when_subscribed() -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not subscribed():
            if cancelled.wait(0.2):
                return
            if time.monotonic() > deadline:
                log.warning("ingest or analytics has not subscribed; starting the demo anyway")
                break
        started.append(_spawn(settings, _demo_command(settings, state)))

    waiter = threading.Thread(target=start_when_subscribed, name="demo-site", daemon=True)
    waiter.start()
    try:
        yield
    finally:
        cancelled.set()
        waiter.join()
        for process in started:
            _stop(process)


def _demo_command(settings: Settings, state: Path) -> list[str]:
    """`facmon simulate` for the demo site. The first start fixes the site's timeline (it starts
    LIVE_DEMO_HISTORY_MS ago and is replayed at full speed up to the present); a restart
    replays the same timeline from where the stored telemetry ends, sending nothing twice."""
    plan = state / "demo" / "site.json"
    now_ms = int(time.time() * 1000)
    try:
        start_ms = int(json.loads(plan.read_text(encoding="utf-8"))["start_ms"])
    except FileNotFoundError:
        start_ms, resume_ms = now_ms - LIVE_DEMO_HISTORY_MS, None
        plan.parent.mkdir(parents=True, exist_ok=True)
        plan.write_text(json.dumps({"site": DEMO_SITE, "start_ms": start_ms}) + "\n")
    else:
        stored_until = _demo_stored_until(settings)
        # Down for longer than the demo's history: skip the rest, as for the first start.
        resume_ms = max(stored_until + 1 if stored_until else 0, now_ms - LIVE_DEMO_HISTORY_MS)
    fleet = [
        part for kind, count in DEMO_FLEET.items() for part in (KIND_OPTIONS[kind], str(count))
    ]
    command = ["simulate", "--site", DEMO_SITE, *fleet, "--faults", "live-demo"]
    command += ["--speed", "0", "--seed", "0", "--start", _iso(start_ms)]
    return command + (["--publish-from", _iso(resume_ms)] if resume_ms else [])


def _demo_stored_until(settings: Settings) -> int | None:
    """The time of the demo site's newest stored reading: None if there is none, the present
    if InfluxDB cannot say (better a gap in the demo's charts than its history sent twice)."""
    client = InfluxClient(settings.influx_url, settings.influx_db, settings.influx_token)
    try:
        return newest_reading_ms(client, DEMO_SITE)
    except (InfluxUnavailable, InfluxRejected) as error:
        log.warning(f"cannot tell where the demo site stopped ({error}); resuming at the present")
        return int(time.time() * 1000)
    finally:
        client.close()


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _banner(
    settings: Settings, args: argparse.Namespace, devices_url: str, admin_key: str | None = None
) -> str:
    """What a person starting the platform needs to know, on stdout (logs go to stderr)."""
    metrics = f"http://127.0.0.1:{args.metrics_port}/metrics" if args.metrics_port else "off"
    access = "platform account" if settings.mqtt_username else "anonymous until devices have keys"
    devices = sum(DEMO_FLEET.values())
    demo = f"site '{DEMO_SITE}', {devices} simulated devices (history first, then live)"
    return "\n".join(
        [
            "facmon is running (Ctrl-C stops it):",
            f"  dashboard           http://127.0.0.1:{args.port}/dashboard/",
            f"  API                 http://127.0.0.1:{args.port}/docs",
            f"  devices publish to  {devices_url}  topics facmon/<site>/<kind>/<device>/...",
            f"  broker access       {access}",
            *(
                [f"  platform connects   {settings.mqtt_url}"]
                if settings.mqtt_url != devices_url
                else []
            ),
            f"  telemetry stored in {settings.influx_url}  database {settings.influx_db}",
            f"  ingest metrics      {metrics}",
            f"  work orders in      {settings.database_url}",
            f"  state directory     {Path(settings.state_dir).resolve()}",
            *([f"  demo                {demo}"] if args.demo else []),
            *([f"  admin API key (shown once, keep it): {admin_key}"] if admin_key else []),
        ]
    )
