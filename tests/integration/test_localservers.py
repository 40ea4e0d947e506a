"""localservers against the real mosquitto and influxd executables."""

from __future__ import annotations

import queue
import socket
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from localservers import (
    Influxd,
    LocalServiceError,
    Mosquitto,
    free_port,
    is_reachable,
)

pytestmark = pytest.mark.integration

WAIT_S = 10.0


class MqttV5Client:
    """A paho client whose callbacks feed queues, so a test can wait for each broker reply."""

    def __init__(self, port: int, client_id: str) -> None:
        self.port = port
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._connacks: queue.Queue[tuple[bool, ReasonCode]] = queue.Queue()
        self._subacks: queue.Queue[list[ReasonCode]] = queue.Queue()
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTProtocolVersion.MQTTv5
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = lambda _client, _userdata, message: self.messages.put(message)

    def connect(self, *, clean_start: bool, session_expiry_s: int = 0) -> bool:
        """Connect and return whether the broker still had a session for this client id."""
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = session_expiry_s
        self._client.connect("127.0.0.1", self.port, clean_start=clean_start, properties=properties)
        self._client.loop_start()
        session_present, reason = self._connacks.get(timeout=WAIT_S)
        assert not reason.is_failure, reason
        return session_present

    def subscribe(self, topic: str, qos: int) -> None:
        self._client.subscribe(topic, qos=qos)
        (granted,) = self._subacks.get(timeout=WAIT_S)
        assert granted.value == qos, granted

    def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Publish and wait until the broker acknowledged (for QoS 1: it holds the message)."""
        self._client.publish(topic, payload, qos=qos).wait_for_publish(timeout=WAIT_S)

    def disconnect(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self,
        _client: mqtt.Client,
        _userdata: object,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        self._connacks.put((flags.session_present, reason))

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: object,
        _mid: int,
        reasons: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        self._subacks.put(reasons)


def test_mosquitto_restart_delivers_message_queued_for_offline_persistent_session(
    tmp_path: Path,
) -> None:
    topic = "facmon/test/site-1/pump-1/telemetry"
    with Mosquitto.start(tmp_path) as broker:
        subscriber = MqttV5Client(broker.port, "ingest-persistent")
        assert not subscriber.connect(clean_start=False, session_expiry_s=3600)
        subscriber.subscribe(topic, qos=1)
        subscriber.disconnect()

        publisher = MqttV5Client(broker.port, "pump-1")
        publisher.connect(clean_start=True)
        publisher.publish(topic, b'{"pressure_bar": 3.25}', qos=1)
        publisher.disconnect()

        broker.restart()

        # No new subscribe: the subscription and the queued message both come from the
        # session that the broker saved on SIGTERM and loaded again.
        subscriber = MqttV5Client(broker.port, "ingest-persistent")
        assert subscriber.connect(clean_start=False, session_expiry_s=3600)
        message = subscriber.messages.get(timeout=WAIT_S)
        subscriber.disconnect()
    assert (message.topic, message.payload, message.qos) == (topic, b'{"pressure_bar": 3.25}', 1)


@pytest.mark.parametrize("ending", ["stop", "kill"])
def test_influxd_points_survive_restart_and_crash(tmp_path: Path, ending: str) -> None:
    lines = (
        "pump,site=hq,device=pump-1 pressure_bar=3.25 1700000000\n"
        "pump,site=hq,device=pump-1 pressure_bar=3.5 1700000060\n"
    )
    with Influxd.start(tmp_path) as influx:
        port = influx.port
        influx.create_database("plant")
        written = httpx.post(
            f"{influx.url}/write", params={"db": "plant", "precision": "s"}, content=lines
        )
        assert written.status_code == 204, written.text

        getattr(influx, ending)()  # graceful stop, or SIGKILL like a power cut
        assert not is_reachable(influx.url)
        influx.start_again()

        assert influx.port == port
        rows = query_rows(influx.url, "plant", "SELECT pressure_bar FROM pump")
    assert rows == [["2023-11-14T22:13:20Z", 3.25], ["2023-11-14T22:14:20Z", 3.5]]


def test_mosquitto_stop_closes_port_and_start_again_reopens_it(tmp_path: Path) -> None:
    with Mosquitto.start(tmp_path) as broker:
        broker.stop()
        assert not broker.running
        assert not is_reachable(broker.url)
        broker.start_again()
        assert is_reachable(broker.url)


def test_session_servers_are_reachable(mosquitto: Mosquitto, influxd: Influxd) -> None:
    assert mosquitto.url == f"mqtt://127.0.0.1:{mosquitto.port}"
    assert is_reachable(mosquitto.url)
    assert is_reachable(influxd.url)


def test_influx_db_fixture_gives_a_new_empty_database(influxd: Influxd, influx_db: str) -> None:
    assert [influx_db] in query_rows(influxd.url, "_internal", "SHOW DATABASES")
    assert query_rows(influxd.url, influx_db, "SHOW MEASUREMENTS") == []


def test_is_reachable_is_false_for_a_closed_port() -> None:
    port = free_port()
    assert not is_reachable(f"mqtt://127.0.0.1:{port}")
    assert not is_reachable(f"http://127.0.0.1:{port}/ping")


def test_is_reachable_rejects_urls_it_cannot_check() -> None:
    with pytest.raises(ValueError, match="expected mqtt://"):
        is_reachable("postgresql://127.0.0.1:5432/facmon")


@pytest.mark.parametrize("service", [Mosquitto, Influxd])
def test_start_on_a_taken_port_fails_with_the_servers_log(
    tmp_path: Path, service: type[Mosquitto] | type[Influxd]
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        with pytest.raises(LocalServiceError, match=r"(?i)address already in use"):
            service.start(tmp_path, port)


def query_rows(url: str, database: str, influxql: str) -> list[list[object]]:
    """The rows of the first series an InfluxQL query returns ([] when there is none)."""
    response = httpx.get(f"{url}/query", params={"db": database, "q": influxql})
    response.raise_for_status()
    (result,) = response.json()["results"]
    assert "error" not in result, result
    series = result.get("series", [])
    return [] if not series else list(series[0]["values"])
