// Manager view: KPI cards with weekly trends, SLA compliance by week, the backlog by age and
// priority, the maintenance forecast timeline, PM compliance, and per-site and per-kind tables.

import { api, query } from "./api.js";
import { barList, forecastSummary, forecastTimeline, forecastsWithin, sparkline, timeChart } from "./charts.js";
import { fill, h, loading, problem } from "./dom.js";
import { localDate, localTime, minutes, pct, relative, toMs } from "./format.js";

const DAY_MS = 86400000;
const FORECAST_DAYS = 90;
const REFRESH_MS = 120000;

function confirmedShare(k) {
  const judged = (k.alerts_confirmed || 0) + (k.alerts_dismissed || 0);
  return judged ? (100 * k.alerts_confirmed) / judged : null;
}

const count = (v) => (v === null || v === undefined ? "—" : String(v));

/** The KPI cards: what each shows, how to read its trend (lower or higher is better). */
export const KPI_CARDS = [
  { id: "mtta", title: "MTTA", hint: "mean time to acknowledge", of: (k) => k.mtta_minutes, show: minutes, lowerIsBetter: true, delta: (d) => minutes(Math.abs(d)) },
  { id: "mttr", title: "MTTR", hint: "mean time to resolve", of: (k) => k.mttr_minutes, show: minutes, lowerIsBetter: true, delta: (d) => minutes(Math.abs(d)) },
  { id: "response-sla", title: "Response SLA", hint: "responded in time", of: (k) => k.response_compliance_pct, show: pct, judged: (k) => k.response_judged },
  { id: "resolution-sla", title: "Resolution SLA", hint: "resolved in time", of: (k) => k.resolution_compliance_pct, show: pct, judged: (k) => k.resolution_judged },
  { id: "backlog", title: "Backlog", hint: "open work orders", of: (k) => k.backlog_total, show: count, lowerIsBetter: true, delta: (d) => count(Math.abs(d)) },
  { id: "pm", title: "PM compliance", hint: "planned maintenance done in time", of: (k) => k.pm_compliance_pct, show: pct, judged: (k) => k.pm_judged },
  { id: "repeat", title: "Repeat failures", hint: "corrective orders that recurred", of: (k) => k.repeat_failure_pct, show: pct, lowerIsBetter: true },
  { id: "alerts", title: "Alerts confirmed / dismissed", hint: "trend: share confirmed", of: confirmedShare, show: () => "", value: (k) => `${k.alerts_confirmed ?? 0} / ${k.alerts_dismissed ?? 0}` },
];

function deltaText(card, trend) {
  const values = trend.map((w) => card.of(w)).filter((v) => v !== null && v !== undefined);
  if (values.length < 2) return null;
  const d = values[values.length - 1] - values[values.length - 2];
  if (Math.abs(d) < 1e-9) return h("p", { class: "delta" }, "same as the week before");
  const good = card.lowerIsBetter ? d < 0 : d > 0;
  const amount = card.delta ? card.delta(d) : `${Math.abs(Math.round(d * 10) / 10)} pts`;
  return h("p", { class: ["delta", good ? "good" : "bad"] }, `${d > 0 ? "▲" : "▼"} ${amount} vs the week before`);
}

function kpiCard(card, overall, trend) {
  const judged = card.judged ? card.judged(overall) : null;
  const value = card.value ? card.value(overall) : card.show(card.of(overall));
  return h("article", { class: "kpi-card", "data-testid": `kpi-${card.id}` },
    h("h3", {}, card.title),
    h("p", { class: "kpi-value", "data-testid": "card-value" }, value),
    h("p", { class: "kpi-sub" }, judged !== null && judged !== undefined ? `${card.hint}; ${judged} judged` : card.hint),
    trend.length ? sparkline(trend.map((w) => card.of(w) ?? null), { label: `${card.title}, weekly trend`, width: 140 }) : null,
    trend.length ? deltaText(card, trend) : null);
}

const AGE_BUCKETS = [["<1d", "#146c2e"], ["1-3d", "#8a6d00"], ["3-7d", "#b35c00"], [">7d", "#b3261e"]];
const PRIORITIES = [["P1", "#b3261e"], ["P2", "#b35c00"], ["P3", "#0b57d0"], ["P4", "#5f6368"]];

function groupTable(title, testid, groups) {
  const names = Object.keys(groups || {}).sort();
  if (!names.length) return h("section", { class: "panel" }, h("h2", {}, title), h("p", { class: "muted" }, "No work orders in this period."));
  const columns = [
    ["Orders", (k) => count(k.orders_opened)],
    ["MTTA", (k) => minutes(k.mtta_minutes)],
    ["MTTR", (k) => minutes(k.mttr_minutes)],
    ["Response SLA", (k) => pct(k.response_compliance_pct)],
    ["Resolution SLA", (k) => pct(k.resolution_compliance_pct)],
    ["Backlog", (k) => count(k.backlog_total)],
    ["PM", (k) => pct(k.pm_compliance_pct)],
    ["Repeat", (k) => pct(k.repeat_failure_pct)],
  ];
  return h("section", { class: "panel" }, h("h2", {}, title),
    h("div", { class: "table-wrap" },
      h("table", { "data-testid": testid },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, ""), columns.map(([t]) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, names.map((name) => h("tr", {}, h("th", { scope: "row" }, name), columns.map(([, f]) => h("td", {}, f(groups[name])))))))));
}

function judged(weeks) {
  return weeks.some((w) => w.response_compliance_pct != null || w.resolution_compliance_pct != null);
}

function planTrigger(p) {
  if (p.every_days) return `every ${p.every_days} days`;
  if (p.meter) return `every ${p.every_units} ${p.meter}`;
  if (p.forecast_metric) return `${p.within_days} days before ${p.forecast_metric} is forecast to cross`;
  return "—";
}

export function createManagerView() {
  let root = null;
  let pending = null;
  const state = { selected: null };

  async function load() {
    const calls = await Promise.allSettled([
      api.get("/api/v1/kpis"),
      api.get(`/api/v1/kpis/trend${query({ weeks: 12 })}`),
      api.get("/api/v1/forecasts"),
      api.get("/api/v1/pm-plans"),
    ]);
    return calls.map((c) => (c.status === "fulfilled" ? { ok: c.value } : { error: c.reason }));
  }

  function draw(container, [kpis, trend, forecasts, plans]) {
    const weeks = trend.ok || [];
    const sections = [];
    if (kpis.error) {
      sections.push(h("section", { class: "panel" }, h("h2", {}, "KPIs"), problem(kpis.error)));
    } else {
      const k = kpis.ok;
      sections.push(h("section", { "aria-labelledby": "kpi-title" },
        h("div", { class: "section-head" },
          h("h2", { id: "kpi-title" }, "Service KPIs"),
          h("p", { class: "muted" }, `${localDate(k.from)} – ${localDate(k.to)}${k.computed_s_ago !== undefined ? `; computed ${relative(new Date(Date.now() - 1000 * k.computed_s_ago).toISOString())}` : ""}${trend.error ? "" : "; lines: last 12 weeks"}`)),
        trend.error ? problem(trend.error) : null,
        h("div", { class: "kpi-grid" }, KPI_CARDS.map((card) => kpiCard(card, k.overall, weeks)))));
    }
    sections.push(slaSection(weeks, trend.error));
    if (kpis.ok) sections.push(backlogSection(kpis.ok.overall));
    sections.push(forecastSection(forecasts));
    sections.push(pmSection(kpis.ok, plans, weeks));
    if (kpis.ok) {
      sections.push(groupTable("By site", "site-kpis", kpis.ok.by_site), groupTable("By equipment kind", "kind-kpis", kpis.ok.by_kind));
    }
    fill(container, sections);
    // Charts measure their container, so they are drawn once the page is in the document.
    const slaBox = container.querySelector("[data-slot=sla-chart]");
    if (slaBox && weeks.length) {
      const points = (f) => weeks.map((w) => [toMs(w.to), f(w) ?? null]);
      timeChart(slaBox, {
        series: [
          { label: "Response SLA", unit: "%", points: points((w) => w.response_compliance_pct), color: "#0b57d0" },
          { label: "Resolution SLA", unit: "%", points: points((w) => w.resolution_compliance_pct), color: "#b35c00" },
        ],
        yRange: [0, 100],
        height: 220,
        testid: "sla-chart",
      });
    }
    const timelineBox = container.querySelector("[data-slot=timeline]");
    if (timelineBox && forecasts.ok) drawTimeline(timelineBox, forecasts.ok);
  }

  function slaSection(weeks, error) {
    return h("section", { class: "panel" }, h("h2", {}, "SLA compliance by week"),
      error ? problem(error) : judged(weeks) ? h("div", { "data-slot": "sla-chart" }) : h("p", { class: "muted" }, "No work order had an SLA to judge in these weeks."));
  }

  function backlogSection(overall) {
    const age = overall.backlog_by_age || {};
    const prio = overall.backlog_by_priority || {};
    return h("div", { class: "columns" },
      h("section", { class: "panel" }, h("h2", {}, "Backlog by age"),
        barList(AGE_BUCKETS.map(([b, color]) => ({ label: b, value: age[b] || 0, color })), { testid: "backlog-age" })),
      h("section", { class: "panel" }, h("h2", {}, "Backlog by priority"),
        barList(PRIORITIES.map(([p, color]) => ({ label: p, value: prio[p] || 0, color })), { testid: "backlog-priority" })));
  }

  function forecastSection(forecasts) {
    if (forecasts.error) return h("section", { class: "panel" }, h("h2", {}, "Maintenance forecast"), problem(forecasts.error));
    const all = forecasts.ok.devices || [];
    const shown = forecastsWithin(all, Date.now() + FORECAST_DAYS * DAY_MS).length;
    return h("section", { class: "panel", "aria-labelledby": "forecast-title" },
      h("div", { class: "section-head" },
        h("h2", { id: "forecast-title" }, `What will need service in the next ${FORECAST_DAYS} days`),
        h("p", { class: "muted" }, forecasts.ok.computed_at ? `forecast ${relative(forecasts.ok.computed_at)} (${localTime(forecasts.ok.computed_at)})` : "no forecast computed yet")),
      h("ul", { class: "legend", "aria-label": "Legend" },
        h("li", {}, h("span", { class: "key crossing" }), "likely limit crossing"),
        h("li", {}, h("span", { class: "key band" }), "earliest – latest"),
        h("li", {}, h("span", { class: "key usage" }), "usage-based service due"),
        h("li", {}, h("span", { class: "key late" }), "already due")),
      h("div", { class: "timeline-box", "data-slot": "timeline" }),
      h("div", { class: "forecast-detail", "data-testid": "forecast-detail", "aria-live": "polite" },
        state.selected ? detailOf(state.selected) : h("p", { class: "muted" }, shown ? "Tap a row for the reason." : "")),
      h("p", { class: "muted" }, `${shown} of ${all.length} devices have something due within ${FORECAST_DAYS} days.`));
  }

  function detailOf(f) {
    return [h("strong", {}, `${f.site} · ${f.kind} · ${f.device}`), h("p", {}, forecastSummary(f) || "No reason given.")];
  }

  function drawTimeline(box, forecasts) {
    const detail = root.querySelector("[data-testid=forecast-detail]");
    const chart = forecastTimeline(box, forecasts.devices || [], {
      days: FORECAST_DAYS,
      onSelect: (f) => {
        state.selected = f;
        fill(detail, detailOf(f));
      },
    });
    const rows = chart.querySelectorAll("[data-testid=forecast-row]").length;
    box.append(rows ? chart : h("p", { class: "muted", "data-testid": "forecast-timeline" }, `Nothing is forecast to need service in the next ${FORECAST_DAYS} days.`));
  }

  function pmSection(kpis, plans, weeks) {
    const overall = kpis && kpis.overall;
    const bySite = kpis ? Object.entries(kpis.by_site || {}).filter(([, k]) => k.pm_compliance_pct !== null && k.pm_compliance_pct !== undefined) : [];
    return h("section", { class: "panel", "data-testid": "pm-compliance" }, h("h2", {}, "Preventive maintenance"),
      overall
        ? h("p", { class: "big-number" }, pct(overall.pm_compliance_pct), h("span", { class: "muted" }, ` of ${overall.pm_judged ?? 0} planned jobs done in time`))
        : null,
      weeks.length ? sparkline(weeks.map((w) => w.pm_compliance_pct ?? null), { label: "PM compliance, weekly", width: 240, height: 40 }) : null,
      bySite.length
        ? [h("h3", {}, "By site"), barList(bySite.map(([site, k]) => ({ label: site, value: Math.round(k.pm_compliance_pct), color: k.pm_compliance_pct >= 90 ? "#146c2e" : k.pm_compliance_pct >= 75 ? "#b35c00" : "#b3261e" })), { unit: "%", testid: "pm-by-site" })]
        : null,
      h("h3", {}, "Plans"),
      plans.error
        ? problem(plans.error)
        : plans.ok.length
          ? h("div", { class: "table-wrap" }, h("table", { "data-testid": "pm-plans" },
              h("thead", {}, h("tr", {}, ["Plan", "Kind", "Where", "When", "Priority"].map((t) => h("th", { scope: "col" }, t)))),
              h("tbody", {}, plans.ok.map((p) => h("tr", {},
                h("td", {}, p.name, p.task ? h("div", { class: "muted" }, p.task) : null),
                h("td", {}, p.kind),
                h("td", {}, [p.site || "all sites", p.device].filter(Boolean).join(" · ")),
                h("td", {}, planTrigger(p)),
                h("td", {}, p.priority))))))
          : h("p", { class: "muted" }, "No PM plans."));
  }

  let loadedAt = 0;

  async function refresh(force = false) {
    if (!root || !root.isConnected) return;
    // The server recomputes KPIs about once a minute: redrawing more often only flickers.
    if (!force && Date.now() - loadedAt < REFRESH_MS) return;
    loadedAt = Date.now();
    const data = await load();
    if (root.isConnected) draw(root, data);
  }

  return {
    title: "Manager",
    async render(container) {
      root = container;
      fill(container, loading("Loading KPIs and forecasts…"));
      await refresh(true);
    },
    refresh: () => refresh(false),
    onEvent(type) {
      // KPIs move slowly and are computed on the server in the background: one refresh per burst.
      if ((type === "work_order" || type === "alert") && pending === null) {
        pending = setTimeout(() => {
          pending = null;
          refresh();
        }, 15000);
      }
    },
  };
}
