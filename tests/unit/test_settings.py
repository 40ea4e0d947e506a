"""Settings from the environment: documented defaults, overrides, empty values ignored."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from facility import Settings

DOCUMENTED_DEFAULTS = {
    "mqtt_url": "mqtt://127.0.0.1:1883",
    "mqtt_username": None,
    "mqtt_password": None,
    "influx_url": "http://127.0.0.1:8086",
    "influx_db": "facmon",
    "influx_token": None,
    "database_url": "sqlite:///./var/facmon.db",
    "state_dir": Path("./var"),
    "notify_url": None,
    "api_lockout_failures": 10,
    "api_lockout_window_s": 60,
    "api_lockout_s": 300,
}

OVERRIDES = {
    "mqtt_url": "mqtts://broker.example:8883",
    "mqtt_username": "ingest",
    "mqtt_password": "s3cret",
    "influx_url": "http://influx.example:8086",
    "influx_db": "site_a",
    "influx_token": "tok-123",
    "database_url": "postgresql://u@db/facmon",
    "state_dir": "/srv/facmon/state",
    "notify_url": "https://hooks.example.org/facmon",
    "api_lockout_failures": "3",
    "api_lockout_window_s": "30",
    "api_lockout_s": "600",
}
WHOLE_NUMBERS = {"api_lockout_failures", "api_lockout_window_s", "api_lockout_s"}


def env_name(field: str) -> str:
    return f"FACMON_{field.upper()}"


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env({})
    assert {f.name: getattr(settings, f.name) for f in fields(Settings)} == DOCUMENTED_DEFAULTS
    assert Settings() == settings


def test_every_variable_overrides_its_field() -> None:
    assert set(OVERRIDES) == {f.name for f in fields(Settings)}
    settings = Settings.from_env({env_name(k): v for k, v in OVERRIDES.items()})
    for name, value in OVERRIDES.items():
        expected: object = Path(value) if name == "state_dir" else value
        expected = int(value) if name in WHOLE_NUMBERS else expected
        assert getattr(settings, name) == expected, name


@pytest.mark.parametrize("field", sorted(OVERRIDES))
def test_one_variable_changes_only_its_field(field: str) -> None:
    settings = Settings.from_env({env_name(field): OVERRIDES[field]})
    for other, default in DOCUMENTED_DEFAULTS.items():
        if other != field:
            assert getattr(settings, other) == default, other


def test_empty_values_keep_the_defaults() -> None:
    settings = Settings.from_env({env_name(k): "" for k in OVERRIDES})
    assert settings == Settings()


def test_state_dir_is_a_path() -> None:
    settings = Settings.from_env({"FACMON_STATE_DIR": "relative/state"})
    assert isinstance(settings.state_dir, Path)
    assert settings.state_dir == Path("relative/state")
    assert isinstance(Settings.from_env({}).state_dir, Path)


@pytest.mark.parametrize("field", sorted(WHOLE_NUMBERS))
@pytest.mark.parametrize("text", ["0", "-1", "ten", "1.5"])
def test_a_whole_number_setting_refuses_anything_else_by_name(field: str, text: str) -> None:
    with pytest.raises(ValueError, match=env_name(field)):
        Settings.from_env({env_name(field): text})


def test_unrelated_and_misspelt_variables_are_ignored() -> None:
    env = {"INFLUX_DB": "x", "FACMON_INFLUXDB": "y", "facmon_influx_db": "z", "PATH": "/bin"}
    assert Settings.from_env(env) == Settings()


def test_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OVERRIDES:
        monkeypatch.delenv(env_name(name), raising=False)
    monkeypatch.setenv("FACMON_INFLUX_DB", "from_process")
    assert Settings.from_env().influx_db == "from_process"
