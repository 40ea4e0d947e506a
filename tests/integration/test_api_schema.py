"""Schemathesis against the OpenAPI schema: generated requests, with a key, never get a 5xx,
a status code or content type the schema does not document, or an answer off its schema.

The app runs on a real, migrated SQLite database in a temporary folder and reads telemetry from
the session's real InfluxDB (an empty database); the key is an admin's, so every route is
reached past its role check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.app import create_app
from api.auth import create_key
from api.platform import InfluxTelemetry, IngestFiles
from api.sources import Platform
from localservers import Influxd
from maintenance.desk import Desk
from maintenance.migrate import upgrade
from maintenance.sql import SqlStore
from maintenance.store import Role
from timeseries import InfluxClient

pytestmark = pytest.mark.integration

# What a generated request is held to, including that a request off the schema is refused.
# Not held: positive_data_acceptance, for a schema cannot say everything a valid request obeys
# (times between 1970 and 2200, 'from' before 'to', device names by the MQTT rules, a PM plan
# with exactly one trigger), so it fails on refusals that are right.
CHECKS = [checks.not_a_server_error, checks.negative_data_rejection,
          checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]  # fmt: skip


@pytest.fixture(scope="module")
def secret_and_app(tmp_path_factory: pytest.TempPathFactory, influxd: Influxd) -> tuple[str, Any]:
    folder = tmp_path_factory.mktemp("facmon-schemathesis")
    url = f"sqlite:///{folder}/facmon.db"
    upgrade(url)
    store = SqlStore(url)
    influxd.create_database("schemathesis")
    platform = Platform(InfluxTelemetry(InfluxClient(influxd.url, "schemathesis")),
                        IngestFiles(folder / "ingest.db"), _contract())  # fmt: skip
    _, secret = create_key(store, "schemathesis", Role.ADMIN)
    return secret, create_app(store, Desk(store, store.sla_policies), platform=platform)


def _contract() -> Path:
    return Path(__file__).resolve().parents[2] / "docs" / "mqtt-contract.md"


def test_generated_requests_get_only_documented_answers(secret_and_app: tuple[str, Any]) -> None:
    secret, app = secret_and_app
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # a broken schema fails here
        if operation.path.endswith("/stream"):  # never ends: its answer is checked in tests/unit
            continue
        try:
            _exercise(operation, secret)
        except (Exception, BaseExceptionGroup) as failure:  # schemathesis: a FailureGroup
            found.append(f"{operation.method.upper()} {operation.path}: {failure}"[:2000])
    assert not found, "\n\n".join(found)


def _exercise(operation: Any, secret: str) -> None:
    """Hypothesis runs generated requests against one operation (the fixture's app and key:
    schemathesis's own pytest fixture support does not work with this pytest)."""

    @given(operation.as_strategy())
    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    def run(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {secret}"}, checks=CHECKS)

    run()
