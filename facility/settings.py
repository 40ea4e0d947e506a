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
    # the API locks out an address after this many unknown keys within the window
    api_lockout_failures: int = 10
    api_lockout_window_s: int = 60
    api_lockout_s: int = 300  # how long a lockout lasts

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
        for field in [f for f in found if cls.__dataclass_fields__[f].type == "int"]:
            found[field] = _positive(field, found[field])
        return cls(**found)

    def as_env(self) -> dict[str, str]:
        """The `FACMON_*` variables that give a child process these settings.

        >>> Settings(influx_db="site_a").as_env()["FACMON_INFLUX_DB"]
        'site_a'
        """
        values = {field: getattr(self, field) for field in self.__dataclass_fields__}
        return {f"FACMON_{k.upper()}": str(v) for k, v in values.items() if v is not None}


def _positive(field: str, text: str) -> int:
    """A whole-number setting; anything else stops the start with the variable's name."""
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"FACMON_{field.upper()} must be a whole number of 1 or more: {text!r}")
    return int(text)
