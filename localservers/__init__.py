"""Start a local Mosquitto or influxd on free ports, in a work directory, as child processes.

A ground-floor adapter: tests, benchmarks and `facmon up` (when no configured service is
reachable) use it instead of Docker or system services. Imports no other facmon package.
"""

from localservers.servers import (
    Influxd,
    LocalServiceError,
    Mosquitto,
    ServiceNotInstalledError,
    free_port,
    is_reachable,
    port_is_free,
)

__all__ = [
    "Influxd",
    "LocalServiceError",
    "Mosquitto",
    "ServiceNotInstalledError",
    "free_port",
    "is_reachable",
    "port_is_free",
]
