"""Real servers for integration tests: one Mosquitto and one influxd per test session.

The servers run from the Debian packages (``scripts/setup.sh`` installs them); when they are
missing, these fixtures fail with an install hint rather than skip, so a green run always
means the integration tests really ran.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localservers import Influxd, Mosquitto
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
