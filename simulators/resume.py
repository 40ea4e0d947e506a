"""A simulation resumed from an earlier run's timeline without sending its past again."""

from __future__ import annotations

from collections.abc import Generator, Iterator

from simulators.building import Label, Message, Simulation, SimulationOptions, device_names


class ResumedSimulation(Simulation):
    """A run from its original start that sends nothing stamped before `publish_from`: it goes
    on where an earlier run of the same options stopped (same faults, same wear, same
    counters) without sending that run's past again. At `publish_from` every device announces
    itself `online` (retained), as at the start of a run."""

    def __init__(self, options: SimulationOptions, publish_from: int) -> None:
        super().__init__(options)
        self.publish_from = publish_from
        self.withheld = 0  # messages simulated but not sent
        self._announced = False

    def run(self) -> Generator[Message | Label, None, None]:
        items = super().run()
        yield next(items)  # the `run` label, which describes the whole run
        for item in items:
            if item.ts_ms >= self.publish_from:
                yield from self._announce(item.ts_ms)
                yield item
            elif isinstance(item, Message):
                self.withheld += 1

    def _announce(self, ts_ms: int) -> Iterator[Message]:
        if self._announced:
            return
        self._announced = True
        for device in device_names(self.options.site, self.options.counts):
            topic = f"facmon/{device.site}/{device.kind}/{device.device}/status"
            yield Message(ts_ms, topic, b"online", retain=True)
