"""`facmon api` served by uvicorn on a real SQLite database, keys made by `facmon keys create`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from localservers import free_port
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration


def facmon(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "facmon.cli", "--log-level", "WARNING", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=True)


def start_api(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "facmon.cli", "api", "--port", str(port)],
        env=env, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(f"{url}/openapi.json", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, 20, "the API to serve")
    return process, url


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    # InfluxDB is named on a free port, so nothing answers there even when a local facmon
    # runs on the default one (the health test expects it down).
    return {**os.environ, "FACMON_DATABASE_URL": f"sqlite:///{tmp_path}/facmon.db",
            "FACMON_STATE_DIR": str(tmp_path),
            "FACMON_INFLUX_URL": f"http://127.0.0.1:{free_port()}"}  # fmt: skip


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    keys = {role: facmon(env, "keys", "create", "--role", role, "--name", f"{role}-1").stdout
            .strip().splitlines()[-1] for role in ("viewer", "crew", "manager")}  # fmt: skip
    process, url = start_api(env)
    yield url, keys
    process.send_signal(signal.SIGINT)
    process.wait(timeout=20)


def test_keys_roles_and_a_work_order_over_real_http_and_sqlite(server) -> None:
    url, keys = server
    assert all(key.startswith("fmk_") for key in keys.values())
    crew = {"Authorization": f"Bearer {keys['crew']}"}
    assert httpx.get(f"{url}/api/v1/work-orders").status_code == 401
    order = {"title": "Lift 3 door slow", "priority": "P3", "site": "tower-a", "device": "lift-3"}
    viewer = {"Authorization": f"Bearer {keys['viewer']}"}
    assert httpx.post(f"{url}/api/v1/work-orders", json=order, headers=viewer).status_code == 403
    made = httpx.post(f"{url}/api/v1/work-orders", json=order, headers=crew)
    assert made.status_code == 201
    order_id = made.json()["id"]
    started = httpx.post(f"{url}/api/v1/work-orders/{order_id}/actions/start", headers=crew)
    assert started.json()["status"] == "in_progress"
    detail = httpx.get(f"{url}/api/v1/work-orders/{order_id}", headers=viewer).json()
    assert [(h["actor"], h["to_status"]) for h in detail["history"]] == [("crew-1", "in_progress")]


def test_two_people_acting_at_once_one_wins_the_other_gets_409(server) -> None:
    url, keys = server
    crew = {"Authorization": f"Bearer {keys['crew']}"}
    order = {"title": "Pump 1 noisy", "priority": "P2"}
    made = httpx.post(f"{url}/api/v1/work-orders", json=order, headers=crew).json()
    version = made["version"]

    def act(action: str) -> int:
        path = f"{url}/api/v1/work-orders/{made['id']}/actions/{action}"
        return httpx.post(path, json={"version": version}, headers=crew).status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(act, ["acknowledge", "cancel"]))
    assert codes == [200, 409]
    final = httpx.get(f"{url}/api/v1/work-orders/{made['id']}", headers=crew).json()
    assert len(final["history"]) == 1  # exactly one change was stored


def test_kpis_come_from_the_worker_process_and_count_the_new_order(server) -> None:
    """The KPI worker is a process of its own with its own connection to the database."""
    url, keys = server
    crew = {"Authorization": f"Bearer {keys['crew']}"}
    manager = {"Authorization": f"Bearer {keys['manager']}"}
    order = {"title": "Pump 2 noisy", "priority": "P2", "site": "tower-b", "device": "pump-2"}
    assert httpx.post(f"{url}/api/v1/work-orders", json=order, headers=crew).status_code == 201
    kpis = httpx.get(f"{url}/api/v1/kpis", headers=manager, timeout=30).json()
    assert kpis["overall"]["orders_opened"] == 1
    assert kpis["by_site"]["tower-b"]["backlog_total"] == 1
    assert kpis["computed_s_ago"] == 0.0


def test_sigterm_stops_the_api_and_its_kpi_worker(env: dict[str, str]) -> None:
    """uvicorn ends the process by re-raising SIGTERM, past any clean-up: the KPI worker
    must notice by itself that its parent has gone."""
    process, _ = start_api(env)
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert children, "the API process has no KPI worker"
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=20)
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), 10,
             "the API's child processes to end")  # fmt: skip


def test_health_says_what_is_down_and_the_stream_carries_changes(server) -> None:
    """No InfluxDB runs for this server: health is 503 naming it, the rest keeps working."""
    url, keys = server
    health = httpx.get(f"{url}/api/v1/health", timeout=10)
    assert health.status_code == 503
    assert health.json()["checks"]["database"]["ok"] is True
    assert health.json()["checks"]["influxdb"]["ok"] is False
    crew = {"Authorization": f"Bearer {keys['crew']}"}
    order = {"title": "Gate 4 sticks", "priority": "P3", "site": "tower-c"}
    with httpx.stream("GET", f"{url}/api/v1/stream", headers=crew, timeout=30) as stream:
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        assert httpx.post(f"{url}/api/v1/work-orders", json=order, headers=crew).is_success
        data = next(line for line in lines if line.startswith("data: "))
    assert json.loads(data.removeprefix("data: "))["title"] == "Gate 4 sticks"


def test_repeated_unknown_keys_lock_the_address_out_with_429_and_retry_after(
    env: dict[str, str],
) -> None:
    env = {**env, "FACMON_API_LOCKOUT_FAILURES": "3", "FACMON_API_LOCKOUT_S": "120"}
    viewer = facmon(env, "keys", "create", "--role", "viewer", "--name", "prom").stdout.split()[-1]
    good = {"Authorization": f"Bearer {viewer}"}
    process, url = start_api(env)
    try:
        bad = [httpx.get(f"{url}/api/v1/work-orders", headers={"Authorization": f"Bearer fmk_{n}"})
               for n in range(3)]  # fmt: skip
        assert [r.status_code for r in bad] == [401, 401, 401]
        locked = httpx.get(f"{url}/api/v1/work-orders", headers=good)  # even a valid key
        assert locked.status_code == 429, locked.text
        assert locked.json()["error"]["code"] == "locked_out"
        assert 110 <= int(locked.headers["Retry-After"]) <= 120
        # another address (Prometheus, say) is not locked out, and sees it counted
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
            text = other.get(f"{url}/api/v1/metrics", headers=good).text
        for line in ["facmon_api_key_failures_total 3.0", "facmon_api_lockouts_total 1.0",
                     "facmon_api_locked_out_requests_total 1.0"]:  # fmt: skip
            assert line in text.splitlines()
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
