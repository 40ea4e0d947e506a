"""Real servers for integration tests: one Mosquitto and one influxd per test session.

PostgreSQL, where the machine has its binaries, runs once per session too (initdb + pg_ctl as
the postgres user when run as root); each test gets a database of its own on it.

The servers run from the Debian packages (``scripts/setup.sh`` installs them); when they are
missing, these fixtures fail with an install hint rather than skip, so a green run always
means the integration tests really ran.
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from localservers import Influxd, Mosquitto
from maintenance.migrate import upgrade
from tests.integration.harness import Counter, Device, IngestProcess


@pytest.fixture(scope="session")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A broker on a free port, shared by the session (a test that stops it restarts it)."""
    with Mosquitto.start(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker


@pytest.fixture(scope="session")
def influxd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influxd]:
    """An influxd on free ports, shared by the session (a test that stops it restarts it)."""
    with Influxd.start(tmp_path_factory.mktemp("influxd")) as server:
        yield server


@pytest.fixture
def influx_db(influxd: Influxd, request: pytest.FixtureRequest) -> str:
    """The name of a new, empty database on the session influxd, unique to this test.

    The name starts with the test's name, so its data is easy to find when a test fails.
    """
    test_name = re.sub(r"\W+", "_", request.node.name)[:40]
    name = f"{test_name}_{uuid.uuid4().hex[:8]}"
    influxd.create_database(name)
    return name


@pytest.fixture
def site() -> str:
    """A site name of this test's own, so tests sharing the servers never see each other."""
    return f"site-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def device(mosquitto: Mosquitto) -> Iterator[Device]:
    publisher = Device(mosquitto)
    yield publisher
    publisher.close()


@pytest.fixture
def counter(mosquitto: Mosquitto, site: str) -> Iterator[Counter]:
    """A real subscriber to everything of the test's site."""
    subscriber = Counter(mosquitto.port, site)
    yield subscriber
    subscriber.close()


@pytest.fixture
def start_ingest(
    mosquitto: Mosquitto, influxd: Influxd, influx_db: str, site: str, tmp_path: Path
) -> Iterator[type[IngestProcess]]:
    """Start ingest processes for this test's site; all are killed at the end."""
    started: list[IngestProcess] = []

    def start(**kwargs: object) -> IngestProcess:
        kwargs.setdefault("state_dir", tmp_path / "state")
        process = IngestProcess(mosquitto, influxd, influx_db, site=site, **kwargs)  # type: ignore[arg-type]
        started.append(process)
        return process.start()

    yield start  # type: ignore[misc]
    for process in started:
        process.close()


# --- PostgreSQL, where the machine has it ------------------------------------------------------


def _postgres_bin() -> Path | None:
    found = shutil.which("pg_ctl") or next(
        iter(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")), None
    )
    return None if found is None else Path(found).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _server_user() -> list[str]:
    """The command prefix that runs PostgreSQL's programs: they refuse to run as root."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user for initdb to run as")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server (initdb + pg_ctl) on a free port; its URL without a
    database name. Its data lives in a folder of its own that the server's user can reach."""
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql)")
    if importlib.util.find_spec("psycopg") is None:
        pytest.skip("PostgreSQL is installed but the psycopg driver is not: pip install psycopg")
    as_server, port = _server_user(), _free_port()
    data = Path(tempfile.mkdtemp(prefix="facmon-pg-"))
    if as_server:
        user = pwd.getpwnam("postgres")
        os.chown(data, user.pw_uid, user.pw_gid)
    run = functools.partial(subprocess.run, check=True, capture_output=True, timeout=120)
    pg_ctl: list[str | Path] = [*as_server, bin_dir / "pg_ctl", "-D", data]
    run([*as_server, bin_dir / "initdb", "-D", data, "-U", "facmon", "--auth=trust"])
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1"
    try:
        # -l: the server writes its log there, not to our pipes (which it would hold open)
        run([*pg_ctl, "-o", options, "-l", data / "server.log", "-w", "start"])
        yield f"postgresql+psycopg://facmon@127.0.0.1:{port}"
    finally:
        subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=False, capture_output=True)
        shutil.rmtree(data, ignore_errors=True)


def _create_database(server: str, name: str, template: str | None = None) -> str:
    """CREATE DATABASE `name` on `server` (a copy of `template` if given); its URL."""
    admin = create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    copy = "" if template is None else f" TEMPLATE {template}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}{copy}"))
    admin.dispose()
    return f"{server}/{name}"


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A new, empty database of this test's own on the session server."""
    return _create_database(postgres_server, f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    """A database migrated once per session, for tests to copy (cheaper than migrating)."""
    url = _create_database(postgres_server, "facmon_template")
    upgrade(url)  # disposes its engine: a template must have no open connections
    return "facmon_template"


@pytest.fixture
def migrated_postgres_url(postgres_server: str, postgres_template: str) -> str:
    """A new database of this test's own, already at the newest schema revision."""
    return _create_database(postgres_server, f"t_{uuid.uuid4().hex[:12]}", postgres_template)
