"""The sensor layer: noise, quantisation, dropouts, stuck values and spikes, as labelled."""

from __future__ import annotations

import random
import statistics

from facility import EquipmentKind
from simulators.equipment.base import SensorSpec
from simulators.sensors import SensorRealism, Sensors, quantise

SPECS = {"pressure_bar": SensorSpec(noise=0.05, resolution=0.01)}


def pump_sensors(realism: SensorRealism, seed: int = 0) -> Sensors:
    return Sensors(EquipmentKind.PUMP, SPECS, random.Random(seed), realism)


def test_gauges_get_noise_of_the_stated_size_rounded_to_the_resolution() -> None:
    sensors = pump_sensors(SensorRealism.clean())
    values = [float(sensors.read(t, {"pressure_bar": 4.0})[0]["pressure_bar"]) for t in range(4000)]
    assert abs(statistics.fmean(values) - 4.0) < 0.005
    assert 0.045 < statistics.stdev(values) < 0.055
    assert all(abs(v * 100 - round(v * 100)) < 1e-9 for v in values)


def test_states_and_counters_are_reported_exactly_as_booleans_and_integers() -> None:
    sensors = pump_sensors(SensorRealism.clean())
    reading, _ = sensors.read(0, {"running": True, "run_hours_h": 1234.0})
    assert reading == {"running": True, "run_hours_h": 1234}
    assert isinstance(reading["run_hours_h"], int)


def test_values_never_leave_the_catalogue_range() -> None:
    sensors = pump_sensors(SensorRealism.clean())
    readings = [sensors.read(t, {"pressure_bar": 100.0})[0]["pressure_bar"] for t in range(200)]
    assert max(readings) <= 100.0


def test_a_stuck_sensor_repeats_its_last_value_for_as_long_as_its_label_says() -> None:
    realism = SensorRealism(dropout=0.0, stuck=0.01, stuck_readings=(5, 9), spike=0.0)
    sensors = pump_sensors(realism, seed=4)
    series, incidents = [], []
    for t in range(3000):
        reading, found = sensors.read(t, {"pressure_bar": 4.0})
        series.append(reading["pressure_bar"])
        incidents += found
    assert incidents, "no stuck episode in 3000 readings at 1% per reading"
    for incident in incidents:
        assert incident.type == "stuck" and 5 <= incident.readings <= 9
        frozen = series[incident.ts_ms - 1 : incident.ts_ms + incident.readings]
        assert len(set(frozen)) == 1, frozen


def test_spikes_are_far_off_and_labelled_where_they_happen() -> None:
    sensors = pump_sensors(SensorRealism(dropout=0.0, stuck=0.0, spike=0.01), seed=2)
    spikes = {}
    for t in range(2000):
        reading, found = sensors.read(t, {"pressure_bar": 4.0})
        spikes.update({i.ts_ms: reading["pressure_bar"] for i in found})
    assert spikes and all(float(value) > 8.0 for value in spikes.values())


def test_dropouts_leave_metrics_out_of_a_reading() -> None:
    sensors = pump_sensors(SensorRealism(dropout=0.5, stuck=0.0, spike=0.0))
    sizes = [len(sensors.read(t, {"pressure_bar": 4.0, "running": True})[0]) for t in range(400)]
    assert 0.4 < statistics.fmean(sizes) / 2 < 0.6


def test_quantise_keeps_decimal_text_short() -> None:
    assert quantise(27.2999999, 0.01) == 27.3
    assert str(quantise(0.1 + 0.2, 0.1)) == "0.3"
    assert quantise(1234.6, 1.0) == 1235.0
