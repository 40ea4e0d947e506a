"""Simulated devices that publish over MQTT like real ones, with labelled faults; load generator.

The pure core (building, equipment, faults, scenarios, sensors, rhythms) decides every message
and label; publisher.py and runner.py move them onto the network and the clock.
"""

from simulators.building import (
    Label,
    Message,
    Simulation,
    SimulationOptions,
    device_names,
    realistic_mix,
)
from simulators.faults import PROFILES, Fault, FaultProfile, FaultType
from simulators.loadgen import LoadReport, run_load
from simulators.publisher import MqttPublisher, PublishFailed
from simulators.runner import Pacer, Tally, run_simulation
from simulators.scenarios import SCENARIOS, plan_faults
from simulators.sensors import SensorRealism

__all__ = [
    "PROFILES",
    "SCENARIOS",
    "Fault",
    "FaultProfile",
    "FaultType",
    "Label",
    "LoadReport",
    "Message",
    "MqttPublisher",
    "Pacer",
    "PublishFailed",
    "SensorRealism",
    "Simulation",
    "SimulationOptions",
    "Tally",
    "device_names",
    "plan_faults",
    "realistic_mix",
    "run_load",
    "run_simulation",
]
