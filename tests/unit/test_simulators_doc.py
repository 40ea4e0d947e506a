"""docs/simulators.md against the code: faults, signatures, events, labels and options."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from facility import EquipmentKind
from facmon import simulate_cmd
from simulators import PROFILES, FaultType, Label, Message, Simulation, SimulationOptions

DOC = Path(__file__).resolve().parents[2] / "docs" / "simulators.md"


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def table_after(header_start: str) -> list[list[str]]:
    """Data rows (cells without backticks) of the table whose header line starts so."""
    lines = text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
    return rows


def _span(hours: float) -> str:
    return f"{hours / 24:g} d" if hours >= 24 else f"{hours:g} h"


def test_fault_table_states_each_profile() -> None:
    rows = {row[0]: row[1:] for row in table_after("| Fault | Kind")}
    assert set(rows) == {str(t) for t in FaultType}
    for fault, profile in PROFILES.items():
        low, high = profile.lead_hours
        lead = "sudden" if high == 0 else f"{_span(low)} to {_span(high)}"
        expected = [str(profile.kind), lead, f"{profile.per_year:g}", _span(profile.repair_hours)]
        assert rows[fault] == expected, fault


def test_every_fault_type_has_a_section_with_its_signature() -> None:
    sections = re.split(r"^### `([a-z_]+)`\s*$", text(), flags=re.MULTILINE)
    bodies = {sections[i]: sections[i + 1] for i in range(1, len(sections), 2)}
    for fault in FaultType:
        assert fault in bodies, f"no section for {fault}"
        assert "Signature:" in bodies[fault], f"{fault} has no Signature: line"


def test_every_event_type_and_label_a_run_produces_is_documented() -> None:
    options = SimulationOptions(
        site="doc",
        counts=dict.fromkeys(EquipmentKind, 2),
        start_ms=1_714_521_600_000,
        duration_ms=20 * 86_400_000,
        interval_s=600,
        faults="all",
        outages_per_day=0.5,
    )
    events, labels = set(), set()
    for item in Simulation(options).run():
        if isinstance(item, Label):
            labels.add(item.fields["label"])
        elif isinstance(item, Message) and item.topic.endswith("/event"):
            events.add(json.loads(item.payload)["type"])
    doc = text()
    assert [e for e in sorted(events) if f"`{e}`" not in doc] == []
    documented_labels = {row[0] for row in table_after("| `label` |")}
    assert labels <= documented_labels and "sensor_spike" in documented_labels


def test_every_command_line_option_is_in_the_options_table() -> None:
    parser = argparse.ArgumentParser()
    simulate_cmd.add_arguments(parser)
    flags = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
    documented = " ".join(row[0] for row in table_after("| Option | Meaning"))
    missing = sorted(f for f in flags - {"--help"} if f not in documented)
    assert missing in ([], ["--messages", "--processes", "--rate"]), missing
    assert all(f"`{flag}`" in text() for flag in ("--processes", "--rate", "--messages"))
