"""The ground floor: domain model, metric catalogue and settings. Imports no other package."""

from facility.alerts import (
    AlertNotice,
)
from facility.catalogue import (
    CATALOGUE,
    EquipmentKind,
    MetricSpec,
    MetricType,
    metric_spec,
)
from facility.credentials import (
    PLATFORM_USERNAME,
    Access,
    Grant,
    account_grants,
    device_for_username,
    device_ref,
    device_topics,
    ensure_password,
    hash_password,
    new_password,
    parse_device_list,
    parse_device_path,
    password_file_users,
    password_hash_of,
    render_acl,
    username_for,
    verify_password,
    with_passwords,
    without_users,
)
from facility.durable import (
    fsync_directory,
    write_atomically,
)
from facility.forecasts import (
    DeviceForecast,
    ForecastRun,
    HealthForecast,
    UsageForecast,
)
from facility.logs import (
    JsonFormatter,
    configure_logging,
)
from facility.settings import (
    Settings,
)
from facility.telemetry import (
    NAME_PATTERN,
    Channel,
    DeviceRef,
    Event,
    Reading,
    Record,
    StatusChange,
)

__all__ = [
    "CATALOGUE",
    "NAME_PATTERN",
    "PLATFORM_USERNAME",
    "Access",
    "AlertNotice",
    "Channel",
    "DeviceForecast",
    "DeviceRef",
    "EquipmentKind",
    "Event",
    "ForecastRun",
    "Grant",
    "HealthForecast",
    "JsonFormatter",
    "MetricSpec",
    "MetricType",
    "Reading",
    "Record",
    "Settings",
    "StatusChange",
    "UsageForecast",
    "account_grants",
    "configure_logging",
    "device_for_username",
    "device_ref",
    "device_topics",
    "ensure_password",
    "fsync_directory",
    "hash_password",
    "metric_spec",
    "new_password",
    "parse_device_list",
    "parse_device_path",
    "password_file_users",
    "password_hash_of",
    "render_acl",
    "username_for",
    "verify_password",
    "with_passwords",
    "without_users",
    "write_atomically",
]
