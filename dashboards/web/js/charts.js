// Charts: time series with the vendored uPlot (a global from vendor/uplot/uPlot.iife.min.js),
// and small hand-drawn SVG/HTML pictures: sparklines, bar lists and the forecast timeline.

import { h, svg } from "./dom.js";
import { localDate, localTime, reading, relative, toMs } from "./format.js";

const COLORS = ["#0b57d0", "#b3261e", "#146c2e", "#8a4b00", "#6d28d9"];
const DAY_MS = 86400000;

function whenResized(container, callback) {
  if (typeof ResizeObserver === "undefined") return;
  let last = container.clientWidth;
  const observer = new ResizeObserver(() => {
    if (!container.isConnected) return observer.disconnect();
    if (Math.abs(container.clientWidth - last) < 4) return;
    last = container.clientWidth;
    callback(last);
  });
  observer.observe(container);
}

function markerHook(markers) {
  return (u) => {
    const ctx = u.ctx;
    const dpr = window.devicePixelRatio || 1;
    const { left, top, width, height } = u.bbox;
    for (const marker of markers) {
      const x = u.valToPos(marker.ts / 1000, "x", true);
      if (!(x >= left && x <= left + width)) continue;
      ctx.save();
      ctx.strokeStyle = marker.color || "#b3261e";
      ctx.fillStyle = marker.color || "#b3261e";
      ctx.lineWidth = 2 * dpr;
      ctx.setLineDash([6 * dpr, 4 * dpr]);
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, top + height);
      ctx.stroke();
      ctx.font = `600 ${12 * dpr}px system-ui, sans-serif`;
      const labelWidth = ctx.measureText(marker.label).width;
      const labelX = x + 4 * dpr + labelWidth > left + width ? x - 4 * dpr - labelWidth : x + 4 * dpr;
      ctx.fillText(marker.label, labelX, top + 14 * dpr);
      ctx.restore();
    }
  };
}

/**
 * A line chart of one or more series over time, drawn by uPlot.
 * series: [{label, unit, points: [[ts_ms, value|null], ...]}] sharing the x axis of the first;
 * markers: [{ts (ms), label, color}] drawn as dashed vertical lines.
 */
export function timeChart(container, { series, markers = [], height = 220, yRange = null, testid }) {
  const wrap = h("div", { class: "chart", "data-testid": testid || "chart" });
  container.append(wrap);
  const first = series[0] || { points: [] };
  if (!first.points.length) {
    wrap.append(h("p", { class: "muted chart-empty" }, "No readings in this window."));
    return null;
  }
  if (typeof uPlot === "undefined") {
    wrap.append(h("p", { class: "problem" }, "The chart library did not load."));
    return null;
  }
  const xs = first.points.map((p) => p[0] / 1000);
  const data = [xs];
  for (const s of series) {
    const byTs = new Map(s.points.map((p) => [p[0] / 1000, typeof p[1] === "boolean" ? Number(p[1]) : p[1]]));
    data.push(xs.map((x) => (byTs.has(x) ? byTs.get(x) : null)));
  }
  const width = () => Math.max(260, wrap.clientWidth || container.clientWidth || 320);
  const opts = {
    width: width(),
    height,
    cursor: { drag: { x: true, y: false }, points: { size: 8 } },
    legend: { live: true },
    scales: { x: { time: true }, y: yRange ? { range: yRange } : { auto: true } },
    axes: [
      { stroke: "#1f1f1f", grid: { stroke: "#e3e3e3" }, ticks: { stroke: "#c4c4c4" } },
      {
        stroke: "#1f1f1f",
        grid: { stroke: "#e3e3e3" },
        ticks: { stroke: "#c4c4c4" },
        size: 60,
      },
    ],
    series: [
      { value: (u, v) => (v === null ? "—" : localTime(v * 1000)) },
      ...series.map((s, i) => ({
        label: s.unit && s.unit !== "1" ? `${s.label} (${s.unit})` : s.label,
        stroke: s.color || COLORS[i % COLORS.length],
        width: 2,
        spanGaps: false,
        points: { show: xs.length < 60 },
        value: (u, v) => (v === null ? "—" : reading(v, s.unit === "1" ? "" : s.unit)),
      })),
    ],
    hooks: { draw: [markerHook(markers)] },
  };
  const plot = new uPlot(opts, data, wrap);
  whenResized(wrap, () => plot.setSize({ width: width(), height }));
  return plot;
}

/** A small SVG trend line of numbers (nulls leave gaps), the last point marked. */
export function sparkline(values, { width = 120, height = 32, color = "#0b57d0", label = "trend" } = {}) {
  const finite = values.filter((v) => v !== null && v !== undefined && Number.isFinite(v));
  const node = svg("svg", {
    class: "sparkline",
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": label,
  });
  if (finite.length < 2) {
    node.append(svg("text", { x: 0, y: height - 8, class: "spark-empty" }, "not enough data"));
    return node;
  }
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  const pad = 3;
  const x = (i) => pad + (i * (width - 2 * pad)) / Math.max(1, values.length - 1);
  const y = (v) => (hi === lo ? height / 2 : height - pad - ((v - lo) * (height - 2 * pad)) / (hi - lo));
  let path = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
    pen = true;
  });
  node.append(svg("path", { d: path, fill: "none", stroke: color, "stroke-width": 2, "stroke-linejoin": "round" }));
  const lastIndex = values.map((v) => v !== null && v !== undefined && Number.isFinite(v)).lastIndexOf(true);
  node.append(svg("circle", { cx: x(lastIndex), cy: y(values[lastIndex]), r: 3, fill: color }));
  return node;
}

/**
 * Horizontal bars as an HTML list: [{label, value, color?, onclick?, testid?, selected?}].
 * Clickable bars are buttons; the longest bar spans the width.
 */
export function barList(items, { unit = "", testid = "bar-chart", emptyText = "Nothing to show." } = {}) {
  const max = Math.max(0, ...items.map((i) => i.value || 0));
  const list = h("ul", { class: "bars", "data-testid": testid });
  if (!items.length) return h("p", { class: "muted" }, emptyText);
  for (const item of items) {
    const share = max > 0 ? Math.max(item.value > 0 ? 2 : 0, (100 * (item.value || 0)) / max) : 0;
    const inner = [
      h("span", { class: "bar-label" }, item.label),
      h(
        "span",
        { class: "bar-track" },
        h("span", { class: "bar-fill", style: { width: `${share}%`, background: item.color || "#0b57d0" } }),
      ),
      h("span", { class: "bar-value" }, `${item.value ?? "—"}${unit}`),
    ];
    const body = item.onclick
      ? h("button", { type: "button", class: ["bar-row", item.selected && "selected"], onclick: item.onclick, "aria-pressed": item.selected ? "true" : "false" }, inner)
      : h("div", { class: "bar-row" }, inner);
    list.append(h("li", { "data-testid": item.testid || null }, body));
  }
  return list;
}

function forecastDates(f) {
  const health = f.health || {};
  return {
    crossing: toMs(health.crossing_at),
    earliest: toMs(health.earliest_at),
    latest: toMs(health.latest_at),
    usage: toMs(f.usage && f.usage.due_at),
  };
}

/** The forecasts with something due before `until` (overdue ones included), soonest first. */
export function forecastsWithin(forecasts, until) {
  return forecasts
    .map((f) => ({ f, d: forecastDates(f) }))
    .filter(({ d }) => [d.crossing, d.earliest, d.usage].some((t) => t !== null && t <= until))
    .sort((a, b) => soonest(a.d) - soonest(b.d))
    .map(({ f }) => f);
}

function soonest(d) {
  return Math.min(...[d.crossing, d.usage, d.earliest].filter((t) => t !== null));
}

/** Words for a forecast, for the tooltip and the detail panel. */
export function forecastSummary(f) {
  const parts = [];
  if (f.health) {
    const h0 = f.health;
    if (h0.crossing_at) {
      const verb = toMs(h0.crossing_at) < Date.now() ? "was forecast to reach its limit" : "is forecast to reach its limit";
      const range = h0.earliest_at && h0.latest_at ? `; likely between ${localDate(h0.earliest_at)} and ${localDate(h0.latest_at)}` : "";
      parts.push(`${h0.metric} ${verb} ${relative(h0.crossing_at)} (${localDate(h0.crossing_at)}${range})`);
    }
    if (h0.reason) parts.push(h0.reason);
  }
  if (f.usage && f.usage.due_at) {
    const u = f.usage;
    const when = toMs(u.due_at) < Date.now() ? "was due" : "is due";
    parts.push(`service by ${u.meter} ${when} ${relative(u.due_at)} (${localDate(u.due_at)}) at ${reading(u.due_at_reading)}; now ${reading(u.reading)}, ${reading(u.per_day)} a day`);
  }
  return parts.join(". ");
}

/**
 * The maintenance forecast as a timeline: one row per device over the next `days` days, a band
 * from the earliest to the latest likely crossing, a dot at the most likely one, and a diamond
 * where usage-based service falls due. Rows are focusable; onSelect(forecast) on tap or Enter.
 */
export function forecastTimeline(container, forecasts, { days = 90, now = Date.now(), onSelect }) {
  const until = now + days * DAY_MS;
  const rows = forecastsWithin(forecasts, until);
  const build = () => timelineSvg(rows, { width: Math.max(300, container.clientWidth || 600), now, until, days, onSelect });
  let chart = build();
  whenResized(container, () => {
    const fresh = build();
    chart.replaceWith(fresh);
    chart = fresh;
  });
  return chart;
}

function timelineSvg(rows, { width, now, until, days, onSelect }) {
  const rowH = 48;
  const axisH = 36;
  const labelW = Math.min(190, Math.round(width * 0.34));
  const x0 = labelW + 10;
  const x1 = width - 14;
  const x = (t) => x0 + ((Math.min(Math.max(t, now), until) - now) * (x1 - x0)) / (until - now);
  const height = axisH + rows.length * rowH + 6;
  const chart = svg("svg", {
    class: "timeline",
    "data-testid": "forecast-timeline",
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    role: "group",
    "aria-label": `Maintenance forecast for the next ${days} days`,
  });
  chart.append(timelineAxis(now, until, x, height, axisH));
  rows.forEach((f, i) => chart.append(timelineRow(f, i, { x, now, rowH, axisH, width, labelW, onSelect })));
  // Today's line goes over the rows' shading, so every row shows where "now" is.
  chart.append(svg("line", { x1: x(now), x2: x(now), y1: axisH - 6, y2: height, class: "today-line" }));
  return chart;
}

function timelineAxis(now, until, x, height, axisH) {
  const axis = svg("g", { class: "timeline-axis" });
  const start = new Date(now);
  const month = new Date(start.getFullYear(), start.getMonth() + 1, 1);
  for (let t = month.getTime(); t < until; t = new Date(new Date(t).setMonth(new Date(t).getMonth() + 1)).getTime()) {
    axis.append(
      svg("line", { x1: x(t), x2: x(t), y1: axisH - 6, y2: height, class: "grid" }),
      svg("text", { x: x(t) + 3, y: axisH - 8 }, new Date(t).toLocaleDateString(undefined, { month: "short" })),
    );
  }
  axis.append(svg("text", { x: x(now) + 3, y: 12, class: "today-label" }, "today"));
  return axis;
}

function fit(text, px) {
  const max = Math.max(4, Math.floor(px / 7.5));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function timelineRow(f, i, { x, now, rowH, axisH, width, labelW, onSelect }) {
  const d = forecastDates(f);
  const top = axisH + i * rowH;
  const mid = top + rowH / 2;
  const overdue = [d.crossing, d.usage].some((t) => t !== null && t < now);
  const summary = forecastSummary(f);
  const select = () => onSelect && onSelect(f);
  const row = svg("g", {
    class: ["timeline-row", overdue && "overdue"],
    tabindex: 0,
    role: "button",
    "data-testid": "forecast-row",
    "aria-label": `${f.site} ${f.kind} ${f.device}: ${summary}`,
    onclick: select,
    onkeydown: (e) => (e.key === "Enter" || e.key === " ") && (e.preventDefault(), select()),
  });
  row.append(
    svg("title", {}, `${f.site} / ${f.kind} / ${f.device}\n${summary}`),
    svg("rect", { x: 0, y: top, width, height: rowH, class: "row-bg" }),
    svg("text", { x: 4, y: mid - 3, class: "row-label" }, fit(f.device, labelW)),
    overdue
      ? svg("text", { x: 4, y: mid + 13, class: "row-sub late-label" }, fit(`due now · ${f.site}`, labelW))
      : svg("text", { x: 4, y: mid + 13, class: "row-sub" }, fit(`${f.site} · ${f.kind}`, labelW)),
  );
  if (d.earliest !== null && d.latest !== null) {
    const left = x(d.earliest);
    row.append(svg("rect", { x: left, y: mid - 9, width: Math.max(3, x(d.latest) - left), height: 18, rx: 4, class: "band" }));
  }
  if (d.crossing !== null) {
    row.append(svg("circle", { cx: x(d.crossing), cy: mid, r: 7, class: ["crossing", d.crossing < now && "late"] }));
  }
  if (d.usage !== null) {
    const ux = x(d.usage);
    row.append(svg("path", { d: `M${ux},${mid - 9} L${ux + 9},${mid} L${ux},${mid + 9} L${ux - 9},${mid} Z`, class: ["usage", d.usage < now && "late"] }));
  }
  return row;
}
