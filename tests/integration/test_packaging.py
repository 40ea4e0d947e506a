"""An installed facmon (a wheel, as `pip install .` and the Docker image build it) carries
what the API serves: the dashboard's files and the MQTT contract."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_has_the_dashboard_grafana_and_the_contract(tmp_path: Path) -> None:
    build = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path)]
    subprocess.run([*build, str(ROOT)], check=True, capture_output=True, timeout=300)
    [wheel] = tmp_path.glob("facmon-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    web = {p.relative_to(ROOT).as_posix() for p in (ROOT / "dashboards" / "web").rglob("*")
           if p.is_file()}  # fmt: skip
    assert web and web <= names, sorted(web - names)
    grafana = {p.relative_to(ROOT).as_posix() for p in (ROOT / "dashboards" / "grafana").rglob("*")
               if p.is_file()}  # fmt: skip
    assert grafana <= names, sorted(grafana - names)
    assert any(n.endswith(".data/data/share/facmon/mqtt-contract.md") for n in names)
