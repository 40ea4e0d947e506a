"""Simulated devices that publish over MQTT like real ones; the load generator lives here."""

__all__: list[str] = []
