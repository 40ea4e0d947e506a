"""Per-device credentials against a real Mosquitto 2.0: who may connect, and publish where.

Each test provisions devices into its own state directory and starts its own broker with
that directory as ``auth_dir``, as an operator's broker would use the files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from broker import (
    DeviceCredentials,
    auth_dir,
    list_accounts,
    provision,
    refresh_accounts,
    reload_brokers,
    revoke,
    service_credentials,
)
from facility import DeviceRef
from facility.credentials import device_ref, device_topics
from localservers import Mosquitto
from tests.integration.harness import wait_for

pytestmark = pytest.mark.integration

WAIT_S = 10.0
NOT_AUTHORIZED = 0x87  # MQTT 5 reason code, in CONNACK and PUBACK alike

DEVICE_A = device_ref("tower-a", "pump", "p1")
DEVICE_B = device_ref("tower-a", "pump", "p2")


class Session:
    """One MQTT 5 connection; records the CONNACK, every PUBACK and every message received."""

    def __init__(
        self,
        broker: Mosquitto,
        username: str | None,
        password: str | None,
        *,
        will_topic: str | None = None,
        client_id: str | None = None,
        port: int | None = None,
    ) -> None:
        self.client_id = client_id or f"test-{uuid.uuid4().hex[:8]}"
        self.messages: list[tuple[str, bytes]] = []
        self.pubacks: dict[int, ReasonCode] = {}
        self.disconnected = threading.Event()
        self._connack: ReasonCode | None = None
        self._connacked = threading.Event()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        if username is not None:
            self._client.username_pw_set(username, password)
        if will_topic is not None:
            self._client.will_set(will_topic, "offline", qos=1, retain=True)
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_disconnect = lambda *_: self.disconnected.set()
        self._client.on_message = lambda _c, _u, m: self.messages.append(
            (m.topic, bytes(m.payload))
        )
        self._client.connect("127.0.0.1", port or broker.port, keepalive=30)
        self._client.loop_start()

    @property
    def connack(self) -> ReasonCode:
        assert self._connacked.wait(WAIT_S), "no CONNACK"
        assert self._connack is not None
        return self._connack

    @property
    def accepted(self) -> bool:
        return not self.connack.is_failure

    def publish(self, topic: str, payload: str, retain: bool = False) -> ReasonCode:
        """Publish at QoS 1 and return the PUBACK's reason code."""
        assert self.accepted, self.connack
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(WAIT_S)
        wait_for(lambda: info.mid in self.pubacks, WAIT_S, "the PUBACK")
        return self.pubacks[info.mid]

    def subscribe(self, topic: str) -> None:
        assert self.accepted, self.connack
        self._client.subscribe(topic, qos=1)
        assert self._subscribed.wait(WAIT_S), "no SUBACK"

    def drop(self) -> None:
        """Lose the connection without a DISCONNECT, as a power cut would: the will fires."""
        self._client.loop_stop()
        sock = self._client.socket()
        assert sock is not None
        sock.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(
        self, _c: paho.Client, _u: object, _f: object, reason: ReasonCode, _p: Properties | None
    ) -> None:
        if self._connack is None:  # keep the first answer, not those of paho's reconnects
            self._connack = reason
            self._connacked.set()

    def _on_publish(
        self, _c: paho.Client, _u: object, mid: int, reason: ReasonCode, _p: Properties | None
    ) -> None:
        self.pubacks[mid] = reason


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def issued(state_dir: Path) -> dict[DeviceRef, DeviceCredentials]:
    """Devices A and B, provisioned before the broker starts."""
    return {entry.device: entry for entry in provision(state_dir, [DEVICE_A, DEVICE_B])}


@pytest.fixture
def broker(tmp_path: Path, state_dir: Path, issued: object) -> Iterator[Mosquitto]:
    with Mosquitto.start(tmp_path / "broker", auth_dir=auth_dir(state_dir)) as server:
        yield server


@pytest.fixture
def sessions(broker: Mosquitto) -> Iterator[list[Session]]:
    """Open sessions through this list; all are closed at the end of the test."""
    opened: list[Session] = []
    yield opened
    for session in opened:
        session.close()


@pytest.fixture
def connect(broker: Mosquitto, sessions: list[Session]):
    def open_session(
        username: str | None,
        password: str | None,
        will_topic: str | None = None,
        *,
        client_id: str | None = None,
        port: int | None = None,
    ) -> Session:
        session = Session(
            broker, username, password, will_topic=will_topic, client_id=client_id, port=port
        )
        sessions.append(session)
        return session

    return open_session


@pytest.fixture
def platform(state_dir: Path, connect, broker: Mosquitto) -> Session:
    """The platform's service account on a shared subscription, as scaled-out ingest uses."""
    credentials = service_credentials(state_dir)
    assert credentials is not None
    session: Session = connect(*credentials, port=broker.platform_port)
    session.subscribe("$share/facmon/facmon/#")
    return session


def _login(entry: DeviceCredentials) -> tuple[str, str]:
    return entry.username, entry.password


def _accepts(broker: Mosquitto, username: str, password: str) -> bool:
    """Whether the broker accepts a new connection with these credentials."""
    session = Session(broker, username, password)
    try:
        return session.accepted
    finally:
        session.close()


def test_a_device_publishes_its_own_topics_and_the_platform_receives_them(
    issued, connect, platform
) -> None:
    device: Session = connect(*_login(issued[DEVICE_A]))
    telemetry, event, status = device_topics(DEVICE_A)
    assert device.publish(telemetry, '{"metrics": {"pressure_bar": 4.2}}').value == 0
    assert device.publish(event, '{"type": "dry_run"}').value == 0
    assert device.publish(status, "online", retain=True).value == 0
    wait_for(lambda: len(platform.messages) == 3, WAIT_S, "three messages at the platform")
    assert [topic for topic, _ in platform.messages] == [telemetry, event, status]


@pytest.mark.parametrize(
    "topic",
    [
        "facmon/tower-a/pump/p2/telemetry",  # another device
        "facmon/tower-a/pump/p2/status",
        "facmon/tower-b/pump/p1/telemetry",  # same device id, another site
        "facmon/tower-a/elevator/p1/event",  # same device id, another kind
        "facmon/tower-a/pump/p1/command",  # its own device, not one of its channels
        "other/topic",
    ],
)
def test_publishing_elsewhere_is_refused_and_never_delivered(
    issued, connect, platform, topic: str
) -> None:
    device: Session = connect(*_login(issued[DEVICE_A]))
    reason = device.publish(topic, "forged")
    assert reason.value == NOT_AUTHORIZED, reason
    # Messages of one connection arrive in order: once this one is in, the refused one is not.
    own = device_topics(DEVICE_A)[0]
    device.publish(own, "marker")
    wait_for(lambda: (own, b"marker") in platform.messages, WAIT_S, "the marker")
    assert platform.messages == [(own, b"marker")]


def test_a_will_on_another_devices_topic_is_not_delivered(
    issued, connect, platform, broker: Mosquitto
) -> None:
    forger: Session = connect(*_login(issued[DEVICE_A]), device_topics(DEVICE_B)[2])
    assert forger.accepted
    forger.drop()
    # On the devices' listener the client id is the username.
    closed = f"Client {issued[DEVICE_A].username} closed its connection"
    wait_for(lambda: closed in broker.log_since_start(), WAIT_S, "the broker to see the drop")
    honest: Session = connect(*_login(issued[DEVICE_A]), device_topics(DEVICE_A)[2])
    assert honest.accepted
    honest.drop()
    expected = (device_topics(DEVICE_A)[2], b"offline")
    wait_for(lambda: expected in platform.messages, WAIT_S, "the honest will")
    assert platform.messages == [expected]


def test_a_device_with_another_devices_client_id_does_not_knock_it_off(
    issued, connect, broker: Mosquitto
) -> None:
    victim: Session = connect(*_login(issued[DEVICE_B]), client_id="pump-p2")
    assert victim.accepted
    for stolen in ["pump-p2", issued[DEVICE_B].username]:  # the id it chose, the id it has
        intruder: Session = connect(*_login(issued[DEVICE_A]), client_id=stolen)
        assert intruder.accepted
        # One round trip after the intruder's CONNACK: a knocked-off victim has seen its
        # connection closed by then (the broker closes it before answering the intruder).
        assert not victim.publish(device_topics(DEVICE_B)[0], "{}").is_failure
        intruder.close()
    assert not victim.disconnected.is_set(), "device B was knocked off the broker"
    assert "already connected, closing old connection" not in broker.log_since_start()


def test_platform_services_share_the_account_under_client_ids_of_their_own(
    issued, connect, state_dir: Path, broker: Mosquitto
) -> None:
    credentials = service_credentials(state_dir)
    assert credentials is not None
    services: list[Session] = [
        connect(*credentials, client_id=client_id, port=broker.platform_port)
        for client_id in ["facmon-ingest", "facmon-analytics"]
    ]
    for service in services:
        service.subscribe("facmon/#")  # a round trip on each connection
    assert not any(service.disconnected.is_set() for service in services)
    log = broker.log_since_start()
    assert "as facmon-ingest " in log and "as facmon-analytics " in log
    # Devices cannot log in where client ids are free to choose.
    device: Session = connect(*_login(issued[DEVICE_A]), port=broker.platform_port)
    assert device.connack.value == NOT_AUTHORIZED


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("tower-a.pump.p1", "wrong-password"),
        ("tower-a.pump.p1", None),
        ("tower-a.pump.p9", "never-provisioned"),
        (None, None),  # anonymous
    ],
)
def test_unknown_or_wrong_credentials_are_refused_at_connect(
    connect, username: str | None, password: str | None
) -> None:
    session: Session = connect(username, password)
    assert session.connack.value == NOT_AUTHORIZED, session.connack


def test_device_b_password_does_not_open_device_a(issued, connect) -> None:
    session: Session = connect(issued[DEVICE_A].username, issued[DEVICE_B].password)
    assert session.connack.value == NOT_AUTHORIZED


def test_reprovisioning_rotates_the_password_after_reload(
    issued, connect, platform, state_dir: Path, broker: Mosquitto
) -> None:
    old = issued[DEVICE_A]
    connected: Session = connect(*_login(old))
    assert connected.accepted
    (new,) = provision(state_dir, [DEVICE_A])
    assert new.password != old.password
    assert len(reload_brokers(state_dir)) == 1

    wait_for(lambda: not _accepts(broker, *_login(old)), WAIT_S, "the old password refused")
    assert connected.disconnected.wait(WAIT_S), "the connection with the old password stayed"
    assert connect(*_login(new)).publish(device_topics(DEVICE_A)[0], "{}").value == 0
    wait_for(lambda: len(platform.messages) == 1, WAIT_S, "the message at the platform")
    assert platform.messages == [(device_topics(DEVICE_A)[0], b"{}")]
    assert _accepts(broker, *_login(issued[DEVICE_B]))  # other devices keep their password


def test_revoking_shuts_the_device_out_and_leaves_others(
    issued, connect, state_dir: Path, broker: Mosquitto
) -> None:
    revoked = issued[DEVICE_B]
    connected: Session = connect(*_login(revoked))
    assert connected.accepted
    assert revoke(state_dir, [DEVICE_B]) == [revoked.username]
    assert len(reload_brokers(state_dir)) == 1

    wait_for(lambda: not _accepts(broker, *_login(revoked)), WAIT_S, "the revoked refused")
    assert connected.disconnected.wait(WAIT_S), "the revoked device stayed connected"
    assert _accepts(broker, *_login(issued[DEVICE_A]))
    assert revoked.username not in [a["username"] for a in list_accounts(state_dir)]


def test_files_written_by_mosquitto_passwd_and_by_facmon_work_side_by_side(
    tmp_path: Path, state_dir: Path
) -> None:
    tool = shutil.which("mosquitto_passwd")
    assert tool is not None, "mosquitto_passwd is missing: it comes with the mosquitto package"
    (first,) = provision(state_dir, [DEVICE_A])
    passwd = auth_dir(state_dir) / "passwd"
    subprocess.run([tool, "-b", str(passwd), "legacy-user", "legacy-pw"], check=True)
    (second,) = provision(state_dir, [DEVICE_B])  # merges into the file mosquitto_passwd wrote

    with Mosquitto.start(tmp_path / "broker", auth_dir=auth_dir(state_dir)) as broker:
        for username, password in [_login(first), _login(second), ("legacy-user", "legacy-pw")]:
            assert _accepts(broker, username, password), username


def test_without_provisioned_devices_the_broker_stays_anonymous(tmp_path: Path) -> None:
    with Mosquitto.start(tmp_path / "broker", auth_dir=tmp_path / "empty") as broker:
        session = Session(broker, None, None)
        try:
            assert session.accepted
            assert not session.publish("facmon/any/pump/p1/telemetry", "{}").is_failure
        finally:
            session.close()
    assert "allow_anonymous true" in broker.config_path.read_text()
    assert broker.platform_url == broker.url  # one listener for all


def test_refreshing_writes_the_platform_password_file_that_older_files_lack(
    tmp_path: Path, state_dir: Path
) -> None:
    refresh_accounts(state_dir)  # nothing provisioned: nothing written, the broker stays open
    assert not auth_dir(state_dir).exists()
    provision(state_dir, [DEVICE_A])
    platform_passwd = auth_dir(state_dir) / "platform-passwd"
    platform_passwd.unlink()  # as an older facmon left the files
    refresh_accounts(state_dir)
    assert platform_passwd.stat().st_mode & 0o777 == 0o600
    assert [line.split(":")[0] for line in platform_passwd.read_text().splitlines()] == [
        "facmon-platform"
    ]


def _facmon(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FACMON_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "facmon.cli", "devices", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)


def test_cli_provisions_lists_reloads_and_revokes(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    done = _facmon(state_dir, "provision", "--site", "hq", "--kind", "pump", "--device", "p1")
    assert done.returncode == 0, done.stderr
    (first,) = [json.loads(line) for line in done.stdout.splitlines()]
    assert first["username"] == "hq.pump.p1"
    assert first["topics"] == list(device_topics(device_ref("hq", "pump", "p1")))
    assert (auth_dir(state_dir) / "passwd").stat().st_mode & 0o777 == 0o600
    assert (auth_dir(state_dir) / "service.json").stat().st_mode & 0o777 == 0o600

    with Mosquitto.start(tmp_path / "broker", auth_dir=auth_dir(state_dir)) as broker:
        devices = tmp_path / "devices.txt"
        devices.write_text("# new gate\nhq/access_gate/g1\n")
        added = _facmon(state_dir, "provision", "--from", str(devices))
        assert added.returncode == 0, added.stderr
        assert "reloaded" in added.stderr
        (gate,) = [json.loads(line) for line in added.stdout.splitlines()]

        # Both work on the running broker, the second one only through the reload, and the
        # platform's stored account (which facmon created) receives what they publish.
        credentials = service_credentials(state_dir)
        assert credentials is not None
        platform = Session(broker, *credentials, port=broker.platform_port)
        devices_sessions = [Session(broker, e["username"], e["password"]) for e in (first, gate)]
        try:
            platform.subscribe("facmon/#")
            for session, entry in zip(devices_sessions, (first, gate), strict=True):
                assert session.publish(entry["topics"][0], "{}").value == 0
            wait_for(lambda: len(platform.messages) == 2, WAIT_S, "two messages at the platform")
            topics = [topic for topic, _ in platform.messages]
            assert topics == [first["topics"][0], gate["topics"][0]]
        finally:
            for session in [platform, *devices_sessions]:
                session.close()

        listed = _facmon(state_dir, "list")
        assert listed.returncode == 0, listed.stderr
        assert first["password"] not in listed.stdout and gate["password"] not in listed.stdout
        accounts = {a["username"]: a for a in map(json.loads, listed.stdout.splitlines())}
        assert set(accounts) == {"facmon-platform", "hq.pump.p1", "hq.access_gate.g1"}
        assert accounts["hq.access_gate.g1"]["publish"] == gate["topics"]

        gone = _facmon(state_dir, "revoke", "--site", "hq", "--kind", "pump", "--device", "p1")
        assert gone.returncode == 0, gone.stderr
        assert json.loads(gone.stdout) == {"username": "hq.pump.p1", "revoked": True}
        login = (first["username"], first["password"])
        wait_for(lambda: not _accepts(broker, *login), WAIT_S, "the revoked device refused")


def test_cli_refuses_a_bad_name_and_writes_nothing(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    done = _facmon(state_dir, "provision", "--site", "hq", "--kind", "boiler", "--device", "b1")
    assert done.returncode == 2
    assert "kind 'boiler' is not valid" in done.stderr
    assert done.stdout == ""
    assert not (auth_dir(state_dir) / "passwd").exists()
