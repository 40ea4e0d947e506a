"""Every Grafana panel query runs on a real InfluxDB filled with simulated telemetry.

Grafana is not available here, so this test does what its InfluxDB data source does with a raw
InfluxQL query: it replaces the macros (`$timeFilter`, `$__interval`) and the template variables
(`$site`, `$device`, as the regular expression Grafana makes of the selected values) and sends
the result to `/query`. The database holds two simulated hours of a building with every fault
type (so every event type appears), decoded and encoded by ingest's own codec.

Besides "every query finds data", the dashboards are checked for what would break them quietly:
a panel on the wrong data source, a duplicate id or uid, a field that no device sends, a
counter shown as a level, a unit that contradicts the metric catalogue, a site filter missing.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from facility import CATALOGUE, EquipmentKind, MetricType
from ingest import decode_message, encode_lines
from localservers import Influxd
from simulators import Message, Simulation, SimulationOptions, realistic_mix
from timeseries import InfluxClient

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards" / "grafana" / "dashboards"
DATASOURCE_UID = "facmon-influxdb"

SITE = "tower-a"
START_MS = 1_714_564_800_000  # 2024-05-01T12:00:00Z
DURATION_MS = 2 * 3_600_000
# What Grafana picks for $__interval: about 10 s for two hours on a laptop screen, 10 min for a
# week. A panel's own minimum interval (its `interval`) raises either.
INTERVALS_S = (10, 600)

TAG_KEYS = {"site", "device", "kind", "type"}
STATUS_FIELDS = {"online"}
EVENT_MEASUREMENT, STATUS_MEASUREMENT = "event", "device_status"
# How each catalogue unit is shown: Grafana's unit id (or a `suffix:` custom unit).
GRAFANA_UNITS = {
    "bar": {"pressurebar"},
    "m³/h": {"suffix: m³/h"},
    "A": {"amp"},
    "mm/s": {"suffix: mm/s"},
    "°C": {"celsius"},
    "h": {"suffix: h"},
    "s": {"s"},
    "mm": {"lengthmm"},
    "kg": {"masskg"},
    "m/s": {"velocityms"},
    "V": {"volt"},
    "%": {"percent"},
    "1": {"none"},
    "bool": {"none", "percentunit"},  # a state as is, or its mean: the share of time it held
}
RATES = ("non_negative_derivative", "non_negative_difference")


# --- what Grafana does to a query (pure) -------------------------------------------------------


def escape_regex(value: str) -> str:
    r"""A value made literal inside an InfluxQL regular expression, as Grafana escapes it.

    >>> escape_regex("tower.a")
    'tower\\.a'
    """
    return re.sub(r"[\\^$*+?.()|\[\]{}/]", lambda m: "\\" + m.group(0), value)


def regex_of(values: Sequence[str]) -> str:
    """A multi-value variable as Grafana writes it into `/^$var$/`: one value, or `(a|b)`.

    >>> regex_of(["pump-01"]), regex_of(["pump-01", "pump-02"])
    ('pump-01', '(pump-01|pump-02)')
    """
    escaped = [escape_regex(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interpolate(
    query: str, variables: Mapping[str, str], start_ms: int, end_ms: int, interval_s: int
) -> str:
    """The query with Grafana's macros and variables replaced; unknown `$names` are an error.

    >>> interpolate('WHERE $timeFilter AND "site" =~ /^$site$/ GROUP BY time($__interval)',
    ...             {"site": "(a|b)"}, 0, 60000, 10)
    'WHERE time >= 0ms and time <= 60000ms AND "site" =~ /^(a|b)$/ GROUP BY time(10s)'
    """
    text = query.replace("$timeFilter", f"time >= {start_ms}ms and time <= {end_ms}ms")
    text = text.replace("$__interval", f"{interval_s}s")
    for name in sorted(variables, key=len, reverse=True):
        text = text.replace(f"${name}", variables[name])
    leftover = re.findall(r"\$\w+", text)
    if leftover:
        raise ValueError(f"no value for {leftover} in {query!r}")
    return text


def interval_s(text: str) -> int:
    """Seconds in a Grafana interval such as `10s`, `5m` or `1h`."""
    number, unit = re.fullmatch(r"(\d+)([smhd])", text).groups()  # type: ignore[union-attr]
    return int(number) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


# --- reading the dashboards (pure) --------------------------------------------------------------


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


@dataclass(frozen=True)
class PanelQuery:
    dashboard: str
    panel: dict[str, Any]
    query: str
    ref: str

    @property
    def name(self) -> str:
        return f"{self.dashboard}/{self.panel['title']}/{self.ref}"


def panel_queries() -> list[PanelQuery]:
    found = []
    for name, board in load_dashboards().items():
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                found.append(PanelQuery(name, panel, target["query"], target["refId"]))
        for annotation in board["annotations"]["list"]:
            panel = {"title": f"annotation {annotation['name']}"}
            found.append(PanelQuery(name, panel, annotation["target"]["query"], "annotation"))
    return found


QUERIES = panel_queries()


def measurements_in(query: str) -> set[str]:
    return set(re.findall(r'FROM\s+"(\w+)"', query))


def fields_in(query: str) -> set[str]:
    """Quoted identifiers that are neither measurements, tag keys nor aliases made by AS."""
    without_literals = re.sub(r"'[^']*'|/[^/]*/", "", query)
    named = set(re.findall(r'"(\w+)"', without_literals))
    aliases = set(re.findall(r'\bAS\s+"(\w+)"', query))
    return named - measurements_in(query) - TAG_KEYS - aliases


def applied_to(query: str, field: str) -> list[str]:
    """The functions each mention of a field sits in, innermost first: ['last', 'non_...']."""
    chains = []
    for match in re.finditer(rf'(\w+)\("{field}"', query):
        chain = [match.group(1)]
        outer = re.search(r"(\w+)\($", query[: match.start()])
        if outer:
            chain.append(outer.group(1))
        chains.extend(chain)
    return chains


def kind_of(measurements: set[str]) -> EquipmentKind | None:
    kinds = [EquipmentKind(m) for m in measurements if m in EquipmentKind.__members__.values()]
    return kinds[0] if len(kinds) == 1 else None


# --- a database with two simulated hours --------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    client: InfluxClient
    event_fields: set[str]

    def run(self, query: str) -> list[dict[str, Any]]:
        return self.client.query(query)


def simulated_lines() -> list[str]:
    options = SimulationOptions(
        site=SITE,
        counts=realistic_mix(8),
        start_ms=START_MS,
        duration_ms=DURATION_MS,
        seed=11,
        faults="all",  # every fault type of every kind once: every event type appears
    )
    lines: list[str] = []
    for item in Simulation(options).run():
        if isinstance(item, Message):
            decoded = decode_message(item.topic, item.payload, received_ms=item.ts_ms)
            lines.extend(encode_lines(decoded.records))
    return lines


@pytest.fixture(scope="module")
def filled(influxd: Influxd) -> Iterator[Filled]:
    database = f"grafana_{uuid.uuid4().hex[:8]}"
    influxd.create_database(database)
    client = InfluxClient(influxd.url, database)
    lines = simulated_lines()
    for start in range(0, len(lines), 5000):
        client.write(lines[start : start + 5000])
    [series] = client.query(f'SHOW FIELD KEYS FROM "{EVENT_MEASUREMENT}"')
    yield Filled(client, {row[0] for row in series["values"]})
    client.close()


def has_values(series: list[dict[str, Any]]) -> bool:
    """At least one row with a value besides its time."""
    return any(value is not None for s in series for row in s["values"] for value in row[1:])


def variable_values(filled: Filled, board: dict[str, Any]) -> dict[str, list[str]]:
    """Run the dashboard's own variable queries in order, as Grafana does on load."""
    values: dict[str, list[str]] = {}
    for variable in board["templating"]["list"]:
        chosen = {name: regex_of(found) for name, found in values.items()}
        query = interpolate(variable["query"], chosen, START_MS, START_MS + DURATION_MS, 60)
        rows = [row[1] for s in filled.run(query) for row in s["values"]]
        values[variable["name"]] = sorted(set(rows))
    return values


# --- every query finds data --------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_variables_offer_the_simulated_sites_and_devices(filled: Filled, name: str) -> None:
    board = load_dashboards()[name]
    values = variable_values(filled, board)
    assert values["site"] == [SITE]
    if name in EquipmentKind.__members__.values():
        prefix = {"fire_panel": "fire-panel", "access_gate": "gate"}.get(name, name)
        assert values["device"], "no devices offered"
        assert all(device.startswith(prefix) for device in values["device"]), values["device"]


@pytest.mark.parametrize("seconds", INTERVALS_S, ids=[f"interval{s}s" for s in INTERVALS_S])
@pytest.mark.parametrize("target", QUERIES, ids=[q.name for q in QUERIES])
def test_panel_query_returns_data(filled: Filled, target: PanelQuery, seconds: int) -> None:
    board = load_dashboards()[target.dashboard]
    chosen = {k: regex_of(v) for k, v in variable_values(filled, board).items()}
    minimum = interval_s(target.panel.get("interval", "1s"))
    query = interpolate(
        target.query, chosen, START_MS, START_MS + DURATION_MS, max(seconds, minimum)
    )
    series = filled.run(query)  # raises InfluxRejected on any error InfluxDB reports
    assert has_values(series), f"no data for {query}"


@pytest.mark.parametrize("target", QUERIES, ids=[q.name for q in QUERIES])
def test_panel_query_is_limited_to_the_chosen_site(filled: Filled, target: PanelQuery) -> None:
    board = load_dashboards()[target.dashboard]
    chosen = {k: regex_of(v) for k, v in variable_values(filled, board).items()}
    chosen["site"] = regex_of(["another-site"])
    query = interpolate(target.query, chosen, START_MS, START_MS + DURATION_MS, 60)
    assert not has_values(filled.run(query)), f"{target.name} ignores $site"


# --- structure ----------------------------------------------------------------------------------


def test_each_kind_has_a_dashboard_and_the_fleet_one() -> None:
    names = set(load_dashboards())
    assert {kind.value for kind in EquipmentKind} | {"fleet"} <= names


@pytest.mark.parametrize("kind", list(EquipmentKind))
def test_kind_dashboard_reads_only_its_kind(kind: EquipmentKind) -> None:
    mine = [q for q in QUERIES if q.dashboard == kind.value]
    assert len(mine) >= 8, "a kind's dashboard shows more than a handful of things"
    for target in mine:
        measurements = measurements_in(target.query)
        assert measurements <= {kind.value, EVENT_MEASUREMENT}, target.name
        if EVENT_MEASUREMENT in measurements:
            assert f"\"kind\" = '{kind.value}'" in target.query, target.name
        assert '"device" =~ /^$device$/' in target.query, target.name


def test_dashboard_uids_and_titles_are_unique() -> None:
    boards = list(load_dashboards().values())
    assert len({b["uid"] for b in boards}) == len(boards)
    assert len({b["title"] for b in boards}) == len(boards)
    assert all(b["schemaVersion"] >= 36 and "facmon" in b["tags"] for b in boards)


@pytest.mark.parametrize("name", sorted(load_dashboards()))
def test_panels_have_unique_ids_and_use_the_provisioned_data_source(name: str) -> None:
    board = load_dashboards()[name]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "duplicate panel id"
    titles = [panel["title"] for panel in board["panels"]]
    assert len(titles) == len(set(titles)), "two panels with one title"
    sources = [panel["datasource"] for panel in board["panels"]]
    sources += [t["datasource"] for panel in board["panels"] for t in panel["targets"]]
    sources += [v["datasource"] for v in board["templating"]["list"]]
    sources += [a["datasource"] for a in board["annotations"]["list"]]
    assert all(s == {"type": "influxdb", "uid": DATASOURCE_UID} for s in sources)
    for panel in board["panels"]:
        assert panel["targets"], f"{panel['title']} has no query"
        assert all(t["rawQuery"] is True for t in panel["targets"])
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24, f"{panel['title']} is wider than the dashboard"


def test_provisioned_data_source_has_the_uid_the_panels_use() -> None:
    import yaml

    provisioning = ROOT / "dashboards" / "grafana" / "provisioning"
    [source] = yaml.safe_load((provisioning / "datasources" / "influxdb.yml").read_text())[
        "datasources"
    ]
    assert source["uid"] == DATASOURCE_UID


@pytest.mark.parametrize("target", QUERIES, ids=[q.name for q in QUERIES])
def test_query_names_only_fields_devices_send(filled: Filled, target: PanelQuery) -> None:
    allowed: set[str] = set()
    for measurement in measurements_in(target.query):
        if measurement == EVENT_MEASUREMENT:
            allowed |= filled.event_fields
        elif measurement == STATUS_MEASUREMENT:
            allowed |= STATUS_FIELDS
        else:
            allowed |= set(CATALOGUE[EquipmentKind(measurement)])
    assert fields_in(target.query) <= allowed, f"{target.name}: unknown field"
    assert "$timeFilter" in target.query or measurements_in(target.query) == {STATUS_MEASUREMENT}


@pytest.mark.parametrize("target", QUERIES, ids=[q.name for q in QUERIES])
def test_counters_are_shown_as_increases_and_gauges_never_are(target: PanelQuery) -> None:
    kind = kind_of(measurements_in(target.query))
    if kind is None:
        return
    for field in fields_in(target.query) & set(CATALOGUE[kind]):
        functions = applied_to(target.query, field)
        if CATALOGUE[kind][field].type is MetricType.COUNTER:
            # last(): the meter reading; count(): how many readings; else an increase or rate.
            assert set(functions) <= {"last", "count", *RATES}, f"{field} in {target.name}"
        else:
            assert not set(functions) & set(RATES), f"{field} is no counter in {target.name}"


def _single_metric_panels() -> Iterator[tuple[str, dict[str, Any], EquipmentKind, str]]:
    """(dashboard, panel, kind, metric) for panels that show the level of one kind's metric(s)
    in one unit: not a rate, not a count of readings."""
    for name, board in load_dashboards().items():
        for panel in board["panels"]:
            queries = [t["query"] for t in panel["targets"]]
            [kind, *others] = {kind_of(measurements_in(q)) for q in queries}
            if kind is None or others or any(r in q for q in queries for r in (*RATES, "count(")):
                continue
            fields = sorted({f for q in queries for f in fields_in(q)} & set(CATALOGUE[kind]))
            if len({CATALOGUE[kind][f].unit for f in fields}) == 1:
                yield name, panel, kind, fields[0]


SINGLE_METRIC = list(_single_metric_panels())


@pytest.mark.parametrize(
    ("dashboard", "panel", "kind", "metric"),
    SINGLE_METRIC,
    ids=[f"{d}/{p['title']}" for d, p, _, _ in SINGLE_METRIC],
)
def test_unit_and_thresholds_agree_with_the_catalogue(
    dashboard: str, panel: dict[str, Any], kind: EquipmentKind, metric: str
) -> None:
    spec = CATALOGUE[kind][metric]
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults.get("unit") in GRAFANA_UNITS[spec.unit], f"{metric} is in {spec.unit}"
    levels = [s["value"] for s in defaults.get("thresholds", {}).get("steps", [])]
    assert all(spec.admits(v) for v in levels if v is not None), f"{levels} beyond {spec}"


def test_most_panels_are_checked_against_the_catalogue() -> None:
    # Guards the selection above: if it matched nothing, the test would prove nothing.
    assert len(SINGLE_METRIC) >= 25


def test_pure_helpers_understand_the_query_shapes_used() -> None:
    query = (
        'SELECT sum("step") FROM (SELECT non_negative_difference("trips") AS "step" FROM '
        '"elevator" WHERE "kind" = \'x\' AND "site" =~ /^a"b$/) GROUP BY "device"'
    )
    assert measurements_in(query) == {"elevator"}
    assert fields_in(query) == {"trips"}
    assert applied_to(query, "trips") == ["non_negative_difference"]
    assert applied_to('SELECT non_negative_derivative(last("opens"), 1h)', "opens") == [
        "last",
        "non_negative_derivative",
    ]
    with pytest.raises(ValueError, match="device"):
        interpolate("WHERE $device", {"site": "a"}, 0, 1, 10)
