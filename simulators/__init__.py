"""Simulated devices that publish over MQTT like real ones; the load generator lives here."""

from simulators.loadgen import LoadReport, run_load

__all__ = ["LoadReport", "run_load"]
