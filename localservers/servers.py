"""Real Mosquitto and InfluxDB 1.x servers as child processes, on free ports, in a work directory.

Tests, benchmarks and ``facmon up`` (when no configured service is reachable) use these
instead of Docker or system services: each server gets a generated config, its data and a log
file in ``workdir``, and dies with the Python process that started it.

Example::

    with Mosquitto.start(tmp / "mqtt") as broker, Influxd.start(tmp / "influx") as influx:
        influx.create_database("facmon")
        run_ingest(mqtt_url=broker.url, influx_url=influx.url)
"""

from __future__ import annotations

import abc
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self
from urllib.parse import urlsplit

import httpx

_DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883, "http": 80, "https": 443}
# Debian installs mosquitto in /usr/sbin, which is not on an ordinary user's PATH.
_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


class LocalServiceError(RuntimeError):
    """A local server could not be started; the message includes the tail of its log."""


class ServiceNotInstalledError(LocalServiceError):
    """The server's executable is not installed; the message says how to install it."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is released before returning, so another process could take it first; the start
    methods notice that (the server fails to bind) and report it with the server's log.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host``:``port`` right now (nothing has it bound)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As servers bind (Mosquitto, influxd, uvicorn, Prometheus's): connections of a server
        # that has just stopped, still in TIME_WAIT, do not keep the port from the next one.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def is_reachable(url: str, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to the host and port of an mqtt(s):// or http(s):// URL opens.

    Raises ValueError for other schemes, so a typo in a URL is not mistaken for a dead service.
    """
    parts = urlsplit(url)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    if default_port is None or not parts.hostname:
        raise ValueError(
            f"cannot check {url!r}: expected mqtt://, mqtts://, http:// or https:// with a host"
        )
    try:
        with socket.create_connection((parts.hostname, parts.port or default_port), timeout):
            return True
    except OSError:
        return False


class _LocalService(abc.ABC):
    """Lifecycle shared by the servers: generate config, spawn, wait until ready, stop."""

    name: ClassVar[str]  # executable name, prefix of the files in workdir
    install_hint: ClassVar[str]
    start_timeout_s: ClassVar[float] = 10.0
    stop_timeout_s: ClassVar[float] = 15.0

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir.resolve()
        self.port = free_port() if port is None else port
        self._process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # where this run's output starts in the (appended) log file

    @classmethod
    def start(cls, workdir: Path, port: int | None = None) -> Self:
        """Start a server in ``workdir`` on ``port`` (a free one by default); return when ready."""
        service = cls(workdir, port)
        service.start_again()
        return service

    @property
    @abc.abstractmethod
    def url(self) -> str:
        """The URL clients connect to."""

    @property
    def log_path(self) -> Path:
        """The file that receives the server's stdout and stderr, appended across restarts."""
        return self.workdir / f"{self.name}.log"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start_again(self) -> None:
        """Start the server (same port, same data) unless it is running; return when ready."""
        if self.running:
            return
        executable = _find_executable(self.name, self.install_hint)
        self.workdir.mkdir(parents=True, exist_ok=True)
        process = self._spawn([executable, *self._prepare()])
        self._wait_until_ready(process)

    def stop(self) -> None:
        """Stop with SIGTERM and wait, so the server can save its data; SIGKILL if it hangs."""
        try:
            self._end(signal.SIGTERM, timeout=self.stop_timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Kill with SIGKILL, as a crash or power cut would, and wait for the process to end."""
        self._end(signal.SIGKILL, timeout=None)

    def restart(self) -> None:
        """Stop gracefully and start again on the same port with the same data."""
        self.stop()
        self.start_again()

    def log_since_start(self) -> str:
        """What the server has logged since it was last started."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_offset)
                return log.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{type(self).__name__}({self.url!r}, {state}, workdir={str(self.workdir)!r})"

    @abc.abstractmethod
    def _prepare(self) -> list[str]:
        """Write config and data directories into workdir; return the command-line arguments."""

    @abc.abstractmethod
    def _is_ready(self) -> bool:
        """Whether the freshly spawned server serves clients yet."""

    def _environment(self) -> dict[str, str]:
        return dict(os.environ)

    def _spawn(self, argv: list[str]) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=self._environment(),
                # A terminal's Ctrl-C must reach only us, so that we stop clients (which may
                # still be flushing to these servers) before the servers themselves.
                start_new_session=True,
            )
        self._process = process
        _live_services.add(self)
        return process

    def _wait_until_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise self._start_failure(f"exited with code {process.returncode} while starting")
            if self._is_ready():
                return
            time.sleep(0.05)
        self.kill()
        raise self._start_failure(f"was not ready after {self.start_timeout_s:g} s")

    def _start_failure(self, what: str) -> LocalServiceError:
        tail = "\n".join(self.log_since_start().splitlines()[-20:]) or "(log is empty)"
        return LocalServiceError(
            f"{self.name} on port {self.port} {what}; its log {self.log_path} ends with:\n{tail}"
        )

    def _end(self, sig: signal.Signals, timeout: float | None) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout)
        self._process = None
        _live_services.discard(self)


# Servers still running; stopped at interpreter exit so a test run or CLI leaves none behind.
_live_services: set[_LocalService] = set()


@atexit.register
def _stop_live_services() -> None:
    for service in list(_live_services):
        service.stop()


def _find_executable(name: str, install_hint: str) -> str:
    search_path = os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN_DIRS])
    found = shutil.which(name, path=search_path)
    if found is None:
        raise ServiceNotInstalledError(
            f"{name} is not installed (looked in PATH and /usr/sbin). {install_hint}"
        )
    return found


class Mosquitto(_LocalService):
    """A Mosquitto 2.0 broker on 127.0.0.1 with anonymous access and on-disk persistence.

    ``extra_config`` is appended to the generated config (for example ``password_file`` and
    ``acl_file`` lines); it is kept for ``restart``.

    ``auth_dir`` is where `facmon devices provision` keeps the broker's ``passwd`` and ``acl``
    files. When ``<auth_dir>/passwd`` exists at (re)start, the broker refuses anonymous clients,
    uses those files, and writes ``<auth_dir>/mosquitto-<port>.pid`` so that provisioning can
    send it SIGHUP to reload them. Without ``auth_dir`` (or its passwd) it stays anonymous.

    With accounts, ``url`` is the devices' listener: there the broker replaces every client id
    with the username (``use_username_as_clientid``), so a device cannot take over another's
    session or knock it off. The platform's services share one account and each keeps a client
    id of its own, so they connect to ``platform_url``: a second listener on 127.0.0.1 that
    admits only the accounts of ``<auth_dir>/platform-passwd`` (``passwd`` if there is none).
    Without accounts both URLs name the one anonymous listener.
    """

    name = "mosquitto"
    install_hint = "Install it with `sudo apt-get install mosquitto` or run scripts/setup.sh."
    # Logged after every listener is bound, unlike a bare TCP check, which a process already
    # holding the port would also pass.
    _RUNNING_LINE = re.compile(r"mosquitto version \S+ running")

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        *,
        extra_config: str = "",
        auth_dir: Path | None = None,
    ) -> None:
        super().__init__(workdir, port)
        self.extra_config = extra_config
        self.auth_dir = None if auth_dir is None else auth_dir.resolve()
        self.platform_port = self.port  # its own port once the broker has accounts
        self._platform_listener = False  # whether the last start opened it
        if self.auth_dir is not None:
            while self.platform_port == self.port:
                self.platform_port = free_port()

    @classmethod
    def start(
        cls,
        workdir: Path,
        port: int | None = None,
        *,
        extra_config: str = "",
        auth_dir: Path | None = None,
    ) -> Self:
        """Start a broker in ``workdir`` on ``port`` (a free one by default); return when ready."""
        broker = cls(workdir, port, extra_config=extra_config, auth_dir=auth_dir)
        broker.start_again()
        return broker

    @property
    def url(self) -> str:
        """The broker's ``mqtt://127.0.0.1:PORT`` URL."""
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def platform_url(self) -> str:
        """Where the platform's own services connect (see the class docstring)."""
        return f"mqtt://127.0.0.1:{self.platform_port if self._platform_listener else self.port}"

    @property
    def config_path(self) -> Path:
        """The generated mosquitto.conf (rewritten on every start)."""
        return self.workdir / "mosquitto.conf"

    def _prepare(self) -> list[str]:
        persistence_dir = self.workdir / "mosquitto-data"
        persistence_dir.mkdir(exist_ok=True)
        auth_dir = self.auth_dir
        if auth_dir is not None and not (auth_dir / "passwd").exists():
            auth_dir = None  # nothing provisioned yet: stay anonymous
        self._platform_listener = auth_dir is not None
        if auth_dir is None:
            listeners = [f"listener {self.port} 127.0.0.1", "allow_anonymous true"]
        else:
            listeners = _mosquitto_auth_listeners(self.port, self.platform_port, auth_dir)
        self.config_path.write_text(
            _mosquitto_config(listeners, persistence_dir, self.extra_config)
        )
        return ["-c", str(self.config_path)]

    def _is_ready(self) -> bool:
        started = self._RUNNING_LINE.search(self.log_since_start()) is not None
        return started and is_reachable(self.url, timeout=0.5)


def _mosquitto_config(listeners: list[str], persistence_dir: Path, extra_config: str) -> str:
    lines = [
        "# Generated by localservers; rewritten on every start.",
        *listeners,
        "persistence true",
        f"persistence_location {persistence_dir}/",  # mosquitto wants the trailing slash
        # A huge limit rather than 0 ("no limit"), which is reported to lose messages on 2.0.11.
        "max_queued_messages 10000000",
        "max_queued_bytes 0",
        "log_dest stderr",
        # Explicit types, because extra_config's log_type lines would otherwise replace the
        # defaults and hide the "running" line that readiness waits for.
        *(f"log_type {kind}" for kind in ("error", "warning", "notice", "information")),
        "log_timestamp_format %Y-%m-%dT%H:%M:%S",
    ]
    if os.geteuid() == 0:
        # As root, mosquitto switches to the "mosquitto" user, who cannot write our workdir.
        lines.append("user root")
    return "\n".join([*lines, extra_config, ""])


def _mosquitto_auth_listeners(port: int, platform_port: int, auth_dir: Path) -> list[str]:
    """The devices' listener, where client ids are usernames, and the platform's."""
    platform_passwd = auth_dir / "platform-passwd"
    if not platform_passwd.exists():  # files of an older facmon: broker.refresh_accounts
        platform_passwd = auth_dir / "passwd"
    return [
        # Each listener its own password file, ACL and anonymous setting.
        "per_listener_settings true",
        # Per port, so several brokers sharing one auth_dir are all found and reloaded.
        f"pid_file {auth_dir / f'mosquitto-{port}.pid'}",
        f"listener {port} 127.0.0.1",
        *_mosquitto_account_lines(auth_dir / "passwd", auth_dir),
        # A device's credentials name its client id: it cannot knock another device off.
        "use_username_as_clientid true",
        f"listener {platform_port} 127.0.0.1",
        *_mosquitto_account_lines(platform_passwd, auth_dir),
    ]


def _mosquitto_account_lines(passwd: Path, auth_dir: Path) -> list[str]:
    return [
        "allow_anonymous false",
        f"password_file {passwd}",
        # Always with the ACL: a password file alone would let every account publish anywhere.
        f"acl_file {auth_dir / 'acl'}",
    ]


class Influxd(_LocalService):
    """An InfluxDB 1.x server (``influxd``) on 127.0.0.1 without auth, reporting or monitoring."""

    name = "influxd"
    install_hint = "Install it with `sudo apt-get install influxdb` or run scripts/setup.sh."

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        super().__init__(workdir, port)
        # influxd also listens on a second port (backup/restore RPC); keep it off the HTTP one.
        self.rpc_port = free_port()
        while self.rpc_port == self.port:
            self.rpc_port = free_port()

    @property
    def url(self) -> str:
        """The HTTP API's ``http://127.0.0.1:PORT`` URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_path(self) -> Path:
        """The generated influxd.conf (rewritten on every start)."""
        return self.workdir / "influxd.conf"

    def create_database(self, name: str) -> None:
        """Create database ``name``; like InfluxQL's CREATE DATABASE, a no-op if it exists."""
        response = httpx.post(
            f"{self.url}/query", data={"q": f"CREATE DATABASE {_influxql_identifier(name)}"}
        )
        error = _influx_error(response)
        if error is not None:
            raise LocalServiceError(f"influxd could not create database {name!r}: {error}")

    def _prepare(self) -> list[str]:
        data_root = self.workdir / "influxdb"
        data_root.mkdir(exist_ok=True)
        self.config_path.write_text(_influxd_config(self.port, self.rpc_port, data_root))
        return ["run", "-config", str(self.config_path)]

    def _is_ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/ping", timeout=0.5).status_code == 204
        except httpx.TransportError:
            return False

    def _environment(self) -> dict[str, str]:
        # influxd lets INFLUXDB_* variables override its config file (ports, paths, auth).
        return {key: value for key, value in os.environ.items() if not key.startswith("INFLUXDB_")}


def _influxd_config(http_port: int, rpc_port: int, data_root: Path) -> str:
    def path(leaf: str) -> str:
        return _toml_string(str(data_root / leaf))

    # influxd ignores unknown keys silently, so a misspelt key here would go unnoticed.
    return f"""\
# Generated by localservers; rewritten on every start.
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"

[meta]
  dir = {path("meta")}

[data]
  dir = {path("data")}
  wal-dir = {path("wal")}

[http]
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = false
  log-enabled = false

[monitor]
  store-enabled = false

[logging]
  level = "warn"
  suppress-logo = true

[continuous_queries]
  enabled = false
"""


def _toml_string(text: str) -> str:
    # A JSON string is a valid TOML basic string (same quoting and escapes).
    return json.dumps(text)


def _influxql_identifier(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _influx_error(response: httpx.Response) -> str | None:
    """The error of a /query response: HTTP-level, or per statement inside a 200 answer."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.is_error:
        return str(body.get("error") or f"HTTP {response.status_code}: {response.text[:200]}")
    errors = [result["error"] for result in body.get("results", []) if "error" in result]
    return "; ".join(errors) or None
