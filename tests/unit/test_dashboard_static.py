"""The web dashboard's static files: they load, call only routes of the API contract, work
offline, never turn API text into markup, and their pure JavaScript rules do what the crews need.

The JavaScript checks run the dashboard's own modules in node (`scripts/setup.sh --for-tests`
installs it); the browser test covers the same ground end to end.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from facility import CATALOGUE

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "dashboards" / "web"
VENDOR = WEB / "vendor" / "uplot"
OWN_JS = sorted([WEB / "app.js", *(WEB / "js").glob("*.js")])
OWN_FILES = [WEB / "index.html", WEB / "style.css", *OWN_JS]

# The dashboard <-> API contract of issue 6 (method, path), mirrored from its route list.
CONTRACT_ROUTES: frozenset[tuple[str, str]] = frozenset(
    {
        ("GET", "/api/v1/work-orders"),
        ("POST", "/api/v1/work-orders"),
        ("GET", "/api/v1/work-orders/{id}"),
        ("POST", "/api/v1/work-orders/{id}/actions/{action}"),
        ("POST", "/api/v1/work-orders/{id}/assign"),
        ("POST", "/api/v1/work-orders/{id}/comments"),
        ("GET", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts/{id}/acknowledge"),
        ("POST", "/api/v1/alerts/{id}/dismiss"),
        ("GET", "/api/v1/kpis"),
        ("GET", "/api/v1/kpis/trend"),
        ("GET", "/api/v1/pm-plans"),
        ("GET", "/api/v1/sla-policies"),
        ("GET", "/api/v1/me"),
        ("GET", "/api/v1/devices"),
        ("GET", "/api/v1/devices/{site}/{kind}/{device}"),
        ("POST", "/api/v1/devices/{site}/{kind}/{device}/credentials"),
        ("GET", "/api/v1/telemetry"),
        ("GET", "/api/v1/events"),
        ("GET", "/api/v1/forecasts"),
        ("GET", "/api/v1/dead-letters"),
        ("GET", "/api/v1/catalogue"),
        ("GET", "/api/v1/mqtt-contract"),
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/metrics"),
        ("GET", "/api/v1/stream"),
    }
)

# The hooks the browser test relies on (besides kpi-<card> and action-<lifecycle action>).
REQUIRED_TESTIDS = {
    "signin-key", "signin-submit", "signout", "live-indicator", "alert-row", "alert-acknowledge",
    "alert-dismiss", "dismiss-reason", "dismiss-submit", "order-row", "order-page",
    "order-status", "action-error", "evidence-list", "comment-text", "comment-submit",
    "forecast-timeline", "forecast-row", "forecast-detail", "device-row", "device-page",
    "credentials-create", "credentials-password", "dead-letter-row", "mqtt-contract",
}  # fmt: skip
KPI_CARDS = {"mtta", "mttr", "response-sla", "resolution-sla", "backlog", "pm", "repeat", "alerts"}

CALL = re.compile(r"""\b(api\.get|api\.post|api\.text|fetch)\(\s*([`"'])(/api/v1/[^`"']*)\2""")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


class _References(HTMLParser):
    """The files a page loads: script src, stylesheet and icon hrefs, image src."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href"):
            if values.get(name) and tag in ("script", "link", "img"):
                self.found.append(values[name] or "")


def _index_references() -> list[str]:
    parser = _References()
    parser.feed(_text(WEB / "index.html"))
    return parser.found


def _code(path: Path) -> str:
    """A JavaScript file without its comments (which may name routes in prose)."""
    text = re.sub(r"/\*.*?\*/", "", _text(path), flags=re.S)
    return re.sub(r"^\s*//.*$", "", text, flags=re.M)


def _api_calls() -> list[tuple[str, str, str]]:
    """Every API call in the dashboard's JavaScript as (file, method, path with {} holes)."""
    calls = []
    for path in OWN_JS:
        for match in CALL.finditer(_code(path)):
            method = "POST" if match.group(1) == "api.post" else "GET"
            url = re.sub(r"\$\{query\(.*\)\}$", "", match.group(3), flags=re.S)  # the query
            url = re.sub(r"\$\{[^}]*\}", "{}", url)
            assert "?" not in url and "{}" not in url.replace("/{}", ""), f"unclear path {url}"
            calls.append((path.name, method, url))
    return calls


def _matches(path: str, route: str) -> bool:
    """A hole ({}) in the JS path may only fill a parameter ({name}) of the route."""
    ours, theirs = path.split("/"), route.split("/")
    if len(ours) != len(theirs):
        return False
    for mine, expected in zip(ours, theirs, strict=True):
        is_param = expected.startswith("{")
        if mine == "{}" and not is_param:
            return False
        if mine != "{}" and not is_param and mine != expected:
            return False
    return True


# ---- files and references -------------------------------------------------------------------


def test_every_file_the_page_loads_exists_and_is_local() -> None:
    references = _index_references()
    assert "app.js" in references
    assert "vendor/uplot/uPlot.iife.min.js" in references
    for ref in references:
        assert not re.match(r"^([a-z]+:)?//", ref), f"index.html loads {ref} from another host"
        assert (WEB / ref).is_file(), f"index.html refers to {ref}, which does not exist"


def test_every_module_import_resolves_and_every_module_is_used() -> None:
    imported: set[Path] = set()
    for path in OWN_JS:
        for spec in re.findall(r"""^\s*import\s[^;]*?from\s+["']([^"']+)["']""", _text(path), re.M):
            assert spec.startswith("."), f"{path.name} imports {spec!r}: only relative modules"
            target = (path.parent / spec).resolve()
            assert target.is_file(), f"{path.name} imports {spec}, which does not exist"
            imported.add(target)
    unused = {p.name for p in OWN_JS if p.name != "app.js" and p.resolve() not in imported}
    assert not unused, f"modules nothing imports: {sorted(unused)}"


def test_api_calls_use_only_routes_of_the_contract() -> None:
    calls = _api_calls()
    assert len(calls) >= 20, "the JS call pattern changed: this test no longer sees the calls"
    for name, method, path in calls:
        assert any(m == method and _matches(path, route) for m, route in CONTRACT_ROUTES), (
            f"{name} calls {method} {path}, which the API contract does not have"
        )


def test_every_api_path_in_the_javascript_is_a_checked_call() -> None:
    """A path written any other way would escape the contract check above."""
    for path in OWN_JS:
        text = _code(path)
        assert text.count("/api/v1/") == len(CALL.findall(text)), (
            f"{path.name} mentions /api/v1/ outside api.get/api.post/api.text/fetch calls"
        )


def test_the_route_matcher_rejects_what_it_should() -> None:
    assert _matches(
        "/api/v1/work-orders/{}/actions/{}", "/api/v1/work-orders/{id}/actions/{action}"
    )
    assert not _matches("/api/v1/alerts/{}/{}", "/api/v1/alerts/{id}/dismiss")
    assert not _matches("/api/v1/work-order/{}", "/api/v1/work-orders/{id}")


def test_the_dashboard_covers_the_views_of_the_issue() -> None:
    called = {(method, path) for _, method, path in _api_calls()}
    for needed in [
        ("GET", "/api/v1/me"), ("GET", "/api/v1/stream"), ("GET", "/api/v1/kpis/trend"),
        ("GET", "/api/v1/forecasts"), ("GET", "/api/v1/dead-letters"),
        ("GET", "/api/v1/mqtt-contract"), ("GET", "/api/v1/telemetry"),
        ("POST", "/api/v1/devices/{}/{}/{}/credentials"),
        ("POST", "/api/v1/work-orders/{}/actions/{}"),
    ]:  # fmt: skip
        assert needed in called, f"the dashboard never calls {needed}"


# ---- offline, safe, accessible --------------------------------------------------------------


def test_no_external_urls_so_the_dashboard_works_offline() -> None:
    for path in OWN_FILES:
        text = _text(path)
        urls = set(re.findall(r"https?://[^\s\"'`)]+", text))
        urls |= set(re.findall(r"[\"'`(=]\s*(//[\w-]+\.[\w.-]+)", text))  # protocol-relative
        assert urls <= {SVG_NAMESPACE}, f"{path.name} refers to {sorted(urls - {SVG_NAMESPACE})}"
    css = _text(WEB / "style.css") + _text(VENDOR / "uPlot.min.css")
    assert "@import" not in css
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", css)


def test_api_text_is_never_parsed_as_html() -> None:
    forbidden = re.compile(
        r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function"
    )
    for path in OWN_JS:
        found = forbidden.findall(_text(path))
        assert not found, f"{path.name} uses {found}: build nodes with textContent instead"


def test_content_security_policy_allows_only_this_origin() -> None:
    policy = re.search(
        r'http-equiv="Content-Security-Policy" content="([^"]+)"', _text(WEB / "index.html")
    )
    assert policy, "index.html has no Content-Security-Policy"
    directives = dict(d.strip().split(" ", 1) for d in policy.group(1).split(";") if d.strip())
    assert directives["default-src"] == "'self'"
    assert "unsafe-inline" not in directives.get("script-src", directives["default-src"])


def test_key_elements_have_stable_test_ids() -> None:
    source = "\n".join(_text(p) for p in OWN_FILES)
    defined = set(re.findall(r"""data-testid["']?\s*[:=]\s*["']([\w-]+)["']""", source))
    missing = REQUIRED_TESTIDS - defined
    assert not missing, f"data-testid not defined: {sorted(missing)}"
    assert '"data-testid": `action-${action}`' in source, "lifecycle buttons: action-<name>"
    assert '"data-testid": `kpi-${card.id}`' in source, "KPI cards: kpi-<card>"
    cards = set(re.findall(r'\{ id: "([\w-]+)", title:', _text(WEB / "js" / "manager.js")))
    assert cards == KPI_CARDS


def test_phone_layout_rules_exist() -> None:
    css = _text(WEB / "style.css")
    assert re.search(r"@media \(max-width: 7\d\dpx\)", css), "no single-column rule for phones"
    assert "--tap: 44px" in css, "tap targets must be at least 44 px"
    assert "overflow-x: hidden" in css
    assert 'name="viewport"' in _text(WEB / "index.html")


# ---- the vendored chart library -------------------------------------------------------------


def test_uplot_is_vendored_with_its_licence_and_recorded_version() -> None:
    script = _text(VENDOR / "uPlot.iife.min.js")
    version = re.search(r"\(v(\d+\.\d+\.\d+)\)", script[:200])
    assert version, "uPlot.iife.min.js lost its version banner"
    licence = _text(VENDOR / "LICENSE")
    assert "MIT License" in licence and "Leon Sorokin" in licence
    readme = _text(WEB / "vendor" / "README.md")
    assert version.group(1) in readme, "vendor/README.md must record the vendored uPlot version"
    for name in ("uPlot.iife.min.js", "uPlot.min.css", "LICENSE"):
        assert name in readme
        assert (VENDOR / name).is_file()


# ---- the pure JavaScript rules, run in node -------------------------------------------------

NODE = shutil.which("node")

PROBE = r"""
import { SseParser, actionsFor, sortByUrgency, urgency, metricsForSignature, backoff, parseRoute,
         tabsFor } from "./js/logic.js";
import { toMs, relative, dueText } from "./js/format.js";
import { parseBlocks, parseInline, safeHref } from "./js/markdown.js";
import { query } from "./js/api.js";
import { readFileSync } from "node:fs";

const input = JSON.parse(readFileSync(0, "utf8"));
const out = {};
const frames = (chunks) => { const p = new SseParser(); return chunks.flatMap((c) => p.push(c)); };
out.sse = input.sse.map(frames);
out.actions = Object.fromEntries(input.statuses.map((s) => [s, actionsFor(s)]));
out.order = sortByUrgency(input.orders).map((o) => o.id);
out.urgency = input.orders.map((o) => urgency(o, input.now));
out.metrics = input.signatures.map(
  ([sig, kind]) => metricsForSignature(sig, input.catalogue[kind]));
out.backoff = [0, 1, 2, 10].map((n) => backoff(n, () => 0.5));
out.routes = input.hashes.map(parseRoute);
out.tabs = Object.fromEntries(
  ["crew", "integrator", "manager", "viewer", "admin"].map((r) => [r, tabsFor(r)]));
out.naive = toMs("2024-05-01T12:00:00") === Date.UTC(2024, 4, 1, 12);
const at = (minutes) => new Date(input.now + minutes * 60000).toISOString();
out.relative = [relative(at(-12), input.now), dueText(at(40), input.now),
                dueText(at(-90), input.now)];
out.contract = parseBlocks(input.contract).map(
  (b) => [b.type, b.level || 0, b.text || "", (b.rows || []).length]);
out.inline = parseInline("a `<b>` **bold** [x](javascript:alert(1)) [y](#why-qos-1)");
out.hrefs = ["javascript:alert(1)", "#anchor", "https://example.org/x", "data:text/html,x"]
  .map(safeHref);
out.query = [query({ status: ["open", "on_hold"], limit: 500, site: "" }), query({ a: null })];
console.log(JSON.stringify(out));
"""

MINUTE_MS = 60_000
NOW = 1_714_564_800_000  # 2024-05-01T12:00:00Z


def _iso(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


def _order(
    id_: int, status: str, response_in: int | None, resolve_in: int | None, **extra: Any
) -> dict[str, Any]:
    return {
        "id": id_, "status": status, "priority": extra.get("priority", "P3"),
        "opened_at": _iso(NOW - 60 * MINUTE_MS), "acknowledged_at": extra.get("acknowledged_at"),
        "response_due": None if response_in is None else _iso(NOW + response_in * MINUTE_MS),
        "resolve_due": None if resolve_in is None else _iso(NOW + resolve_in * MINUTE_MS),
    }  # fmt: skip


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Runs the dashboard's pure modules in node over the cases below and returns what they said."""
    if NODE is None:
        pytest.fail("node is not installed: scripts/setup.sh --for-tests installs it")
    work = tmp_path_factory.mktemp("web")
    shutil.copytree(WEB / "js", work / "js")
    (work / "package.json").write_text('{"type": "module"}')
    (work / "probe.js").write_text(PROBE)
    catalogue = {
        kind.value: [{"name": s.name, "type": s.type.value} for s in specs.values()]
        for kind, specs in CATALOGUE.items()
    }
    orders = [
        _order(1, "in_progress", None, 300),
        _order(2, "open", -10, 600),  # response overdue
        _order(3, "acknowledged", -10, 30, acknowledged_at=_iso(NOW - 20 * MINUTE_MS)),
        _order(4, "on_hold", None, None),
        _order(5, "closed", -500, -400),  # not active: not in the queue
        _order(6, "open", 50, 600, priority="P1"),
    ]
    cases = {
        "now": NOW,
        "sse": [
            ["event: alert\ndata: {\"id\": 1}\n\n"],
            ["event: work_", "order\r\ndata: {\"id\"", ": 2}\r", "\n\r\n"],
            [": keep-alive\n\n", "data: a\ndata: b\n\n", "event: device\ndata: x\n"],
        ],
        "statuses": ["open", "acknowledged", "in_progress", "on_hold", "resolved", "closed",
                     "cancelled", "nonsense"],
        "orders": orders,
        "signatures": [["vibration_mm_s:high", "pump"], ["door_close_time:high", "elevator"],
                       ["vibration_running:high", "pump"], ["offline", "pump"],
                       ["battery_float:low", "fire_panel"]],
        "catalogue": catalogue,
        "hashes": ["#/crew/order/123", "#/integrator/device/tower-a/pump/p%201", "", "#/manager"],
        "contract": (ROOT / "docs" / "mqtt-contract.md").read_text(encoding="utf-8"),
    }  # fmt: skip
    shutil.copy(WEB / "app.js", work / "app.js")
    for path in [work / "app.js", *sorted((work / "js").glob("*.js")), work / "probe.js"]:
        checked = subprocess.run([NODE, "--check", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, f"{path.name} does not parse:\n{checked.stderr}"
    ran = subprocess.run(
        [NODE, "probe.js"], cwd=work, input=json.dumps(cases), capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_server_sent_events_are_framed_across_chunks(probe: dict[str, Any]) -> None:
    first, split, mixed = probe["sse"]
    assert first == [{"event": "alert", "data": '{"id": 1}'}]
    assert split == [{"event": "work_order", "data": '{"id": 2}'}], "CRLF split across chunks"
    # The keep-alive comment is no event; data lines join; an unfinished event waits.
    assert mixed == [{"event": "message", "data": "a\nb"}]


def test_only_actions_valid_for_the_status_are_offered(probe: dict[str, Any]) -> None:
    assert probe["actions"] == {
        "open": ["acknowledge", "start", "cancel"],
        "acknowledged": ["start", "cancel"],
        "in_progress": ["hold", "resolve"],
        "on_hold": ["resume"],
        "resolved": ["close", "reopen"],
        "closed": ["reopen"],
        "cancelled": ["reopen"],
        "nonsense": [],
    }


def test_query_strings_repeat_a_name_for_each_value(probe: dict[str, Any]) -> None:
    """The crew queue asks for all active statuses in one request (status repeated)."""
    assert probe["query"] == ["?status=open&status=on_hold&limit=500", ""]


def test_queue_puts_overdue_first_then_nearest_deadline(probe: dict[str, Any]) -> None:
    # 2: response overdue; 3: acknowledged, so its resolve deadline (30 min) counts;
    # 6: response in 50 min; 1: resolve in 5 h; 4: no deadline; 5 is closed.
    assert probe["order"] == [2, 3, 6, 1, 4]
    assert probe["urgency"] == ["ok", "overdue", "soon", "none", "overdue", "soon"]


def test_alert_signatures_point_at_catalogue_metrics(probe: dict[str, Any]) -> None:
    exact, prefixed, worded, event, battery = probe["metrics"]
    assert exact == ["vibration_mm_s"]
    assert prefixed == ["door_close_time_s"]
    assert worded == ["vibration_mm_s"]
    assert event == ["flow_m3_h", "pressure_bar"], "no metric in the name: the kind's first gauges"
    assert battery == ["battery_v"]


def test_reconnection_backs_off_to_thirty_seconds(probe: dict[str, Any]) -> None:
    assert probe["backoff"] == [1000, 2000, 4000, 30000]


def test_routes_tabs_and_times(probe: dict[str, Any]) -> None:
    assert probe["routes"] == [
        {"view": "crew", "parts": ["order", "123"]},
        {"view": "integrator", "parts": ["device", "tower-a", "pump", "p 1"]},
        {"view": "", "parts": []},
        {"view": "manager", "parts": []},
    ]
    assert probe["tabs"]["crew"] == ["crew"]
    assert probe["tabs"]["integrator"] == ["integrator"]
    assert probe["tabs"]["viewer"][0] == "manager"
    assert probe["tabs"]["manager"][0] == "manager"
    assert sorted(probe["tabs"]["admin"]) == ["crew", "integrator", "manager"]
    assert probe["naive"], "a time without a zone is UTC, not the browser's local time"
    assert probe["relative"] == ["12 min ago", "due in 40 min", "overdue by 1.5 h"]


def test_the_mqtt_contract_renders_as_headings_tables_and_code(probe: dict[str, Any]) -> None:
    blocks = probe["contract"]
    text = (ROOT / "docs" / "mqtt-contract.md").read_text(encoding="utf-8")
    outside_code = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    headings = re.findall(r"^#{1,6} +(.+?)\s*$", outside_code, re.M)
    assert [b[2] for b in blocks if b[0] == "heading"] == headings
    assert sum(1 for b in blocks if b[0] == "code") == len(re.findall(r"^```", text, re.M)) // 2
    tables = [b for b in blocks if b[0] == "table"]
    assert tables and all(rows > 0 for *_, rows in tables)


def test_markdown_links_cannot_run_script(probe: dict[str, Any]) -> None:
    kinds = [(p["type"], p["text"]) for p in probe["inline"]]
    assert ("code", "<b>") in kinds and ("strong", "bold") in kinds
    assert probe["hrefs"] == [None, "#anchor", "https://example.org/x", None]
