"""Per-device MQTT accounts for the Mosquitto broker: password file, ACL, reload on change.

A ground-floor adapter (imports `facility` only): `facmon devices` prints what it does, `facmon
up` and the API's provisioning route use it, and localservers' Mosquitto reads its files.
"""

from broker.accounts import (
    DeviceCredentials,
    auth_dir,
    list_accounts,
    provision,
    refresh_accounts,
    reload_brokers,
    revoke,
    service_credentials,
)

__all__ = [
    "DeviceCredentials",
    "auth_dir",
    "list_accounts",
    "provision",
    "refresh_accounts",
    "reload_brokers",
    "revoke",
    "service_credentials",
]
