"""`facmon bench api`: latency of the work-order list and KPI endpoints at a fixed request rate.

A fresh SQLite database in a temporary directory is migrated and filled like a building
portfolio after two years: devices on four sites, SLA policies, and work orders spread over
the two years with their lifecycle history and the alerts that opened them. Rows go in with
SQLAlchemy Core bulk inserts, so seeding 100,000 orders takes seconds, not the minutes the
store's one-transaction-per-order methods would.

The API application is served by uvicorn in a child process (its own interpreter and GIL, as
`facmon api` runs), with JSON access logs to a file as `facmon api` writes them; the SLA jobs
do not run. Each endpoint then gets open-loop load: requests are due at fixed intervals and
leave whatever earlier responses do, so a slow answer cannot lower the offered rate and hide
its own cost (coordinated omission). Latency runs from the moment a request was due to its
response; a request not answered by the end of the drain time counts as slower than every
answered one (its percentile is then null).

Progress goes to stderr; one JSON line with the figures goes to stdout. Exit code 1 if any
request failed (an error status or a broken connection).
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from rich.console import Console

from api import create_app, create_key, kpi_worker
from api import serve as serve_api
from facility import AlertNotice, Settings, configure_logging
from localservers import free_port
from maintenance import (
    ACTIONS,
    DEFAULT_POLICIES,
    Action,
    Desk,
    DeviceInfo,
    Priority,
    Role,
    SlaPolicy,
    SqlStore,
    Status,
    choose_policy,
    due_times,
    for_writing,
    metadata,
    priority_for,
    upgrade,
)

__all__ = ["run"]

TARGET_P99_MS = 50.0
WORKERS = 16  # concurrent requests at most: beyond that a due request waits (and it counts)
DRAIN_S = 30.0  # after the last request is due, how long answers are still waited for
HISTORY_DAYS = 730
CHUNK = 5_000  # orders per insert batch: bounded memory, few round trips

SITES = ("north-tower", "harbour-view", "elm-court", "riverside")
KIND_SHARES = {"elevator": 0.3, "pump": 0.25, "fire_panel": 0.15, "access_gate": 0.3}
SIGNATURES = {  # (signature, severity) as analytics raises them, per kind
    "elevator": (("entrapment", "critical"), ("door_cycle_time_s:high", "warning"),
                 ("hoist_current_a:high", "major"), ("offline", "major")),
    "pump": (("vibration_mm_s:high", "major"), ("bearing_temp_c:high", "major"),
             ("pressure_bar:low", "warning"), ("offline", "major")),
    "fire_panel": (("fire_alarm", "critical"), ("battery_test_failed", "major"),
                   ("offline", "major")),
    "access_gate": (("motor_current_a:high", "warning"), ("door_forced", "warning"),
                    ("offline", "major")),
}  # fmt: skip
MANUAL_TITLES = ("tenant reports noise", "inspection finding", "does not respond",
                 "leak reported", "damage reported", "intermittent fault")  # fmt: skip
TECHNICIANS = tuple(f"tech-{n:02d}" for n in range(1, 13))
ALERT_SHARE = 0.55  # orders opened by an alert; the rest are opened by people
CANCEL_SHARE = 0.04
HOLD_SHARE = 0.15
STALL_SHARE = 0.015  # orders that get stuck part-way and stay in the backlog
DISMISSED_SHARE = 0.05  # alerts dismissed as not real, per order
RESPONSE_MEAN_MIN = {Priority.P1: 10, Priority.P2: 45, Priority.P3: 240, Priority.P4: 1200}
REPAIR_MEAN_MIN = {Priority.P1: 120, Priority.P2: 480, Priority.P3: 1440, Priority.P4: 4320}


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Seed, serve, load each endpoint in turn; the JSON line on stdout. The settings are not
    used: the benchmark makes its own database and server, so it never touches real data."""
    console = Console(stderr=True)
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    report: dict[str, Any] = {
        "orders": args.orders,
        "devices": args.devices,
        "rate": args.rate,
        "seconds": args.seconds,
        "target_p99_ms": TARGET_P99_MS,
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="facmon-bench-api-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'facmon.db'}"
        started = time.perf_counter()
        with console.status(f"seeding {args.orders:,} work orders..."):
            seed(url, args.devices, args.orders, now)
        report["seed_seconds"] = round(time.perf_counter() - started, 1)
        secret = _manager_key(url)
        with _server(url, Path(tmp) / "api.log") as (base, pid):
            target = Target(base, secret, pid)
            report["endpoints"] = {
                name: _measure(console, target, paths, args.rate, args.seconds)
                for name, paths in endpoints(now).items()
            }
    print(json.dumps(report), flush=True)
    return 1 if any(r["failed"] for r in report["endpoints"].values()) else 0


def endpoints(now: datetime) -> dict[str, list[str]]:
    """The requests of each measured endpoint, cycled through in order.

    `work_orders_queue` asks for a crew's queue (one status at one site), `work_orders_500`
    for filters that match thousands of orders, so a full default page. The KPIs are asked
    for 30-day periods ending now, 30 and 60 days ago.
    """
    active = [s for s in Status if s.is_active]
    queue = [_path("work-orders", status=s.value, site=site) for site in SITES for s in active]
    broad = [_path("work-orders", site=site) for site in SITES]
    broad += [_path("work-orders", kind=kind) for kind in KIND_SHARES]
    broad += [
        _path("work-orders", status="closed", site=SITES[0]),
        _path("work-orders", priority="P3"),
        _path("work-orders"),
    ]
    periods = [now - timedelta(days=30 * n) for n in range(3)]
    kpis = [
        _path("kpis", **{"from": (end - timedelta(days=30)).isoformat(), "to": end.isoformat()})
        for end in periods
    ]
    return {"work_orders_queue": queue, "work_orders_500": broad, "kpis_30d": kpis}


def _path(route: str, **query: str) -> str:
    return f"/api/v1/{route}" + (f"?{urlencode(query)}" if query else "")


def _manager_key(url: str) -> str:
    store = SqlStore(url)
    try:
        return create_key(store, "bench-api", Role.MANAGER)[1]
    finally:
        store.close()


# --- seeding ---------------------------------------------------------------------------------


def seed(url: str, devices: int, orders: int, now: datetime) -> None:
    """Migrate a new database at `url` and fill it: devices, SLA policies, orders, alerts."""
    upgrade(url)
    store = SqlStore(url)
    try:
        fleet = _add_devices(store, devices)
        policies = [store.add_sla_policy(p) for p in DEFAULT_POLICIES]
        engine = for_writing(store.engine)
        rows = OrderRows(random.Random(5), fleet, policies, now)
        opened = _opening_times(random.Random(7), orders, now)
        for start in range(0, orders, CHUNK):
            batch = rows.build(opened[start : start + CHUNK], first_id=start + 1)
            with engine.begin() as connection:
                for table in ("work_orders", "work_order_history", "alerts"):
                    connection.execute(metadata.tables[table].insert(), batch[table])
    finally:
        store.close()


def _add_devices(store: SqlStore, count: int) -> list[DeviceInfo]:
    """`count` devices spread evenly over the sites, kinds in a residential mix."""
    rng = random.Random(3)
    kinds = rng.choices(list(KIND_SHARES), weights=list(KIND_SHARES.values()), k=count)
    return [
        store.upsert_device(
            DeviceInfo(
                None,
                SITES[n % len(SITES)],
                kind,
                f"{kind}-{n:04d}",
                criticality=1 if kind == "fire_panel" else 3,
            )
        )
        for n, kind in enumerate(kinds)
    ]


def _opening_times(rng: random.Random, count: int, now: datetime) -> list[datetime]:
    """Opening times spread evenly over the history, oldest first (ids follow time)."""
    span_s = HISTORY_DAYS * 86_400
    offsets = sorted((rng.uniform(0, span_s) for _ in range(count)), reverse=True)
    return [now - timedelta(seconds=round(offset)) for offset in offsets]


@dataclass
class OrderRows:
    """Builds the rows of work orders, their history and alerts, consistent with each other:
    the status is where the order's lifecycle had got to at `now`, the timestamps the KPIs
    read are those of its history, and an alert is cleared when its order was resolved."""

    rng: random.Random
    fleet: Sequence[DeviceInfo]
    policies: Sequence[SlaPolicy]
    now: datetime
    last_alert_order: dict[tuple[str, str], tuple[int, datetime | None]] = field(
        default_factory=dict
    )

    def build(self, opened: Sequence[datetime], first_id: int) -> dict[str, list[dict[str, Any]]]:
        rows: dict[str, list[dict[str, Any]]] = {
            "work_orders": [],
            "work_order_history": [],
            "alerts": [],
        }
        for offset, opened_at in enumerate(opened):
            self._order(first_id + offset, opened_at, rows)
        return rows

    def _order(self, order_id: int, opened_at: datetime, rows: dict[str, list[Any]]) -> None:
        device = self.rng.choice(self.fleet)
        signature, severity = self._cause(device)
        priority = self._priority(device, signature, severity, opened_at)
        steps = self._reached(lifecycle(self.rng, priority, opened_at))
        history = _history(order_id, steps, self.rng.choice(TECHNICIANS), signature is not None)
        order = self._order_row(order_id, device, opened_at, priority, signature, history)
        rows["work_orders"].append(order)
        rows["work_order_history"].extend(history)
        if signature is not None and severity is not None:
            rows["alerts"].append(_alert_row(order, severity))
        if self.rng.random() < DISMISSED_SHARE:
            rows["alerts"].append(self._dismissed(device, opened_at))

    def _cause(self, device: DeviceInfo) -> tuple[str | None, str | None]:
        if self.rng.random() >= ALERT_SHARE:
            return None, None
        return self.rng.choice(SIGNATURES[device.kind])

    def _priority(
        self, device: DeviceInfo, signature: str | None, severity: str | None, at: datetime
    ) -> Priority:
        """As the desk sets it for an alert; for people's orders mostly P3/P4."""
        if signature is None or severity is None:
            return self.rng.choices(list(Priority), weights=(2, 10, 50, 38))[0]
        notice = AlertNotice(
            "raised", device.site, device.kind, device.name, signature, severity, at
        )
        return priority_for(notice)

    def _reached(self, steps: list[tuple[Action, datetime]]) -> list[tuple[Action, datetime]]:
        """The steps taken by `now`; a few orders stall part-way and stay open for good."""
        if steps and self.rng.random() < STALL_SHARE:
            steps = steps[: self.rng.randrange(len(steps))]
        return [(action, at) for action, at in steps if at <= self.now]

    def _order_row(
        self, order_id: int, device: DeviceInfo, opened_at: datetime, priority: Priority,
        signature: str | None, history: list[dict[str, Any]],
    ) -> dict[str, Any]:  # fmt: skip
        done = {h["action"]: h["at"] for h in history}
        policy = choose_policy(self.policies, priority, device.kind)
        response_due, resolve_due = due_times(policy, opened_at) if policy else (None, None)
        title = signature or self.rng.choice(MANUAL_TITLES)
        return {
            "id": order_id, "title": f"{title} on {device.name}", "priority": priority,
            "status": history[-1]["to_status"] if history else Status.OPEN,
            "opened_at": opened_at, "site": device.site, "device": device.name,
            "kind": device.kind, "description": "", "alert_signature": signature,
            "response_due": response_due, "resolve_due": resolve_due,
            "acknowledged_at": done.get("acknowledge") or done.get("start"),
            "resolved_at": done.get("resolve"), "closed_at": done.get("close"),
            "assignee": history[0]["actor"] if "start" in done else None,
            "repeat_of": self._repeat_of(device, signature, opened_at, order_id, done),
            "version": 1 + len(history) + ("start" in done),
        }  # fmt: skip

    def _repeat_of(
        self, device: DeviceInfo, signature: str | None, opened_at: datetime, order_id: int,
        done: dict[str, datetime],
    ) -> int | None:  # fmt: skip
        """The previous order for the same fault if it was closed less than 7 days before."""
        if signature is None:
            return None
        key = (device.name, signature)
        previous = self.last_alert_order.get(key)
        self.last_alert_order[key] = (order_id, done.get("close"))
        if previous is None or previous[1] is None:
            return None
        return previous[0] if opened_at - previous[1] < timedelta(days=7) else None

    def _dismissed(self, device: DeviceInfo, at: datetime) -> dict[str, Any]:
        """An alert people judged not real (a sensor being serviced); it opened no order."""
        signature, severity = self.rng.choice(SIGNATURES[device.kind])
        where = {"site": device.site, "kind": device.kind, "device": device.name, "opened_at": at}
        updated = min(at + timedelta(minutes=20), self.now)
        return _alert(where, signature, severity, "dismissed", updated, None, "sensor serviced")


def lifecycle(
    rng: random.Random, priority: Priority, opened: datetime
) -> list[tuple[Action, datetime]]:
    """The actions a work order would go through, with times, if nothing stopped it."""
    respond = opened + _minutes(rng, RESPONSE_MEAN_MIN[priority])
    acknowledged = [(Action.ACKNOWLEDGE, respond)] if rng.random() < 0.7 else []
    if rng.random() < CANCEL_SHARE:
        return [*acknowledged, (Action.CANCEL, respond + _minutes(rng, 240))]
    at = respond + _minutes(rng, 60) if acknowledged else respond
    steps = [*acknowledged, (Action.START, at)]
    if rng.random() < HOLD_SHARE:
        held = at + _minutes(rng, 60)
        at = held + _minutes(rng, 1440)
        steps += [(Action.HOLD, held), (Action.RESUME, at)]
    at += _minutes(rng, REPAIR_MEAN_MIN[priority])
    return [*steps, (Action.RESOLVE, at), (Action.CLOSE, at + _minutes(rng, 240))]


def _minutes(rng: random.Random, mean: float) -> timedelta:
    return timedelta(minutes=round(rng.expovariate(1 / mean), 1))


def _history(
    order_id: int, steps: list[tuple[Action, datetime]], technician: str, by_alert: bool
) -> list[dict[str, Any]]:
    """History rows as the desk writes them: one per action (opening writes none)."""
    rows, status = [], Status.OPEN
    for seq, (action, at) in enumerate(steps):
        after = ACTIONS[action][1]
        actor = "telemetry" if by_alert and action is Action.CLOSE else technician
        rows.append(
            {
                "work_order_id": order_id,
                "seq": seq,
                "at": at,
                "actor": actor,
                "action": action.value,
                "from_status": status,
                "to_status": after,
                "note": "waiting for parts" if action is Action.HOLD else "",
            }
        )
        status = after
    return rows


def _alert_row(order: dict[str, Any], severity: str) -> dict[str, Any]:
    """The alert that opened `order`: cleared when the order was resolved, dismissed (a false
    alarm) when it was cancelled, else still open or acknowledged."""
    status: Status = order["status"]
    state, ended, reason = "open", None, None
    if status in (Status.RESOLVED, Status.CLOSED):
        state, ended = "cleared", order["resolved_at"]
    elif status is Status.CANCELLED:
        state, reason = "dismissed", "false alarm: the work order was cancelled"
    elif order["acknowledged_at"] is not None:
        state = "acknowledged"
    updated = ended or order["acknowledged_at"] or order["opened_at"]
    return _alert(order, order["alert_signature"], severity, state, updated, ended, reason)


def _alert(
    where: dict[str, Any], signature: str, severity: str, state: str, updated: datetime,
    cleared: datetime | None = None, reason: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """An alert row with every column given (a bulk insert takes its columns from row one)."""
    return {
        "site": where["site"], "kind": where["kind"], "device": where["device"],
        "signature": signature, "severity": severity, "started_at": where["opened_at"],
        "updated_at": updated, "state": state, "score": 6.0,
        "evidence": [f"{signature} for 10 minutes"], "cleared_at": cleared,
        "dismissed_reason": reason, "work_order_id": where.get("id"), "expected": False,
    }  # fmt: skip


# --- the server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    base_url: str
    secret: str
    server_pid: int


@contextmanager
def _server(url: str, log_path: Path) -> Iterator[tuple[str, int]]:
    """The API on a free port in a child process; yields its base URL and process id."""
    port = free_port()
    child = multiprocessing.get_context("spawn").Process(
        target=serve, args=(url, port, str(log_path)), daemon=False
    )
    child.start()
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_until_up(base, child)
        yield base, child.pid or 0
    finally:
        child.terminate()
        child.join(10)
        if child.is_alive():
            child.kill()


def serve(url: str, port: int, log_path: str) -> None:
    """The child process: `facmon api`'s app and logging, its stderr (the logs) to a file."""
    with open(log_path, "ab") as log:
        os.dup2(log.fileno(), 2)
    configure_logging("INFO")
    store = SqlStore(url)
    with kpi_worker(partial(SqlStore, url)) as kpis:
        serve_api(create_app(store, Desk(store, store.sla_policies), kpis), "127.0.0.1", port)


def _wait_until_up(base: str, child: multiprocessing.process.BaseProcess) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not child.is_alive():
            raise SystemExit(f"the API process exited with code {child.exitcode}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the API did not answer within 60 s")


# --- load ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One request: when it was due, when it left, when it was answered (perf_counter)."""

    due: float
    sent: float
    done: float
    status: int  # 0: no HTTP answer (connection broken, timeout)
    size: int


class Clients:
    """One keep-alive httpx client per worker thread (an httpx.Client is not shared)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.local = threading.local()
        self.opened: list[httpx.Client] = []
        self.lock = threading.Lock()

    def get(self, path: str, due: float) -> Outcome:
        client = self._client()
        sent = time.perf_counter()
        try:
            response = client.get(path)
            status, size = response.status_code, len(response.content)
        except httpx.HTTPError:
            status, size = 0, 0
        return Outcome(due, sent, time.perf_counter(), status, size)

    def warm(self, pool: ThreadPoolExecutor, path: str) -> None:
        """Every worker thread's client made and its connection opened before the clock
        starts: making an httpx.Client loads the CA bundle (tens of ms), so 16 of them made
        on the first due requests showed up as a 250 ms stall at the start of each run."""
        ready = threading.Barrier(WORKERS)

        def one() -> None:
            ready.wait(timeout=60)  # holds each thread until all have a task: one per thread
            self._client().get(path)

        for future in [pool.submit(one) for _ in range(WORKERS)]:
            future.result()

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self.local, "client", None)
        if client is None:
            headers = {"Authorization": f"Bearer {self.target.secret}"}
            client = httpx.Client(base_url=self.target.base_url, headers=headers, timeout=DRAIN_S)
            self.local.client = client
            with self.lock:
                self.opened.append(client)
        return client

    def close(self) -> None:
        for client in self.opened:
            client.close()


def drive(target: Target, paths: Sequence[str], rate: float, seconds: float) -> list[Outcome]:
    """Requests due every 1/rate s for `seconds`, sent whatever the answers do; the outcomes
    of those that were sent (a request still waiting DRAIN_S after the last one was due is
    abandoned; one still running then ends by its timeout, also DRAIN_S)."""
    clients = Clients(target)
    count = max(1, round(rate * seconds))
    pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="bench-api")
    clients.warm(pool, paths[0])
    start = time.perf_counter() + 0.05
    futures: list[Future[Outcome]] = []
    for n in range(count):
        due = start + n / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        futures.append(pool.submit(clients.get, paths[n % len(paths)], due))
    wait(futures, timeout=max(0.0, start + seconds + DRAIN_S - time.perf_counter()))
    pool.shutdown(wait=True, cancel_futures=True)
    clients.close()
    return [f.result() for f in futures if not f.cancelled()]


def _measure(
    console: Console, target: Target, paths: Sequence[str], rate: float, seconds: float
) -> dict[str, Any]:
    """One endpoint: each of its requests alone first (warm caches, unloaded latency), then
    the open-loop load, unless one request alone is already too slow for it (see too_slow)."""
    route = paths[0].split("?")[0]
    with console.status(f"{route}: each of {len(paths)} requests once, alone ..."):
        alone = Alone.measure(target, paths)
    offered = max(1, round(rate * seconds))
    result: dict[str, Any] = {"requests": len(paths), "alone": alone.summary()}
    if max(alone.seconds) > DRAIN_S / WORKERS:
        result |= too_slow(alone, offered, seconds)
    else:
        with console.status(f"{route}: {rate:g} requests/s for {seconds:g} s ..."):
            before = CpuSample.take(target.server_pid)
            outcomes = drive(target, paths, rate, seconds)
            result["cpu"] = CpuSample.take(target.server_pid).since(before)
        result |= summarise(outcomes, offered, seconds)
    console.print(
        f"{route}: p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
        f"{result['achieved_per_s']}/s"
    )
    return result


@dataclass(frozen=True)
class Alone:
    """Each request of an endpoint sent once, one after the other: latency without load, and
    for lists how many orders each answer held."""

    seconds: list[float]
    orders: list[int]

    @classmethod
    def measure(cls, target: Target, paths: Sequence[str]) -> Alone:
        headers = {"Authorization": f"Bearer {target.secret}"}
        seconds, orders = [], []
        with httpx.Client(base_url=target.base_url, headers=headers, timeout=300) as client:
            for path in paths:
                started = time.perf_counter()
                body = client.get(path).raise_for_status().json()
                seconds.append(time.perf_counter() - started)
                if isinstance(body, list):
                    orders.append(len(body))
        return cls(seconds, orders)

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.seconds)
        latency = {
            "p50_ms": _rank_ms(ordered, len(ordered), 0.5),
            "max_ms": _rank_ms(ordered, len(ordered), 1.0),
        }
        if not self.orders:
            return latency
        count = {
            "min": min(self.orders),
            "max": max(self.orders),
            "mean": round(sum(self.orders) / len(self.orders)),
        }
        return latency | {"orders": count}


def too_slow(alone: Alone, offered: int, seconds: float) -> dict[str, Any]:
    """The figures of an endpoint not put under load because one request alone takes longer
    than DRAIN_S / WORKERS: under load its requests would outlast their timeout, and the
    server, which does not stop a request its client gave up on, would pile up abandoned
    work (each KPI request holds ~1 GB). Its capacity is one request per mean time alone
    (the server process runs Python on one core at a time)."""
    mean = sum(alone.seconds) / len(alone.seconds)
    return {
        "offered_per_s": round(offered / seconds, 1),
        "achieved_per_s": None,
        "capacity_per_s": round(1 / mean, 3),
        "ok": 0,
        "failed": 0,
        "unanswered": offered,
        "p50_ms": None,
        "p99_ms": None,
        "max_ms": None,
        "not_loaded": f"one request alone takes up to {max(alone.seconds):.1f} s",
    }


def summarise(outcomes: Sequence[Outcome], offered: int, seconds: float) -> dict[str, Any]:
    """Latency percentiles over every request offered: one that failed or was never answered
    ranks above all answered ones, so a percentile that falls on it is None (not met).

    >>> ok = [Outcome(0.0, 0.0, 0.010 * n, 200, 10) for n in range(1, 101)]
    >>> summarise(ok, 100, 1.0)["p99_ms"]
    990.0
    >>> summarise(ok[:98], 100, 1.0)["p99_ms"] is None
    True
    """
    answered = sorted(o.done - o.due for o in outcomes if 200 <= o.status < 300)
    service = sorted(o.done - o.sent for o in outcomes if 200 <= o.status < 300)
    first = min((o.due for o in outcomes), default=0.0)
    span = max((o.done for o in outcomes), default=0.0) - first
    return {
        "offered_per_s": round(offered / seconds, 1),
        "achieved_per_s": round(len(answered) / span, 1) if span > 0 else 0.0,
        "ok": len(answered),
        "failed": sum(1 for o in outcomes if not 200 <= o.status < 300),
        "unanswered": offered - len(outcomes),
        "p50_ms": _rank_ms(answered, offered, 0.50),
        "p99_ms": _rank_ms(answered, offered, 0.99),
        "max_ms": _rank_ms(answered, offered, 1.0),
        "sent_to_answer_p50_ms": _rank_ms(service, len(service), 0.50),
        "response_kb": round(sum(o.size for o in outcomes) / max(1, len(outcomes)) / 1024, 1),
    }


def _rank_ms(sorted_s: Sequence[float], population: int, fraction: float) -> float | None:
    """Nearest-rank percentile in ms; None when the rank lies beyond the answered requests."""
    rank = max(1, math.ceil(fraction * population))
    return round(sorted_s[rank - 1] * 1000, 1) if rank <= len(sorted_s) else None


@dataclass(frozen=True)
class CpuSample:
    """CPU time of the machine, the API process and this process, to tell how busy it was."""

    wall: float
    machine_busy: float
    machine_total: float
    server: float
    bench: float

    @classmethod
    def take(cls, server_pid: int) -> CpuSample:
        ticks = os.sysconf("SC_CLK_TCK")
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        idle = values[3] + values[4]  # idle + iowait
        with open(f"/proc/{server_pid}/stat") as proc:
            fields = proc.read().rsplit(")", 1)[1].split()
        server = (int(fields[11]) + int(fields[12])) / ticks  # utime + stime
        mine = os.times()
        return cls(
            time.monotonic(),
            (sum(values) - idle) / ticks,
            sum(values) / ticks,
            server,
            mine.user + mine.system,
        )

    def since(self, before: CpuSample) -> dict[str, float]:
        """Cores busy on average: the machine, the API, this process, and everything else."""
        wall = self.wall - before.wall
        machine = self.machine_busy - before.machine_busy
        server, bench = self.server - before.server, self.bench - before.bench
        return {
            "machine_busy_pct": round(
                100 * machine / (self.machine_total - before.machine_total), 1
            ),
            "api_cores": round(server / wall, 2),
            "bench_cores": round(bench / wall, 2),
            "other_cores": round(max(0.0, machine - server - bench) / wall, 2),
        }
