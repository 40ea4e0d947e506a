// Integrator view: devices with their online state and message rates, one device's readings,
// charts, topics and MQTT credentials, the dead letters with their reasons, and the contract.

import { api, query, seg } from "./api.js";
import { barList, forecastSummary, timeChart } from "./charts.js";
import { copyText, fill, h, loading, problem, selectBox } from "./dom.js";
import { localTime, rate, reading, relative } from "./format.js";
import { tabsFor, upsert } from "./logic.js";
import { renderMarkdown } from "./markdown.js";

const deviceKey = (d) => `${d.site}/${d.kind}/${d.device}`;
const REASON_COLORS = ["#b3261e", "#8a4b00", "#6d28d9", "#0b57d0", "#146c2e", "#5f6368"];

function onlineDot(online) {
  const text = online === true ? "online" : online === false ? "offline" : "unknown";
  return h("span", { class: ["dot", text], "data-testid": "online-state", "data-online": text }, h("span", { class: "sr-label" }, text));
}

/** A table cell labelled by its column: on a phone each row is a card of "label value" lines. */
function cell(label, ...children) {
  return h("td", { "data-label": label }, h("span", { class: "cell" }, children));
}

/** A cell shown without its label on a phone: the card's title line (state, name, place). */
function headCell(label, ...children) {
  return h("td", { "data-label": label, class: "head" }, h("span", { class: "cell" }, children));
}

function deviceHref(d) {
  return `#/integrator/device/${seg(d.site)}/${seg(d.kind)}/${seg(d.device)}`;
}

export function createIntegratorView(ctx) {
  const state = {
    devices: [],
    devicesError: null,
    filters: { site: "", kind: "", online: "" },
    device: null, // the key of the open device page
    reason: "",
    contract: null,
    page: "devices",
  };
  let root = null;
  let body = null;
  let tableBox = null;

  function subnav(active) {
    const link = (page, href, text) =>
      h("a", { href, class: ["subtab", active === page && "active"], "aria-current": active === page ? "page" : null, "data-testid": `subtab-${page}` }, text);
    return h("nav", { class: "subnav", "aria-label": "Integrator pages" },
      link("devices", "#/integrator", "Devices"),
      link("dead-letters", "#/integrator/dead-letters", "Dead letters"),
      link("contract", "#/integrator/contract", "MQTT contract"));
  }

  // ---- devices -------------------------------------------------------------------------------

  async function loadDevices() {
    try {
      state.devices = await api.get("/api/v1/devices");
      state.devicesError = null;
    } catch (error) {
      state.devicesError = error;
    }
  }

  function renderDevices() {
    tableBox = h("div", {}, loading());
    fill(body, h("section", { class: "panel" }, h("h2", {}, "Devices"), h("div", { class: "filters", "data-slot": "device-filters" }), tableBox));
    drawDevices();
  }

  function drawDevices() {
    if (!tableBox || !tableBox.isConnected) return;
    const f = state.filters;
    const sites = [...new Set(state.devices.map((d) => d.site))].sort();
    const kinds = [...new Set(state.devices.map((d) => d.kind))].sort();
    const filterBox = body.querySelector("[data-slot=device-filters]");
    const key = JSON.stringify([sites, kinds, f]);
    if (filterBox.dataset.key !== key) {
      filterBox.dataset.key = key;
      const set = (name) => (value) => {
        state.filters[name] = value;
        drawDevices();
      };
      fill(filterBox,
        selectBox("Site", "device-site", sites, f.site, set("site")),
        selectBox("Kind", "device-kind", kinds, f.kind, set("kind")),
        h("div", { class: "field" },
          h("label", { for: "device-online" }, "State"),
          h("select", { id: "device-online", "data-testid": "device-online", onchange: (e) => set("online")(e.target.value) },
            h("option", { value: "" }, "All"),
            h("option", { value: "true", selected: f.online === "true" }, "Online"),
            h("option", { value: "false", selected: f.online === "false" }, "Offline"))));
    }
    if (state.devicesError) return fill(tableBox, problem(state.devicesError));
    const rows = state.devices
      .filter((d) => !f.site || d.site === f.site)
      .filter((d) => !f.kind || d.kind === f.kind)
      .filter((d) => !f.online || String(d.online === true) === f.online)
      .sort((a, b) => deviceKey(a).localeCompare(deviceKey(b)));
    const online = state.devices.filter((d) => d.online === true).length;
    fill(tableBox,
      h("p", { class: "muted" }, `${state.devices.length} devices, ${online} online; showing ${rows.length}.`),
      rows.length ? deviceTable(rows) : h("p", { class: "muted empty" }, "No devices match."));
  }

  function deviceTable(rows) {
    return h("table", { class: "cards-on-phone compact", "data-testid": "device-table" },
      h("thead", {}, h("tr", {}, ["State", "Device", "Site", "Kind", "Last seen", "Rate", "Open alerts", "Uncatalogued metrics"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows.map((d) =>
        h("tr", { "data-testid": "device-row", "data-device": deviceKey(d) },
          headCell("State", onlineDot(d.online), d.online === true ? " online" : d.online === false ? " offline" : " unknown"),
          headCell("Device", h("a", { href: deviceHref(d), class: "strong-link" }, d.device)),
          headCell("Site", d.site),
          headCell("Kind", d.kind),
          cell("Last seen", h("time", { datetime: d.last_seen || "", title: localTime(d.last_seen) }, relative(d.last_seen))),
          cell("Rate", rate(d.messages_per_min)),
          cell("Open alerts", d.open_alerts ? h("span", { class: "badge sev-major" }, String(d.open_alerts)) : "0"),
          cell("Uncatalogued", (d.uncatalogued_metrics || []).length
            ? d.uncatalogued_metrics.map((m) => h("span", { class: "chip warn" }, m))
            : h("span", { class: "muted" }, "none"))))));
  }

  // ---- one device ----------------------------------------------------------------------------

  async function renderDevice(site, kind, device) {
    const key = `${site}/${kind}/${device}`;
    state.device = key;
    const page = h("div", { class: "device-page", "data-testid": "device-page" }, loading("Loading device…"));
    const back = tabsFor(ctx.me.role).includes("integrator")
      ? h("a", { href: "#/integrator", class: "back" }, "← Devices")
      : h("button", { type: "button", class: "btn secondary", onclick: () => history.back() }, "← Back");
    fill(body, back, page);
    let detail;
    try {
      detail = await api.get(`/api/v1/devices/${seg(site)}/${seg(kind)}/${seg(device)}`);
    } catch (error) {
      return fill(page, problem(error));
    }
    const catalogue = await ctx.catalogue().catch(() => ({}));
    const specs = Object.fromEntries((catalogue[kind] || []).map((spec) => [spec.name, spec]));
    if (state.device !== key) return;
    const charts = h("div", { class: "chart-grid" });
    const events = h("section", { class: "panel" }, h("h3", {}, "Recent events"), loading());
    fill(page,
      h("header", { class: "order-header" },
        h("h2", {}, onlineDot(detail.online), ` ${detail.device}`),
        h("p", { class: "where" }, `${detail.site} · ${detail.kind}`),
        h("p", { class: "meta" },
          `Last seen ${relative(detail.last_seen)}${detail.last_seen ? ` (${localTime(detail.last_seen)})` : ""} · ${rate(detail.messages_per_min)} · ${detail.open_alerts || 0} open alerts`)),
      readingsBlock(detail, specs),
      credentialsBlock(detail),
      detail.forecast ? h("section", { class: "panel" }, h("h3", {}, "Forecast"), h("p", {}, forecastSummary(detail.forecast) || "Nothing due.")) : null,
      h("section", { class: "panel" }, h("h3", {}, "Last 6 hours"), charts),
      events);
    drawCharts(charts, detail);
    drawEvents(events, detail);
  }

  function rangeText(m, spec) {
    if (!m.in_catalogue) return "—";
    if (spec && spec.type === "counter") return "a counter (only grows)";
    if (m.unit === "bool" || (spec && spec.type === "state")) return "yes / no";
    const unit = m.unit && m.unit !== "1" ? ` ${m.unit}` : "";
    return `${reading(m.min)} … ${reading(m.max)}${unit}`;
  }

  function readingsBlock(detail, specs) {
    const metrics = detail.metrics || [];
    return h("section", { class: "panel" }, h("h3", {}, "Latest readings"),
      metrics.length
        ? h("table", { class: "cards-on-phone compact", "data-testid": "metric-table" },
            h("thead", {}, h("tr", {}, ["Metric", "Value", "Catalogue range", "Check"].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", {}, metrics.map((m) => {
              const numeric = typeof m.value === "number";
              const outside = m.in_catalogue && numeric && m.min !== null && m.max !== null && (m.value < m.min || m.value > m.max);
              const check = !m.in_catalogue ? ["not in catalogue", "warn"] : outside ? ["out of range", "bad"] : ["ok", "good"];
              return h("tr", { "data-testid": "metric-row" },
                headCell("Metric", h("code", {}, m.name)),
                cell("Value", h("strong", {}, reading(m.value, m.unit))),
                cell("Range", rangeText(m, specs[m.name])),
                cell("Check", h("span", { class: ["chip", check[1]] }, check[0])));
            })))
        : h("p", { class: "muted" }, "No readings yet."));
  }

  function credentialsBlock(detail) {
    const topics = detail.topics || {};
    const out = h("div", { "data-slot": "credentials-result" });
    const section = h("section", { class: "panel", "data-testid": "credentials" },
      h("h3", {}, "MQTT connection"),
      h("dl", { class: "facts" },
        h("dt", {}, "Username"), h("dd", {}, h("code", { "data-testid": "mqtt-username" }, detail.mqtt_username || "—")),
        h("dt", {}, "Password"), h("dd", {}, detail.credentials_provisioned ? "provisioned (facmon keeps only a hash)" : "not provisioned yet"),
        ...["telemetry", "event", "status"].flatMap((name) => [h("dt", {}, `${name} topic`), h("dd", {}, h("code", { class: "wrap" }, topics[name] || "—"))])),
      out);
    if (ctx.me.role === "integrator" || ctx.me.role === "admin") {
      out.append(h("button", { type: "button", class: "btn", "data-testid": "credentials-create", onclick: () => confirmCredentials(detail, out) }, "Create new credentials"));
    }
    return section;
  }

  function confirmCredentials(detail, out) {
    fill(out,
      h("div", { class: "warning", role: "alert" },
        h("p", {}, detail.credentials_provisioned
          ? "A new password ends the current one: the device is disconnected until it is configured with the new password."
          : "The password is shown once. Have the device's configuration at hand.")),
      h("div", { class: "row-buttons" },
        h("button", { type: "button", class: "btn danger", "data-testid": "credentials-confirm", onclick: () => createCredentials(detail, out) }, "Create and show password"),
        h("button", { type: "button", class: "btn secondary", onclick: () => fill(out, h("button", { type: "button", class: "btn", "data-testid": "credentials-create", onclick: () => confirmCredentials(detail, out) }, "Create new credentials")) }, "Cancel")));
  }

  async function createCredentials(detail, out) {
    fill(out, loading("Creating…"));
    try {
      const made = await api.post(`/api/v1/devices/${seg(detail.site)}/${seg(detail.kind)}/${seg(detail.device)}/credentials`, {});
      const field = h("input", { id: "new-password", type: "text", readonly: true, value: made.password, class: "mono", "data-testid": "credentials-password" });
      const copied = h("span", { class: "muted", role: "status" });
      fill(out,
        h("div", { class: "warning" }, h("strong", {}, "Copy this password now. "), "It is shown only this once; facmon keeps only a hash. The previous password no longer works."),
        h("dl", { class: "facts" }, h("dt", {}, "Username"), h("dd", {}, h("code", {}, made.username))),
        h("div", { class: "field" }, h("label", { for: "new-password" }, "Password"), field),
        h("div", { class: "row-buttons" },
          h("button", { type: "button", class: "btn", "data-testid": "credentials-copy", onclick: async () => { copied.textContent = (await copyText(made.password, field)) ? "Copied." : "Select the text and copy it."; } }, "Copy password"),
          copied),
        h("p", {}, "Allowed topics:"), h("ul", {}, (made.topics || []).map((t) => h("li", {}, h("code", { class: "wrap" }, t)))));
      out.scrollIntoView({ block: "nearest" });
      field.focus();
      field.select();
    } catch (error) {
      fill(out, h("p", { class: "error", role: "alert" }, error.message));
    }
  }

  async function drawCharts(section, detail) {
    const numeric = (detail.metrics || []).filter((m) => typeof m.value === "number" || typeof m.value === "boolean");
    if (!numeric.length) return section.append(h("p", { class: "muted" }, "Nothing to chart yet."));
    for (const m of numeric) {
      const box = h("div", { class: "chart-box" }, h("h4", {}, m.name));
      section.append(box);
      try {
        const series = await api.get(`/api/v1/telemetry${query({ site: detail.site, kind: detail.kind, device: detail.device, metric: m.name })}`);
        timeChart(box, { series: [{ label: m.name, unit: series.unit || m.unit, points: series.points }], height: 180, testid: "device-chart" });
      } catch (error) {
        box.append(problem(error));
      }
    }
  }

  async function drawEvents(section, detail) {
    try {
      const events = await api.get(`/api/v1/events${query({ site: detail.site, kind: detail.kind, device: detail.device, limit: 20 })}`);
      fill(section, h("h3", {}, "Recent events"),
        events.length
          ? h("ul", { class: "plain-list" }, events.map((e) =>
              h("li", {}, h("strong", {}, e.type), ` · ${relative(e.ts)} · `,
                h("span", { class: "muted" }, Object.entries(e.fields || {}).map(([k, v]) => `${k}: ${v}`).join(", ")))))
          : h("p", { class: "muted" }, "No events."));
    } catch (error) {
      fill(section, h("h3", {}, "Recent events"), problem(error));
    }
  }

  // ---- dead letters --------------------------------------------------------------------------

  async function renderDeadLetters() {
    const box = h("div", {}, loading());
    fill(body, h("section", { class: "panel" }, h("h2", {}, "Dead letters"),
      h("p", { class: "muted" }, "Messages facmon could not store, with the reason and what to fix. Tap a reason to see only those."), box));
    try {
      const result = await api.get(`/api/v1/dead-letters${query({ reason: state.reason, limit: 100 })}`);
      drawDeadLetters(box, result);
    } catch (error) {
      fill(box, problem(error));
    }
  }

  function drawDeadLetters(box, result) {
    const counts = Object.entries(result.counts || {}).sort((a, b) => b[1] - a[1]);
    const chart = barList(counts.map(([reason, n], i) => ({
      label: reason,
      value: n,
      color: REASON_COLORS[i % REASON_COLORS.length],
      selected: state.reason === reason,
      testid: "dead-letter-count",
      onclick: () => {
        state.reason = state.reason === reason ? "" : reason;
        renderDeadLetters();
      },
    })), { testid: "dead-letter-chart", emptyText: "No dead letters: every message was stored." });
    const items = result.items || [];
    fill(box,
      h("h3", {}, "By reason"), chart,
      h("h3", {}, state.reason ? `Latest with reason ${state.reason}` : "Latest"),
      state.reason ? h("button", { type: "button", class: "btn secondary", onclick: () => { state.reason = ""; renderDeadLetters(); } }, "Show all reasons") : null,
      items.length
        ? h("ul", { class: "dead-letters" }, items.map((d) =>
            h("li", { class: "dead-letter", "data-testid": "dead-letter-row" },
              h("div", { class: "alert-head" }, h("span", { class: "badge sev-warning" }, d.reason), h("code", { class: "wrap" }, d.topic)),
              h("p", {}, d.detail),
              h("pre", { class: "payload" }, excerpt(d.payload)),
              h("p", { class: "meta" }, `${relative(d.received_at)} (${localTime(d.received_at)}) · ${d.payload_bytes ?? "?"} bytes`))))
        : h("p", { class: "muted" }, "None."));
  }

  function excerpt(payload) {
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    if (!text) return "(empty payload)";
    return text.length > 400 ? `${text.slice(0, 400)}… (${text.length - 400} more characters)` : text;
  }

  // ---- MQTT contract -------------------------------------------------------------------------

  async function renderContract() {
    const box = h("section", { class: "panel contract", "data-testid": "mqtt-contract" }, loading());
    fill(body, box);
    try {
      if (state.contract === null) state.contract = await api.text("/api/v1/mqtt-contract");
      fill(box, renderMarkdown(state.contract, "contract-"));
    } catch (error) {
      fill(box, problem(error));
    }
  }

  return {
    title: "Integrator",
    async render(container, parts) {
      root = container;
      body = h("div");
      const page = parts[0] === "device" && parts.length >= 4 ? "devices" : parts[0] || "devices";
      state.page = parts[0] === "device" ? "device" : page;
      // A crew following a work order's device sees that page only, not the integrator pages.
      const integrator = tabsFor(ctx.me.role).includes("integrator");
      fill(root, integrator ? subnav(page) : null, body);
      state.device = null;
      if (parts[0] === "device" && parts.length >= 4) return renderDevice(parts[1], parts[2], parts[3]);
      if (parts[0] === "dead-letters") return renderDeadLetters();
      if (parts[0] === "contract") return renderContract();
      renderDevices();
      await loadDevices();
      drawDevices();
    },
    async refresh() {
      if (state.page === "devices") {
        await loadDevices();
        drawDevices();
      } else if (state.page === "dead-letters") {
        await renderDeadLetters();
      }
      // A device page keeps its charts; the stream updates its state, reloading would flicker.
    },
    onEvent(type, data) {
      if (type !== "device" || !data || !data.device) return;
      const current = state.devices.find((d) => deviceKey(d) === deviceKey(data));
      state.devices = upsert(state.devices, { ...(current || {}), ...data }, deviceKey);
      drawDevices();
      if (state.device === deviceKey(data) && root) {
        const dot = root.querySelector(".device-page h2 .dot");
        if (dot) dot.replaceWith(onlineDot(data.online));
      }
    },
  };
}
