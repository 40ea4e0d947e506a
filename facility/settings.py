"""Settings read once from the environment and passed in, never imported as a global."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Settings:
    """Where the platform's services live; see docs/operations.md for each variable."""

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    influx_url: str = "http://127.0.0.1:8086"
    influx_db: str = "facmon"
    influx_token: str | None = None
    database_url: str = "sqlite:///./var/facmon.db"
    state_dir: Path = Path("./var")
    notify_url: str | None = None  # a webhook for SLA notifications (notifications/)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `FACMON_*` variables; unset or empty ones keep their defaults.

        >>> Settings.from_env({"FACMON_INFLUX_DB": "site_a"}).influx_db
        'site_a'
        """
        env = os.environ if env is None else env
        found: dict[str, Any] = {
            field: env[f"FACMON_{field.upper()}"]
            for field in cls.__dataclass_fields__
            if env.get(f"FACMON_{field.upper()}")
        }
        if "state_dir" in found:
            found["state_dir"] = Path(found["state_dir"])
        return cls(**found)

    def as_env(self) -> dict[str, str]:
        """The `FACMON_*` variables that give a child process these settings.

        >>> Settings(influx_db="site_a").as_env()["FACMON_INFLUX_DB"]
        'site_a'
        """
        values = {field: getattr(self, field) for field in self.__dataclass_fields__}
        return {f"FACMON_{k.upper()}": str(v) for k, v in values.items() if v is not None}
