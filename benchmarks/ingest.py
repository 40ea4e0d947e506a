"""`facmon bench ingest`: throughput, loss and latency of the real ingest service.

Starts its own Mosquitto and InfluxDB in a temporary directory (unless given URLs), then runs
the same load twice, from `simulators.loadgen` publisher processes at QoS 1:

1. baseline: a bare paho subscriber (QoS 1, automatic acknowledgements, MQTT v5) receives
   the load; its receive rate is what a Python MQTT consumer reaches on this broker and machine;
2. ingest: `facmon ingest` runs as a subprocess against a fresh InfluxDB database; the
   benchmark waits until the ingest has stored every published reading, counts the points in
   InfluxDB and reads publish-to-stored latency from the ingest's lag histogram.

Progress goes to stderr; one JSON line with the figures goes to stdout. The exit code is 1
when a reading was lost, a publish failed or the ingest did not stop cleanly.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from facility import Settings
from localservers import Influxd, Mosquitto, free_port
from simulators import LoadReport, run_load
from timeseries import InfluxClient

Buckets = tuple[tuple[float, float], ...]  # a cumulative histogram: (upper bound s, count)

__all__ = [
    "Baseline",
    "BenchOptions",
    "IngestSample",
    "histogram_quantile",
    "parse_ingest_metrics",
    "run",
]

POLL_S = 0.2  # how often progress is sampled; also the resolution of the end of a run
READY_TIMEOUT_S = 20.0
# Each load-generator connection stands for a thousand devices, which would each have their
# own window: let it keep 1000 QoS 1 messages in flight instead of Mosquitto's default 20
# (sent to MQTT v5 publishers as Receive Maximum). With 20, the publishers need ~55% more CPU,
# taken from the ingest on a small machine. Outgoing flow to MQTT v5 subscribers (the ingest)
# is bounded by their own Receive Maximum and does not change.
BROKER_CONFIG = "max_inflight_messages 1000"
STOP_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BenchOptions:
    """The load and the ingest set-up, from the command line."""

    messages: int
    rate: float | None
    processes: int
    batch: int
    devices: int
    ingest_processes: int
    share_group: str
    ingest_args: tuple[str, ...]
    skip_baseline: bool
    stall_timeout_s: float
    site: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:6]}")

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> BenchOptions:
        if min(args.messages, args.processes, args.batch, args.ingest_processes) < 1:
            raise SystemExit("--messages, --processes, --batch, --ingest-processes must be >= 1")
        return cls(
            messages=args.messages,
            rate=args.rate or None,
            processes=args.processes,
            batch=args.batch,
            devices=args.devices,
            ingest_processes=args.ingest_processes,
            share_group=args.share_group,
            ingest_args=tuple(args.ingest_arg),
            skip_baseline=args.skip_baseline,
            stall_timeout_s=args.stall_timeout,
        )


@dataclass(frozen=True)
class Endpoints:
    """Where the broker and InfluxDB are, and how to log in."""

    mqtt_url: str
    influx_url: str
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    influx_token: str | None = None
    external_mqtt: bool = False
    external_influx: bool = False


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run both phases and print the JSON result; non-zero exit if anything was lost."""
    options = BenchOptions.from_args(args)
    console = Console(stderr=True)
    with _workdir(args.workdir) as workdir, _endpoints(args, settings, workdir) as endpoints:
        console.print(
            f"[bold]facmon bench ingest[/] broker {endpoints.mqtt_url}, "
            f"InfluxDB {endpoints.influx_url}, work dir {workdir}"
        )
        baseline = None if options.skip_baseline else measure_baseline(endpoints, options, console)
        result = measure_ingest(endpoints, options, workdir, console)
    figures = result.figures(options, baseline)
    print(json.dumps(figures), flush=True)
    return 0 if result.succeeded else 1


@contextlib.contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path.resolve()
        return
    with tempfile.TemporaryDirectory(prefix="facmon-bench-") as temporary:
        yield Path(temporary)


@contextlib.contextmanager
def _endpoints(args: argparse.Namespace, settings: Settings, workdir: Path) -> Iterator[Endpoints]:
    """The given services, or local ones started in `workdir` and stopped afterwards."""
    with contextlib.ExitStack() as stack:
        mqtt_url = args.mqtt_url or stack.enter_context(_broker(workdir)).url
        influx_url = args.influx_url or stack.enter_context(Influxd.start(workdir / "influxd")).url
        external_mqtt = args.mqtt_url is not None
        yield Endpoints(
            mqtt_url=mqtt_url,
            influx_url=influx_url,
            mqtt_username=settings.mqtt_username if external_mqtt else None,
            mqtt_password=settings.mqtt_password if external_mqtt else None,
            influx_token=settings.influx_token if args.influx_url else None,
            external_mqtt=external_mqtt,
            external_influx=args.influx_url is not None,
        )


def _broker(workdir: Path) -> Mosquitto:
    return Mosquitto.start(workdir / "mosquitto", extra_config=BROKER_CONFIG)


# ---------------------------------------------------------------------------------------------
# Progress and load


class LoadProgress:
    """A rich progress display on stderr, fed from the load thread and the polling loop."""

    def __init__(self, console: Console) -> None:
        self.display = Progress(
            TextColumn("{task.description:<22}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            console=console,
            refresh_per_second=4,  # the display shares the CPU with what it measures
        )
        self.acked = 0

    def task(self, description: str, total: int) -> TaskID:
        return self.display.add_task(description, total=total, rate="")

    def on_acked(self, count: int) -> None:
        """Called by run_load in its thread."""
        self.acked = count


def start_load(
    endpoints: Endpoints, options: BenchOptions, progress: LoadProgress
) -> tuple[ThreadPoolExecutor, Future[LoadReport]]:
    """Run the load in a thread, so the caller can watch the receiving side meanwhile."""
    pool = ThreadPoolExecutor(1, thread_name_prefix="load")
    future = pool.submit(
        run_load,
        endpoints.mqtt_url,
        options.processes,
        options.messages,
        options.rate,
        options.batch,
        site=options.site,
        devices_per_process=options.devices,
        username=endpoints.mqtt_username,
        password=endpoints.mqtt_password,
        on_progress=progress.on_acked,
    )
    return pool, future


def _rate_text(count: float, started_at: float) -> str:
    elapsed = time.time() - started_at
    return f"{count / elapsed:,.0f}/s" if elapsed > 0 and count else ""


# ---------------------------------------------------------------------------------------------
# Phase 1: a bare subscriber


@dataclass(frozen=True)
class Baseline:
    received: int
    msgs_per_s: float


def measure_baseline(endpoints: Endpoints, options: BenchOptions, console: Console) -> Baseline:
    """The receive rate of a bare paho subscriber under the same load."""
    context = multiprocessing.get_context("spawn")
    ready, target = context.Event(), context.Value("q", -1)
    results: Any = context.Queue()
    subscriber = context.Process(
        target=bare_subscriber,
        args=(endpoints, f"facmon/{options.site}/#", ready, target, results, options),
        daemon=True,
    )
    subscriber.start()
    try:
        if not ready.wait(READY_TIMEOUT_S):
            raise SystemExit("baseline subscriber did not subscribe in time")
        report, received, last_s = _baseline_load(endpoints, options, console, target, results)
    finally:
        subscriber.join(timeout=10)
    seconds = max(last_s - report.started_at, 1e-9)
    return Baseline(received, received / seconds if received else 0.0)


def _baseline_load(
    endpoints: Endpoints, options: BenchOptions, console: Console, target: Any, results: Any
) -> tuple[LoadReport, int, float]:
    progress = LoadProgress(console)
    with progress.display:
        task = progress.task("baseline: published", options.messages)
        pool, future = start_load(endpoints, options, progress)
        started = time.time()
        while not future.done():
            rate = _rate_text(progress.acked, started)
            progress.display.update(task, completed=progress.acked, rate=rate)
            time.sleep(POLL_S)
        report = future.result()
        pool.shutdown()
        progress.display.update(task, completed=report.published)
    target.value = report.published
    received, last_s = results.get(timeout=options.stall_timeout_s + 30)
    console.print(f"baseline: subscriber received {received:,} of {report.published:,}")
    return report, int(received), float(last_s)


def bare_subscriber(
    endpoints: Endpoints,
    topic: str,
    ready: Any,
    target: Any,
    results: Any,
    options: BenchOptions,
) -> None:  # pragma: no cover - runs in a child process
    """Count messages until `target` (set when the load ends) arrived or the flow stalls."""
    counts = {"received": 0, "last_s": 0.0}

    def on_message(_: paho.Client, __: Any, ___: paho.MQTTMessage) -> None:
        counts["received"] += 1
        counts["last_s"] = time.time()

    client = _paho_client(endpoints, f"{options.site}-baseline")
    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    address = urlsplit(endpoints.mqtt_url)
    client.connect(address.hostname or "127.0.0.1", address.port or 1883, clean_start=True)
    client.loop_start()
    quiet_since = time.monotonic()
    seen = 0
    while not (0 <= target.value <= counts["received"]):
        time.sleep(0.05)
        if counts["received"] != seen:
            seen, quiet_since = int(counts["received"]), time.monotonic()
        elif target.value >= 0 and time.monotonic() - quiet_since > options.stall_timeout_s:
            break
    client.disconnect()
    client.loop_stop()
    results.put((counts["received"], counts["last_s"]))


def _paho_client(endpoints: Endpoints, client_id: str) -> paho.Client:
    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
    )
    if endpoints.mqtt_username:
        client.username_pw_set(endpoints.mqtt_username, endpoints.mqtt_password)
    return client


# ---------------------------------------------------------------------------------------------
# Phase 2: the real ingest


@dataclass(frozen=True)
class IngestSample:
    """Counters scraped from the ingest processes' Prometheus endpoints (summed)."""

    received: float = 0.0
    stored: float = 0.0
    dead_letters: float = 0.0
    subscribed: float = 0.0  # processes whose subscription is active
    lag_buckets: Buckets = ()
    write_buckets: Buckets = ()  # time to make one batch durable

    def __add__(self, other: IngestSample) -> IngestSample:
        return self._combine(other, 1.0)

    def __sub__(self, other: IngestSample) -> IngestSample:
        return self._combine(other, -1.0)

    def _combine(self, other: IngestSample, sign: float) -> IngestSample:
        return IngestSample(
            self.received + sign * other.received,
            self.stored + sign * other.stored,
            self.dead_letters + sign * other.dead_letters,
            self.subscribed + sign * other.subscribed,
            _combine_buckets(self.lag_buckets, other.lag_buckets, sign),
            _combine_buckets(self.write_buckets, other.write_buckets, sign),
        )


def _combine_buckets(mine: Buckets, theirs: Buckets, sign: float) -> Buckets:
    """Two cumulative histograms added (sign 1) or subtracted (sign -1) bucket by bucket."""
    a, b = dict(mine), dict(theirs)
    return tuple((bound, a.get(bound, 0.0) + sign * b.get(bound, 0.0)) for bound in sorted(a | b))


LAG_HISTOGRAM = "facmon_ingest_reading_lag_seconds_bucket"
WRITE_HISTOGRAM = "facmon_ingest_batch_write_seconds_bucket"


def parse_ingest_metrics(text: str) -> IngestSample:
    """The counters the benchmark needs, from Prometheus text exposition."""
    values: dict[str, float] = {}
    buckets: dict[str, list[tuple[float, float]]] = {LAG_HISTOGRAM: [], WRITE_HISTOGRAM: []}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in buckets:
                buckets[sample.name].append((float(sample.labels["le"]), float(sample.value)))
            else:
                values[sample.name] = values.get(sample.name, 0.0) + float(sample.value)
    return IngestSample(
        received=values.get("facmon_ingest_messages_received_total", 0.0),
        stored=values.get("facmon_ingest_points_stored_total", 0.0),
        dead_letters=values.get("facmon_ingest_dead_letters_total", 0.0),
        subscribed=values.get("facmon_ingest_mqtt_subscribed", 0.0),
        lag_buckets=tuple(sorted(buckets[LAG_HISTOGRAM])),
        write_buckets=tuple(sorted(buckets[WRITE_HISTOGRAM])),
    )


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The q-quantile of a cumulative histogram, interpolating linearly inside a bucket (as
    Prometheus does); the highest finite bound if it falls in +Inf; None if empty.

    >>> histogram_quantile(0.5, [(0.1, 10), (0.2, 30), (math.inf, 30)])
    0.125
    """
    total = buckets[-1][1] if buckets else 0.0
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, cumulative in buckets:
        if cumulative >= rank:
            if math.isinf(upper):
                return lower
            share = (rank - below) / (cumulative - below) if cumulative > below else 1.0
            return lower + (upper - lower) * share
        lower, below = upper, cumulative
    return lower


class IngestProcess:
    """One `facmon ingest` subprocess with its own state directory, log and metrics port."""

    def __init__(self, index: int, workdir: Path, env: dict[str, str], argv: list[str]) -> None:
        self.index = index
        self.state_dir = workdir / f"ingest-{index}"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.state_dir / "ingest.log"
        self.metrics_port = free_port()
        self._env = {**env, "FACMON_STATE_DIR": str(self.state_dir)}
        self._argv = [*argv, "--metrics-port", str(self.metrics_port)]
        self._process: subprocess.Popen[bytes] | None = None
        # One client for all scrapes: a new one per request costs ~20 ms of CPU (TLS set-up).
        self._http = httpx.Client(base_url=f"http://127.0.0.1:{self.metrics_port}", timeout=5)

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv, env=self._env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def exit_code(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def scrape(self) -> IngestSample | None:
        """The current counters, or None while the metrics endpoint does not answer."""
        try:
            response = self._http.get("/metrics")
        except httpx.TransportError:
            return None
        return parse_ingest_metrics(response.text)

    def stop(self) -> int:
        """SIGTERM (the ingest flushes and disconnects) and wait; SIGKILL if it hangs."""
        self._http.close()
        if self._process is None:
            return 0
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


def ingest_processes(
    endpoints: Endpoints, options: BenchOptions, database: str, workdir: Path
) -> list[IngestProcess]:
    """The ingest subprocesses (not started), sharing a subscription when more than one."""
    env = {
        **os.environ,
        "FACMON_MQTT_URL": endpoints.mqtt_url,
        "FACMON_INFLUX_URL": endpoints.influx_url,
        "FACMON_INFLUX_DB": database,
    }
    for key, value in (
        ("FACMON_MQTT_USERNAME", endpoints.mqtt_username),
        ("FACMON_MQTT_PASSWORD", endpoints.mqtt_password),
        ("FACMON_INFLUX_TOKEN", endpoints.influx_token),
    ):
        env.pop(key, None)
        if value:
            env[key] = value
    share = ["--share-group", options.share_group] if options.ingest_processes > 1 else []
    processes = []
    for index in range(options.ingest_processes):
        argv = [sys.executable, "-m", "facmon.cli", "--log-level", "WARNING", "ingest"]
        argv += ["--client-id", f"{options.site}-ingest-{index}", *share, *options.ingest_args]
        processes.append(IngestProcess(index, workdir, env, argv))
    return processes


@dataclass
class IngestResult:
    """What phase 2 measured."""

    load: LoadReport
    stored: int
    finished_at: float
    lag_buckets: Buckets
    write_buckets: Buckets
    dead_letters: int
    exit_codes: list[int]
    cpu: CpuUse

    @property
    def expected(self) -> int:
        return self.load.readings

    @property
    def lost(self) -> int:
        return max(self.expected - self.stored, 0)

    @property
    def succeeded(self) -> bool:
        load = self.load
        publish_failures = load.rejected + load.unacknowledged + load.unrouted
        return not self.lost and not publish_failures and not any(self.exit_codes)

    def figures(self, options: BenchOptions, baseline: Baseline | None) -> dict[str, Any]:
        """The JSON result line."""
        seconds = max(self.finished_at - self.load.started_at, 1e-9)
        messages_per_s = self.stored / self.load.batch / seconds
        p50, p99 = (histogram_quantile(q, self.lag_buckets) for q in (0.5, 0.99))
        write_p50, write_p99 = (histogram_quantile(q, self.write_buckets) for q in (0.5, 0.99))
        return {
            "benchmark": "ingest",
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            **_parameters(options),
            "published": self.load.published,
            "published_readings": self.expected,
            "stored": self.stored,
            "lost": self.lost,
            "duplicates": max(self.stored - self.expected, 0),
            "dead_letters": self.dead_letters,
            "publish_failures": self.load.rejected + self.load.unacknowledged + self.load.unrouted,
            "seconds": round(seconds, 3),
            "messages_per_s": round(messages_per_s, 1),
            "readings_per_s": round(self.stored / seconds, 1),
            "publish_msgs_per_s": round(self.load.messages_per_s, 1),
            "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
            "latency_p99_ms": None if p99 is None else round(p99 * 1000, 1),
            "batch_write_p50_ms": None if write_p50 is None else round(write_p50 * 1000, 1),
            "batch_write_p99_ms": None if write_p99 is None else round(write_p99 * 1000, 1),
            "baseline_subscriber_msgs_per_s": baseline and round(baseline.msgs_per_s, 1),
            "ingest_to_baseline_ratio": baseline and round(messages_per_s / baseline.msgs_per_s, 3),
            "ingest_exit_codes": self.exit_codes,
            "broker_receive_maximum": self.load.receive_maximum,
            "cpu_seconds": self.cpu.figures(self.load.cpu_seconds),
            "ingest_cpu_us_per_reading": round(self.cpu.ingest / max(self.stored, 1) * 1e6, 1),
        }


def _parameters(options: BenchOptions) -> dict[str, Any]:
    return {
        "messages": options.messages,
        "rate": options.rate,
        "processes": options.processes,
        "batch": options.batch,
        "devices_per_process": options.devices,
        "ingest_processes": options.ingest_processes,
        "ingest_args": list(options.ingest_args),
    }


def measure_ingest(
    endpoints: Endpoints, options: BenchOptions, workdir: Path, console: Console
) -> IngestResult:
    """Run the ingest against a fresh database, publish the load, wait until it is stored."""
    database = f"bench_{time.strftime('%Y%m%d_%H%M%S')}_{uuid.uuid4().hex[:4]}"
    influx = InfluxClient(endpoints.influx_url, database, endpoints.influx_token)
    influx.ensure_database()
    ingests = ingest_processes(endpoints, options, database, workdir)
    exit_codes: list[int] = []
    try:
        for ingest in ingests:
            ingest.start()
        before = _await_subscribed(ingests)
        run = _load_until_stored(ingests, endpoints, options, before, console)
        stored = _count_points(influx, options, run.load.readings)
    finally:
        exit_codes = [ingest.stop() for ingest in ingests]
        _report_failed_ingests(ingests, exit_codes, console)
        _clean_up(endpoints, options, influx)
    delta = run.latest - before
    return IngestResult(
        run.load,
        stored,
        run.finished_at,
        delta.lag_buckets,
        delta.write_buckets,
        int(delta.dead_letters),
        exit_codes,
        run.cpu,
    )


def _report_failed_ingests(
    ingests: list[IngestProcess], exit_codes: list[int], console: Console
) -> None:
    for ingest, code in zip(ingests, exit_codes, strict=True):
        if code:
            console.print(f"[red]ingest {ingest.index} exited with {code}[/]; its log ends with:")
            console.print(ingest.log_tail(), markup=False, highlight=False)


def _scrape_all(ingests: list[IngestProcess]) -> IngestSample | None:
    samples = [ingest.scrape() for ingest in ingests]
    if any(sample is None for sample in samples):
        return None
    return sum((s for s in samples if s is not None), IngestSample())


def _await_subscribed(ingests: list[IngestProcess]) -> IngestSample:
    """Wait until every ingest process reports an active subscription; return the counters
    then, which the measurement subtracts."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        _check_alive(ingests)
        samples = [ingest.scrape() for ingest in ingests]
        if all(sample is not None and sample.subscribed >= 1 for sample in samples):
            return sum((s for s in samples if s is not None), IngestSample())
        time.sleep(0.2)
    raise SystemExit(
        f"ingest was not subscribed after {READY_TIMEOUT_S:g} s: {ingests[0].log_tail()}"
    )


def _check_alive(ingests: list[IngestProcess]) -> None:
    for ingest in ingests:
        if ingest.exit_code is not None:
            raise SystemExit(
                f"ingest {ingest.index} exited with {ingest.exit_code}:\n{ingest.log_tail()}"
            )


def _load_until_stored(
    ingests: list[IngestProcess],
    endpoints: Endpoints,
    options: BenchOptions,
    before: IngestSample,
    console: Console,
) -> _LoadRun:
    """Publish the load; poll the ingest until everything is stored or nothing moves."""
    progress = LoadProgress(console)
    cpu_before = CpuUse.now(ingests)
    expected = options.messages * options.batch
    with progress.display:
        published_task = progress.task("ingest: published", options.messages)
        stored_task = progress.task("ingest: stored readings", expected)
        pool, future = start_load(endpoints, options, progress)
        watch = _StoreWatch(before, options.stall_timeout_s)
        while not watch.finished(future):
            time.sleep(POLL_S)
            _check_alive(ingests)
            watch.observe(_scrape_all(ingests))
            started = future.result().started_at if future.done() else watch.started
            progress.display.update(
                published_task, completed=progress.acked, rate=_rate_text(progress.acked, started)
            )
            stored = int(watch.latest.stored - before.stored)
            progress.display.update(stored_task, completed=stored, rate=_rate_text(stored, started))
        cpu = CpuUse.now(ingests) - cpu_before
        pool.shutdown()
    return _LoadRun(future.result(), watch.finished_at, watch.latest, cpu)


@dataclass(frozen=True)
class _LoadRun:
    load: LoadReport
    finished_at: float
    latest: IngestSample
    cpu: CpuUse


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds of the whole machine and of the ingest processes (Linux /proc; 0 elsewhere).

    The machine figure includes every process, so a busy neighbour shows up in "other".
    """

    machine: float = 0.0
    ingest: float = 0.0

    @classmethod
    def now(cls, ingests: list[IngestProcess]) -> CpuUse:
        return cls(_machine_busy_s(), sum(_process_cpu_s(i.pid) for i in ingests))

    def __sub__(self, other: CpuUse) -> CpuUse:
        return CpuUse(self.machine - other.machine, self.ingest - other.ingest)

    def figures(self, load_generator: float) -> dict[str, float]:
        other = self.machine - self.ingest - load_generator
        return {
            "machine": round(self.machine, 1),
            "ingest": round(self.ingest, 1),
            "load_generator": round(load_generator, 1),
            "other": round(other, 1),  # broker, InfluxDB, this command, anything else running
        }


def _clock_ticks(fields: Sequence[str]) -> float:
    return sum(int(f) for f in fields) / os.sysconf("SC_CLK_TCK")


def _machine_busy_s() -> float:
    """CPU seconds all cores spent busy since boot (not idle, not waiting for I/O)."""
    try:
        with open("/proc/stat") as stat:
            user, nice, system, _idle, _iowait, *rest = stat.readline().split()[1:9]
    except OSError:
        return 0.0
    return _clock_ticks([user, nice, system, *rest])


def _process_cpu_s(pid: int | None) -> float:
    """User and system CPU seconds of one process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return _clock_ticks(fields[11:13])  # utime, stime


class _StoreWatch:
    """Tracks stored points until the expected count is reached or progress stalls."""

    def __init__(self, before: IngestSample, stall_timeout_s: float) -> None:
        self.before = self.latest = before
        self.started = self.finished_at = time.time()
        self._stall_timeout_s = stall_timeout_s
        self._moved_at = time.monotonic()

    def observe(self, sample: IngestSample | None) -> None:
        if sample is None:
            return
        if sample.stored != self.latest.stored:
            self._moved_at = time.monotonic()
            self.finished_at = time.time()
        self.latest = sample

    def finished(self, load: Future[LoadReport]) -> bool:
        if not load.done():
            return False
        if load.exception() is not None:
            return True  # future.result() re-raises it
        stored = self.latest.stored - self.before.stored
        stalled = time.monotonic() - self._moved_at > self._stall_timeout_s
        return stored >= load.result().readings or stalled


def _count_points(influx: InfluxClient, options: BenchOptions, expected: int) -> int:
    """Points in the `pump` measurement; polled until it reaches `expected` or stops growing."""
    count, moved_at = -1, time.monotonic()
    while True:
        series = influx.query(f"SELECT COUNT(flow_m3_h) FROM pump WHERE site = '{options.site}'")
        now = int(series[0]["values"][0][1]) if series else 0
        if now != count:
            count, moved_at = now, time.monotonic()
        if count >= expected or time.monotonic() - moved_at > min(options.stall_timeout_s, 10):
            return count
        time.sleep(POLL_S)


def _clean_up(endpoints: Endpoints, options: BenchOptions, influx: InfluxClient) -> None:
    """On servers the benchmark did not start, remove its database and MQTT sessions."""
    if endpoints.external_influx:
        influx.query(f'DROP DATABASE "{influx.database}"')
    influx.close()
    if endpoints.external_mqtt:
        for index in range(options.ingest_processes):
            _forget_session(endpoints, f"{options.site}-ingest-{index}")


def _forget_session(endpoints: Endpoints, client_id: str) -> None:
    """Connect with clean start and no session expiry: the broker drops the old session."""
    client = _paho_client(endpoints, client_id)
    address = urlsplit(endpoints.mqtt_url)
    client.connect(address.hostname or "127.0.0.1", address.port or 1883, clean_start=True)
    client.loop_start()
    time.sleep(0.5)
    client.disconnect()
    client.loop_stop()
