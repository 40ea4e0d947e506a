"""The load generator against a real Mosquitto, checked by a real (paho) subscriber."""

from __future__ import annotations

import json
import uuid

import pytest

from localservers import Mosquitto
from simulators.loadgen import run_load
from tests.integration.harness import Counter

pytestmark = pytest.mark.integration


def readings(messages: list[tuple[str, bytes]]) -> list[tuple[str, int]]:
    """(device, ts) of every reading in the messages."""
    keys = []
    for topic, payload in messages:
        body = json.loads(payload)
        keys += [
            (topic.split("/")[3], int(r["ts"]))
            for r in (body if isinstance(body, list) else [body])
        ]
    return keys


def test_subscriber_receives_exactly_what_the_publishers_report(
    mosquitto: Mosquitto, counter: Counter, site: str
) -> None:
    report = run_load(mosquitto.url, processes=2, total_messages=6000, rate=None, site=site)
    assert (report.published, report.unrouted, report.rejected) == (6000, 0, 0)
    assert report.unacknowledged == 0
    messages = counter.settle(report.published)
    assert len(messages) == report.published
    keys = readings(messages)
    assert len(set(keys)) == len(keys) == 6000, "every reading must be a distinct point"


@pytest.mark.slow
def test_more_than_65535_messages_in_one_connection_reuse_packet_ids_safely(
    mosquitto: Mosquitto, counter: Counter, site: str
) -> None:
    report = run_load(mosquitto.url, processes=1, total_messages=70_000, rate=None, site=site)
    assert report.published == 70_000
    messages = counter.settle(70_000)
    assert len(messages) == 70_000
    assert len(set(readings(messages))) == 70_000


def test_batches_carry_their_readings(mosquitto: Mosquitto, counter: Counter, site: str) -> None:
    report = run_load(mosquitto.url, 2, 400, rate=None, batch=25, site=site)
    assert (report.published, report.readings) == (400, 10_000)
    keys = readings(counter.settle(400))
    assert len(set(keys)) == len(keys) == 10_000


def test_pacing_holds_the_asked_rate_within_ten_percent(
    mosquitto: Mosquitto, counter: Counter, site: str
) -> None:
    report = run_load(mosquitto.url, 2, total_messages=6000, rate=2000, site=site)
    assert report.published == 6000
    # 6000 messages at 2000/s take 3 s; a pacer that ignores the rate would take ~0.1 s.
    assert 1800 <= report.messages_per_s <= 2200, report
    assert len(counter.settle(6000)) == 6000


def test_acknowledgements_say_when_no_one_subscribed(mosquitto: Mosquitto) -> None:
    report = run_load(mosquitto.url, 1, 50, rate=None, site=f"nobody-{uuid.uuid4().hex[:6]}")
    assert (report.published, report.unrouted, report.rejected) == (0, 50, 0)
