"""Done-when of the work-order issue: a crew takes an alert-born work order from open to a
verified close through the API, on a real SQLite database, and nobody without a key gets in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.auth import create_key
from facility import AlertNotice
from maintenance.desk import Desk, DeskSettings
from maintenance.domain import Priority
from maintenance.migrate import upgrade
from maintenance.sla import SlaPolicy
from maintenance.sql import SqlStore
from maintenance.store import Role

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_alert_born_order_from_open_to_verified_close(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/facmon.db"
    upgrade(url)
    store = SqlStore(url)
    store.add_sla_policy(SlaPolicy(None, "P2", Priority.P2, None, 30, 240))
    now = [T0]
    desk = Desk(
        store, store.sla_policies, lambda: now[0], DeskSettings(verify_clear=timedelta(minutes=30))
    )
    client = TestClient(create_app(store, desk))
    crew = {"Authorization": f"Bearer {create_key(store, 'crew-7', Role.CREW)[1]}"}
    leak = AlertNotice("raised", "tower-a", "pump", "pump-02", "flow_for_power:low", "major", T0,
                       ("flow for the current and head: 41.2 measured, 6.1 SD short",))  # fmt: skip
    desk.handle(leak)

    (alert,) = client.get("/api/v1/alerts", headers=crew).json()
    order_id = alert["work_order_id"]
    order = client.get(f"/api/v1/work-orders/{order_id}", headers=crew).json()
    assert (order["priority"], order["status"]) == ("P2", "open")
    assert datetime.fromisoformat(order["response_due"]) == T0 + timedelta(minutes=30)
    assert "6.1 SD short" in order["description"]
    assert client.get(f"/api/v1/work-orders/{order_id}").status_code == 401

    for minutes, action in ((5, "acknowledge"), (20, "start"), (90, "resolve")):
        now[0] = T0 + timedelta(minutes=minutes)
        reply = client.post(f"/api/v1/work-orders/{order_id}/actions/{action}", headers=crew)
        assert reply.status_code == 200, reply.json()
    early = client.post(f"/api/v1/work-orders/{order_id}/actions/close", headers=crew)
    assert early.status_code == 409 and early.json()["error"]["code"] == "fix_not_verified"

    desk.handle(AlertNotice("cleared", "tower-a", "pump", "pump-02", "flow_for_power:low", "major",
                            T0 + timedelta(minutes=95)))  # fmt: skip
    now[0] = T0 + timedelta(minutes=130)
    (closed,) = desk.verify_closures()  # the API's job, run by the scheduler every minute
    final = client.get(f"/api/v1/work-orders/{order_id}", headers=crew).json()
    assert final["status"] == "closed" and closed.id == order_id
    assert [h["action"] for h in final["history"]] == ["acknowledge", "start", "resolve", "close"]
    assert final["history"][-1]["actor"] == "telemetry"
    store.close()
