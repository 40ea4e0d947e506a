"""The live stream (server-sent events): alerts, work-order changes and device states.

Alerts and work orders are written by other processes (analytics opens them, crews act on
them through any API process), so the feed polls the store once a second and the telemetry
every few seconds, and tells every connected dashboard what changed since the last look.
One poll serves all subscribers; with none connected, nothing is polled.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from api.schemas import alert_out, order_out
from api.sources import DeviceKey, SourceUnavailable, Telemetry
from maintenance import AlertState, Store, WorkOrderQuery

__all__ = ["ChangeFeed", "sse_frames"]

log = logging.getLogger("facmon.api")

Change = tuple[str, dict[str, Any]]  # (event name, JSON-ready data)
KEEP_ALIVE_S = 15.0


class ChangeFeed:
    """What changed since the previous poll; the first poll only learns the current state."""

    def __init__(
        self,
        store: Store,
        telemetry: Telemetry | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        devices_every: int = 5,
    ) -> None:
        self.store, self.telemetry, self.clock = store, telemetry, clock
        self.devices_every = devices_every
        self._orders: dict[int, int] | None = None  # id -> version
        self._alerts: dict[int, datetime] | None = None  # open alert id -> updated_at
        self._devices: dict[DeviceKey, bool | None] | None = None
        self._polls = 0
        self._queues: set[asyncio.Queue[Change]] = set()
        self._task: asyncio.Task[None] | None = None
        self.primed = asyncio.Event()  # set once the current state is learnt

    def poll(self) -> list[Change]:
        """One look at the store (and, every few polls, at the devices)."""
        changes = self._order_changes() + self._alert_changes()
        if self.telemetry is not None and self._polls % self.devices_every == 0:
            changes += self._device_changes(self.telemetry)
        self._polls += 1
        return changes

    def _order_changes(self) -> list[Change]:
        recent = WorkOrderQuery(touched_since=self.clock() - timedelta(days=1),
                                with_history=False, limit=5000)  # fmt: skip
        orders = self.store.list_orders(recent)
        versions = {o.id: o.version for o in orders if o.id is not None}
        before, self._orders = self._orders, versions
        if before is None:
            return []
        return [("work_order", order_out(o).model_dump(mode="json")) for o in orders
                if o.id is not None and before.get(o.id) != o.version]  # fmt: skip

    def _alert_changes(self) -> list[Change]:
        alerts = self.store.list_alerts(AlertState.OPEN)
        now_open = {a.id: a.updated_at for a in alerts if a.id is not None}
        before, self._alerts = self._alerts, now_open
        if before is None:
            return []
        changed = [a for a in alerts if a.id is not None and before.get(a.id) != a.updated_at]
        closed = [self.store.get_alert(i) for i in before.keys() - now_open.keys()]
        return [("alert", alert_out(a).model_dump(mode="json")) for a in changed + closed]

    def _device_changes(self, telemetry: Telemetry) -> list[Change]:
        try:
            found = telemetry.devices()
        except SourceUnavailable:
            return []  # device states resume when InfluxDB answers again
        states = {(d.site, d.kind, d.device): d for d in found}
        before = self._devices
        self._devices = {key: d.online for key, d in states.items()}
        if before is None:
            return []
        return [("device", {"site": d.site, "kind": d.kind, "device": d.device,
                            "online": d.online, "last_seen_ms": d.last_seen_ms})
                for key, d in states.items() if key not in before
                or before[key] != d.online]  # fmt: skip

    def subscribe(self, every_s: float = 1.0) -> asyncio.Queue[Change]:
        """A queue of changes for one connection; the first subscriber starts the polling."""
        queue: asyncio.Queue[Change] = asyncio.Queue(maxsize=1000)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(every_s))
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Change]) -> None:
        self._queues.discard(queue)

    async def _run(self, every_s: float) -> None:
        while self._queues:
            try:
                changes = await asyncio.to_thread(self.poll)
            except Exception:  # a database hiccup must not end the stream for everyone
                log.exception("live stream poll failed")
                changes = []
            self.primed.set()
            for queue in list(self._queues):
                for change in changes:
                    if not queue.full():  # a stalled reader loses changes, not the server
                        queue.put_nowait(change)
            await asyncio.sleep(every_s)
        self._orders = self._alerts = self._devices = None  # relearn when someone returns
        self.primed.clear()


async def sse_frames(feed: ChangeFeed, is_disconnected: Callable[[], Any]) -> AsyncIterator[str]:
    """The text/event-stream body for one connection, with a keep-alive comment when idle."""
    queue = feed.subscribe()
    try:
        await feed.primed.wait()  # so that what changes after "connected" is sent
        yield ": connected\n\n"
        while not await is_disconnected():
            try:
                name, data = await asyncio.wait_for(queue.get(), KEEP_ALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
    finally:
        feed.unsubscribe(queue)
