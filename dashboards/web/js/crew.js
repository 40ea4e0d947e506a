// Crew view: live alerts, the queue of active work orders by SLA urgency, and one work order
// with its telemetry around the alert, the evidence, its history, comments and actions.

import { api, query, seg } from "./api.js";
import { timeChart } from "./charts.js";
import { fill, h, loading, problem, selectBox } from "./dom.js";
import { dueText, localTime, relative, toMs } from "./format.js";
import {
  ACTIVE_STATUSES,
  actionsFor,
  canWork,
  isActive,
  isLiveAlert,
  metricsForSignature,
  nextDeadline,
  sortAlerts,
  sortByUrgency,
  upsert,
  urgency,
} from "./logic.js";

const ACTION_LABELS = {
  acknowledge: "Acknowledge",
  start: "Start work",
  hold: "Put on hold",
  resume: "Resume",
  resolve: "Resolve",
  close: "Close",
  cancel: "Cancel order",
  reopen: "Reopen",
};
const HOUR_MS = 3600000;
const RECENT_COMMENTS = 5;

function label(status) {
  return String(status).replace(/_/g, " ");
}

export function createCrewView(ctx) {
  const state = {
    alerts: [],
    orders: [],
    site: "",
    mine: false,
    dismissing: null, // the alert id whose dismiss form is open: its list is not redrawn
    alertError: null,
    order: null,
    orderAlert: null,
    orderId: null,
    noteDraft: "",
    commentDraft: "",
    actionError: null,
    busy: false,
  };
  let root = null;
  let alertBox = null;
  let queueBox = null;
  let filterBox = null;

  // ---- the home page: alerts and queue -------------------------------------------------------

  function renderHome(container) {
    state.orderId = null;
    alertBox = h("div", { "data-testid": "alert-list", "aria-live": "polite" }, loading());
    queueBox = h("div", { "data-testid": "queue" }, loading());
    filterBox = h("div", { class: "filters" });
    fill(
      container,
      h("div", { class: "columns" },
        h("section", { class: "panel", "aria-labelledby": "alerts-title" },
          h("h2", { id: "alerts-title" }, "Live alerts"), alertBox),
        h("section", { class: "panel", "aria-labelledby": "queue-title" },
          h("h2", { id: "queue-title" }, "My queue"), filterBox, queueBox)),
    );
    drawHome();
  }

  async function loadLists() {
    const alertCalls = ["open", "acknowledged"].map((s) => api.get(`/api/v1/alerts${query({ state: s })}`));
    const orderCall = api.get(`/api/v1/work-orders${query({ status: ACTIVE_STATUSES, limit: 500 })}`);
    const [alerts, orders] = await Promise.allSettled([Promise.all(alertCalls), orderCall]);
    if (alerts.status === "fulfilled") {
      state.alerts = alerts.value.flat();
      state.alertsError = null;
    } else state.alertsError = alerts.reason;
    if (orders.status === "fulfilled") {
      state.orders = orders.value;
      state.ordersError = null;
    } else state.ordersError = orders.reason;
  }

  function drawHome() {
    if (!alertBox || !alertBox.isConnected) return;
    if (state.dismissing === null) drawAlerts();
    drawQueue();
  }

  function drawAlerts() {
    if (state.alertsError) return fill(alertBox, problem(state.alertsError));
    const live = sortAlerts(state.alerts.filter(isLiveAlert).filter((a) => !state.site || a.site === state.site));
    const error = state.alertError ? h("p", { class: "error", role: "alert", "data-testid": "alert-error" }, state.alertError) : null;
    if (!live.length) return fill(alertBox, error, h("p", { class: "muted empty" }, "No live alerts. All quiet."));
    fill(alertBox, error, h("ul", { class: "alert-list" }, live.map(alertRow)));
  }

  function alertRow(alert) {
    const actions = [];
    if (canWork(ctx.me.role)) {
      if (alert.state === "open") {
        actions.push(h("button", { type: "button", class: "btn", "data-testid": "alert-acknowledge", "aria-label": `Acknowledge ${alert.signature} on ${alert.device}`, onclick: () => alertAction(alert, "acknowledge") }, "Acknowledge"));
      }
      actions.push(h("button", { type: "button", class: "btn secondary", "data-testid": "alert-dismiss", "aria-label": `Dismiss ${alert.signature} on ${alert.device}`, onclick: () => openDismiss(alert) }, "Dismiss…"));
    }
    const row = h(
      "li",
      { class: ["alert-row", `sev-${alert.severity}`], "data-testid": "alert-row", "data-alert-id": alert.id, "data-state": alert.state },
      h("div", { class: "alert-main" },
        h("div", { class: "alert-head" },
          h("span", { class: ["badge", `sev-${alert.severity}`] }, alert.severity),
          h("strong", { class: "signature" }, alert.signature),
          alert.state === "acknowledged" ? h("span", { class: "badge state" }, "acknowledged") : null),
        h("div", { class: "where" }, `${alert.site} · ${alert.kind} · ${alert.device}`),
        alert.evidence && alert.evidence.length ? h("div", { class: "evidence-line" }, alert.evidence[0]) : null,
        h("div", { class: "meta" },
          h("time", { datetime: alert.started_at, title: localTime(alert.started_at) }, `started ${relative(alert.started_at)}`),
          alert.work_order_id
            ? h("a", { href: `#/crew/order/${alert.work_order_id}`, class: "order-link", "data-testid": "alert-order-link" }, `Work order #${alert.work_order_id}`)
            : null)),
      actions.length ? h("div", { class: "alert-actions" }, actions) : null,
    );
    if (state.dismissing === alert.id) row.append(dismissForm(alert));
    return row;
  }

  function openDismiss(alert) {
    state.dismissing = alert.id;
    drawAlerts();
    const input = document.getElementById(`dismiss-${alert.id}`);
    if (input) input.focus();
  }

  function dismissForm(alert) {
    const id = `dismiss-${alert.id}`;
    const input = h("input", { id, type: "text", required: true, maxlength: 2000, "data-testid": "dismiss-reason", placeholder: "e.g. sensor being replaced" });
    const close = () => {
      state.dismissing = null;
      drawAlerts();
    };
    return h(
      "form",
      {
        class: "dismiss-form",
        onsubmit: (e) => {
          e.preventDefault();
          const reason = input.value.trim();
          if (!reason) return input.focus();
          state.dismissing = null;
          alertAction(alert, "dismiss", { reason });
        },
      },
      h("label", { for: id }, "Why is this not a real problem?"),
      input,
      h("div", { class: "row-buttons" },
        h("button", { type: "submit", class: "btn danger", "data-testid": "dismiss-submit" }, "Dismiss alert"),
        h("button", { type: "button", class: "btn secondary", onclick: close }, "Keep it")),
    );
  }

  async function alertAction(alert, action, body) {
    state.alertError = null;
    try {
      const updated = action === "dismiss"
        ? await api.post(`/api/v1/alerts/${seg(alert.id)}/dismiss`, body)
        : await api.post(`/api/v1/alerts/${seg(alert.id)}/acknowledge`);
      state.alerts = upsert(state.alerts, updated);
    } catch (error) {
      state.alertError = error.message;
    }
    drawAlerts();
  }

  function drawQueue() {
    const sites = [...new Set([...state.orders, ...state.alerts].map((o) => o.site).filter(Boolean))].sort();
    const filterKey = JSON.stringify([sites, state.site, state.mine]);
    // Redraw the filters only when they change, so a live update does not steal their focus.
    if (filterBox.dataset.key !== filterKey) {
      filterBox.dataset.key = filterKey;
      fill(
      filterBox,
      selectBox("Site", "queue-site", sites, state.site, (v) => {
        state.site = v;
        drawHome();
      }),
      h("div", { class: "field check" },
        h("input", { type: "checkbox", id: "queue-mine", checked: state.mine, "data-testid": "queue-mine", onchange: (e) => { state.mine = e.target.checked; drawQueue(); } }),
        h("label", { for: "queue-mine" }, `Only assigned to me (${ctx.me.name})`)),
      );
    }
    if (state.ordersError) return fill(queueBox, problem(state.ordersError));
    const now = Date.now();
    const orders = sortByUrgency(state.orders)
      .filter((o) => !state.site || o.site === state.site)
      .filter((o) => !state.mine || o.assignee === ctx.me.name);
    if (!orders.length) return fill(queueBox, h("p", { class: "muted empty" }, "No active work orders."));
    fill(queueBox, h("ul", { class: "order-list" }, orders.map((o) => orderRow(o, now))));
  }

  function orderRow(order, now) {
    const due = nextDeadline(order);
    const level = urgency(order, now);
    return h(
      "li",
      { class: ["order-row", `urgency-${level}`], "data-testid": "order-row", "data-order-id": order.id, "data-urgency": level },
      h("a", { href: `#/crew/order/${order.id}`, class: "order-link-row" },
        h("span", { class: ["badge", `prio-${order.priority}`] }, order.priority),
        h("span", { class: "order-text" },
          h("span", { class: "order-title" }, `#${order.id} ${order.title}`),
          h("span", { class: "where" }, [order.site, order.kind, order.device].filter(Boolean).join(" · ") || "no device"),
          h("span", { class: "meta" }, h("span", { class: "badge state" }, label(order.status)), order.assignee ? ` ${order.assignee}` : "")),
        h("span", { class: ["due", `urgency-${level}`], "data-testid": "order-due" },
          due ? `${due.which === "response" ? "Response" : "Resolve"} ${dueText(new Date(due.at).toISOString(), now)}` : "No SLA")),
    );
  }

  // ---- one work order ------------------------------------------------------------------------

  async function loadOrder(id) {
    const order = await api.get(`/api/v1/work-orders/${seg(id)}`);
    state.order = order;
    state.orders = isActive(order) ? upsert(state.orders, order) : state.orders.filter((o) => o.id !== order.id);
    return order;
  }

  async function findAlert(order) {
    if (!order.site) return null;
    const mine = await api.get(`/api/v1/alerts${query({ work_order_id: order.id })}`);
    return mine.sort((a, b) => toMs(b.started_at) - toMs(a.started_at))[0] || null;
  }

  async function renderOrder(container, id) {
    if (state.orderId !== id) {
      state.allComments = false;
      state.noteDraft = "";
      state.commentDraft = "";
      state.actionError = null;
      state.orderAlert = null;
    }
    state.orderId = id;
    alertBox = null;
    const page = h("div", { class: "order-page", "data-testid": "order-page" }, loading("Loading work order…"));
    fill(container, page);
    try {
      const order = await loadOrder(id);
      if (state.orderId !== id) return;
      drawOrder(page, order);
      const alert = await findAlert(order).catch(() => null);
      if (state.orderId !== id) return;
      state.orderAlert = alert;
      drawEvidence(page, alert);
      drawTelemetry(page, order, alert);
    } catch (error) {
      fill(page, backLink(), problem(error));
    }
  }

  function backLink() {
    return h("a", { href: "#/crew", class: "back" }, "← Queue");
  }

  function slaBlock(order) {
    const now = Date.now();
    const items = [];
    if (order.acknowledged_at) {
      const met = !order.response_due || toMs(order.acknowledged_at) <= toMs(order.response_due);
      items.push(["Response", `acknowledged ${relative(order.acknowledged_at)}${order.response_due ? (met ? " — in time" : " — late") : ""}`, met ? "ok" : "overdue"]);
    } else if (order.response_due && isActive(order)) {
      const at = toMs(order.response_due);
      items.push(["Response", `${dueText(order.response_due, now)} (${localTime(order.response_due)})`, at < now ? "overdue" : at - now <= HOUR_MS ? "soon" : "ok"]);
    }
    if (order.resolved_at) {
      const met = !order.resolve_due || toMs(order.resolved_at) <= toMs(order.resolve_due);
      items.push(["Resolution", `resolved ${relative(order.resolved_at)}${order.resolve_due ? (met ? " — in time" : " — late") : ""}`, met ? "ok" : "overdue"]);
    } else if (order.resolve_due && isActive(order)) {
      const at = toMs(order.resolve_due);
      items.push(["Resolution", `${dueText(order.resolve_due, now)} (${localTime(order.resolve_due)})`, at < now ? "overdue" : at - now <= HOUR_MS ? "soon" : "ok"]);
    }
    if (!items.length) return null;
    return h("div", { class: "sla", "data-testid": "order-sla" },
      items.map(([name, text, level]) => h("div", { class: ["sla-item", `urgency-${level}`] }, h("span", { class: "sla-name" }, name), h("span", {}, text))));
  }

  function drawOrder(page, order) {
    const device = order.site && order.kind && order.device
      ? h("a", { href: `#/integrator/device/${seg(order.site)}/${seg(order.kind)}/${seg(order.device)}`, class: "tap-link", "data-testid": "order-device" }, `${order.site} · ${order.kind} · ${order.device}`)
      : [order.site, order.kind, order.device].filter(Boolean).join(" · ") || "no device";
    fill(
      page,
      backLink(),
      h("header", { class: "order-header" },
        h("h2", { "data-testid": "order-title" }, `#${order.id} ${order.title}`),
        h("div", { class: "badges" },
          h("span", { class: ["badge", `prio-${order.priority}`], "data-testid": "order-priority" }, order.priority),
          h("span", { class: "badge state", "data-testid": "order-status", "data-status": order.status }, label(order.status)),
          order.assignee ? h("span", { class: "badge state" }, `assigned to ${order.assignee}`) : null),
        h("p", { class: "where" }, device),
        h("p", { class: "meta" }, `Opened ${relative(order.opened_at)} (${localTime(order.opened_at)})`),
        slaBlock(order)),
      actionsBlock(order),
      h("section", { class: "panel", "data-slot": "telemetry" }, h("h3", {}, "Telemetry around the alert"), loading()),
      h("section", { class: "panel", "data-slot": "evidence" }, h("h3", {}, "Evidence"), loading()),
      order.description ? h("section", { class: "panel" }, h("h3", {}, "Description"), h("p", { class: "prewrap" }, order.description)) : null,
      historyBlock(order),
      commentsBlock(order),
    );
  }

  function actionsBlock(order) {
    if (!canWork(ctx.me.role)) return null;
    const noteId = "action-note";
    const note = h("input", { id: noteId, type: "text", maxlength: 2000, value: state.noteDraft, "data-testid": "order-note", oninput: (e) => (state.noteDraft = e.target.value) });
    const buttons = actionsFor(order.status).map((action) =>
      h("button", { type: "button", class: ["btn", action === "cancel" && "danger"], "data-testid": `action-${action}`, disabled: state.busy, onclick: () => act(order, action) }, ACTION_LABELS[action]));
    if (isActive(order) && order.assignee !== ctx.me.name) {
      buttons.push(h("button", { type: "button", class: "btn secondary", "data-testid": "order-assign-me", disabled: state.busy, onclick: () => assignToMe(order) }, "Assign to me"));
    }
    return h("section", { class: "panel actions", "aria-labelledby": "actions-title" },
      h("h3", { id: "actions-title" }, "Actions"),
      state.actionError ? h("p", { class: "error", role: "alert", "data-testid": "action-error" }, state.actionError) : null,
      h("div", { class: "field" }, h("label", { for: noteId }, "Note for the history (optional)"), note),
      h("div", { class: "row-buttons" }, buttons));
  }

  async function act(order, action) {
    await mutate(() => api.post(`/api/v1/work-orders/${seg(order.id)}/actions/${action}`, { version: order.version, note: state.noteDraft || "" }), true);
  }

  async function assignToMe(order) {
    await mutate(() => api.post(`/api/v1/work-orders/${seg(order.id)}/assign`, { assignee: ctx.me.name, version: order.version }), false);
  }

  async function mutate(call, clearNote) {
    state.busy = true;
    state.actionError = null;
    try {
      await call();
      if (clearNote) state.noteDraft = "";
    } catch (error) {
      state.actionError = error.message; // 409s say what to do; shown word for word
    }
    state.busy = false;
    await reloadOrder();
  }

  async function reloadOrder() {
    const id = state.orderId;
    const page = root && root.querySelector("[data-testid=order-page]");
    if (!page || id === null) return;
    try {
      const order = await loadOrder(id);
      if (state.orderId !== id) return;
      const telemetry = page.querySelector("[data-slot=telemetry]");
      const evidence = page.querySelector("[data-slot=evidence]");
      drawOrder(page, order);
      // Charts and evidence do not change with the status: keep them rather than refetch.
      page.querySelector("[data-slot=telemetry]").replaceWith(telemetry);
      page.querySelector("[data-slot=evidence]").replaceWith(evidence);
    } catch (error) {
      state.actionError = error.message;
    }
  }

  function drawEvidence(page, alert) {
    const slot = page.querySelector("[data-slot=evidence]");
    if (!slot) return;
    if (!alert) return fill(slot, h("h3", {}, "Evidence"), h("p", { class: "muted" }, "This order did not come from an alert."));
    fill(
      slot,
      h("h3", {}, "Evidence"),
      h("p", { class: "alert-head" },
        h("span", { class: ["badge", `sev-${alert.severity}`] }, alert.severity),
        h("strong", {}, ` ${alert.signature} `),
        h("span", { class: "muted" }, `alert ${label(alert.state)}, started ${relative(alert.started_at)}${alert.cleared_at ? `, cleared ${relative(alert.cleared_at)}` : ""}`)),
      alert.evidence && alert.evidence.length
        ? h("ul", { class: "evidence", "data-testid": "evidence-list" }, alert.evidence.map((e) => h("li", {}, e)))
        : h("p", { class: "muted" }, "The alert gave no evidence."),
      alert.dismissed_reason ? h("p", {}, `Dismissed: ${alert.dismissed_reason}`) : null,
    );
  }

  async function drawTelemetry(page, order, alert) {
    const slot = page.querySelector("[data-slot=telemetry]");
    if (!slot) return;
    if (!order.site || !order.kind || !order.device) {
      return fill(slot, h("h3", {}, "Telemetry"), h("p", { class: "muted" }, "No device on this order."));
    }
    const catalogue = await ctx.catalogue().catch(() => ({}));
    const signature = (alert && alert.signature) || order.alert_signature || "";
    const metrics = metricsForSignature(signature, catalogue[order.kind] || []);
    const { from, to, markers } = chartWindow(order, alert, Date.now());
    fill(slot, h("h3", {}, "Telemetry around the alert"),
      h("p", { class: "muted" }, `${localTime(new Date(from).toISOString())} – ${localTime(new Date(to).toISOString())}; dashed lines: ${markers.map((m) => m.label).join(", ")}`));
    if (!metrics.length) return slot.append(h("p", { class: "muted" }, "No catalogued metrics to chart for this kind."));
    for (const metric of metrics) {
      const box = h("div", { class: "chart-box" }, h("h4", {}, metric));
      slot.append(box);
      try {
        const series = await api.get(`/api/v1/telemetry${query({
          site: order.site, kind: order.kind, device: order.device, metric,
          from: new Date(from).toISOString(), to: new Date(to).toISOString(),
        })}`);
        timeChart(box, { series: [{ label: metric, unit: series.unit, points: series.points }], markers, testid: "order-chart" });
      } catch (error) {
        box.append(problem(error));
      }
    }
  }

  /** The period to chart: from 6 h before the alert started (or the order opened) to an hour
   * after it was resolved, or to now while it is active; dashed lines at each moment. */
  function chartWindow(order, alert, now) {
    const opened = toMs(order.opened_at);
    const started = alert ? toMs(alert.started_at) : null;
    const finished = toMs(order.resolved_at) || toMs(order.closed_at);
    const anchor = Math.min(opened, started ?? opened);
    const end = isActive(order) ? now : (finished || opened) + HOUR_MS;
    const to = Math.min(now, Math.max(anchor + HOUR_MS, end));
    const markers = [];
    if (started !== null && Math.abs(started - opened) > 60000) markers.push({ ts: started, label: "alert", color: "#c2410c" });
    markers.push({ ts: opened, label: "opened", color: "#b3261e" });
    if (alert && alert.cleared_at) markers.push({ ts: toMs(alert.cleared_at), label: "cleared", color: "#0b57d0" });
    if (finished) markers.push({ ts: finished, label: "resolved", color: "#146c2e" });
    return { from: anchor - 6 * HOUR_MS, to, markers };
  }

  function historyBlock(order) {
    const history = (order.history || []).slice().sort((a, b) => toMs(a.at) - toMs(b.at));
    return h("section", { class: "panel" }, h("h3", {}, "History"),
      history.length
        ? h("ol", { class: "timeline-list", "data-testid": "history" }, history.map((e) =>
            h("li", {},
              h("time", { datetime: e.at, title: localTime(e.at) }, `${localTime(e.at)} · ${relative(e.at)}`),
              h("span", {}, ` ${e.actor}: ${e.action}`),
              e.from_status ? h("span", { class: "muted" }, ` (${label(e.from_status)} → ${label(e.to_status)})`) : h("span", { class: "muted" }, ` (${label(e.to_status)})`),
              e.note ? h("div", { class: "note" }, e.note) : null)))
        : h("p", { class: "muted" }, "No history yet."));
  }

  function commentsBlock(order) {
    const comments = (order.comments || []).slice().sort((a, b) => toMs(a.at) - toMs(b.at));
    const shown = state.allComments ? comments : comments.slice(-RECENT_COMMENTS);
    const hidden = comments.length - shown.length;
    const list = comments.length
      ? h("div", {},
          hidden > 0
            ? h("button", { type: "button", class: "btn secondary", "data-testid": "comments-all", onclick: () => { state.allComments = true; reloadOrder(); } }, hidden === 1 ? "Show 1 earlier comment" : `Show ${hidden} earlier comments`)
            : null,
          h("ul", { class: "comments", "data-testid": "comments" }, shown.map((c) =>
            h("li", {}, h("div", { class: "meta" }, `${c.author} · ${relative(c.at)} (${localTime(c.at)})`), h("p", { class: "prewrap" }, c.text)))))
      : h("p", { class: "muted" }, "No comments yet.");
    if (!canWork(ctx.me.role)) return h("section", { class: "panel" }, h("h3", {}, "Comments"), list);
    const text = h("textarea", { id: "comment-text", rows: 3, maxlength: 10000, required: true, "data-testid": "comment-text", oninput: (e) => (state.commentDraft = e.target.value) });
    text.value = state.commentDraft;
    const error = h("p", { class: "error", role: "alert", hidden: true });
    const form = h("form", {
      class: "comment-form",
      onsubmit: async (e) => {
        e.preventDefault();
        const body = text.value.trim();
        if (!body) return text.focus();
        try {
          await api.post(`/api/v1/work-orders/${seg(order.id)}/comments`, { text: body });
          state.commentDraft = "";
          await reloadOrder();
        } catch (err) {
          error.hidden = false;
          error.textContent = err.message;
        }
      },
    },
    h("label", { for: "comment-text" }, "Add a comment"), text, error,
    h("button", { type: "submit", class: "btn", "data-testid": "comment-submit" }, "Add comment"));
    return h("section", { class: "panel" }, h("h3", {}, "Comments"), list, form);
  }

  // ---- the view's interface ------------------------------------------------------------------

  return {
    title: "Crew",
    async render(container, parts) {
      root = container;
      if (parts[0] === "order" && /^\d+$/.test(parts[1] || "")) return renderOrder(container, Number(parts[1]));
      renderHome(container);
      await loadLists();
      drawHome();
    },
    async refresh() {
      if (state.orderId !== null) {
        // Not while someone is typing a note or comment: redrawing would take their cursor away.
        const typing = document.activeElement && ["INPUT", "TEXTAREA"].includes(document.activeElement.tagName);
        if (!state.busy && !typing) await reloadOrder();
        return;
      }
      await loadLists();
      drawHome();
    },
    onEvent(type, data) {
      if (type === "alert" && data && data.id !== undefined) {
        state.alerts = upsert(state.alerts, data);
        drawHome();
      } else if (type === "work_order" && data && data.id !== undefined) {
        state.orders = isActive(data) ? upsert(state.orders, data) : state.orders.filter((o) => o.id !== data.id);
        drawHome();
        if (state.orderId === data.id && state.order && data.version !== state.order.version && !state.busy) reloadOrder();
      }
    },
  };
}
