// Pure rules of the dashboard: which lifecycle actions a status allows, how urgent an order is,
// which metrics an alert is about, and how server-sent events are framed. No DOM, no fetch:
// the unit tests run this module in node.

import { toMs } from "./format.js";

/** The lifecycle actions a crew may take from each status (the API refuses the others). */
export const ACTIONS_BY_STATUS = Object.freeze({
  open: ["acknowledge", "start", "cancel"],
  acknowledged: ["start", "cancel"],
  in_progress: ["hold", "resolve"],
  on_hold: ["resume"],
  resolved: ["close", "reopen"],
  closed: ["reopen"],
  cancelled: ["reopen"],
});

export const ACTIVE_STATUSES = Object.freeze(["open", "acknowledged", "in_progress", "on_hold"]);

export function actionsFor(status) {
  return ACTIONS_BY_STATUS[status] || [];
}

export function isActive(order) {
  return ACTIVE_STATUSES.includes(order.status);
}

const HOUR_MS = 3600000;

/**
 * The deadline that matters next: the response deadline until someone acknowledges, then the
 * resolve deadline. Returns {which: "response"|"resolve", at: ms} or null without an SLA.
 */
export function nextDeadline(order) {
  const responding = order.status === "open" && !order.acknowledged_at;
  const response = responding ? toMs(order.response_due) : null;
  const resolve = toMs(order.resolve_due);
  if (response !== null && (resolve === null || response <= resolve)) {
    return { which: "response", at: response };
  }
  return resolve === null ? null : { which: "resolve", at: resolve };
}

/** "overdue" (past due), "soon" (due within an hour), "ok", or "none" (no deadline). */
export function urgency(order, now = Date.now()) {
  const due = nextDeadline(order);
  if (due === null) return "none";
  if (due.at < now) return "overdue";
  return due.at - now <= HOUR_MS ? "soon" : "ok";
}

const PRIORITY_RANK = { P1: 1, P2: 2, P3: 3, P4: 4 };

/** Active orders, most urgent first: nearest deadline first (overdue ones are the nearest),
 * orders without a deadline last, ties broken by priority then age. */
export function sortByUrgency(orders) {
  const key = (o) => {
    const due = nextDeadline(o);
    return due === null ? Number.POSITIVE_INFINITY : due.at;
  };
  return orders
    .filter(isActive)
    .slice()
    .sort(
      (a, b) =>
        key(a) - key(b) ||
        (PRIORITY_RANK[a.priority] || 9) - (PRIORITY_RANK[b.priority] || 9) ||
        toMs(a.opened_at) - toMs(b.opened_at),
    );
}

const GENERIC_WORDS = new Set(["per", "while", "running", "moving", "high", "low", "time", "amp"]);
// Features whose name shares no word with the metrics they are computed from.
const FEATURE_METRICS = { head: ["pressure_bar", "suction_pressure_bar"] };

/**
 * The catalogue metrics an alert signature points at. A signature is "<feature>:<direction>"
 * (for example "vibration_mm_s:high" or "door_close_time:high") or an event name ("offline").
 * Features are named after metrics without their unit, so: the exact metric, else metrics that
 * start with the feature name, else those sharing its meaningful words; else the first gauges.
 * `metrics` is the catalogue list of the device's kind: [{name, type, ...}].
 */
export function metricsForSignature(signature, metrics, fallback = 2) {
  const gauges = (metrics || []).filter((m) => m.type !== "counter" && m.type !== "state");
  const names = gauges.map((m) => m.name);
  const feature = (signature || "").split(":")[0];
  if (feature && names.includes(feature)) return [feature];
  const known = (FEATURE_METRICS[feature] || []).filter((n) => names.includes(n));
  if (known.length) return known;
  const prefixed = names.filter((n) => feature && n.startsWith(`${feature}_`));
  if (prefixed.length) return prefixed.slice(0, 2);
  const words = feature.split("_").filter((w) => w && !GENERIC_WORDS.has(w));
  const scored = names
    .map((n) => ({ n, score: words.filter((w) => n.split("_").includes(w)).length }))
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score);
  if (scored.length) return scored.slice(0, 2).map((s) => s.n);
  return names.slice(0, fallback);
}

/**
 * Server-sent events framed by hand (EventSource cannot send an Authorization header).
 * push(text) takes any chunk of the stream and returns the complete events in it as
 * [{event, data}]; a partial line or event waits for the next chunk.
 */
export class SseParser {
  constructor() {
    this.buffer = "";
    this.reset();
  }

  reset() {
    this.event = "";
    this.data = [];
  }

  push(chunk) {
    this.buffer += chunk;
    const events = [];
    // A trailing "\r" may be the first half of "\r\n": keep it until the next chunk.
    let end = this.buffer.length;
    if (this.buffer.endsWith("\r")) end -= 1;
    const usable = this.buffer.slice(0, end);
    const lines = usable.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() + this.buffer.slice(end);
    for (const line of lines) {
      const done = this.line(line);
      if (done) events.push(done);
    }
    return events;
  }

  line(line) {
    if (line === "") {
      const ready = this.data.length ? { event: this.event || "message", data: this.data.join("\n") } : null;
      this.reset();
      return ready;
    }
    if (line.startsWith(":")) return null; // a comment, such as the keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") this.event = value;
    else if (field === "data") this.data.push(value);
    return null;
  }
}

/** The next reconnection delay: doubling from 1 s up to 30 s, with jitter so that a hundred
 * phones do not all reconnect in the same second after a restart. */
export function backoff(attempt, random = Math.random) {
  const base = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5));
  return Math.round(base * (0.75 + 0.5 * random()));
}

/** Insert or replace a record by key in a list, returning a new list. */
export function upsert(list, record, keyOf = (r) => r.id) {
  const key = keyOf(record);
  const found = list.findIndex((r) => keyOf(r) === key);
  if (found < 0) return [record, ...list];
  const copy = list.slice();
  copy[found] = record;
  return copy;
}

/** Alerts still wanting attention: open or acknowledged (not cleared or dismissed). */
export function isLiveAlert(alert) {
  return alert.state === "open" || alert.state === "acknowledged";
}

export const SEVERITY_RANK = { critical: 0, major: 1, warning: 2 };

export function sortAlerts(alerts) {
  return alerts
    .slice()
    .sort(
      (a, b) =>
        (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) ||
        (a.state === "open" ? 0 : 1) - (b.state === "open" ? 0 : 1) ||
        toMs(b.started_at) - toMs(a.started_at),
    );
}

/** The roles that may take work-order and alert actions (admin may do everything). */
export function canWork(role) {
  return role === "crew" || role === "manager" || role === "admin";
}

/** The dashboard tabs a role sees, the first being its default view. */
export function tabsFor(role) {
  switch (role) {
    case "crew":
      return ["crew"];
    case "integrator":
      return ["integrator"];
    case "manager":
      return ["manager", "crew"];
    case "viewer":
      return ["manager"];
    case "admin":
      return ["crew", "integrator", "manager"];
    default:
      return [];
  }
}

/** A location hash as a route: "#/crew/order/12" → {view: "crew", parts: ["order", "12"]}. */
export function parseRoute(hash) {
  const parts = (hash || "").replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return { view: parts[0] || "", parts: parts.slice(1) };
}
