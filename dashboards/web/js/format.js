// Pure formatting helpers: times the way people say them, numbers with their units.
// No DOM here, so tests can run these in node.

/** Milliseconds since the epoch from an API time; a time without a zone is UTC. */
export function toMs(iso) {
  if (iso === null || iso === undefined || iso === "") return null;
  if (typeof iso === "number") return iso;
  const zoned = /([zZ]|[+-]\d\d:?\d\d)$/.test(iso) ? iso : `${iso}Z`;
  const ms = Date.parse(zoned);
  return Number.isNaN(ms) ? null : ms;
}

function span(ms) {
  const abs = Math.abs(ms);
  const min = Math.round(abs / 60000);
  if (abs < 45000) return "under a minute";
  if (min < 60) return `${min} min`;
  const hours = abs / 3600000;
  if (hours < 24) return `${hours < 10 ? hours.toFixed(1).replace(/\.0$/, "") : Math.round(hours)} h`;
  const days = abs / 86400000;
  return `${days < 10 ? days.toFixed(1).replace(/\.0$/, "") : Math.round(days)} d`;
}

/** "12 min ago" / "in 40 min" relative to now. */
export function relative(iso, now = Date.now()) {
  const ms = toMs(iso);
  if (ms === null) return "never";
  const diff = ms - now;
  if (Math.abs(diff) < 45000) return "just now";
  return diff < 0 ? `${span(diff)} ago` : `in ${span(diff)}`;
}

/** "due in 40 min" / "overdue by 12 min". */
export function dueText(iso, now = Date.now()) {
  const ms = toMs(iso);
  if (ms === null) return "no deadline";
  const diff = ms - now;
  return diff < 0 ? `overdue by ${span(diff)}` : `due in ${span(diff)}`;
}

/** Local date and time, short: "Tue 14 May, 14:32". */
export function localTime(iso) {
  const ms = toMs(iso);
  if (ms === null) return "—";
  return new Date(ms).toLocaleString(undefined, {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function localDate(iso) {
  const ms = toMs(iso);
  if (ms === null) return "—";
  return new Date(ms).toLocaleDateString(undefined, { day: "numeric", month: "short", year: "numeric" });
}

/** Minutes as "42 min", "3.5 h" or "2.1 d"; null as "—". */
export function minutes(value) {
  if (value === null || value === undefined) return "—";
  if (value < 90) return `${Math.round(value)} min`;
  if (value < 60 * 48) return `${(value / 60).toFixed(1)} h`;
  return `${(value / 1440).toFixed(1)} d`;
}

export function pct(value) {
  return value === null || value === undefined ? "—" : `${Math.round(value * 10) / 10}%`;
}

/** A reading as people read it: booleans as yes/no, numbers to 3-4 significant digits. */
export function reading(value, unit) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (unit === "bool") return value ? "yes" : "no";
  const text = Math.abs(value) >= 1000 ? Math.round(value).toLocaleString() : String(+value.toPrecision(4));
  return unit && unit !== "1" ? `${text} ${unit}` : text;
}

export function rate(value) {
  return value === null || value === undefined ? "—" : `${value < 10 ? value.toFixed(1) : Math.round(value)}/min`;
}
