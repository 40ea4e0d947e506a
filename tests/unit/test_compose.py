"""docker-compose.yml and its files, checked by reading them: Docker is not available here.

Each check is one a `docker compose up` would otherwise fail on, or a setting that would
quietly lose data (ingest processes sharing state, a broker that drops queued messages).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from facility import Settings
from facmon.cli import build_parser
from facmon.wiring import sqlite_path

ROOT = Path(__file__).resolve().parents[2]
INGEST_SERVICES = ("ingest-1", "ingest-2")
DOCUMENTED_VARIABLES = {f"FACMON_{name.upper()}" for name in Settings.__dataclass_fields__}


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = _compose()["services"]
    return services


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _command(service: dict[str, Any]) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def _mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(source, target) of each short-syntax volume entry."""
    mounts = []
    for entry in service.get("volumes", []):
        source, target = entry.split(":")[:2]
        mounts.append((source, target))
    return mounts


def test_stack_has_the_documented_services() -> None:
    expected = {"mosquitto", "influxdb", "grafana", "migrate", "analytics", "api"}
    assert expected | set(INGEST_SERVICES) <= set(_services())


def _facmon_services() -> list[str]:
    return [name for name, service in _services().items() if "command" in service]


def test_every_facmon_service_runs_the_one_image_with_a_valid_command() -> None:
    names = _facmon_services()
    assert set(names) >= {*INGEST_SERVICES, "migrate", "analytics", "api"}
    images = {(_services()[name]["image"], _services()[name].get("build")) for name in names}
    assert images == {("facmon:local", ".")}, "one image, built from the Dockerfile"
    for name in names:
        command = _command(_services()[name])
        assert command[0] == "facmon", name
        build_parser().parse_args(command[1:])  # exits (SystemExit) on an unknown option


@pytest.mark.parametrize("name", list(_services()))
def test_service_has_an_image_or_a_buildable_context(name: str) -> None:
    service = _services()[name]
    assert "image" in service or "build" in service
    if "build" in service:
        build = service["build"]
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert (context / "Dockerfile").is_file()


def test_dockerfile_copies_only_files_that_exist() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    sources = [
        source
        for line in re.findall(r"^COPY\s+(.+)$", dockerfile, re.MULTILINE)
        for source in line.split()[:-1]
        if not source.startswith("--")
    ]
    assert sources, "the Dockerfile copies nothing"
    missing = [source for source in sources if not (ROOT / source).exists()]
    assert missing == [], f"docker build would fail: {missing} not in the repository"


@pytest.mark.parametrize("name", list(_services()))
def test_bind_mounts_and_named_volumes_exist(name: str) -> None:
    declared = set(_compose().get("volumes") or {})
    for source, _ in _mounts(_services()[name]):
        if source.startswith(("./", "/")):
            assert (ROOT / source).exists(), source
        else:
            assert source in declared, f"volume {source} is not declared"


@pytest.mark.parametrize("name", list(_services()))
def test_dependencies_are_services_of_the_stack(name: str) -> None:
    assert set(_services()[name].get("depends_on", [])) <= set(_services())


@pytest.mark.parametrize("name", list(_services()))
def test_facmon_variables_are_documented_settings(name: str) -> None:
    used = {key for key in _environment(_services()[name]) if key.startswith("FACMON_")}
    assert used <= DOCUMENTED_VARIABLES


@pytest.mark.parametrize("name", INGEST_SERVICES)
def test_ingest_command_is_a_valid_facmon_invocation(name: str) -> None:
    command = _command(_services()[name])
    assert command[0] == "facmon"
    args = build_parser().parse_args(command[1:])
    assert args.command == "ingest"


def _ingest_args(name: str) -> Any:
    return build_parser().parse_args(_command(_services()[name])[1:])


def test_ingest_processes_share_one_group_with_their_own_identity() -> None:
    args = [_ingest_args(name) for name in INGEST_SERVICES]
    assert {a.share_group for a in args} == {"facmon"}
    assert {a.topic for a in args} == {args[0].topic}, "a share group needs one topic filter"
    assert len({a.client_id for a in args}) == len(args), "client ids must differ"


def test_ingest_processes_keep_state_in_their_own_volume() -> None:
    volumes = []
    for name in INGEST_SERVICES:
        service = _services()[name]
        state_dir = _environment(service)["FACMON_STATE_DIR"]
        [volume] = [source for source, target in _mounts(service) if target == state_dir]
        volumes.append(volume)
    assert len(set(volumes)) == len(volumes), "ingest processes must not share a spool"


@pytest.mark.parametrize("name", INGEST_SERVICES)
def test_ingest_reaches_the_stack_services(name: str) -> None:
    env, services = _environment(_services()[name]), _services()
    mqtt, influx = urlsplit(env["FACMON_MQTT_URL"]), urlsplit(env["FACMON_INFLUX_URL"])
    assert mqtt.scheme == "mqtt" and mqtt.hostname in services
    assert influx.hostname in services
    assert mqtt.port == _mosquitto_listener_port()
    assert env["FACMON_INFLUX_DB"] == _environment(services["influxdb"])["INFLUXDB_DB"]


def _args(name: str) -> Any:
    return build_parser().parse_args(_command(_services()[name])[1:])


def test_api_serves_on_all_interfaces_at_the_published_port() -> None:
    args = _args("api")
    assert args.command == "api" and args.host == "0.0.0.0"
    assert f"{args.port}:{args.port}" in _services()["api"]["ports"]


def test_analytics_reads_every_message_in_its_own_session() -> None:
    # Not in the ingest share group: analytics must see every reading of every device.
    args = _args("analytics")
    assert args.command == "analytics"
    assert args.topic == _ingest_args(INGEST_SERVICES[0]).topic
    assert args.client_id not in {_ingest_args(name).client_id for name in INGEST_SERVICES}


def _state_volume(name: str) -> str:
    service = _services()[name]
    state_dir = _environment(service)["FACMON_STATE_DIR"]
    [volume] = [source for source, target in _mounts(service) if target == state_dir]
    return volume


def test_analytics_and_api_share_the_database_and_the_state_directory() -> None:
    # The API reads the forecasts analytics writes to the work-order database, and both share
    # the state directory; `facmon keys create` run in the api container uses the same one.
    users = ("migrate", "analytics", "api")
    urls = {_environment(_services()[name])["FACMON_DATABASE_URL"] for name in users}
    assert len(urls) == 1
    assert len({_state_volume(name) for name in users}) == 1
    [url] = urls
    database = sqlite_path(url)
    state_dir = _environment(_services()["api"])["FACMON_STATE_DIR"]
    assert database is None or (database.is_absolute() and database.parent == Path(state_dir))
    assert _state_volume("api") not in {_state_volume(name) for name in INGEST_SERVICES}


def test_the_database_is_migrated_before_analytics_and_api_start() -> None:
    assert _args("migrate").command == "db"
    for name in ("analytics", "api"):
        depends = _services()[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
    assert _services()["migrate"]["restart"] == "no", "a one-shot job must not be restarted"


# --- Mosquitto configuration ------------------------------------------------------------------


def _mosquitto_conf() -> dict[str, list[str]]:
    [(source, _)] = [
        (src, dst) for src, dst in _mounts(_services()["mosquitto"]) if dst.endswith(".conf")
    ]
    options: dict[str, list[str]] = {}
    for line in (ROOT / source).read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.strip().partition(" ")
            options.setdefault(key, []).append(value.strip())
    return options


def _mosquitto_listener_port() -> int:
    return int(_mosquitto_conf()["listener"][0].split()[0])


def test_broker_keeps_sessions_and_queues_enough_for_an_ingest_outage() -> None:
    conf = _mosquitto_conf()
    assert conf["persistence"] == ["true"]
    # Mosquitto drops messages beyond this per offline session; its default is 1000.
    assert int(conf["max_queued_messages"][0]) >= 1_000_000
    assert conf.get("max_queued_bytes", ["0"]) == ["0"]
    data_volume = [dst for src, dst in _mounts(_services()["mosquitto"]) if src == "mosquitto-data"]
    assert conf["persistence_location"][0].rstrip("/") in data_volume


def test_broker_passes_oversized_payloads_on_to_be_dead_lettered() -> None:
    # Up to max_packet_size the broker delivers, and ingest explains the refusal to the sender.
    from ingest import DecodePolicy

    limit = int(_mosquitto_conf().get("max_packet_size", ["0"])[0])
    assert limit == 0 or limit > DecodePolicy().max_payload_bytes


# --- Grafana ----------------------------------------------------------------------------------


def test_grafana_datasource_points_at_the_stack_influxdb() -> None:
    [(source, _)] = [
        (src, dst)
        for src, dst in _mounts(_services()["grafana"])
        if dst == "/etc/grafana/provisioning"
    ]
    files = sorted((ROOT / source / "datasources").glob("*.y*ml"))
    assert files, "no datasource provisioning file"
    [datasource] = [d for f in files for d in yaml.safe_load(f.read_text())["datasources"]]
    influx_env = _environment(_services()["ingest-1"])
    assert datasource["type"] == "influxdb"
    assert datasource["url"] == influx_env["FACMON_INFLUX_URL"]
    assert datasource["jsonData"]["dbName"] == influx_env["FACMON_INFLUX_DB"]
    assert datasource["jsonData"].get("version", "InfluxQL") == "InfluxQL"


def test_grafana_loads_the_dashboards_of_the_repository() -> None:
    grafana = _services()["grafana"]
    mounts = {target: source for source, target in _mounts(grafana)}
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    providers = [
        provider
        for path in sorted((provisioning / "dashboards").glob("*.y*ml"))
        for provider in yaml.safe_load(path.read_text())["providers"]
    ]
    assert providers, "no dashboard provider"
    for provider in providers:
        folder = mounts[provider["options"]["path"]]  # KeyError: the folder is not mounted
        assert sorted((ROOT / folder).glob("*.json")), f"no dashboards in {folder}"
    home = _environment(grafana)["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    folder, _, name = home.rpartition("/")
    assert (ROOT / mounts[folder] / name).is_file()


# --- docs/operations.md -----------------------------------------------------------------------


def test_operations_doc_lists_every_variable_with_its_default() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    rows = dict(re.findall(r"^\| `(FACMON_[A-Z_]+)` \| ([^|]+) \|", text, re.MULTILINE))
    assert set(rows) == DOCUMENTED_VARIABLES
    for name, default in vars(Settings()).items():
        documented = rows[f"FACMON_{name.upper()}"].strip()
        if default is None:
            assert documented == "none", name
        else:
            assert documented.startswith("`") and documented.endswith("`"), name
            assert type(default)(documented.strip("`")) == default, name
