"""Requests a client got wrong answer 4xx, never 500 or 503: the API over a real, migrated
SQLite file and a real InfluxDB (issue 13, point 3)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

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

EDGES = ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
         "9999-12-31T23:59:59-14:00", "1677-09-21T00:00:00Z", "2262-04-12T00:00:00Z"]  # fmt: skip


@pytest.fixture
def client(tmp_path: Path, influxd: Influxd, influx_db: str) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path}/facmon.db"
    upgrade(url)
    store = SqlStore(url)
    platform = Platform(InfluxTelemetry(InfluxClient(influxd.url, influx_db)),
                        IngestFiles(tmp_path / "ingest.db"), tmp_path / "contract.md")  # fmt: skip
    _, secret = create_key(store, "admin-1", Role.ADMIN)
    app = create_app(store, Desk(store, store.sla_policies), platform=platform)
    with TestClient(app, headers={"Authorization": f"Bearer {secret}"}) as test_client:
        yield test_client


def test_kpis_of_a_period_inside_one_minute_is_a_422(client: TestClient) -> None:
    found = client.get("/api/v1/kpis", params={"from": "2024-05-01T12:00:10Z",
                                                "to": "2024-05-01T12:00:50Z"})  # fmt: skip
    assert found.status_code == 422, found.text
    assert found.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("path", ["/api/v1/kpis", "/api/v1/events", "/api/v1/telemetry"])
@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("end", ["from", "to"])
def test_dates_near_the_ends_of_the_calendar_are_a_422(
    client: TestClient, path: str, edge: str, end: str
) -> None:
    params = {end: edge, **({"site": "s1", "kind": "pump", "device": "p1", "metric": "flow"}
                            if path.endswith("telemetry") else {})}  # fmt: skip
    found = client.get(path, params=params)
    assert found.status_code == 422, found.text
    assert found.json()["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("edge", EDGES)
def test_a_pm_plan_due_near_the_ends_of_the_calendar_is_a_422(
    client: TestClient, edge: str
) -> None:
    plan = {"name": "grease", "site": "s1", "kind": "pump", "task": "grease the bearings",
            "every_days": 30, "first_due": edge}  # fmt: skip
    found = client.post("/api/v1/pm-plans", json=plan)
    assert found.status_code == 422, found.text
    assert client.get("/api/v1/pm-plans").status_code == 200


@pytest.mark.parametrize("route", ["assign", "actions/start"])
@pytest.mark.parametrize("version", [2**63, 2**64, -(2**63) - 1, 10**30])
def test_a_version_beyond_64_bits_is_a_422(client: TestClient, route: str, version: int) -> None:
    order = {"title": "door slow", "priority": "P3", "site": "s1", "device": "lift-3"}
    order_id = client.post("/api/v1/work-orders", json=order).json()["id"]
    body = {"version": version, **({"assignee": "ana"} if route == "assign" else {})}
    found = client.post(f"/api/v1/work-orders/{order_id}/{route}", json=body)
    assert found.status_code == 422, found.text


@pytest.mark.parametrize("field", ["site", "device", "type"])
@pytest.mark.parametrize("text", ["s1\x00", "s\x1b[2J", "a\nb", "\x7f"])
def test_control_characters_in_event_filters_are_a_422(
    client: TestClient, field: str, text: str
) -> None:
    found = client.get("/api/v1/events", params={field: text})
    assert found.status_code == 422, found.text


@pytest.mark.parametrize("text", ["s1\x00", "\x00{B\x92-\x17]Qq"])
def test_control_characters_in_the_device_filter_are_a_422(client: TestClient, text: str) -> None:
    found = client.get("/api/v1/devices", params={"site": text, "kind": "pump"})
    assert found.status_code == 422, found.text


def test_control_characters_in_a_telemetry_metric_are_a_422(client: TestClient) -> None:
    params = {"site": "s1", "kind": "pump", "device": "p1", "metric": "flow\x00"}
    assert client.get("/api/v1/telemetry", params=params).status_code == 422


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/telemetry"])
def test_a_span_of_thousands_of_years_is_a_422(client: TestClient, path: str) -> None:
    params = {"from": "0100-01-01T00:00:00Z", "to": "2024-01-01T00:00:00Z",
              **({"site": "s1", "kind": "pump", "device": "p1", "metric": "flow"}
                 if path.endswith("telemetry") else {})}  # fmt: skip
    found = client.get(path, params=params)
    assert found.status_code == 422, found.text


def test_a_plain_period_still_reads_from_influxdb(client: TestClient) -> None:
    params = {"site": "s1", "kind": "pump", "device": "p1", "metric": "flow"}
    assert client.get("/api/v1/telemetry", params=params).status_code == 200
    assert client.get("/api/v1/events", params={"site": "s1", "type": "dry_run"}).json() == []


def test_a_window_asking_for_millions_of_points_is_a_422(client: TestClient) -> None:
    params = {"site": "s1", "kind": "pump", "device": "p1", "metric": "flow", "window_s": 1,
              "from": "2000-01-01T00:00:00Z", "to": "2019-01-01T00:00:00Z"}  # fmt: skip
    assert client.get("/api/v1/telemetry", params=params).status_code == 422
