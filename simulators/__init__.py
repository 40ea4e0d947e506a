"""Simulated devices that publish over MQTT like real ones, with labelled faults; load generator.

The pure core (building, equipment, faults, scenarios, sensors, rhythms) decides every message
and label; publisher.py and runner.py move them onto the network and the clock; view.py
shows a running simulation in the terminal.
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
from simulators.resume import ResumedSimulation
from simulators.runner import Pacer, Tally, run_simulation
from simulators.scenarios import LIVE_DEMO_HISTORY_MS, SCENARIOS, plan_faults
from simulators.sensors import SensorRealism
from simulators.timetext import parse_duration, parse_start
from simulators.view import BuildingView

__all__ = [
    "LIVE_DEMO_HISTORY_MS",
    "PROFILES",
    "SCENARIOS",
    "BuildingView",
    "Fault",
    "FaultProfile",
    "FaultType",
    "Label",
    "LoadReport",
    "Message",
    "MqttPublisher",
    "Pacer",
    "PublishFailed",
    "ResumedSimulation",
    "SensorRealism",
    "Simulation",
    "SimulationOptions",
    "Tally",
    "device_names",
    "parse_duration",
    "parse_start",
    "plan_faults",
    "realistic_mix",
    "run_load",
    "run_simulation",
]
