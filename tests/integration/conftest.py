"""Real servers for integration tests: one Mosquitto and one influxd per test session.

The servers run from the Debian packages (``scripts/setup.sh`` installs them); when they are
missing, these fixtures fail with an install hint rather than skip, so a green run always
means the integration tests really ran.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest

from facmon.localstack import Influxd, Mosquitto


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
