// facmon dashboard: sign-in with an API key, hash routing between the crew, integrator and
// manager views, the live event stream and a 30-second poll as its fallback.

import { api, clearKey, getKey, onUnauthorized, setKey } from "./js/api.js";
import { createCrewView } from "./js/crew.js";
import { fill, h } from "./js/dom.js";
import { createIntegratorView } from "./js/integrator.js";
import { parseRoute, tabsFor } from "./js/logic.js";
import { createManagerView } from "./js/manager.js";
import { LiveStream } from "./js/stream.js";

const POLL_MS = 30000;
const TAB_LABELS = { crew: "Crew", integrator: "Integrator", manager: "Manager" };
const LIVE_LABELS = { connecting: "connecting…", live: "live", reconnecting: "reconnecting…", stopped: "offline" };

const main = document.getElementById("main");
const nav = document.getElementById("tabs");
const session = document.getElementById("session");
const indicator = document.getElementById("live-indicator");

const app = { me: null, views: {}, current: null, stream: null, poll: null, catalogue: null };

function setLive(state) {
  indicator.dataset.state = state;
  indicator.hidden = false;
  fill(indicator, h("span", { class: "live-dot", "aria-hidden": "true" }), LIVE_LABELS[state] || state);
}

// ---- sign-in -------------------------------------------------------------------------------

function showSignin(message) {
  stopSession();
  nav.replaceChildren();
  session.replaceChildren();
  indicator.hidden = true;
  const input = h("input", { id: "signin-key", type: "password", autocomplete: "current-password", required: true, spellcheck: "false", "data-testid": "signin-key", placeholder: "fmk_…" });
  const error = h("p", { class: "error", role: "alert", "data-testid": "signin-error", hidden: !message }, message || "");
  const form = h("form", {
    class: "signin panel",
    "data-testid": "signin-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const key = input.value.trim();
      if (!key) return input.focus();
      setKey(key);
      const failure = await start();
      if (failure) {
        clearKey();
        error.hidden = false;
        error.textContent = failure.message;
      }
    },
  },
  h("h2", {}, "Sign in"),
  h("p", {}, "Paste the API key you were given (it starts with fmk_). It stays in this browser until you sign out."),
  h("div", { class: "field" }, h("label", { for: "signin-key" }, "API key"), input),
  error,
  h("button", { type: "submit", class: "btn", "data-testid": "signin-submit" }, "Sign in"));
  fill(main, form);
  input.focus();
}

function signOut() {
  clearKey();
  if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  showSignin();
}

function stopSession() {
  if (app.stream) app.stream.stop();
  clearInterval(app.poll);
  app.stream = null;
  app.poll = null;
  app.me = null;
  app.current = null;
}

/** Learn who the key belongs to and open the dashboard; returns {status, message} on failure. */
async function start() {
  let me;
  try {
    me = await api.get("/api/v1/me");
  } catch (error) {
    const message = error.status === 401 ? "This API key is unknown or revoked." : error.message;
    return { status: error.status, message };
  }
  if (!tabsFor(me.role).length) return { status: 403, message: `The role ${me.role} has no dashboard view.` };
  app.me = me;
  const ctx = { me, catalogue: catalogue };
  app.views = { crew: createCrewView(ctx), integrator: createIntegratorView(ctx), manager: createManagerView(ctx) };
  drawChrome();
  app.stream = new LiveStream({
    onEvent: (type, data) => app.current && app.current.view.onEvent(type, data),
    onState: setLive,
    onUnauthorized: keyRefused,
  });
  app.stream.start();
  app.poll = setInterval(() => !document.hidden && refresh(), POLL_MS);
  route();
  return null;
}

function catalogue() {
  if (!app.catalogue) app.catalogue = api.get("/api/v1/catalogue").catch((error) => {
    app.catalogue = null;
    throw error;
  });
  return app.catalogue;
}

function drawChrome() {
  const tabs = tabsFor(app.me.role);
  fill(nav, tabs.map((tab) => h("a", { href: `#/${tab}`, class: "tab", "data-tab": tab, "data-testid": `tab-${tab}` }, TAB_LABELS[tab])));
  nav.hidden = tabs.length < 2;
  fill(session,
    h("span", { class: "who", "data-testid": "signed-in-as" }, `${app.me.name} · ${app.me.role}`),
    h("button", { type: "button", class: "btn secondary small", "data-testid": "signout", onclick: signOut }, "Sign out"));
}

// ---- routing -------------------------------------------------------------------------------

function route() {
  if (!app.me) return;
  const tabs = tabsFor(app.me.role);
  const { view, parts } = parseRoute(location.hash);
  // A device page is open to everyone who can read devices (a crew follows it from an order).
  const allowed = tabs.includes(view) || (view === "integrator" && parts[0] === "device");
  if (!allowed) {
    location.replace(`#/${tabs[0]}`);
    return;
  }
  for (const link of nav.querySelectorAll("a.tab")) {
    const active = link.dataset.tab === view;
    link.classList.toggle("active", active);
    if (active) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `facmon · ${TAB_LABELS[view]}`;
  const container = h("div", { class: "view", "data-view": view });
  fill(main, container);
  app.current = { name: view, view: app.views[view] };
  app.views[view].render(container, parts);
  window.scrollTo(0, 0);
}

async function refresh() {
  if (!app.current) return;
  try {
    await app.current.view.refresh();
  } catch {
    // each view shows its own errors; a failed poll is retried in 30 s
  }
}

window.addEventListener("hashchange", route);
document.addEventListener("visibilitychange", () => !document.hidden && refresh());
function keyRefused() {
  clearKey();
  showSignin("Your API key is no longer valid. Sign in again.");
}

onUnauthorized(() => app.me && keyRefused());

/** With a stored key: open the dashboard, or say why not. A network failure keeps the key and
 * offers a retry (a crew on a lift landing loses signal); only a refused key is forgotten. */
async function resume() {
  const failure = await start();
  if (!failure) return;
  if (failure.status === 401 || failure.status === 403) {
    clearKey();
    return showSignin(failure.message);
  }
  fill(main, h("div", { class: "panel" },
    h("p", { class: "error", role: "alert" }, failure.message),
    h("div", { class: "row-buttons" },
      h("button", { type: "button", class: "btn", onclick: resume }, "Try again"),
      h("button", { type: "button", class: "btn secondary", onclick: signOut }, "Sign out"))));
}

if (getKey()) resume();
else showSignin();
