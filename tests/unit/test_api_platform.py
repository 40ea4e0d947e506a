"""The platform routes over in-memory sources: devices, telemetry, events, forecasts, dead
letters, health, metrics, credentials and the live change feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_key
from api.sources import DeadLetterRow, DeviceSnapshot
from api.stream import ChangeFeed
from facility import AlertNotice, DeviceForecast, ForecastRun, HealthForecast, UsageForecast
from maintenance.desk import Desk
from maintenance.store import Notification, Role
from tests.unit.memory_store import MemoryStore
from tests.unit.platform_fakes import FakeIngest, FakeTelemetry, fake_platform

NOW_MS = 1_780_000_000_000
PUMP = DeviceSnapshot("tower-a", "pump", "p1", NOW_MS, {"pressure_bar": 4.2, "humidity_pct": 40},
                      True, 60)  # fmt: skip
GATE = DeviceSnapshot("tower-b", "access_gate", "g1", None, {}, False, 0)


class World:
    def __init__(self, tmp: Path, **platform: Any) -> None:
        self.store = MemoryStore()
        self.telemetry = FakeTelemetry([PUMP, GATE])
        self.ingest = FakeIngest(extras={("tower-a", "pump", "p1"): ["humidity_pct"]})
        self.platform = fake_platform(tmp, self.telemetry, self.ingest, **platform)
        self.desk = Desk(self.store, lambda: [])
        self.client = TestClient(create_app(self.store, self.desk, platform=self.platform))
        self.keys = {r: create_key(self.store, f"{r.value}-1", r)[1] for r in Role}

    def get(self, path: str, role: Role = Role.ADMIN, **params: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.keys[role]}"}
        return self.client.get(f"/api/v1/{path}", params=params, headers=headers)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return World(tmp_path)


def test_me_names_the_key_and_its_role(world: World) -> None:
    assert world.get("me", Role.CREW).json() == {"id": 2, "name": "crew-1", "role": "crew"}


def test_devices_show_state_rate_extras_and_open_alerts(world: World) -> None:
    world.desk.handle(AlertNotice("raised", "tower-a", "pump", "p1", "pressure_bar:low", "major",
                                       datetime.now(UTC), ("pressure 1.1 bar",)))  # fmt: skip
    devices = world.get("devices", Role.INTEGRATOR).json()
    pump = next(d for d in devices if d["device"] == "p1")
    assert (pump["online"], pump["messages_per_min"], pump["open_alerts"]) == (True, 6.0, 1)
    assert pump["uncatalogued_metrics"] == ["humidity_pct"]
    assert pump["last_seen"].startswith(datetime.fromtimestamp(NOW_MS / 1000, UTC).isoformat())
    assert [d["device"] for d in world.get("devices", online="false").json()] == ["g1"]
    assert [d["device"] for d in world.get("devices", kind="pump").json()] == ["p1"]


def test_a_device_detail_puts_its_readings_beside_the_catalogue(world: World) -> None:
    detail = world.get("devices/tower-a/pump/p1").json()
    metrics = {m["name"]: m for m in detail["metrics"]}
    assert metrics["pressure_bar"]["value"] == 4.2 and metrics["pressure_bar"]["unit"] == "bar"
    assert metrics["humidity_pct"]["in_catalogue"] is False
    assert metrics["flow_m3_h"]["value"] is None  # in the catalogue, not reported
    assert detail["topics"]["telemetry"] == "facmon/tower-a/pump/p1/telemetry"
    assert (detail["mqtt_username"], detail["credentials_provisioned"]) == ("tower-a.pump.p1",
                                                                             False)  # fmt: skip
    assert world.get("devices/tower-a/pump/nope").status_code == 404
    assert world.get("devices/tower a/pump/p1").status_code == 422


def test_credentials_come_from_the_provisioner_or_a_clear_409(tmp_path: Path) -> None:
    made: list[tuple[str, str, str]] = []

    def provision(site: str, kind: str, device: str) -> dict[str, Any]:
        made.append((site, kind, device))
        return {"username": f"{site}.{kind}.{device}", "password": "s3cret", "topics": []}

    managed = World(tmp_path, provision=provision)
    headers = {"Authorization": f"Bearer {managed.keys[Role.INTEGRATOR]}"}
    reply = managed.client.post("/api/v1/devices/tower-a/pump/p9/credentials", headers=headers)
    assert reply.json()["password"] == "s3cret" and made == [("tower-a", "pump", "p9")]
    plain = World(tmp_path)
    headers = {"Authorization": f"Bearer {plain.keys[Role.INTEGRATOR]}"}
    refused = plain.client.post("/api/v1/devices/tower-a/pump/p9/credentials", headers=headers)
    assert refused.status_code == 409 and "facmon devices provision" in refused.text


def test_telemetry_picks_a_window_for_at_most_400_points(world: World) -> None:
    world.telemetry.points[("p1", "pressure_bar")] = [(NOW_MS - 60_000, 4.0)]
    start = datetime.fromtimestamp(NOW_MS / 1000 - 3600 * 24, UTC)
    end = datetime.fromtimestamp(NOW_MS / 1000, UTC)
    period = {"from": start.isoformat(), "to": end.isoformat()}
    body = world.get("telemetry", Role.VIEWER, site="tower-a", kind="pump", device="p1",
                     metric="pressure_bar", **period).json()  # fmt: skip
    assert (body["unit"], body["window_s"], body["points"]) == ("bar", 216, [[NOW_MS - 60_000,
                                                                              4.0]])  # fmt: skip
    bad = world.get("telemetry", site="tower-a", kind="pump", device="p1", metric='x") OR 1=1')
    assert bad.status_code == 422


def test_telemetry_down_is_a_503_that_says_so_and_work_orders_still_answer(world: World) -> None:
    world.telemetry.down = True
    reply = world.get("devices")
    assert (
        reply.status_code == 503 and "InfluxDB does not answer" in reply.json()["error"]["message"]
    )
    assert world.get("work-orders").status_code == 200
    health = world.client.get("/api/v1/health")
    assert health.status_code == 503 and health.json()["checks"]["influxdb"]["ok"] is False


def test_events_newest_first_with_their_fields(world: World) -> None:
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    world.telemetry.stored_events = [
        {"ts_ms": now_ms - 5000, "site": "tower-a", "kind": "fire_panel", "device": "fp1",
         "type": "fire_alarm", "fields": {"zone": 3}},
        {"ts_ms": now_ms - 1000, "site": "tower-a", "kind": "elevator", "device": "l1",
         "type": "entrapment", "fields": {}},
    ]  # fmt: skip
    events = world.get("events").json()
    assert [e["type"] for e in events] == ["entrapment", "fire_alarm"]
    assert events[1]["fields"] == {"zone": 3} and "ts_ms" not in events[1]


def test_forecasts_soonest_first_and_empty_before_analytics_wrote_any(world: World) -> None:
    assert world.get("forecasts").json() == {"computed_at": None, "devices": []}
    day = 86_400_000
    world.store.replace_forecasts(ForecastRun(NOW_MS, (
        DeviceForecast("tower-a", "pump", "p1", health=HealthForecast(
            "vibration_mm_s", NOW_MS + 9 * day, NOW_MS + 5 * day, None, "rising 0.1 mm/s a day")),
        DeviceForecast("tower-a", "elevator", "l1", usage=UsageForecast(
            "trips", 10, 5, 100, NOW_MS + 2 * day)),
        DeviceForecast("tower-b", "access_gate", "g1"),
    )))  # fmt: skip
    found = world.get("forecasts", Role.CREW).json()
    assert [d["device"] for d in found["devices"]] == ["l1", "p1", "g1"]
    assert found["devices"][1]["health"]["latest_at"] is None
    assert world.get("forecasts", site="tower-b").json()["devices"][0]["device"] == "g1"


def test_dead_letters_with_counts_per_reason(world: World) -> None:
    world.ingest.letters = [DeadLetterRow(NOW_MS + n, "facmon/x", reason, "why", "{}", 2)
                            for n, reason in enumerate(["malformed_json", "out_of_range",
                                                        "out_of_range"])]  # fmt: skip
    body = world.get("dead-letters", Role.INTEGRATOR, reason="out_of_range", limit=1).json()
    assert body["counts"] == {"malformed_json": 1, "out_of_range": 2}
    assert [i["received_at"] for i in body["items"]] == [
        datetime.fromtimestamp((NOW_MS + 2) / 1000, UTC).isoformat()
    ]


def test_prometheus_metrics_count_what_is_open(world: World) -> None:
    world.desk.handle(AlertNotice("raised", "tower-a", "pump", "p1", "pressure_bar:low", "major",
                                       datetime.now(UTC), ()))  # fmt: skip
    world.ingest.letters = [DeadLetterRow(NOW_MS, "t", "malformed_json", "", "", 0)]
    text = world.get("metrics", Role.VIEWER).text
    assert 'facmon_alerts_open{severity="major"} 1.0' in text
    assert 'facmon_work_orders_active{priority="P2",status="open"} 1.0' in text
    assert 'facmon_dead_letters{reason="malformed_json"} 1.0' in text
    assert 'facmon_devices{kind="access_gate",online="false"} 1.0' in text
    assert 'facmon_notifications_undelivered{tried="no"} 0.0' in text


def test_prometheus_metrics_show_notifications_stuck_in_the_outbox(world: World) -> None:
    for text in ("first", "second"):
        world.store.add_notification(Notification(None, 1, text, datetime.now(UTC)))
    world.store.record_delivery(1, datetime.now(UTC), "HTTP 503")
    text = world.get("metrics", Role.VIEWER).text
    assert 'facmon_notifications_undelivered{tried="yes"} 1.0' in text
    assert 'facmon_notifications_undelivered{tried="no"} 1.0' in text


def test_the_change_feed_reports_orders_alerts_and_devices_that_changed(world: World) -> None:
    feed = ChangeFeed(world.store, world.telemetry, devices_every=1)
    assert feed.poll() == []  # the first look only learns
    alert = world.desk.handle(AlertNotice("raised", "tower-a", "pump", "p1", "pressure_bar:low",
                                               "major", datetime.now(UTC), ()))  # fmt: skip
    world.telemetry.snapshots = [PUMP, DeviceSnapshot("tower-b", "access_gate", "g1", NOW_MS,
                                                      {}, True, 3)]  # fmt: skip
    changes = feed.poll()
    assert sorted(name for name, _ in changes) == ["alert", "device", "work_order"]
    assert next(d for n, d in changes if n == "device")["online"] is True
    assert feed.poll() == []  # nothing new
    world.desk.handle(
        AlertNotice(
            "cleared",
            alert.site,
            alert.kind,
            alert.device,
            alert.signature,
            "major",
            datetime.now(UTC),
        )
    )
    assert [(n, d["state"]) for n, d in feed.poll()] == [("alert", "cleared")]


def test_the_stream_sends_changes_as_server_sent_events(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.keys[Role.CREW]}"}
    with world.client.stream("GET", "/api/v1/stream", headers=headers) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        lines = reply.iter_lines()
        assert next(lines) == ": connected"
        world.client.post("/api/v1/work-orders", headers=headers,
                          json={"title": "Gate sticks", "priority": "P3"})  # fmt: skip
        frame = [next(lines) for _ in range(3)]
    assert frame[1] == "event: work_order" or frame[0] == "event: work_order"
    data = next(line for line in frame if line.startswith("data: "))
    assert json.loads(data[6:])["title"] == "Gate sticks"


def test_the_kpi_trend_is_one_point_per_week(world: World) -> None:
    weeks = world.get("kpis/trend", Role.MANAGER, weeks=4).json()
    assert len(weeks) == 4
    ends = [datetime.fromisoformat(w["to"]) for w in weeks]
    assert all(b - a == timedelta(weeks=1) for a, b in pairwise(ends))
    assert "mtbf_hours_by_kind" not in weeks[0] and "orders_opened" in weeks[0]


def test_the_alerts_behind_one_work_order(world: World) -> None:
    for device in ("p1", "p2"):
        world.desk.handle(AlertNotice("raised", "tower-a", "pump", device, "pressure_bar:low",
                                      "major", datetime.now(UTC), ()))  # fmt: skip
    orders = {o["device"]: o["id"] for o in world.get("work-orders").json()}
    behind = world.get("alerts", Role.CREW, work_order_id=orders["p2"]).json()
    assert [(a["device"], a["work_order_id"]) for a in behind] == [("p2", orders["p2"])]
    assert len(world.get("alerts", limit=1).json()) == 1
